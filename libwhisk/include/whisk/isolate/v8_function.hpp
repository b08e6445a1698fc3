#pragma once
// Containerless functions: one JavaScript function compiled in its own V8 isolate and called
// with JSON in and out, with console capture, a time limit and a heap limit. V8 headers stay
// out of this header.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::isolate {

enum class call_status { ok, threw, timeout, oom };

struct call_result {
  call_status status = call_status::ok;
  std::string output;               // JSON of the result (ok) or the error message
  std::vector<std::string> logs;    // console.log / console.error lines, "stdout:" / "stderr:" tagged
};

class v8_function {
public:
  // Compiles `code` in a fresh isolate whose heap is bounded by `heap_limit_mb` and looks up
  // the function `main_name` (a global function or module.exports / exports.main).
  static expected<std::unique_ptr<v8_function>> compile(const std::string& code, const std::string& main_name = "main",
                                                        std::int64_t heap_limit_mb = 256);
  ~v8_function();
  // Calls the function with a JSON object; a returned Promise is settled by running the
  // microtasks. A call past `timeout_ms` is terminated; so is one that exhausts the heap,
  // after which this function is unusable (compile a new one).
  call_result call(const std::string& params_json, std::int64_t timeout_ms = 60000);
  bool usable() const;

  struct state;

private:
  explicit v8_function(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

} // namespace whisk::isolate
