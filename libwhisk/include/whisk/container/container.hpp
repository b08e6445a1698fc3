#pragma once
// One interface for every container backend. Every operation is asynchronous: it returns
// at once and calls its completion later, on a thread of the backend's choosing, exactly once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::container {

using container_id = std::uint64_t;

struct spec {
  std::string kind;
  std::int64_t memory_mb = 256;
};

struct init_request {
  std::string code;
  std::string main = "main";
  bool binary = false;
  std::string env_json = "{}"; // environment for the action, a JSON object of strings
  std::int64_t timeout_ms = 60000;
  std::int64_t log_limit_bytes = 10 << 20;
  std::string mode;           // how a runtime may run the code; isolates: "reuse", "fresh", "unsafe"
  bool reuse_context = true; // isolates, reuse mode: keep one context across calls (false: a new context per call)
  std::int64_t concurrency = 1; // runs the owner may send at once (nodejs processes run them side by side)
};

struct run_request {
  std::string message_json; // {"value": ..., "namespace": ..., "activation_id": ..., ...}
  std::int64_t timeout_ms = 60000;
  std::int64_t log_limit_bytes = 10 << 20;
};

enum class outcome_kind {
  ok,       // the runtime answered one line
  timeout,  // no answer within the time limit; the container is no longer usable
  oom,      // killed for exceeding its memory limit
  exited,   // the runtime process ended
  failed,   // the backend could not carry out the operation
};

struct outcome {
  outcome_kind kind = outcome_kind::failed;
  std::string output;  // the runtime's answer line (ok) or a reason (others)
  std::vector<std::string> logs;
  std::int64_t duration_us = 0;
  std::int64_t init_us = -1; // a run that had to prepare its runtime first (a cold isolate)
};

class backend {
public:
  using create_done = std::function<void(expected<container_id>)>;
  using op_done = std::function<void(outcome)>;
  using flag_done = std::function<void(bool)>;

  virtual ~backend() = default;
  virtual std::string name() const = 0;
  // Starts a runtime of `s.kind`; completes when it is ready for its init message.
  virtual void create(const spec& s, create_done done) = 0;
  virtual void init(container_id id, init_request req, op_done done) = 0;
  virtual void run(container_id id, run_request req, op_done done) = 0;
  virtual void suspend(container_id id, flag_done done) = 0;
  virtual void resume(container_id id, flag_done done) = 0;
  virtual void destroy(container_id id, std::function<void()> done) = 0;
};

// Schedules `fn` after `delay`; supplied by whoever owns time (an actor clock, a test).
using timer_fn = std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)>;

// The log line format users know: "<UTC time with ns>Z stdout: <text>".
std::string format_log_line(std::string_view stream, std::string_view text);

} // namespace whisk::container
