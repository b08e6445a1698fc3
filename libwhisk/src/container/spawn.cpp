// Starting one runtime process: clone into new namespaces; the child first moves itself into
// its cgroup leaf, then its own root, privilege drop, seccomp and exec. After clone the child
// runs system calls only (it is a copy of a multithreaded process): the root plan, the
// seccomp program and the leaf's cgroup.procs files were prepared by the backend beforehand.
#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "whisk/log.hpp"

namespace whisk::container {

namespace {


struct kernel_mount_attr {
  std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr unsigned mount_attr_rdonly = 0x1, mount_attr_nosuid = 0x2, mount_attr_nodev = 0x4;
constexpr unsigned at_recursive = 0x8000;

// Everything the child needs, prepared before clone: after clone only system calls run.
struct spawn_args {
  const std::vector<std::pair<int, std::string>>* cgroup_procs; // open cgroup.procs of the leaf, and their paths
  int stdin_r, fd3_w, out_w, err_w;
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* tmp_options;
  const root_plan* root;
  const sock_fprog* filter;
  int last_cap;
  int uid, gid;
  const char* workdir;
};

void place_fd(int from, int to) {
  if (from == to)
    ::fcntl(to, F_SETFD, 0); // keep it across exec
  else
    ::dup2(from, to);
}

// A raw write of `parts` to `fd` (no allocation after clone).
void say(int fd, std::initializer_list<const char*> parts) {
  char buf[512];
  std::size_t n = 0;
  for (const char* part : parts)
    for (; *part && n < sizeof buf; ++part)
      buf[n++] = *part;
  ssize_t written = ::write(fd, buf, n);
  (void)written;
}

// Says on the runtime's stderr which step failed (the start error carries it), then exits.
// Only raw writes: no allocation after clone.
[[noreturn]] void fail(int code, const char* step, const char* path = nullptr) {
  const char* err = ::strerrorname_np(errno);
  say(2, {"whisk sandbox: ", step, path ? " " : "", path ? path : "", ": ", err ? err : "?", "\n"});
  ::_exit(code);
}

// Read-only (and nosuid, nodev) for `dst` and every mount below it.
bool make_read_only(const char* dst) {
  kernel_mount_attr attr{mount_attr_rdonly | mount_attr_nosuid | mount_attr_nodev, 0, 0, 0};
  if (::syscall(SYS_mount_setattr, AT_FDCWD, dst, at_recursive, &attr, sizeof attr) == 0)
    return true;
  return ::mount(nullptr, dst, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) == 0;
}

bool create_file(const char* path, const std::string& contents) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  bool ok = contents.empty() || ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  ::close(fd);
  return ok;
}

// The runtime's root: a tmpfs holding read-only binds of what runtimes need, its own /tmp and
// /proc; pivot_root into it, and the host's tree is gone from this mount namespace.
void build_root(const spawn_args& a) {
  const root_plan& plan = *a.root;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail(122, "making mounts private");
  if (::mount("tmpfs", plan.mount_point.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.root_options.c_str()) != 0)
    fail(122, "mounting the root tmpfs on", plan.mount_point.c_str());
  for (const root_step& s : plan.steps) {
    const char* dst = s.target.c_str();
    const char* src = s.source.c_str();
    switch (s.what) {
    case root_step::kind::dir:
      if (::mkdir(dst, 0755) != 0)
        fail(122, "mkdir", dst);
      break;
    case root_step::kind::symlink:
      if (::symlink(src, dst) != 0)
        fail(122, "symlink", dst);
      break;
    case root_step::kind::file:
      if (!create_file(dst, s.source))
        fail(122, "writing", dst);
      break;
    case root_step::kind::bind_dir:
      if (::mkdir(dst, 0755) != 0 || ::mount(src, dst, nullptr, MS_BIND | MS_REC, nullptr) != 0 || !make_read_only(dst))
        fail(122, "binding", dst);
      break;
    case root_step::kind::bind_file:
      if (!create_file(dst, {}) || ::mount(src, dst, nullptr, MS_BIND, nullptr) != 0 || !make_read_only(dst))
        fail(122, "binding", dst);
      break;
    case root_step::kind::bind_device: // a device node must stay usable: writable, not nodev
      if (!create_file(dst, {}) || ::mount(src, dst, nullptr, MS_BIND, nullptr) != 0 ||
          ::mount(nullptr, dst, nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC, nullptr) != 0)
        fail(122, "binding", dst);
      break;
    }
  }
  if (::mount("tmpfs", plan.tmp.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, a.tmp_options) != 0)
    fail(123, "mounting", plan.tmp.c_str());
  if (::mount("proc", plan.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    fail(124, "mounting", plan.proc.c_str());
  // pivot_root(".", "."): the old root ends up on top of the new one, and is detached.
  if (::chdir(plan.mount_point.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0)
    fail(124, "pivot_root into the runtime's root");
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    fail(124, "making the root read-only");
}

int child_main(void* raw) {
  auto* a = static_cast<spawn_args*>(raw);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL); // dies with whisk-node, even after SIGKILL (set again below)
  // Into the leaf before anything else ("0": the writer). The first move of a process into a
  // cgroup waits out an RCU grace period (7-15 ms measured here): the child waits, not the
  // backend's I/O thread, and slirp4netns starts meanwhile. As when the parent moved it, a
  // failed move is reported (on whisk-node's stderr, still fd 2 here) and the start goes on.
  for (const auto& [fd, path] : *a->cgroup_procs)
    if (::write(fd, "0", 1) != 1) {
      const char* err = ::strerrorname_np(errno);
      say(2, {"whisk sandbox: could not join ", path.c_str(), ": ", err ? err : "?", "\n"});
    }
  place_fd(a->stdin_r, 0);
  place_fd(a->out_w, 1);
  place_fd(a->err_w, 2);
  place_fd(a->fd3_w, 3);
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  build_root(*a);
  ::sethostname("whisk", 5);
  if (::chdir(a->workdir) != 0)
    fail(125, "chdir", a->workdir);
  // Capabilities: the bounding set needs CAP_SETPCAP, so it goes while we are still root;
  // the change to nobody then empties the permitted and effective sets, capset the rest.
  for (int cap = 0; cap <= a->last_cap; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      fail(126, "dropping the bounding set");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    fail(126, "clearing ambient capabilities");
  // Raw system calls: glibc's setgroups/setres[ug]id would try to change every thread of the
  // parent it was cloned from (a "setxid broadcast") and could wait forever on a futex for
  // threads that do not exist here; the stem cell at boot hung that way in 4 of 10 starts.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
      ::syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0)
    fail(126, "changing to the runtime's user");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct no_caps[2]{};
  if (::syscall(SYS_capset, &header, no_caps) != 0)
    fail(126, "capset");
  // A change of credentials clears the parent-death signal: set it again as the new user.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    fail(126, "no_new_privs");
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a->filter, 0, 0) != 0)
    fail(126, "loading the seccomp filter");
  ::execve(a->path, a->argv, a->envp);
  fail(127, "execve", a->path);
}

struct pipe_pair {
  int r = -1, w = -1;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return false;
    r = fds[0];
    w = fds[1];
    return true;
  }
  void close_both() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
    r = w = -1;
  }
};

std::vector<char*> c_strings(std::vector<std::string>& xs) {
  std::vector<char*> out;
  for (auto& x : xs)
    out.push_back(x.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

expected<spawned_process> spawn_runtime(const spawn_request& req) { return spawn_runtime(req, spawn_extras{}); }

expected<spawned_process> spawn_runtime(const spawn_request& req, const spawn_extras& extras) {
  pipe_pair in, fd3, out, err;
  if (!in.open() || !fd3.open() || !out.open() || !err.open()) {
    for (auto* pp : {&in, &fd3, &out, &err})
      pp->close_both();
    return make_error(errc::internal, fmt::format("cannot create pipes: {}", std::strerror(errno)));
  }
  std::vector<std::string> argv = req.cmd.argv;
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                               "__OW_ALLOW_CONCURRENT=false"};
  for (const auto& extra : extras.env) { // a runtime's own value replaces a default
    auto name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.compare(0, name.size(), name) == 0; });
    env.push_back(extra);
  }
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(env);
  std::string tmp_options = fmt::format("size={}m,mode=1777", req.tmp_size_mb);
  sock_fprog filter = req.filter.prog();
  std::vector<std::pair<int, std::string>> cgroup_procs;
  for (const auto& d : req.leaf.dirs()) {
    auto path = d + "/cgroup.procs";
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
      cgroup_procs.emplace_back(fd, std::move(path));
    else
      log_warn("process backend: cannot open {}: {}; the runtime starts outside that cgroup", path, std::strerror(errno));
  }
  spawn_args args{&cgroup_procs, in.r, fd3.w, out.w, err.w, req.cmd.path.c_str(), argv_c.data(), env_c.data(),
                  tmp_options.c_str(), &req.root, &filter, req.last_cap, req.uid, req.gid, extras.workdir.c_str()};
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (req.new_network)
    flags |= CLONE_NEWNET;
  constexpr std::size_t stack_size = 256 * 1024;
  auto stack = std::make_unique<char[]>(stack_size);
  pid_t pid = ::clone(child_main, stack.get() + stack_size, flags, &args);
  int clone_errno = errno;
  for (auto& [fd, path] : cgroup_procs)
    ::close(fd);
  ::close(in.r);
  ::close(fd3.w);
  if (pid < 0) {
    for (auto* pp : {&in, &fd3, &out, &err})
      pp->close_both();
    return make_error(errc::internal, fmt::format("clone failed: {}", std::strerror(clone_errno)));
  }
  spawned_process child;
  child.pid = pid;
  child.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  child.pidfd_errno = child.pidfd < 0 ? errno : 0;
  child.stdin_w = in.w;
  child.fd3_r = fd3.r;
  child.out_r = out.r;
  child.err_r = err.r;
  child.out_w = out.w;
  child.err_w = err.w;
  return child;
}

} // namespace whisk::container
