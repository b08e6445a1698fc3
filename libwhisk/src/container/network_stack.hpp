#pragma once
// Internal to the process backend: one container's slirp4netns as the backend's I/O thread
// sees it — when its tap0 is up, when it ended (reaped), and ending it. Every member is
// called on that thread; the asynchronous handlers hold shared state, never `this`.
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "slirp.hpp"

namespace whisk::container {

class network_stack {
public:
  explicit network_stack(boost::asio::io_context& io);
  ~network_stack(); // closes everything: a slirp4netns not yet reaped ends by itself (--exit-fd)

  // Takes over a started slirp4netns; `on_exit(status)` runs once it has been reaped.
  void adopt(const slirp_process& p, std::function<void(int status)> on_exit);
  bool started() const;
  bool ready() const;  // its tap0 is configured
  bool reaped() const; // true when never started
  pid_t pid() const;
  // f("") once the network is up; f(why) if it cannot be: it ended, `limit` passed, closed.
  void when_ready(std::chrono::milliseconds limit, std::function<void(std::string)> f);
  void kill(); // SIGKILL unless reaped: until then the pid is still its own
  // Stops watching and closes the fds; a waiting when_ready hears `why`.
  void close(const std::string& why);
  // For the backend's destructor, once its I/O thread has stopped.
  void kill_and_wait();

  struct state;

private:
  std::shared_ptr<state> s_;
};

} // namespace whisk::container
