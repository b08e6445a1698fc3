// whisk-bench-sim: what the container pool's decisions cost without the actors around them.
// For every arrival of a trace, in time order, it makes the calls the pool makes for it:
// policy::place over the function's containers (the pool's index by action; no stem cells
// here, so no unbound ones), the free memory asked on the cold path only (placement.hpp),
// keep_alive_policy::on_arrival, and when a run ends on_idle + keep_alive; it unloads a
// container when its keep-alive runs out, evicts in the policy's order, starts the
// pre-warms the policy asks for, reports removals (on_removed) and queues what cannot be
// placed in a FIFO as the pool does. Run ends, unloads and pre-warms come from an event heap.
//
// The decisions only: no actors, no messages, no proxies, no sim backend, and the pool's
// bookkeeping reduced to a vector of policy::container_info. A measurement aid that shows
// how much of whisk-sim's time is the decisions and how much the actor machinery, not a
// second simulator: its counts (printed to compare; equal to whisk-sim's on the generated
// traces with unbounded memory, close under a memory bound) are not the figures of record.
//   whisk-bench-sim TRACE [--policy=SPEC,...] [--memory=MB] [--functions=N] [--day=D] [--seed=S] [--generate=N]
// TRACE: a directory with Azure 2019 files or a 2021 CSV (as whisk-sim --trace);
// --generate=N first writes a synthetic N-function day into TRACE (as whisk-sim generate).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "whisk/policy/keep_alive.hpp"
#include "whisk/policy/placement.hpp"
#include "whisk/sim/trace.hpp"

using namespace whisk;
using steady = std::chrono::steady_clock;

namespace {

// whisk-sim's defaults (sim_replay.hpp): a cold start is create + init of virtual time; a run
// that cannot be placed waits at most the queueing budget.
constexpr std::int64_t ms_ns = 1'000'000;
constexpr std::int64_t cold_start_ns = (450 + 50) * ms_ns;
constexpr std::int64_t queue_budget_ns = 10 * 60'000 * ms_ns;
constexpr std::int64_t max_queue = 1'000'000;
constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

struct counts {
  std::int64_t arrivals = 0, warm = 0, cold = 0, rejected = 0, evicted = 0, expired = 0, prewarms = 0;
  std::int64_t peak_mb = 0, peak_busy_mb = 0, peak_containers = 0; // peak_busy_mb: of containers with a run
  double seconds = 0;
};

// What the pool keeps beside a container's container_info.
struct slot {
  std::uint32_t function = 0;
  policy::millis idle_since_ms = 0;
  std::int64_t ready_at_ns = 0;     // initialized by then (a run placed earlier starts then)
  std::int64_t unload_at_ns = never;
  bool prewarmed = false;
  policy::millis prewarm_keep_ms = 0;
  bool initialized = false;
};

enum class event_kind { run_end, initialized, unload, prewarm_due };

struct event {
  std::int64_t at_ns;
  std::uint64_t seq; // equal times: in the order they were made
  event_kind kind;
  std::uint64_t id;  // a container; prewarm_due: the function
  policy::millis keep_ms;
  bool operator>(const event& o) const { return at_ns != o.at_ns ? at_ns > o.at_ns : seq > o.seq; }
};

class decision_replay {
public:
  decision_replay(const sim::trace& t, std::unique_ptr<policy::keep_alive_policy> keep_alive, std::int64_t memory_mb)
      : t_(t), keep_alive_(std::move(keep_alive)), user_memory_mb_(memory_mb > 0 ? memory_mb : std::int64_t{1} << 40) {
    for (auto& f : t.functions) {
      auto mb = std::max<std::int64_t>(1, f.memory_mb);
      needs_.push_back(policy::run_need{f.id, "sim", mb, 1});
    }
    cold_start_ms_.assign(t.functions.size(), 0);
    by_function_.resize(t.functions.size());
  }

  counts run() {
    auto t0 = steady::now();
    for (std::size_t i = 0; i < t_.arrivals.size(); ++i) {
      auto& a = t_.arrivals[i];
      std::int64_t at = std::llround(a.time_ms * 1e6);
      run_events_until(at);
      now_ns_ = std::max(now_ns_, at);
      ++c_.arrivals;
      shed_expired();
      if (!queue_.empty() || !try_place(i)) {
        if (static_cast<std::int64_t>(queue_.size()) >= max_queue)
          ++c_.rejected;
        else
          queue_.push_back({i, now_ns_});
      }
    }
    // as whisk-sim: every run answered, then the trace's end (containers idle then stay)
    while (!events_.empty() && (running_ > 0 || !queue_.empty()))
      run_events_until(events_.top().at_ns);
    run_events_until(std::max<std::int64_t>(now_ns_, std::llround(t_.span_ms * 1e6)));
    c_.rejected += static_cast<std::int64_t>(queue_.size());
    c_.seconds = std::chrono::duration<double>(steady::now() - t0).count();
    return c_;
  }

private:
  policy::millis now_ms() const { return now_ns_ / ms_ns; }

  policy::function_ref ref_of(std::uint32_t f) const {
    auto& fn = t_.functions[f];
    return {fn.id, fn.app, needs_[f].memory_mb, cold_start_ms_[f]};
  }

  static bool is_idle(const policy::container_info& c) {
    return !c.action_key.empty() && c.active == 0 &&
           (c.state == policy::slot_state::ready || c.state == policy::slot_state::paused);
  }

  void push(std::int64_t at, event_kind k, std::uint64_t id, policy::millis keep = 0) {
    events_.push(event{at, ++event_seq_, k, id, keep});
  }

  void run_events_until(std::int64_t until) {
    while (!events_.empty() && events_.top().at_ns <= until) {
      auto e = events_.top();
      events_.pop();
      now_ns_ = std::max(now_ns_, e.at_ns);
      shed_expired();
      switch (e.kind) {
        case event_kind::run_end: run_ended(e.id); break;
        case event_kind::initialized: initialized(e.id); break;
        case event_kind::unload: unload_due(e.id); break;
        case event_kind::prewarm_due: prewarm_due(static_cast<std::uint32_t>(e.id), e.keep_ms); break;
      }
    }
  }

  // The pool refuses the runs at the head of its queue that waited out the budget.
  void shed_expired() {
    while (!queue_.empty() && now_ns_ - queue_.front().since_ns >= queue_budget_ns) {
      ++c_.rejected;
      queue_.pop_front();
    }
  }

  void process_queue() {
    while (!queue_.empty() && try_place(queue_.front().arrival))
      queue_.pop_front();
  }

  std::uint64_t add_container(std::uint32_t f, std::int64_t ready_at) {
    auto id = next_id_++;
    policy::container_info info;
    info.id = id;
    info.state = policy::slot_state::starting;
    info.kind = "sim";
    info.memory_mb = needs_[f].memory_mb;
    info.last_used = ++use_seq_;
    index_.emplace(id, pool_.size());
    pool_.push_back(std::move(info));
    slots_.push_back(slot{f, 0, ready_at});
    by_function_[f].push_back(id);
    memory_mb_ += needs_[f].memory_mb;
    c_.peak_mb = std::max(c_.peak_mb, memory_mb_);
    c_.peak_containers = std::max(c_.peak_containers, static_cast<std::int64_t>(pool_.size()));
    push(ready_at, event_kind::initialized, id);
    return id;
  }

  void remove(std::uint64_t id, policy::removal_cause cause) {
    auto i = index_.at(id);
    auto f = slots_[i].function;
    if (!pool_[i].action_key.empty())
      keep_alive_->on_removed(id, ref_of(f), now_ms(), cause);
    auto& mine = by_function_[f];
    mine.erase(std::find(mine.begin(), mine.end(), id));
    memory_mb_ -= pool_[i].memory_mb;
    index_.erase(id);
    if (i + 1 != pool_.size()) {
      pool_[i] = std::move(pool_.back());
      slots_[i] = slots_.back();
      index_[pool_[i].id] = i;
    }
    pool_.pop_back();
    slots_.pop_back();
  }

  // The pool's try_place: the placement, the policy's arrival, evictions, the run's start.
  bool try_place(std::size_t arrival) {
    auto& a = t_.arrivals[arrival];
    auto f = a.function;
    auto now = now_ms();
    auto pick = [this, now](const policy::pool_view&, std::int64_t need_mb, std::int64_t free_mb) {
      std::vector<policy::idle_container> idle;
      for (std::size_t i = 0; i < pool_.size(); ++i)
        if (is_idle(pool_[i])) {
          auto& fn = t_.functions[slots_[i].function];
          idle.push_back({pool_[i].id, fn.id, fn.app, pool_[i].memory_mb, slots_[i].idle_since_ms});
        }
      return keep_alive_->eviction_order(idle, need_mb - free_mb, now);
    };
    auto free_mb = [this] { return user_memory_mb_ - policy::memory_in_use(policy::view_of(pool_)); };
    policy::pool_view candidates;
    for (auto id : by_function_[f])
      candidates.push_back(&pool_[index_.at(id)]);
    auto p = policy::place(candidates, needs_[f], user_memory_mb_, free_mb, pick);
    if (p.kind == policy::placement_kind::wait)
      return false;
    bool warm = p.kind == policy::placement_kind::warm || p.kind == policy::placement_kind::resume;
    keep_alive_->on_arrival(ref_of(f), now, warm ? policy::start_kind::warm : policy::start_kind::cold);
    if (warm) {
      ++c_.warm;
    } else {
      for (auto victim : p.victims) {
        remove(victim, policy::removal_cause::evicted);
        ++c_.evicted;
      }
      ++c_.cold;
      p.id = add_container(f, now_ns_ + cold_start_ns);
    }
    auto i = index_.at(p.id);
    auto& info = pool_[i];
    info.active += 1;
    if (info.state != policy::slot_state::starting)
      info.state = policy::slot_state::busy;
    if (info.action_key.empty())
      info.action_key = needs_[f].action_key;
    info.last_used = ++use_seq_;
    std::int64_t duration_ns = std::llround(a.duration_ms) * ms_ns;
    push(std::max(now_ns_, slots_[i].ready_at_ns) + duration_ns, event_kind::run_end, p.id);
    ++running_;
    if (info.active == 1) {
      busy_mb_ += info.memory_mb;
      c_.peak_busy_mb = std::max(c_.peak_busy_mb, busy_mb_);
    }
    return true;
  }

  void arm_unload(std::size_t i, policy::millis keep_ms) {
    if (keep_ms == policy::keep_forever) {
      slots_[i].unload_at_ns = never;
      return;
    }
    slots_[i].unload_at_ns = now_ns_ + keep_ms * ms_ns;
    push(slots_[i].unload_at_ns, event_kind::unload, pool_[i].id);
  }

  void run_ended(std::uint64_t id) {
    --running_;
    auto i = index_.at(id);
    auto& info = pool_[i];
    if (info.active > 0 && --info.active == 0)
      busy_mb_ -= info.memory_mb;
    bool now_idle = info.active == 0 && (info.state == policy::slot_state::busy || info.state == policy::slot_state::starting);
    if (now_idle)
      info.state = policy::slot_state::ready;
    info.last_used = ++use_seq_;
    if (now_idle && !info.action_key.empty())
      went_idle(i); // may unload it at once: `info` is not used after this
    process_queue();
  }

  // The policy's decision for a container that went idle (it may be unloaded at once).
  void went_idle(std::size_t i) {
    auto f = slots_[i].function;
    auto id = pool_[i].id;
    auto fn = ref_of(f);
    auto now = now_ms();
    slots_[i].idle_since_ms = now;
    keep_alive_->on_idle(id, fn, now);
    auto d = keep_alive_->keep_alive(id, fn, now);
    if (d.prewarm)
      push(now_ns_ + std::max<policy::millis>(0, d.prewarm->start_ms) * ms_ns, event_kind::prewarm_due, f,
           std::max<policy::millis>(0, d.prewarm->end_ms - d.prewarm->start_ms));
    if (d.keep_ms <= 0) {
      ++c_.expired;
      remove(id, policy::removal_cause::expired);
      return;
    }
    arm_unload(i, d.keep_ms);
  }

  void unload_due(std::uint64_t id) {
    auto it = index_.find(id);
    if (it == index_.end())
      return;
    auto i = it->second;
    if (!is_idle(pool_[i]) || now_ns_ < slots_[i].unload_at_ns)
      return; // busy again, or idle since later: a later event is due
    ++c_.expired;
    remove(id, policy::removal_cause::expired);
    process_queue();
  }

  void initialized(std::uint64_t id) {
    auto it = index_.find(id);
    if (it == index_.end())
      return;
    auto i = it->second;
    auto& s = slots_[i];
    if (!s.initialized) {
      s.initialized = true;
      cold_start_ms_[s.function] = cold_start_ns / ms_ns; // the pool measures its cold start now
    }
    auto& info = pool_[i];
    if (s.prewarmed && info.state == policy::slot_state::starting && info.active == 0) {
      info.state = policy::slot_state::ready;
      s.idle_since_ms = now_ms();
      if (s.prewarm_keep_ms <= 0) {
        ++c_.expired;
        remove(id, policy::removal_cause::expired);
      } else {
        arm_unload(i, s.prewarm_keep_ms);
      }
      process_queue();
    }
  }

  // A pre-warm starts the function unless it has a container, or memory is short (no eviction).
  void prewarm_due(std::uint32_t f, policy::millis keep_ms) {
    if (!by_function_[f].empty() || needs_[f].memory_mb > user_memory_mb_ - policy::memory_in_use(policy::view_of(pool_)))
      return;
    auto id = add_container(f, now_ns_ + cold_start_ns);
    auto i = index_.at(id);
    pool_[i].action_key = needs_[f].action_key;
    slots_[i].prewarmed = true;
    slots_[i].prewarm_keep_ms = keep_ms;
    ++c_.prewarms;
  }

  struct waiting {
    std::size_t arrival;
    std::int64_t since_ns;
  };

  const sim::trace& t_;
  std::unique_ptr<policy::keep_alive_policy> keep_alive_;
  std::int64_t user_memory_mb_;
  std::vector<policy::run_need> needs_;
  std::vector<policy::millis> cold_start_ms_; // per function: 0 until its first cold start is measured
  std::vector<std::vector<std::uint64_t>> by_function_; // per function: its containers (the pool's index)
  std::vector<policy::container_info> pool_;  // the pool's view
  std::vector<slot> slots_;                   // beside pool_, same index
  std::unordered_map<std::uint64_t, std::size_t> index_;
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  std::deque<waiting> queue_;
  std::int64_t now_ns_ = 0;
  std::int64_t memory_mb_ = 0;
  std::int64_t running_ = 0; // runs placed and not ended
  std::int64_t busy_mb_ = 0;  // memory of containers with a run
  std::uint64_t next_id_ = 1, use_seq_ = 0, event_seq_ = 0;
  counts c_;
};

bool flag(std::string_view arg, std::string_view name, std::string& value) {
  if (arg.substr(0, name.size()) != name || arg.size() <= name.size() || arg[name.size()] != '=')
    return false;
  value = std::string(arg.substr(name.size() + 1));
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: whisk-bench-sim TRACE [--policy=SPEC,...] [--memory=MB] [--functions=N] [--day=D] [--seed=S] "
                       "[--generate=N]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string trace_path, policies = "fixed:10m,hybrid,greedy-dual,lru", value;
  std::int64_t memory_mb = 0, functions = 0, day = 1, seed = 1, generate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    try {
      if (flag(arg, "--policy", value))
        policies = value;
      else if (flag(arg, "--memory", value))
        memory_mb = std::stoll(value);
      else if (flag(arg, "--functions", value))
        functions = std::stoll(value);
      else if (flag(arg, "--day", value))
        day = std::stoll(value);
      else if (flag(arg, "--seed", value))
        seed = std::stoll(value);
      else if (flag(arg, "--generate", value))
        generate = std::stoll(value);
      else if (!arg.empty() && arg[0] != '-' && trace_path.empty())
        trace_path = arg;
      else
        return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (trace_path.empty() || memory_mb < 0 || functions < 0 || day < 1 || day > 14 || seed < 0 || generate < 0)
    return usage();
  if (generate > 0) {
    auto files = sim::generate_azure2019(static_cast<std::size_t>(generate), 1, static_cast<std::uint64_t>(seed), trace_path);
    if (!files) {
      std::fprintf(stderr, "whisk-bench-sim: %s\n", files.err().message.c_str());
      return 1;
    }
  }
  sim::load_options lo;
  lo.day = static_cast<int>(day);
  lo.max_functions = static_cast<std::size_t>(functions);
  lo.seed = static_cast<std::uint64_t>(seed);
  auto t0 = steady::now();
  auto trace = sim::load_trace(trace_path, lo);
  if (!trace) {
    std::fprintf(stderr, "whisk-bench-sim: %s\n", trace.err().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "whisk-bench-sim: %zu functions, %zu arrivals, loaded in %.2f s\n", trace->functions.size(),
               trace->arrivals.size(), std::chrono::duration<double>(steady::now() - t0).count());

  // One line per policy: the decisions' speed, then counts to hold against whisk-sim's.
  std::printf("%-12s %10s %8s %14s %10s %10s %9s %9s %9s %9s %9s %9s %10s\n", "policy", "arrivals", "seconds", "decisions/s",
              "cold", "warm", "rejected", "evicted", "expired", "prewarms", "peak_mb", "busy_mb", "peak_ctrs");
  std::size_t from = 0;
  while (from <= policies.size()) {
    auto comma = policies.find(',', from);
    auto spec = policies.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    from = comma == std::string::npos ? policies.size() + 1 : comma + 1;
    if (spec.empty())
      continue;
    auto p = policy::make_keep_alive_policy(spec);
    if (!p) {
      std::fprintf(stderr, "whisk-bench-sim: --policy: %s\n", p.err().message.c_str());
      return 2;
    }
    decision_replay replay(*trace, std::move(*p), memory_mb);
    auto c = replay.run();
    std::printf("%-12s %10lld %8.3f %14.0f %10lld %10lld %9lld %9lld %9lld %9lld %9lld %9lld %10lld\n", spec.c_str(),
                static_cast<long long>(c.arrivals), c.seconds, c.seconds > 0 ? static_cast<double>(c.arrivals) / c.seconds : 0.0,
                static_cast<long long>(c.cold), static_cast<long long>(c.warm), static_cast<long long>(c.rejected),
                static_cast<long long>(c.evicted), static_cast<long long>(c.expired), static_cast<long long>(c.prewarms),
                static_cast<long long>(c.peak_mb), static_cast<long long>(c.peak_busy_mb), static_cast<long long>(c.peak_containers));
    std::fflush(stdout);
  }
  return 0;
}
