// Embedding containerless functions in your own host: libwhisk's isolate backend, used
// directly through the container interface (create, init, run, destroy), no actors and no
// HTTP. Each call's result and log lines come back in the completion.
//   whisk-example-isolates [N]   runs main({n}) => ({n: 2n}) for n = 1..N (default 3)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>

#include "whisk/isolate/isolate_backend.hpp"

using namespace whisk;

namespace {

// Waits for one completion of the backend (they arrive on its worker threads).
template <class Start>
container::outcome wait_for(Start start) {
  std::promise<container::outcome> done;
  start([&](container::outcome o) { done.set_value(std::move(o)); });
  return done.get_future().get();
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::puts("usage: whisk-example-isolates [N]\n"
              "Runs a JavaScript function in a V8 isolate N times through libwhisk's isolate backend.");
    return 0;
  }
  int n = argc > 1 ? std::atoi(argv[1]) : 3;

  isolate::isolate_config cfg;
  cfg.workers = 1;        // one worker thread is plenty here
  cfg.cache_isolates = 8; // compiled isolates kept for reuse
  isolate::isolate_backend backend(cfg);

  // A "container" is a slot with a memory budget; init gives it the code and the mode.
  std::promise<expected<container::container_id>> created;
  backend.create(container::spec{"js:isolate", 128}, [&](expected<container::container_id> id) { created.set_value(id); });
  auto id = created.get_future().get();
  if (!id) {
    std::fprintf(stderr, "create failed: %s\n", id.err().message.c_str());
    return 1;
  }
  container::init_request init;
  init.code = "function main({n}) { console.log('doubling', n); return {n: 2 * n}; }";
  init.mode = "reuse";
  init.reuse_context = true;
  auto ready = wait_for([&](auto cb) { backend.init(*id, init, cb); });
  if (ready.output != R"({"ok":true})") {
    std::fprintf(stderr, "init failed: %s\n", ready.output.c_str());
    return 1;
  }

  for (int i = 1; i <= n; ++i) {
    container::run_request run;
    run.message_json = "{\"value\":{\"n\":" + std::to_string(i) + "}}";
    run.timeout_ms = 1000;
    auto out = wait_for([&](auto cb) { backend.run(*id, run, cb); });
    std::printf("result %s in %lld us\n", out.output.c_str(), static_cast<long long>(out.duration_us));
    for (auto& line : out.logs)
      std::printf("  log: %s\n", line.c_str());
  }

  std::promise<void> gone;
  backend.destroy(*id, [&] { gone.set_value(); });
  gone.get_future().get();
  auto s = backend.stats();
  std::printf("calls %lld, isolates compiled %lld, cache hits %lld\n", static_cast<long long>(s.calls),
              static_cast<long long>(s.cache_misses), static_cast<long long>(s.cache_hits));
  return 0;
}
