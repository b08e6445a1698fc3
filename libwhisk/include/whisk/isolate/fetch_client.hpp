#pragma once
// The host's HTTP client behind a js:isolate function's fetch(): asynchronous (Boost.Beast on
// one I/O thread of its own, TLS through OpenSSL for https), under the network policy that
// containers follow — it connects only to addresses it resolved and checked, never to host
// loopback, link-local (cloud metadata) or private ranges unless the node allows them — and
// under bounded sizes, redirects and the call's deadline. Boost stays out of this header.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::isolate {

// An address range, e.g. 127.0.0.1/32 or fd00::/8.
struct net_range {
  std::vector<std::uint8_t> bytes; // 4 or 16
  int prefix = 0;
};

// Parses "127.0.0.1/32,10.0.0.0/8" (a bare address means the one address); "" is no range.
expected<std::vector<net_range>> parse_net_ranges(const std::string& text);

// The network policy: `address` (IPv4 dotted or IPv6 text) may be reached unless it is
// loopback, unspecified, private, shared (CGNAT), link-local, multicast, reserved or an IPv6
// form that embeds such an IPv4 address — or it is inside one of `allowed`.
bool address_permitted(const std::string& address, const std::vector<net_range>& allowed);

struct fetch_limits {
  std::size_t request_body_bytes = 4u << 20;
  std::size_t response_body_bytes = 8u << 20;
  std::size_t header_bytes = 64u << 10; // request headers, and response status line + headers
  int redirects = 10;
  int concurrent = 16;                  // outstanding fetches of one call (enforced by the caller)
};

struct fetch_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string redirect = "follow"; // follow | manual | error
  std::chrono::steady_clock::time_point deadline;
};

struct fetch_response {
  std::string error; // non-empty: the request failed (fetch rejects with a TypeError)
  int status = 0;
  std::string status_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string url; // after redirects
  bool redirected = false;
};

// A started request; cancel() ends it early (its completion still runs, with an error).
class fetch_operation {
public:
  virtual ~fetch_operation() = default;
  virtual void cancel() = 0;
};

class fetch_client {
public:
  fetch_client(std::vector<net_range> allowed, fetch_limits limits);
  ~fetch_client(); // cancels what is in flight and joins the I/O thread
  fetch_client(const fetch_client&) = delete;
  fetch_client& operator=(const fetch_client&) = delete;
  // `done` runs exactly once, on the client's I/O thread.
  std::shared_ptr<fetch_operation> start(fetch_request req, std::function<void(fetch_response)> done);
  const fetch_limits& limits() const { return limits_; }
  std::int64_t in_flight() const;

  struct impl;

private:
  fetch_limits limits_;
  std::unique_ptr<impl> impl_;
};

} // namespace whisk::isolate
