// whisk-bench-isolate: what the isolate layer costs on this machine, without HTTP or actors,
// on one thread: creating and compiling, a call in a kept context, a call in a fresh context,
// a call in a new isolate (fresh mode), a call in a shared context (unsafe mode).
//   whisk-bench-isolate [CALLS]   (default 2000; new isolates get CALLS/10)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "whisk/isolate/v8_function.hpp"

using namespace whisk::isolate;
using clock_type = std::chrono::steady_clock;

namespace {

const char* code = "function main({n}) { return {n: 2 * n}; }";

// Mean microseconds per run of `fn` over `n` runs (after n/10 unmeasured ones).
double per_call_us(int n, const std::function<void()>& fn) {
  for (int i = 0; i < n / 10; ++i)
    fn();
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i)
    fn();
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / n;
}

void row(const char* what, double us) { std::printf("| %s | %.1f | %.0f |\n", what, us, 1e6 / us); }

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
  std::puts("| step (one thread) | us | per second |");
  std::puts("|---|---:|---:|");
  row("new isolate + compile (a cache miss)", per_call_us(calls / 10, [] {
        auto f = v8_function::compile(code, "main", 128);
        if (!f)
          std::exit(1);
      }));
  auto kept = v8_function::compile(code, "main", 128, false);
  auto fresh_ctx = v8_function::compile(code, "main", 128, true);
  if (!kept || !fresh_ctx)
    return 1;
  row("call, kept context (reuse + isolate-reuse-context)", per_call_us(calls * 10, [&] { must((*kept)->call(R"({"n":21})")); }));
  row("call, new context per call (reuse, the default)", per_call_us(calls, [&] { must((*fresh_ctx)->call(R"({"n":21})")); }));
  { // the context made ahead (in whisk-node, while the worker waits for work): only the call is timed
    clock_type::duration in_calls{};
    for (int i = 0; i < calls; ++i) {
      (*fresh_ctx)->prepare();
      auto start = clock_type::now();
      must((*fresh_ctx)->call(R"({"n":21})"));
      in_calls += clock_type::now() - start;
    }
    row("call, context made ahead in idle time (reuse)", std::chrono::duration<double, std::micro>(in_calls).count() / calls);
  }
  row("call in a new isolate (fresh mode)", per_call_us(calls / 10, [] { must(call_in_new_isolate(code, "main", 128, R"({"n":21})", 60000)); }));
  shared_context shared(512);
  int key = 0;
  if (shared.load(&key, code, "main", 60000).status != call_status::ok)
    return 1;
  row("call, shared context (unsafe mode)", per_call_us(calls * 10, [&] { must(shared.call(&key, R"({"n":21})", 60000)); }));
  return 0;
}
