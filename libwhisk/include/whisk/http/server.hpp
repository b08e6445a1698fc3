#pragma once
// An asynchronous HTTP/1.1 server (Boost.Beast behind this header): keep-alive, one
// session per connection, bounded bodies (413). Handlers never block; they answer
// through the responder, from any thread, exactly once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::http {

struct request {
  std::string method;
  std::string target;        // path and query, as received
  std::string authorization;
  std::string content_type;
  std::string body;
  std::chrono::steady_clock::time_point received{}; // when it was read whole
  // every header, names in lower case: kept for web actions (/api/v1/web/...) only
  std::vector<std::pair<std::string, std::string>> headers;
};

struct response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using responder = std::function<void(response)>;
using handler = std::function<void(request, responder)>;

struct server_config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 3233;  // 0: any free port
  int threads = 1;
  std::size_t body_limit = 50u << 20;
  // Open connections at most; one more is answered 503 and closed. Each connection has at
  // most one request in flight, so this also bounds what HTTP can queue behind the handler.
  std::size_t max_connections = 1024;
};

struct server_stats {
  std::int64_t open_connections = 0;
  std::int64_t refused_connections = 0; // answered 503: over max_connections
};

class server {
public:
  server(server_config cfg, handler h);
  ~server();
  // Binds and starts accepting; returns the bound port.
  expected<std::uint16_t> start();
  // Stops accepting and closes every connection; in-flight answers are dropped.
  void stop();
  server_stats stats() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// Percent-decoding of one path segment or query value ('+' is a space in queries).
std::string url_decode(std::string_view s, bool query = false);

} // namespace whisk::http
