// Starting one runtime process: clone into new namespaces, wait until the parent has put
// the child in its cgroup leaf, then mounts, privilege drop and exec. After clone the child
// runs system calls only (it is a copy of a multithreaded process).
#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "whisk/log.hpp"

namespace whisk::container {

namespace {


struct kernel_mount_attr {
  std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr unsigned mount_attr_rdonly = 0x1;
constexpr unsigned at_recursive = 0x8000;

// Everything the child needs, prepared before clone: after clone only system calls run.
struct spawn_args {
  int go_r, stdin_r, fd3_w, out_w, err_w;
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* tmp_options;
  int uid, gid;
};

void place_fd(int from, int to) {
  if (from == to)
    ::fcntl(to, F_SETFD, 0); // keep it across exec
  else
    ::dup2(from, to);
}

int child_main(void* raw) {
  auto* a = static_cast<spawn_args*>(raw);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL); // dies with whisk-node, even after SIGKILL (set again below)
  char go = 0;
  if (::read(a->go_r, &go, 1) != 1 || go != 'g') // the parent placed us in our cgroup
    ::_exit(121);
  place_fd(a->stdin_r, 0);
  place_fd(a->out_w, 1);
  place_fd(a->err_w, 2);
  place_fd(a->fd3_w, 3);
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    ::_exit(122);
  kernel_mount_attr attr{mount_attr_rdonly, 0, 0, 0};
  if (::syscall(SYS_mount_setattr, AT_FDCWD, "/", at_recursive, &attr, sizeof attr) != 0)
    ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
  if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, a->tmp_options) != 0)
    ::_exit(123);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    ::_exit(124);
  ::sethostname("whisk", 5);
  if (::chdir("/tmp") != 0)
    ::_exit(125);
  // Raw system calls: glibc's setgroups/setres[ug]id would try to change every thread of the
  // parent it was cloned from (a "setxid broadcast") and could wait forever on a futex for
  // threads that do not exist here; the stem cell at boot hung that way in 4 of 10 starts.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
      ::syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0)
    ::_exit(126);
  // A change of credentials clears the parent-death signal: set it again as the new user.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  ::execve(a->path, a->argv, a->envp);
  ::_exit(127);
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

expected<spawned_process> spawn_runtime(const spawn_request& req) {
  pipe_pair in, fd3, out, err, go;
  if (!in.open() || !fd3.open() || !out.open() || !err.open() || !go.open()) {
    for (auto* pp : {&in, &fd3, &out, &err, &go})
      pp->close_both();
    return make_error(errc::internal, fmt::format("cannot create pipes: {}", std::strerror(errno)));
  }
  std::vector<std::string> argv = req.cmd.argv;
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                               "__OW_ALLOW_CONCURRENT=false"};
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(env);
  std::string tmp_options = fmt::format("size={}m,mode=1777", req.tmp_size_mb);
  spawn_args args{go.r, in.r, fd3.w, out.w, err.w, req.cmd.path.c_str(), argv_c.data(), env_c.data(),
                  tmp_options.c_str(), req.uid, req.gid};
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (!req.network)
    flags |= CLONE_NEWNET;
  constexpr std::size_t stack_size = 256 * 1024;
  auto stack = std::make_unique<char[]>(stack_size);
  pid_t pid = ::clone(child_main, stack.get() + stack_size, flags, &args);
  int clone_errno = errno;
  ::close(go.r);
  ::close(in.r);
  ::close(fd3.w);
  if (pid < 0) {
    for (auto* pp : {&in, &fd3, &out, &err})
      pp->close_both();
    ::close(go.w);
    return make_error(errc::internal, fmt::format("clone failed: {}", std::strerror(clone_errno)));
  }
  if (!req.leaf.add_process(pid))
    log_warn("process backend: could not place pid {} in every cgroup of {}", pid,
             req.leaf.dirs().empty() ? "-" : req.leaf.dirs()[0]);
  ssize_t sent = ::write(go.w, "g", 1); // the child may go on: it is in its cgroup
  ::close(go.w);
  (void)sent;
  spawned_process child;
  child.pid = pid;
  child.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  child.stdin_w = in.w;
  child.fd3_r = fd3.r;
  child.out_r = out.r;
  child.err_r = err.r;
  child.out_w = out.w;
  child.err_w = err.w;
  return child;
}

} // namespace whisk::container
