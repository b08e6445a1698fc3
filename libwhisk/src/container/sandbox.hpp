#pragma once
// Internal to the process backend: what a runtime's sandbox is made of (its root filesystem,
// its seccomp filter, the capabilities to drop), prepared once per backend in the host
// process, so that a cloned child only has to make system calls.
#include <linux/filter.h>
#include <string>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::container {

// One step of building the runtime's root. `target` is absolute in the child's view before
// pivot_root (it lies under root_plan::mount_point).
struct root_step {
  enum class kind { dir, bind_dir, bind_file, bind_device, symlink, file };
  kind what;
  std::string target;
  std::string source; // bind: host path; symlink: the link's text; file: its contents
};

struct root_plan {
  // Where the child mounts the tmpfs that becomes its root: the host's /tmp, which the child
  // covers in its own mount namespace (the host's /tmp is neither changed nor seen).
  std::string mount_point = "/tmp";
  std::string root_options = "size=1m,mode=0755";
  std::vector<root_step> steps;
  std::string tmp;  // the runtime's private /tmp, under mount_point
  std::string proc; // its /proc, under mount_point
};

// What a runtime needs of the host, read-only: /usr, the /lib* and /bin links of a
// merged-/usr host (or binds when they are directories), a few files of /etc, five device
// nodes. `resolver` empty: the host's resolv.conf; else a generated one naming it.
root_plan make_root_plan(const std::string& resolver);

// A root made of a directory of the host instead (an unpacked image's root filesystem): its
// top-level entries bound read-only (but /dev, /proc, /tmp, /sys, /run), then the same
// devices, /tmp and /proc as make_root_plan; /etc is the directory's own when it has one.
root_plan make_root_plan_from(const std::string& rootfs, const std::string& resolver);

// Adds a read-only bind of host directory `source` at absolute `target` (its missing parents
// made as directories). "" when added, else why not: `target` lies in or on a path the plan
// already has.
std::string add_read_only_dir(root_plan& plan, const std::string& source, const std::string& target);

// A classic BPF program for PR_SET_SECCOMP, built with libseccomp: calls a runtime has no
// business making fail with EPERM (a kill would take working runtimes down with them).
struct seccomp_program {
  std::vector<sock_filter> code;
  sock_fprog prog() { return sock_fprog{static_cast<unsigned short>(code.size()), code.data()}; }
};
expected<seccomp_program> make_seccomp_program();

// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int last_capability();

} // namespace whisk::container
