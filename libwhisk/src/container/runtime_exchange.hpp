#pragma once
// Internal to the http backend: one POST of JSON to a runtime's port, on a connection of its
// own made inside the runtime's network namespace (Boost.Beast on the backend's I/O thread),
// and the probe that tells when the port accepts connections.
#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace whisk::container {

struct runtime_answer {
  unsigned status = 0;
  std::string body;
  bool too_large = false; // the body passed the bound: `body` is empty
};

class runtime_exchange {
public:
  // why: "" when an answer arrived (a too large one included), else what went wrong.
  using answer_fn = std::function<void(std::string why, runtime_answer answer)>;
  // connected, or not yet (try again later), or `fatal` says why it never will be
  using probe_fn = std::function<void(bool connected, std::string fatal)>;

  // `netns_fd`: the runtime's /proc/<pid>/ns/net. Completions run on `io`, exactly once,
  // unless cancel() came first (then they run with a reason, or not at all if the socket
  // could not be made).
  static std::shared_ptr<runtime_exchange> post(boost::asio::io_context& io, int netns_fd, int port, std::string target,
                                                std::string body, std::int64_t max_answer_bytes, answer_fn done);
  static std::shared_ptr<runtime_exchange> probe(boost::asio::io_context& io, int netns_fd, int port, probe_fn done);
  void cancel(); // closes the connection

  struct state;

private:
  std::shared_ptr<state> s_;
};

} // namespace whisk::container
