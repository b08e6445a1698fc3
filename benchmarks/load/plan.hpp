#pragma once
// What whisk-load sends: targets from a JSON config (or flags), drawn by weight, in a
// closed loop or on an open-loop schedule.
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::load {

struct target {
  std::string name;
  std::string method = "GET";
  std::string host = "127.0.0.1";
  std::uint16_t port = 80;
  std::string path = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double weight = 1;
  std::string request_bytes; // the whole HTTP/1.1 request, built once
};

struct plan {
  std::vector<target> targets;
  int connections = 16;
  int threads = 1;
  double duration_s = 10;       // 0 with a request count: until the count is reached
  std::uint64_t requests = 0;   // 0: no count limit
  double rate = 0;              // requests per second over all connections; 0: closed loop
  double warmup_s = 0;
  double timeout_s = 10;
  std::string json_report;      // file for the JSON report (optional)
  std::string plot;             // file for the SVG percentile plot (optional)
};

// Replaces ${NAME} with the environment variable NAME (an unset one is an error).
expected<std::string> expand_environment(const std::string& text);
// Parses a JSON config (after expanding ${NAME}); errors name the offending field
// ("targets[1].url: ...").
expected<plan> parse_plan(const std::string& json_text);
// Fills request_bytes and checks what flags may have left inconsistent.
expected<bool> finish_plan(plan& p);
// "http://host:port/path?query" -> host, port, path
expected<bool> parse_url(const std::string& url, target& t);
std::string base64(const std::string& in);

// Draws target indexes in proportion to their weights.
class weighted_draw {
public:
  explicit weighted_draw(const std::vector<double>& weights, std::uint64_t seed = 42);
  std::size_t next();
  std::size_t pick(double u) const; // u in [0, 1)

private:
  std::vector<double> cumulative_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> dist_{0.0, 1.0};
};

// Open loop: connection c of n sends its k-th request at start + (c + k * n) / rate, so
// the sends of all connections interleave evenly at the total rate. Latency is measured
// from this intended time, not from when the connection was free (coordinated omission).
struct open_loop_schedule {
  double rate = 1;   // total requests per second
  int connections = 1;
  std::chrono::nanoseconds intended(int connection, std::uint64_t k) const {
    double seconds = (static_cast<double>(connection) + static_cast<double>(k) * connections) / rate;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
  }
};

} // namespace whisk::load
