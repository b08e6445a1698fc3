#pragma once
// The host API of js:isolate functions: everything a function's code can reach outside its
// isolate, in one place (host_api.cpp, and the JS half in web_api_js.hpp). Private to the
// isolate layer.
//
//   setTimeout / clearTimeout / setInterval / clearInterval   timers of the running call
//   queueMicrotask                                             (JS, on Promise jobs)
//   fetch, Request, Response, Headers                          through fetch_client, under the
//                                                              network policy and its limits
//   TextEncoder / TextDecoder                                  UTF-8 only
//   URL / URLSearchParams, atob / btoa                         (JS, no host call)
//   crypto.getRandomValues / crypto.randomUUID                 the OS CSPRNG (getrandom)
//   structuredClone                                            V8's ValueSerializer
//
// Nothing else: no file system, no process, no sockets but fetch's. Timers and fetches belong
// to the call that made them (call_loop): they run only while it runs, and end with it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <unordered_map>
#include <vector>
#include <v8.h>

#include "whisk/isolate/fetch_client.hpp"

namespace whisk::isolate {

using clock_type = std::chrono::steady_clock;

// Bounds on what one call may keep outstanding, against storms.
constexpr int max_timers_per_call = 10000;
constexpr int callbacks_per_slice = 1000; // then the worker runs other calls before this one goes on

// Completions that reach a call from other threads (fetch answers), and how to wake the
// thread that runs it.
struct call_inbox {
  std::mutex mx;
  std::condition_variable cv; // for a caller that waits on its own thread (v8_function::call)
  std::vector<std::pair<std::uint64_t, fetch_response>> done;
  std::function<void()> wake; // for a worker that runs other calls meanwhile
  void post(std::uint64_t id, fetch_response r);
};

// The event loop of one call: its timers, its fetches in flight, their completions.
class call_loop {
public:
  call_loop(v8::Isolate* iso, std::shared_ptr<fetch_client> net, clock_type::time_point deadline,
            std::function<void()> wake);
  ~call_loop(); // cancels the fetches in flight; the timers' handles go with it
  call_loop(const call_loop&) = delete;
  call_loop& operator=(const call_loop&) = delete;

  // Makes this the loop the trampolines of `iso` use while the scope lives (one call runs at a time).
  class running {
  public:
    explicit running(call_loop& l);
    ~running();

  private:
    call_loop& l_;
    void* before_;
  };
  static call_loop* current(v8::Isolate* iso);

  // Runs fetch completions that arrived and timers that are due (at most a slice's worth),
  // each followed by the microtasks of `ctx`. Stops early when execution is terminated.
  void run_due(v8::Local<v8::Context> ctx);
  // When run_due has something to do next: now (completions waiting or a slice cut short),
  // the earliest timer, or max() when only fetches are outstanding or nothing is.
  clock_type::time_point next_due() const;
  // Timers or fetches are outstanding: the call's Promise may still settle.
  bool waiting() const;
  // Waits on this thread until a completion arrives or `until`.
  void wait(clock_type::time_point until);
  void cancel(); // ends the fetches in flight and drops the timers

  // for the trampolines
  v8::Isolate* isolate() const { return iso_; }
  std::uint32_t add_timer(v8::Local<v8::Function> fn, std::int64_t ms, bool repeat, std::vector<v8::Local<v8::Value>> args,
                          std::string& error);
  void clear_timer(std::uint32_t id);
  // Starts a fetch whose answer settles `resolver`; false (and why) when the call may not.
  bool add_fetch(fetch_request req, v8::Local<v8::Promise::Resolver> resolver, std::string& error);

private:
  struct timer {
    v8::Global<v8::Function> fn;
    std::vector<v8::Global<v8::Value>> args;
    std::int64_t interval_ms = -1; // repeating
  };
  struct fetch {
    v8::Global<v8::Promise::Resolver> resolver;
    std::shared_ptr<fetch_operation> op;
  };
  void settle(v8::Local<v8::Context> ctx, fetch& f, fetch_response r);

  v8::Isolate* iso_;
  std::shared_ptr<fetch_client> net_;
  clock_type::time_point deadline_;
  std::shared_ptr<call_inbox> inbox_;
  std::map<std::pair<clock_type::time_point, std::uint32_t>, timer> timers_; // by due time, then creation
  std::unordered_map<std::uint32_t, clock_type::time_point> due_;             // id -> due time
  std::uint32_t next_timer_ = 0;
  std::map<std::uint64_t, fetch> fetches_;
  std::uint64_t next_fetch_ = 0;
  bool cut_short_ = false; // the last slice stopped with work left
};

// Adds the host API to a new context: its globals and the JS that builds the Web API on the
// trampolines. `prelude` caches the compiled JS per isolate.
void install_host_api(v8::Local<v8::Context> ctx, v8::Global<v8::UnboundScript>& prelude);

} // namespace whisk::isolate
