#pragma once
// The REST front that whisk-node and whisk-controller share: the store, the HTTP server,
// the controller over a pool (the node's own, or a balancer of the cluster's containers),
// and the orderly stop on SIGTERM/SIGINT (drain, commit every record, close).
#include <csignal>
#include <fmt/format.h>
#include <functional>
#include <string>
#include <vector>

#include "whisk/actors/protocol.hpp"
#include "whisk/metrics.hpp"

namespace whisk {

// An option's help text with its default, as --help shows it.
template <class T>
std::string with_default(const char* text, const T& value) {
  if constexpr (std::is_same_v<T, std::string>)
    return fmt::format("{} (default: '{}')", text, value);
  else
    return fmt::format("{} (default: {})", text, value);
}

struct front_options {
  std::int64_t port = 3233;
  std::string host = "127.0.0.1";
  std::string data_dir = "whisk-data";
  std::string store; // empty: SQLite in data_dir; else a PostgreSQL URI
  std::int64_t queue_budget = 100;
  std::int64_t http_threads = 1;
  std::int64_t max_connections = 1024;
  std::int64_t max_in_flight = 10000;
  std::int64_t store_queue = 100000;
  std::int64_t max_body = 50;
  std::int64_t drain_timeout = 10000;
  std::int64_t blocking_wait = 60000;
  std::string log_level = "info";
  bool isolate_unsafe = false;
  // throttles of namespaces without their own (whisk-admin limits set); 0: none
  std::int64_t limit_concurrent = 0;
  std::int64_t limit_per_minute = 0;
  std::int64_t limit_fires_per_minute = 0;

  // Adds the options above to `cfg`'s global group (with their defaults in --help).
  void add_to(caf::config_option_set& options);
  // "" when the values are usable, else what is wrong.
  std::string check() const;
};

struct front_parts {
  std::string role = "whisk-node"; // in log lines and 503 texts
  std::string owner;               // whose accepted activations this front recovers at start ("" for whisk-node)
  std::string summary;             // what else the start line says (backend, memory, scheduler)
  std::function<void(std::vector<metrics::sample>&)> extra_metrics;
  std::function<void()> stop_others; // at the stop: ends the caller's other actors (all are awaited)
};

// Sets the log level named by `level` (debug, info, warn, error).
void apply_log_level(const std::string& level);

// Serves until SIGTERM/SIGINT (in `signals`, blocked by the caller), then stops the
// controller and `pool` and waits for every actor. Returns the process's exit status.
int run_front(caf::actor_system& sys, const front_options& o, pool_actor pool, front_parts parts, const sigset_t& signals);

} // namespace whisk
