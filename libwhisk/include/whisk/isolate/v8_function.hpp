#pragma once
// Containerless functions: JavaScript compiled in V8 isolates and called with JSON in and
// out, with console capture (bounded by a log limit), a time limit and a heap limit (that
// ArrayBuffers count against too) that end the call, not the
// process. A function may wait: its Promise settles through timers and fetches (host_api.cpp
// has the whole host surface), each call with an event loop of its own that a caller turns
// (running_call) or lets call() turn. Three shapes, one per isolate mode:
//   v8_function     an isolate of its own, compiled once (reuse mode), called in one kept
//                   context or in a fresh context per call
//   call_in_new_isolate   an isolate made for one call and disposed after it (fresh mode),
//                   or made ahead as a blank_isolate while its thread was idle
//   shared_context  one isolate and one context shared by many functions (unsafe mode)
// Every object here must be used by one thread at a time; V8 headers stay out of this header.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

class fetch_client;

struct call_options {
  std::int64_t timeout_ms = 60000;
  std::int64_t log_limit_bytes = -1;   // console output past it is cut (negative: no limit)
  std::shared_ptr<fetch_client> net;   // what fetch goes through (none: fetch rejects)
  std::function<void()> wake;          // called from another thread when a fetch has answered
};

// A call in progress. Finished at once, or waiting for its timers and fetches: then its
// owner resumes it, on the thread that started it, when wake_at() has come or wake() was
// called; other calls may run on that thread meanwhile. It ends at its deadline with the
// timeout error, its timers dropped and its fetches cancelled. Destroying it ends it too.
class running_call {
public:
  ~running_call();
  bool finished() const;
  call_result take(); // the result, once finished
  // When it wants to run next: time_point::min() for now, else its next timer or its deadline.
  std::chrono::steady_clock::time_point wake_at() const;
  void resume(); // runs what is due (answers, timers, Promise jobs); may finish it
  void wait();   // blocks this thread until wake_at() or an answer, for owners with nothing else to run

  struct state;
  explicit running_call(std::unique_ptr<state> s);

private:
  std::unique_ptr<state> s_;
};

// Turns a call's loop on this thread until it finishes.
call_result run_to_end(std::unique_ptr<running_call> c);

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
  // Waits for timers and fetches (through `net`) on this thread.
  call_result call(const std::string& params_json, std::int64_t timeout_ms = 60000, std::int64_t log_limit_bytes = -1,
                   std::shared_ptr<fetch_client> net = nullptr);
  // Starts a call that its owner turns (see running_call). The isolate stays alive while
  // the call does, even if this object goes; calls of one function may interleave on its thread,
  // each in its own context (a kept context is shared, as its state is).
  std::unique_ptr<running_call> start(const std::string& params_json, call_options opts);
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
  explicit v8_function(std::shared_ptr<state> s);
  std::shared_ptr<state> state_;
};

// V8's compiled form (code cache) of an action's module-wrapped code, made once by
// check_compiles: fresh isolates compile from it instead of parsing the source again.
// Bytecode only: nothing of a run's values is in it.
using compiled_code = std::shared_ptr<const std::string>;

// An isolate made ahead for one fresh-mode call (in a worker's idle time): created with its
// heap limit, its context, console and host API, and no user code run in it. A call takes
// it (start_in_new_isolate) and it is disposed after that call, like any fresh isolate.
class blank_isolate {
public:
  explicit blank_isolate(std::int64_t heap_limit_mb);
  ~blank_isolate();
  blank_isolate(const blank_isolate&) = delete;
  blank_isolate& operator=(const blank_isolate&) = delete;
  std::int64_t heap_limit_mb() const { return heap_limit_mb_; }

  struct state;
  std::unique_ptr<state> take(); // for start_in_new_isolate: empties this one

private:
  std::int64_t heap_limit_mb_;
  std::unique_ptr<state> s_;
};

// Creates an isolate, compiles, calls once and disposes the isolate. result.init_us says
// how long creating and compiling took.
call_result call_in_new_isolate(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                                const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes = -1);
// The same as a call its owner turns; the isolate is disposed when the call ends. With
// `made_ahead` (of the same heap limit) the call runs in it instead of a new isolate, and
// init_us counts compiling only. With `cache` (of this code) it compiles from the cache.
std::unique_ptr<running_call> start_in_new_isolate(const std::string& code, const std::string& main_name,
                                                   std::int64_t heap_limit_mb, const std::string& params_json,
                                                   call_options opts, std::unique_ptr<blank_isolate> made_ahead = nullptr,
                                                   compiled_code cache = nullptr);

// Checks that `code` compiles and defines `main_name`, in a throw-away isolate: status ok,
// or the failure and its message. With `made_code`, also hands back its compiled form.
call_result check_compiles(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                           std::int64_t timeout_ms, compiled_code* made_code = nullptr);

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
  std::unique_ptr<running_call> start(const void* key, const std::string& params_json, call_options opts);
  // False after a call exhausted the heap: make a new one.
  bool usable() const;
  std::size_t heap_bytes() const;
  std::size_t functions() const;

  struct state;

private:
  std::shared_ptr<state> state_;
};

} // namespace whisk::isolate
