// slirp4netns started with posix_spawn (safe from a multithreaded process), sandboxed by its
// own options, with no route to the host's loopback.
#include "slirp.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sstream>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace whisk::container {

namespace {

// A pipe whose ends are above the fds the child gets (3 and 4), so dup2 always moves them.
bool high_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return false;
  for (int i = 0; i < 2; ++i) {
    if (fds[i] > 4)
      continue;
    int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    ::close(fds[i]);
    fds[i] = moved;
  }
  return fds[0] >= 0 && fds[1] >= 0;
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds)
    if (fd >= 0)
      ::close(fd);
}

} // namespace

std::string find_slirp4netns() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/slirp4netns";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

expected<slirp_process> start_slirp(const std::string& path, pid_t target) {
  int ready[2] = {-1, -1}, exit_pipe[2] = {-1, -1};
  if (!high_pipe(ready) || !high_pipe(exit_pipe)) {
    int e = errno;
    close_all({ready[0], ready[1], exit_pipe[0], exit_pipe[1]});
    return make_error(errc::internal, fmt::format("slirp4netns pipes: {}", std::strerror(e)));
  }
  std::vector<std::string> args{"slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                                "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4",
                                std::to_string(target), "tap0"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
  posix_spawn_file_actions_adddup2(&actions, exit_pipe[0], 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, pipe_signal;
  sigemptyset(&none);
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);        // the I/O thread blocks SIGPIPE
  posix_spawnattr_setsigdefault(&attr, &pipe_signal);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_all({ready[1], exit_pipe[0]});
  if (rc != 0) {
    close_all({ready[0], exit_pipe[1]});
    return make_error(errc::internal, fmt::format("cannot start {}: {}", path, std::strerror(rc)));
  }
  slirp_process out;
  out.pid = pid;
  out.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (out.pidfd < 0) { // its exit could not be watched: do not leave it running
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    close_all({ready[0], exit_pipe[1]});
    return make_error(errc::internal, fmt::format("pidfd_open for slirp4netns: {}", std::strerror(e)));
  }
  out.ready_r = ready[0];
  out.exit_w = exit_pipe[1];
  return out;
}

} // namespace whisk::container
