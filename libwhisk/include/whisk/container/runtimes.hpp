#pragma once
// Runtimes: how a process of each kind is started. Launchers are embedded in the binary
// (passed with -e / -c), so nothing on disk has to be readable by the unprivileged user.
#include <optional>
#include <string>
#include <vector>

namespace whisk::container {

struct runtime_command {
  std::string path;               // absolute path of the interpreter
  std::vector<std::string> argv;  // argv[0] included
};

// Resolves a kind to its command: nodejs:* -> node on PATH, python:3 -> /usr/bin/python3,
// native -> the python launcher that writes the executable and execs it.
std::optional<runtime_command> runtime_for(const std::string& kind);

// Marks the end of one activation's output on stdout and stderr.
inline constexpr const char* log_sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

} // namespace whisk::container
