#pragma once
// Internal to the process backend: a user-mode network stack (slirp4netns) that gives one
// runtime's network namespace outbound access without a route to the host's loopback.
#include <string>
#include <sys/types.h>

#include "whisk/expected.hpp"

namespace whisk::container {

// Addresses slirp4netns --configure gives the namespace (its defaults).
inline constexpr const char* slirp_dns = "10.0.2.3";

// A started slirp4netns: the host owns every fd (close-on-exec).
struct slirp_process {
  pid_t pid = -1;
  int pidfd = -1;   // readable once it exited
  int ready_r = -1; // one byte arrives when the namespace's tap0 is configured
  int exit_w = -1;  // closing it (or whisk-node dying) makes slirp4netns exit
};

// Path of slirp4netns on PATH, empty if there is none.
std::string find_slirp4netns();

// Starts slirp4netns for the network namespace of `target` (a host pid), returning at once.
expected<slirp_process> start_slirp(const std::string& path, pid_t target);

} // namespace whisk::container
