// whisk-bench-container: latencies of the process backend itself, without HTTP or actors.
//   cold start   create + init + first run of a nodejs container
//   stem cell    init + first run in an already started container
//   warm run     one activation round trip in an initialized container
//   pause/resume cgroup freeze / thaw of an idle nodejs container
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <unistd.h>
#include <vector>

#include "whisk/container/process_backend.hpp"
#include "whisk/log.hpp"

using namespace whisk;
using namespace whisk::container;
using clock_type = std::chrono::steady_clock;

namespace {

template <class T, class F>
T wait_for(F&& start) {
  std::promise<T> p;
  auto f = p.get_future();
  start([&p](T v) { p.set_value(std::move(v)); });
  return f.get();
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

struct summary {
  double p50, p99, min;
};

summary summarize(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto at = [&](double q) { return xs[std::min(xs.size() - 1, static_cast<std::size_t>(q * static_cast<double>(xs.size())))]; };
  return {at(0.5), at(0.99), xs.front()};
}

container_id create(process_backend& b) {
  auto r = wait_for<expected<container_id>>([&](auto cb) { b.create(spec{"nodejs:20", 256}, cb); });
  if (!r) {
    std::fprintf(stderr, "create failed: %s\n", r.err().message.c_str());
    std::exit(1);
  }
  return *r;
}

void init(process_backend& b, container_id id) {
  init_request req;
  req.code = "function main(p) { return {}; }";
  auto o = wait_for<outcome>([&](auto cb) { b.init(id, req, cb); });
  if (o.kind != outcome_kind::ok) {
    std::fprintf(stderr, "init failed\n");
    std::exit(1);
  }
}

void run(process_backend& b, container_id id) {
  run_request req{R"({"value":{},"namespace":"guest","action_name":"/guest/noop","activation_id":"0123456789abcdef0123456789abcdef"})", 10000, 1 << 20};
  auto o = wait_for<outcome>([&](auto cb) { b.run(id, req, cb); });
  if (o.kind != outcome_kind::ok) {
    std::fprintf(stderr, "run failed\n");
    std::exit(1);
  }
}

void destroy(process_backend& b, container_id id) {
  wait_for<bool>([&](auto cb) { b.destroy(id, [cb] { cb(true); }); });
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::puts("usage: whisk-bench-container [ROUNDS]   (needs root: namespaces and cgroups)");
    return 0;
  }
  int rounds = argc > 1 ? std::max(3, std::atoi(argv[1])) : 10;
  set_log_level(log_level::warn);
  process_config cfg;
  cfg.tree_name = "whisk-bench-" + std::to_string(::getpid());
  process_backend b{cfg};

  std::vector<double> cold, stem, warm, pause, resume;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = clock_type::now();
    auto id = create(b);
    init(b, id);
    run(b, id);
    cold.push_back(ms_since(t0));
    destroy(b, id);
  }
  for (int i = 0; i < rounds; ++i) {
    auto id = create(b); // the stem cell is started before the action is known
    auto t0 = clock_type::now();
    init(b, id);
    run(b, id);
    stem.push_back(ms_since(t0));
    if (i == 0) {
      for (int k = 0; k < 100; ++k)
        run(b, id); // warm up
      for (int k = 0; k < 2000; ++k) {
        auto t1 = clock_type::now();
        run(b, id);
        warm.push_back(ms_since(t1));
      }
      for (int k = 0; k < 200; ++k) {
        auto t1 = clock_type::now();
        wait_for<bool>([&](auto cb) { b.suspend(id, cb); });
        pause.push_back(ms_since(t1));
        auto t2 = clock_type::now();
        wait_for<bool>([&](auto cb) { b.resume(id, cb); });
        resume.push_back(ms_since(t2));
      }
    }
    destroy(b, id);
  }
  auto line = [](const char* name, std::vector<double> xs) {
    auto s = summarize(std::move(xs));
    std::printf("%-34s p50 %8.3f ms   p99 %8.3f ms   min %8.3f ms\n", name, s.p50, s.p99, s.min);
  };
  std::printf("process backend, nodejs:20 noop, %s cgroups\n", to_string(b.cgroups().layout()));
  line("cold start (create+init+run)", cold);
  line("stem-cell start (init+run)", stem);
  line("warm run (backend round trip)", warm);
  line("pause (freeze)", pause);
  line("resume (thaw)", resume);
  return 0;
}
