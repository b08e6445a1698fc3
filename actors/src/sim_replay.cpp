// whisk-sim's replay: arrivals in, the pool's answers out, in virtual time (see sim_replay.hpp).
#include "whisk/actors/sim_replay.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/actors/container_pool.hpp"
#include "whisk/container/sim_backend.hpp"
#include "whisk/domain.hpp"

namespace whisk::sim {

namespace {

struct replay_config : caf::actor_system_config {
  replay_config() {
    set("scheduler.policy", caf::atom("testing")); // one thread, a manual clock
    whisk::add_message_types(*this);
  }
};

using arrive_atom = caf::atom_constant<caf::atom("arrive")>;

// What the driver actor learns; the test coordinator runs every actor on the caller's thread.
struct tallies {
  policy_run run;
  std::int64_t outstanding = 0;
  pool_stats stats;
  bool have_stats = false;
};

// Each trace function as an action of its own, its namespace being its app.
std::vector<action_ref> actions_of(const trace& t) {
  shared_text code{std::string("sim:sleep=param")};
  std::vector<action_ref> out;
  out.reserve(t.functions.size());
  for (auto& f : t.functions) {
    action_ref a;
    a.ns = f.app;
    a.name = f.id;
    a.version = "0.0.1";
    a.revision = f.id;
    a.kind = "sim";
    a.code = code;
    a.memory_mb = std::max<std::int64_t>(1, f.memory_mb);
    a.timeout_ms = 24 * 3600 * 1000 - 1; // no trace run is cut short
    out.push_back(std::move(a));
  }
  return out;
}

} // namespace

expected<bool> parse_cold_start(std::string_view text, replay_options& options) {
  auto plus = text.find('+');
  auto create = policy::parse_duration_ms(text.substr(0, plus));
  if (!create)
    return create.err();
  policy::millis init = 0;
  if (plus != std::string_view::npos) {
    auto i = policy::parse_duration_ms(text.substr(plus + 1));
    if (!i)
      return i.err();
    init = *i;
  }
  options.create = std::chrono::milliseconds(*create);
  options.init = std::chrono::milliseconds(init);
  return true;
}

expected<policy_run> replay(const trace& t, std::shared_ptr<policy::keep_alive_policy> keep_alive, const replay_options& options) {
  if (!keep_alive)
    return make_error(errc::bad_request, "replay: no keep-alive policy");
  auto wall_start = std::chrono::steady_clock::now();
  tallies tally;
  tally.run.policy = keep_alive->name();

  // the apps, in name order: indexes for the tallies
  std::map<std::string, std::int32_t> app_index;
  for (auto& f : t.functions)
    app_index.emplace(f.app, 0);
  for (auto& [app, index] : app_index) {
    index = static_cast<std::int32_t>(tally.run.apps.size());
    tally.run.apps.push_back(app_tally{app, 0, 0});
  }
  std::vector<std::int32_t> app_of;
  app_of.reserve(t.functions.size());
  for (auto& f : t.functions)
    app_of.push_back(app_index[f.app]);
  auto actions = actions_of(t);

  replay_config cfg;
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto& clock = sched.clock();
  auto timer = make_actor_timer(sys);
  container::sim_model model;
  model.create = options.create;
  model.init = options.init;
  model.run = std::chrono::milliseconds(0);
  model.suspend = model.resume = model.destroy = std::chrono::milliseconds(0);
  auto backend = std::make_shared<container::sim_backend>(model, timer.fn);

  pool_config pc;
  pc.user_memory_mb = options.memory_mb > 0 ? options.memory_mb : std::int64_t{1} << 40;
  pc.max_queue = options.max_queue;
  pc.queue_budget = options.queue_budget;
  pc.proxy.pause_grace = std::chrono::hours(24 * 365); // never paused (see the header)
  pc.keep_alive = std::move(keep_alive);
  auto pool = spawn_container_pool(sys, backend, pc);

  auto* tp = &tally;
  auto& clk = clock;
  auto driver = sys.spawn(
      [tp, pool, &clk](caf::event_based_actor* self, int) -> caf::behavior {
        return {
            [=, &clk](arrive_atom, run_msg& m, std::int64_t arrival_ns, std::int64_t duration_ms, std::int32_t app) {
              self->request(pool, caf::infinite, run_atom::value, std::move(m))
                  .then([=, &clk](run_result& r) {
                    auto& run = tp->run;
                    --tp->outstanding;
                    if (r.status != static_cast<std::int32_t>(activation_status::success)) {
                      ++run.rejected;
                      return;
                    }
                    ++run.completed;
                    auto waited_ns = clk.now().time_since_epoch().count() - arrival_ns;
                    run.added_latency_ms.push_back(std::max(0.0, static_cast<double>(waited_ns) / 1e6 - static_cast<double>(duration_ms)));
                    if (r.init_ms >= 0) {
                      ++run.cold_starts;
                      ++run.apps[static_cast<std::size_t>(app)].cold_starts;
                    }
                  });
            },
            [=](stats_atom) {
              self->request(pool, caf::infinite, stats_atom::value).then([=](pool_stats& s) {
                tp->stats = s;
                tp->have_stats = true;
              });
            },
        };
      },
      0);
  sched.run();

  using clock_point = caf::actor_clock::time_point;
  // Runs every message and every timer due at or before `until`, in time order.
  auto run_until = [&](clock_point until) {
    for (;;) {
      sched.run();
      auto& pending = clock.schedule();
      if (pending.empty() || pending.begin()->first > until)
        break;
      clock.trigger_timeout();
    }
    if (clock.current_time < until)
      clock.current_time = until;
  };

  auto start = clock.now();
  auto at = [&](double ms) { return start + std::chrono::nanoseconds(std::llround(ms * 1e6)); };
  std::int64_t seq = 0;
  for (auto& a : t.arrivals) {
    auto when = at(a.time_ms);
    run_until(when);
    run_msg m;
    m.action = actions[a.function];
    m.activation_id = fmt::format("{:016x}", ++seq);
    auto duration_ms = std::llround(a.duration_ms);
    m.params_json = fmt::format(R"({{"sim_ms":{}}})", duration_ms);
    auto app = app_of[a.function];
    ++tally.run.arrivals;
    ++tally.run.apps[static_cast<std::size_t>(app)].arrivals;
    ++tally.outstanding;
    caf::anon_send(driver, arrive_atom::value, std::move(m), static_cast<std::int64_t>(when.time_since_epoch().count()),
                   static_cast<std::int64_t>(duration_ms), app);
    if (options.progress && (seq & 0xffff) == 0)
      options.progress(seq);
  }
  // Every run answered (the last ones may end after the trace), then the trace's end.
  auto last = t.arrivals.empty() ? start : at(t.arrivals.back().time_ms);
  auto latest = last + std::chrono::hours(25); // beyond any run's limit: a timer this late is a keep-alive, not a run
  sched.run();
  while (tally.outstanding > 0) {
    auto& pending = clock.schedule();
    if (pending.empty() || pending.begin()->first > latest)
      break;
    clock.trigger_timeout();
    sched.run();
  }
  run_until(std::max(clock.now(), at(t.span_ms)));
  caf::anon_send(driver, stats_atom::value);
  sched.run();
  if (options.progress)
    options.progress(seq);

  auto& run = tally.run;
  run.rejected += tally.outstanding; // never answered (none expected): not lost from the counts
  if (tally.have_stats) {
    run.wasted_mb_ms = static_cast<double>(tally.stats.idle_mb_ms);
    run.evictions = tally.stats.evicted;
    run.expirations = tally.stats.expired;
    run.containers_created = tally.stats.created;
    run.prewarms = tally.stats.prewarms;
  }
  for (auto& a : {caf::actor_cast<caf::actor>(pool), driver, timer.handle})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sched.run();
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return std::move(tally.run);
}

} // namespace whisk::sim
