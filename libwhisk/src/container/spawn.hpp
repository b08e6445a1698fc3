#pragma once
// Internal to the process backend: start one runtime process, isolated and in its cgroup.
#include <string>
#include <sys/types.h>
#include <vector>

#include "sandbox.hpp"
#include "whisk/container/cgroup.hpp"
#include "whisk/container/runtimes.hpp"
#include "whisk/expected.hpp"

namespace whisk::container {

struct spawn_request {
  const runtime_command& cmd;
  const cgroup_leaf& leaf;
  const root_plan& root;
  seccomp_program& filter;
  int last_cap = 40;
  bool new_network = true; // false: the host's network namespace
  int uid = 65534;
  int gid = 65534;
  std::int64_t tmp_size_mb = 64;
};

// What a manifest runtime adds to a spawn.
struct spawn_extras {
  std::vector<std::string> env; // NAME=value; replaces a default of the same name
  std::string workdir = "/tmp"; // the runtime's working directory inside its root
};

// The child's pid and the host's ends of its pipes (all close-on-exec in the host).
struct spawned_process {
  pid_t pid = -1;
  int pidfd = -1;
  int pidfd_errno = 0; // why pidfd_open failed, when pidfd is -1
  int stdin_w = -1, fd3_r = -1, out_r = -1, err_r = -1;
  int out_w = -1, err_w = -1; // the host writes the log sentinel through these
};

expected<spawned_process> spawn_runtime(const spawn_request& req);
expected<spawned_process> spawn_runtime(const spawn_request& req, const spawn_extras& extras);

} // namespace whisk::container
