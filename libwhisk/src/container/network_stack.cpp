#include "network_stack.hpp"

#include <csignal>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "whisk/log.hpp"

namespace asio = boost::asio;

namespace whisk::container {

struct network_stack::state {
  explicit state(asio::io_context& io) : ready_r(io), pidfd(io), timer(io) {}
  asio::posix::stream_descriptor ready_r, pidfd;
  asio::steady_timer timer;
  pid_t pid = -1;
  int exit_w = -1;
  char ready_byte = 0;
  bool ready = false, reaped = true;
  std::chrono::steady_clock::time_point started;
  std::function<void(int)> on_exit;
  std::function<void(std::string)> waiting; // a when_ready not answered yet

  void settle(std::string why) {
    timer.cancel();
    if (auto f = std::move(waiting)) {
      waiting = nullptr;
      f(std::move(why));
    }
  }
};

network_stack::network_stack(asio::io_context& io) : s_(std::make_shared<state>(io)) {}

network_stack::~network_stack() {
  // quietly: nothing is called back from a destructor
  boost::system::error_code ec;
  s_->timer.cancel();
  s_->ready_r.close(ec);
  s_->pidfd.close(ec);
  if (s_->exit_w >= 0)
    ::close(s_->exit_w);
  s_->waiting = nullptr;
  s_->on_exit = nullptr;
}

void network_stack::adopt(const slirp_process& p, std::function<void(int status)> on_exit) {
  auto s = s_;
  s->pid = p.pid;
  s->pidfd.assign(p.pidfd);
  s->ready_r.assign(p.ready_r);
  s->exit_w = p.exit_w;
  s->reaped = false;
  s->started = std::chrono::steady_clock::now();
  s->on_exit = std::move(on_exit);
  asio::async_read(s->ready_r, asio::buffer(&s->ready_byte, 1), [s](boost::system::error_code ec, std::size_t) {
    if (ec)
      return; // it ended first (its exit says so) or was closed
    s->ready = true;
    log_debug("process backend: slirp4netns {}: network up after {} us", s->pid,
              std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - s->started).count());
    s->settle({});
  });
  s->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [s](boost::system::error_code ec) {
    if (ec)
      return;
    int status = 0;
    if (::waitpid(s->pid, &status, WNOHANG) != s->pid) {
      log_warn("process backend: slirp4netns (pid {}) could not be reaped", s->pid);
      return;
    }
    s->reaped = true;
    if (!s->ready)
      s->settle(fmt::format("slirp4netns ended before the network was up (status {:#x})", status));
    if (auto f = std::move(s->on_exit)) {
      s->on_exit = nullptr;
      f(status);
    }
  });
}

bool network_stack::started() const { return s_->pid > 0; }
bool network_stack::ready() const { return s_->ready; }
bool network_stack::reaped() const { return s_->reaped; }
pid_t network_stack::pid() const { return s_->pid; }

void network_stack::when_ready(std::chrono::milliseconds limit, std::function<void(std::string)> f) {
  if (!started() || s_->ready || s_->reaped) {
    f(!started() || s_->ready ? std::string{} : "slirp4netns ended before the network was up");
    return;
  }
  auto s = s_;
  s->waiting = std::move(f);
  s->timer.expires_after(limit);
  s->timer.async_wait([s](boost::system::error_code ec) {
    if (!ec)
      s->settle("slirp4netns was not ready in time");
  });
}

void network_stack::kill() {
  if (s_->pid > 0 && !s_->reaped)
    ::kill(s_->pid, SIGKILL);
}

void network_stack::close(const std::string& why) {
  boost::system::error_code ec;
  s_->ready_r.close(ec);
  s_->pidfd.close(ec);
  if (s_->exit_w >= 0)
    ::close(s_->exit_w);
  s_->exit_w = -1;
  s_->on_exit = nullptr; // it may hold the container: no cycle outlives it
  s_->settle(why);
}

void network_stack::kill_and_wait() {
  if (s_->pid > 0 && !s_->reaped) {
    ::kill(s_->pid, SIGKILL);
    ::waitpid(s_->pid, nullptr, 0);
    s_->reaped = true;
  }
}

} // namespace whisk::container
