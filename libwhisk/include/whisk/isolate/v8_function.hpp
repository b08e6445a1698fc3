#pragma once
// Containerless functions: JavaScript compiled in V8 isolates and called with JSON in and
// out, with console capture (bounded by a log limit), a time limit and a heap limit (that
// ArrayBuffers count against too) that end the call, not the
// process. Three shapes, one per isolate mode:
//   v8_function     an isolate of its own, compiled once (reuse mode), called in one kept
//                   context or in a fresh context per call
//   call_in_new_isolate   an isolate made for one call and disposed after it (fresh mode)
//   shared_context  one isolate and one context shared by many functions (unsafe mode)
// Every object here must be used by one thread at a time; V8 headers stay out of this header.
#include <cstddef>
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
  std::vector<std::string> logs;    // console.log / console.error lines in the activation log format
  std::int64_t init_us = -1;        // time spent creating and compiling for this call (-1: none)
};

class v8_function {
public:
  // Compiles `code` in a fresh isolate whose heap is bounded by `heap_limit_mb` and looks up
  // the function `main_name` (a global function or module.exports / exports.main). With
  // `context_per_call`, every call runs the compiled code again in a new context, so no
  // global state carries from one call to the next; otherwise one context is kept.
  // The top-level code runs under `init_timeout_ms`. On failure the error says why; `why`,
  // when given, tells a code error (threw) from a timeout or an exhausted heap.
  static expected<std::unique_ptr<v8_function>> compile(const std::string& code, const std::string& main_name = "main",
                                                        std::int64_t heap_limit_mb = 256, bool context_per_call = false,
                                                        std::int64_t init_timeout_ms = 60000,
                                                        call_status* why = nullptr);
  ~v8_function();
  // Calls the function with a JSON object; a returned Promise is settled by running the
  // microtasks. A call past `timeout_ms` is terminated; so is one that exhausts the heap,
  // after which this function is unusable (compile a new one).
  // Console output past `log_limit_bytes` (negative: none) is cut with a line that says so.
  call_result call(const std::string& params_json, std::int64_t timeout_ms = 60000, std::int64_t log_limit_bytes = -1);
  bool usable() const;
  // With a context per call: makes the next call's context now (idle time); false when there
  // is nothing to do.
  bool prepare();
  // A full garbage collection that also hands free memory back (contexts of past calls).
  void collect_garbage();
  // Bytes of heap the isolate holds now (committed), for cache accounting.
  std::size_t heap_bytes() const;

  struct state;

private:
  explicit v8_function(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

// Creates an isolate, compiles, calls once and disposes the isolate. result.init_us says
// how long creating and compiling took.
call_result call_in_new_isolate(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                                const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes = -1);

// Checks that `code` compiles and defines `main_name`, in a throw-away isolate: status ok,
// or the failure and its message.
call_result check_compiles(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                           std::int64_t timeout_ms);

// One isolate and one context in which many functions are loaded side by side: no
// isolation between them beyond the module wrapper. Functions are named by a caller's key.
class shared_context {
public:
  explicit shared_context(std::int64_t heap_limit_mb);
  ~shared_context();
  shared_context(const shared_context&) = delete;
  shared_context& operator=(const shared_context&) = delete;
  // Compiles `code` under `key` unless it is loaded already: status ok (init_us >= 0 when it
  // compiled now), or the failure and its message.
  call_result load(const void* key, const std::string& code, const std::string& main_name, std::int64_t timeout_ms);
  bool loaded(const void* key) const;
  void forget(const void* key);
  call_result call(const void* key, const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes = -1);
  // False after a call exhausted the heap: make a new one.
  bool usable() const;
  std::size_t heap_bytes() const;
  std::size_t functions() const;

  struct state;

private:
  std::unique_ptr<state> state_;
};

} // namespace whisk::isolate
