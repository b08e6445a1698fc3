#pragma once
// A runtime manifest: kinds a user adds without rebuilding, in the spirit of OpenWhisk's
// runtimes.json. Each kind names the command of a runtime that serves OpenWhisk's runtime
// HTTP protocol (/init, /run on a port), where its files come from, its environment, and
// how many stem cells of it the node keeps. Read once at startup.
//
//   {"runtimes": {"python": [{"kind": "python:http", "default": true,
//      "command": ["/usr/bin/python3", "/runtime/runtime.py"],
//      "mounts": [{"source": "/opt/my-runtime", "target": "/runtime"}],
//      "workdir": "/runtime", "env": {"PYTHONUNBUFFERED": "1"},
//      "protocol": "http", "port": 8080, "sentinels": true,
//      "stemCells": [{"initialCount": 1, "memory": "256 MB"}]}]}}
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::container {

struct manifest_mount {
  std::string source; // host directory, bound read-only
  std::string target; // absolute path inside the runtime's root
};

struct manifest_stem_cell {
  std::int64_t memory_mb = 256;
  std::int64_t count = 0;
};

struct manifest_runtime {
  std::string kind;    // "family:version", as actions name it in exec.kind
  std::string family;  // the key it is listed under
  bool is_default = false;              // "<family>:default" names this kind
  std::vector<std::string> command;     // argv; command[0] is absolute inside the runtime's root
  std::string root;                     // a host directory that is the whole root; empty: the host's /usr
  std::vector<manifest_mount> mounts;
  std::string workdir = "/tmp";
  std::vector<std::pair<std::string, std::string>> env;
  int port = 8080;                      // where the runtime listens, inside its own network namespace
  bool sentinels = true;                // the runtime ends each activation's logs with the sentinel lines
  std::vector<manifest_stem_cell> stem_cells;
};

struct runtime_manifest {
  std::vector<manifest_runtime> runtimes;
  const manifest_runtime* find(const std::string& kind) const;
  // The family defaults: ("python:default", "python:http"), ...
  std::vector<std::pair<std::string, std::string>> default_aliases() const;
  // The manifest's stem cells in --stem-cells syntax ("kind:memoryMB:count,..."), "" if none.
  std::string stem_cells_option() const;
};

// Checks shapes and values; paths on the host are checked by check_runtime_files.
expected<runtime_manifest> parse_runtime_manifest(std::string_view text);
expected<runtime_manifest> load_runtime_manifest(const std::string& path);

// Every mount source a directory, and command[0] an executable in the runtime's root
// (through the mounts, the root directory or the host's /usr).
expected<bool> check_runtime_files(const manifest_runtime& r);

// Makes the manifest's kinds (and its family defaults) known to action validation; an error
// when a kind is already known (a built-in kind cannot be replaced).
expected<bool> register_manifest_kinds(const runtime_manifest& m);

} // namespace whisk::container
