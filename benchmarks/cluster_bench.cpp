// whisk-bench-cluster: the cluster's control plane without HTTP. A balancer (the one
// whisk-controller runs, spawn_balancer) connects to a running whisk-scheduler, leases
// containers on its agents, and a driver actor keeps K runs in flight over N actions
// (closed loop, run_atom + run_msg as the controller sends them), counting answers.
//
//   whisk-bench-cluster --scheduler=127.0.0.1:PORT [--actions=8] [--concurrency=16]
//     [--inflight=256] [--warmup=2] [--seconds=5] [--probe='SHELL COMMAND'] ...
//
// Prints one JSON object: answers per second over the measured window, latency
// percentiles (us, from the run's send to its answer), errors, and the output of --probe
// run just before and just after the window (the script reads the scheduler's CPU time and
// message counter there).
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>
#include <unistd.h>

#include "whisk/actors/cluster.hpp"
#include "whisk/actors/front.hpp"
#include "whisk/domain.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"

using namespace whisk;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;
using mark_atom = caf::atom_constant<caf::atom("mark")>;
using report_atom = caf::atom_constant<caf::atom("report")>;

struct bench_options : caf::actor_system_config {
  std::string scheduler;
  std::string name;
  std::string kind = "nodejs:20";
  std::string code = "// sim:sleep=0\nfunction main() { return {}; }";
  std::string probe;
  std::string log_level = "warn";
  std::int64_t actions = 8;
  std::int64_t concurrency = 16;
  std::int64_t memory = 256;
  std::int64_t inflight = 256;
  std::int64_t threads = 1;
  double warmup = 2;
  double seconds = 5;

  bench_options() {
    opt_group{custom_options_, "global"}
        .add(scheduler, "scheduler", "HOST:PORT of whisk-scheduler (required)")
        .add(name, "name", "the balancer's controller name (default: bench-PID)")
        .add(actions, "actions", "actions the runs are spread over, round robin (default: 8)")
        .add(concurrency, "concurrency", "the actions' limits.concurrency (default: 16)")
        .add(memory, "memory", "the actions' memory (MB) (default: 256)")
        .add(kind, "kind", "the actions' kind (default: 'nodejs:20')")
        .add(code, "code", "the actions' code (default: a noop that sim agents answer at once)")
        .add(inflight, "inflight", "runs kept in flight (default: 256)")
        .add(warmup, "warmup", "seconds before the measured window: leases are taken then (default: 2)")
        .add(seconds, "seconds", "seconds measured (default: 5)")
        .add(threads, "threads", "CAF scheduler threads of this process (default: 1, as whisk-controller)")
        .add(probe, "probe", "shell command run just before and just after the window; its output is reported")
        .add(log_level, "log-level", "debug, info, warn or error (default: 'warn')");
    load<caf::io::middleman>();
    whisk::add_message_types(*this);
    configure_remoting(*this);
    set("work-stealing.moderate-poll-attempts", 0); // as whisk-controller
  }
};

struct window_report {
  std::int64_t answers = 0, errors = 0;
  double seconds = 0;
  std::vector<std::uint32_t> latencies_us;
  std::string first_error;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(window_report)

namespace {

struct driver_state {
  static inline const char* name = "bench-driver";
  pool_actor pool;
  std::vector<action_ref> actions;
  std::uint64_t next = 0;
  std::string prefix; // of activation ids
  bool recording = false;
  caf::actor_clock::time_point since{};
  window_report w;
  std::int64_t errors_before = 0; // warm-up errors (leases being taken), reported apart
  std::string first_warmup_error;
};

using clock_type = std::chrono::steady_clock;

void send_one(caf::stateful_actor<driver_state>* self) {
  auto& st = self->state;
  run_msg m;
  m.action = st.actions[st.next % st.actions.size()];
  m.activation_id = fmt::format("{}{:016x}", st.prefix, st.next++);
  m.subject = "guest";
  m.received_ms = now_ms();
  auto t0 = clock_type::now();
  self->request(st.pool, caf::infinite, run_atom::value, std::move(m))
      .then(
          [self, t0](run_result& r) {
            auto& st = self->state;
            bool ok = r.status == static_cast<std::int32_t>(activation_status::success);
            if (st.recording) {
              ++st.w.answers;
              if (!ok) {
                ++st.w.errors;
                if (st.w.first_error.empty())
                  st.w.first_error = r.result_json;
              }
              auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();
              st.w.latencies_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(us, UINT32_MAX)));
            } else if (!ok) {
              ++st.errors_before;
              if (st.first_warmup_error.empty())
                st.first_warmup_error = r.result_json;
            }
            send_one(self);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            if (st.recording) {
              ++st.w.answers;
              ++st.w.errors;
              if (st.w.first_error.empty())
                st.w.first_error = self->system().render(err);
            }
            send_one(self);
          });
}

caf::behavior driver(caf::stateful_actor<driver_state>* self, pool_actor pool, std::vector<action_ref> actions,
                     std::string prefix) {
  self->state.pool = std::move(pool);
  self->state.actions = std::move(actions);
  self->state.prefix = std::move(prefix);
  return {
      [self](go_atom, std::int64_t k) {
        for (std::int64_t i = 0; i < k; ++i)
          send_one(self);
      },
      [self](mark_atom) {
        auto& st = self->state;
        st.w = window_report{};
        st.w.latencies_us.reserve(1 << 20);
        st.recording = true;
        st.since = self->clock().now();
      },
      [self](report_atom) -> window_report {
        auto& st = self->state;
        st.recording = false;
        st.w.seconds = std::chrono::duration<double>(self->clock().now() - st.since).count();
        return std::move(st.w);
      },
      [self](stats_atom) { return std::make_tuple(self->state.errors_before, self->state.first_warmup_error); },
  };
}

std::string run_probe(const std::string& cmd) {
  if (cmd.empty())
    return {};
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
      out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

double percentile(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int run(caf::actor_system& sys, const bench_options& o) {
  apply_log_level(o.log_level);
  balancer_config cfg;
  if (!parse_endpoint(o.scheduler, cfg.scheduler_host, cfg.scheduler_port)) {
    std::cerr << "whisk-bench-cluster: --scheduler must be HOST:PORT\n";
    return 2;
  }
  if (o.actions < 1 || o.concurrency < 1 || o.inflight < 1 || o.seconds <= 0 || o.warmup < 0) {
    std::cerr << "whisk-bench-cluster: check --actions, --concurrency, --inflight, --seconds and --warmup\n";
    return 2;
  }
  cfg.name = o.name.empty() ? fmt::format("bench-{}", ::getpid()) : o.name;
  // lease_idle and lease_grace as whisk-controller's defaults: leases taken in excess
  // during the warm-up are given back before the window
  cfg.max_queue = std::max<std::int64_t>(1000, o.inflight * 2);
  auto balancer = spawn_balancer(sys, cfg);

  // a revision of its own per run: no container of an earlier run is warm for it
  auto stamp = std::to_string(std::random_device{}()) + std::to_string(now_ms());
  std::vector<action_ref> actions;
  for (std::int64_t i = 0; i < o.actions; ++i) {
    action_ref a;
    a.ns = "guest";
    a.name = fmt::format("bench{}", i);
    a.version = "0.0.1";
    a.revision = fmt::format("/guest/{}@0.0.1#{}", a.name, stamp);
    a.kind = o.kind;
    a.code = shared_text(o.code);
    a.memory_mb = o.memory;
    a.concurrency = o.concurrency;
    actions.push_back(std::move(a));
  }
  auto d = sys.spawn(driver, balancer, std::move(actions), cfg.name + "-");
  caf::scoped_actor self{sys};
  self->send(d, go_atom::value, o.inflight);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  auto before = run_probe(o.probe);
  self->send(d, mark_atom::value);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  window_report w;
  self->request(d, std::chrono::seconds(10), report_atom::value).receive([&](window_report& r) { w = std::move(r); },
                                                                          [&](caf::error&) {});
  auto after = run_probe(o.probe);
  std::int64_t warm_errors = 0;
  std::string warm_error;
  self->request(d, std::chrono::seconds(10), stats_atom::value)
      .receive([&](std::int64_t n, std::string& e) { warm_errors = n, warm_error = std::move(e); }, [](caf::error&) {});
  pool_stats ps;
  self->request(balancer, std::chrono::seconds(10), stats_atom::value).receive([&](pool_stats& s) { ps = s; }, [](caf::error&) {});
  self->send_exit(d, caf::exit_reason::user_shutdown);
  self->send_exit(balancer, caf::exit_reason::user_shutdown);

  std::sort(w.latencies_us.begin(), w.latencies_us.end());
  json::object out{{"inflight", o.inflight},
                   {"actions", o.actions},
                   {"concurrency", o.concurrency},
                   {"seconds", w.seconds},
                   {"answers", w.answers},
                   {"errors", w.errors},
                   {"first_error", w.first_error},
                   {"warmup_errors", warm_errors},
                   {"first_warmup_error", warm_error},
                   {"rps", w.seconds > 0 ? static_cast<double>(w.answers) / w.seconds : 0.0},
                   {"p50_us", percentile(w.latencies_us, 0.50)},
                   {"p99_us", percentile(w.latencies_us, 0.99)},
                   {"max_us", w.latencies_us.empty() ? 0.0 : static_cast<double>(w.latencies_us.back())},
                   {"leases", ps.containers},
                   {"probe_before", before},
                   {"probe_after", after}};
  std::cout << json::dump(out) << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bench_options cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "whisk-bench-cluster: " << caf::to_string(err) << " (see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  cfg.set("scheduler.max-threads", static_cast<size_t>(std::max<std::int64_t>(1, cfg.threads)));
  caf::actor_system sys{cfg};
  return run(sys, cfg);
}
