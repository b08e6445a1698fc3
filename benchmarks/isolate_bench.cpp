// whisk-bench-isolate: what the isolate layer costs on this machine, without HTTP or actors,
// on one thread: creating and compiling, a call in a kept context, a call in a fresh context,
// a call in a new isolate (fresh mode; also in one made ahead), a call in a shared context
// (unsafe mode). Each row also says how many page faults (minor) one run took.
//   whisk-bench-isolate [CALLS]   (default 2000; new isolates get CALLS/10)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sys/resource.h>

#include "whisk/isolate/v8_function.hpp"

using namespace whisk::isolate;
using clock_type = std::chrono::steady_clock;

namespace {

const char* code = "function main({n}) { return {n: 2 * n}; }";

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u); // (the whole process: V8's own threads too)
  return u.ru_minflt;
}

struct measured {
  double us = 0, faults = 0;
};

// Mean microseconds and page faults per run of `fn` over `n` runs (after n/10 unmeasured ones).
measured per_call(int n, const std::function<void()>& fn) {
  for (int i = 0; i < n / 10; ++i)
    fn();
  auto faults = minor_faults();
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i)
    fn();
  return {std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / n,
          static_cast<double>(minor_faults() - faults) / n};
}

void row(const char* what, measured m) { std::printf("| %s | %.1f | %.0f | %.1f |\n", what, m.us, 1e6 / m.us, m.faults); }

void must(const call_result& r) {
  if (r.status != call_status::ok || std::strcmp(r.output.c_str(), R"({"n":42})") != 0) {
    std::fprintf(stderr, "whisk-bench-isolate: unexpected result %s\n", r.output.c_str());
    std::exit(1);
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::puts("usage: whisk-bench-isolate [CALLS]\n"
              "Times the isolate layer on one thread (no HTTP, no actors) and prints a Markdown table.");
    return 0;
  }
  int calls = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
  std::puts("| step (one thread) | us | per second | page faults |");
  std::puts("|---|---:|---:|---:|");
  row("new isolate + compile (a cache miss)", per_call(calls / 10, [] {
        auto f = v8_function::compile(code, "main", 128);
        if (!f)
          std::exit(1);
      }));
  auto kept = v8_function::compile(code, "main", 128, false);
  auto fresh_ctx = v8_function::compile(code, "main", 128, true);
  if (!kept || !fresh_ctx)
    return 1;
  row("call, kept context (reuse, the default)", per_call(calls * 10, [&] { must((*kept)->call(R"({"n":21})")); }));
  row("call, new context per call (reuse + isolate-reuse-context: false)", per_call(calls, [&] { must((*fresh_ctx)->call(R"({"n":21})")); }));
  // Made ahead (in whisk-node, while the worker waits for work): only the call is timed.
  auto ahead = [](int n, const std::function<void()>& make, const std::function<void()>& call) {
    clock_type::duration in_calls{};
    long faults = 0;
    for (int i = 0; i < n; ++i) {
      make();
      auto f = minor_faults();
      auto start = clock_type::now();
      call();
      in_calls += clock_type::now() - start;
      faults += minor_faults() - f;
    }
    return measured{std::chrono::duration<double, std::micro>(in_calls).count() / n, static_cast<double>(faults) / n};
  };
  row("call, context made ahead in idle time (reuse + isolate-reuse-context: false)",
      ahead(calls, [&] { (*fresh_ctx)->prepare(); }, [&] { must((*fresh_ctx)->call(R"({"n":21})")); }));
  row("call in a new isolate (fresh mode)", per_call(calls / 10, [] { must(call_in_new_isolate(code, "main", 128, R"({"n":21})", 60000)); }));
  row("a new isolate with its context and host API, made ahead (fresh mode, idle time)",
      per_call(calls / 10, [] { blank_isolate made(128); }));
  std::unique_ptr<blank_isolate> blank;
  row("call in an isolate made ahead in idle time (fresh mode)",
      ahead(calls / 10, [&] { blank = std::make_unique<blank_isolate>(128); }, [&] {
        call_options opts;
        must(run_to_end(start_in_new_isolate(code, "main", 128, R"({"n":21})", std::move(opts), std::move(blank))));
      }));
  shared_context shared(512);
  int key = 0;
  if (shared.load(&key, code, "main", 60000).status != call_status::ok)
    return 1;
  compiled_code cache;
  if (check_compiles(code, "main", 128, 60000, &cache).status != call_status::ok || !cache)
    return 1;
  row("call in an isolate made ahead, compiled from the action's code cache (fresh mode)",
      ahead(calls / 10, [&] { blank = std::make_unique<blank_isolate>(128); }, [&] {
        call_options opts;
        must(run_to_end(start_in_new_isolate(code, "main", 128, R"({"n":21})", std::move(opts), std::move(blank), cache)));
      }));
  row("call, shared context (unsafe mode)", per_call(calls * 10, [&] { must(shared.call(&key, R"({"n":21})", 60000)); }));
  return 0;
}
