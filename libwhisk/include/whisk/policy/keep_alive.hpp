#pragma once
// Keep-alive policies: how long an idle container stays warm, when a function is started
// again ahead of its next run (pre-warm), and which idle containers go first when memory is
// needed. Plain objects over plain values, no clock and no actors: time comes in as
// milliseconds from any epoch the caller keeps (virtual in whisk-sim, the actor clock live),
// so the pool, the agent and the simulator run the same decisions.
//
// A caller reports events in the order they happen and asks for decisions:
//   a run of F arrives          -> on_arrival(F, t, warm or cold)
//   a container of F goes idle  -> on_idle(id, F, t), then keep_alive(id, F, t)
//   a container is removed      -> on_removed(id, F, t, why)
//   memory is needed            -> eviction_order(idle containers, MB, t)
// A pre-warmed container is not reported idle when it becomes ready: the decision that asked
// for it says how long it stays; its first run is an arrival like any other.
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::policy {

using millis = std::int64_t;
inline constexpr millis keep_forever = std::numeric_limits<millis>::max();
inline constexpr millis minute_ms = 60'000;

// `from + duration`, where keep_forever (or an overflow) stays keep_forever.
constexpr millis deadline(millis from, millis duration) {
  if (duration == keep_forever || (from > 0 && duration > keep_forever - from))
    return keep_forever;
  return from + duration;
}

// A function as the policies see it. Views: valid for the call only.
struct function_ref {
  std::string_view function;  // an action revision or a trace's function id
  std::string_view app = {};  // the hybrid histogram's unit; empty: the function is its own app
  std::int64_t memory_mb = 256;
  millis cold_start_ms = 0;   // what a cold start of it costs, measured or modelled; 0: unknown
  std::string_view app_key() const { return app.empty() ? function : app; }
};

enum class start_kind { warm, cold };
enum class removal_cause { expired, evicted, failed }; // expired: its keep-alive ran out

// A pre-warm: start a fresh container of the function at t + start_ms (if it has none then)
// and unload it at t + end_ms unless a run came; t is the moment the decision was made for.
struct prewarm_window {
  millis start_ms = 0;
  millis end_ms = 0;
};

// What to do with a container that went idle at t. Durations count from t.
struct keep_alive_decision {
  millis keep_ms = keep_forever;         // unload it at t + keep_ms; keep_forever: only memory pressure does
  std::optional<prewarm_window> prewarm; // after unloading, start the function again ahead of its next run
};

// Whether a run arriving at `now` finds the container warm, or its pre-warmed successor
// ready (assuming a pre-warm is ready when it starts): the one-container-per-function model.
bool warm_at(const keep_alive_decision& d, millis idle_since, millis now);

struct idle_container {
  std::uint64_t id = 0;
  std::string function;
  std::string app;           // empty: the function is its own app
  std::int64_t memory_mb = 256;
  millis idle_since = 0;     // the end of its last run
};

// The first containers of `in_order` whose memory adds up to at least `need_mb`; empty when
// all of them together do not (or nothing is needed).
std::vector<std::uint64_t> enough_to_free(const std::vector<const idle_container*>& in_order, std::int64_t need_mb);
// Today's pool: least recently used first (ties: lower id).
std::vector<std::uint64_t> lru_eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb);

class keep_alive_policy {
public:
  virtual ~keep_alive_policy() = default;
  // The spec it was made from, e.g. "fixed:10m": make_keep_alive_policy(name()) makes another.
  virtual std::string name() const = 0;

  // Events.
  virtual void on_arrival(const function_ref&, millis /*now*/, start_kind) {}
  virtual void on_idle(std::uint64_t /*container*/, const function_ref&, millis /*now*/) {}
  virtual void on_removed(std::uint64_t /*container*/, const function_ref&, millis /*now*/, removal_cause) {}

  // Decisions. For a container of `fn` that went idle at `now` (after on_idle).
  virtual keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const = 0;
  // Ids of idle containers to evict, in order, to free at least `need_mb`; empty when they
  // cannot (the caller waits). Default: least recently used first.
  virtual std::vector<std::uint64_t> eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb, millis now) const;
};

// Fixed keep-alive: unload after `keep` idle; under memory pressure least recently used first.
class fixed_keep_alive : public keep_alive_policy {
public:
  explicit fixed_keep_alive(millis keep = 10 * minute_ms) : keep_(keep) {}
  std::string name() const override;
  keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const override;

private:
  millis keep_;
};

// Never unload: no idle timeout and no eviction either, so a full node makes runs wait. The
// no-unloading baseline of the papers, meant for unbounded (simulated) memory.
class never_unload_keep_alive : public keep_alive_policy {
public:
  std::string name() const override { return "never-unload"; }
  keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const override;
  std::vector<std::uint64_t> eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb, millis now) const override;
};

// Today's pool: keep until memory is needed (or `idle_timeout`), evict least recently used.
class lru_keep_alive : public keep_alive_policy {
public:
  explicit lru_keep_alive(millis idle_timeout = keep_forever) : idle_timeout_(idle_timeout) {}
  std::string name() const override;
  keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const override;

private:
  millis idle_timeout_;
};

// --- hybrid histogram (Shahrad et al., "Serverless in the Wild", USENIX ATC'20) ---

struct hybrid_config {
  millis bin_ms = minute_ms;
  millis range_ms = 240 * minute_ms; // idle times beyond are out of bounds
  double head = 0.05;                // pre-warm: this percentile x (1 - margin)
  double tail = 0.99;                // keep-alive: this percentile x (1 + margin)
  double margin = 0.1;
  double cv_threshold = 2.0;         // bin counts this even (or evener) carry no pattern
  std::int64_t min_samples = 10;     // fewer idle times (in and out of bounds): no pattern yet
  double out_of_bounds_share = 0.5;  // this share of idle times out of bounds: forecast instead
  double forecast_margin = 0.15;     // pre-warm at mean x (1 - m), keep until mean x (1 + m)
};

// An app's idle times: bins of bin_ms up to range_ms, plus a count and sum of those beyond.
class idle_time_histogram {
public:
  explicit idle_time_histogram(millis bin_ms = minute_ms, millis range_ms = 240 * minute_ms);
  void add(millis idle);
  const std::vector<std::int64_t>& bins() const { return bins_; }
  millis bin_ms() const { return bin_ms_; }
  std::int64_t in_bounds() const { return in_bounds_; }
  std::int64_t out_of_bounds() const { return out_of_bounds_; }
  double out_of_bounds_mean_ms() const;
  // Coefficient of variation (population standard deviation / mean) of the bin counts.
  double cv() const;
  // The first bin at which the in-bounds idle times reach share `p`.
  std::size_t percentile_bin(double p) const;

private:
  millis bin_ms_;
  std::vector<std::int64_t> bins_;
  std::int64_t in_bounds_ = 0;
  double sum_squares_ = 0; // of the bin counts
  std::int64_t out_of_bounds_ = 0;
  double out_of_bounds_sum_ms_ = 0;
};

enum class hybrid_pattern {
  too_few_samples, // keep for the range, no pre-warm
  out_of_bounds,   // forecast from the mean of the out-of-bounds idle times
  uncertain,       // cv below the threshold: keep for the range, no pre-warm
  histogram,       // head and tail of the histogram
};
const char* to_string(hybrid_pattern p);

// Both windows count from the end of the app's last run: pre-warm at prewarm_ms (0: none,
// keep the container instead), unload at keep_alive_ms.
struct hybrid_windows {
  hybrid_pattern pattern = hybrid_pattern::too_few_samples;
  millis prewarm_ms = 0;
  millis keep_alive_ms = 0;
};

hybrid_windows hybrid_windows_for(const idle_time_histogram& h, const hybrid_config& cfg);
keep_alive_decision decision_for(const hybrid_windows& w);

struct transparent_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class T>
using string_map = std::unordered_map<std::string, T, transparent_string_hash, std::equal_to<>>;

// Idle time of an app: from the moment one of its containers last went idle to its next
// arrival. Under memory pressure: least recently used first.
class hybrid_keep_alive : public keep_alive_policy {
public:
  explicit hybrid_keep_alive(hybrid_config cfg = {}) : cfg_(cfg) {}
  std::string name() const override { return "hybrid"; }
  void on_arrival(const function_ref& fn, millis now, start_kind start) override;
  void on_idle(std::uint64_t container, const function_ref& fn, millis now) override;
  keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const override;
  hybrid_windows windows(std::string_view app) const;

private:
  struct app_state {
    idle_time_histogram histogram;
    std::optional<millis> idle_since;
  };
  app_state& state_of(std::string_view app);
  hybrid_config cfg_;
  string_map<app_state> apps_;
};

// --- Greedy-Dual keep-alive (Fuerst and Sharma, FaasCache, ASPLOS'21) ---

// priority = clock + frequency x cold-start cost / memory
double greedy_dual_priority(double clock, std::int64_t frequency, millis cold_start_ms, std::int64_t memory_mb);

// Containers stay until memory is needed; then the lowest priority goes first (ties: least
// recently used, then lower id) and the clock becomes the priority of the last evicted. A
// container's priority is set when it goes idle (its last use). Frequency counts a function's
// arrivals and starts again from 0 once all of its containers are gone.
class greedy_dual_keep_alive : public keep_alive_policy {
public:
  // the cost of a function whose cold start was never reported
  explicit greedy_dual_keep_alive(millis default_cold_start_ms = 1000) : default_cold_start_ms_(default_cold_start_ms) {}
  std::string name() const override { return "greedy-dual"; }
  void on_arrival(const function_ref& fn, millis now, start_kind start) override;
  void on_idle(std::uint64_t container, const function_ref& fn, millis now) override;
  void on_removed(std::uint64_t container, const function_ref& fn, millis now, removal_cause cause) override;
  keep_alive_decision keep_alive(std::uint64_t container, const function_ref& fn, millis now) const override;
  std::vector<std::uint64_t> eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb, millis now) const override;
  double clock() const { return clock_; }
  // A container's priority; one it never heard of ranks as if it went idle now.
  double priority(const idle_container& c) const;

private:
  struct function_state {
    std::int64_t frequency = 0;
    millis cold_start_ms = 0;
    std::int64_t containers = 0;
  };
  struct container_state {
    double priority = 0;
    std::string function;
  };
  function_state& state_of(const function_ref& fn);
  millis cost(const function_state* f) const;
  millis default_cold_start_ms_;
  double clock_ = 0;
  string_map<function_state> functions_;
  std::unordered_map<std::uint64_t, container_state> containers_;
};

// --- names on the command line ---

// "500ms", "90s", "10m", "2h": a whole number and a unit.
expected<millis> parse_duration_ms(std::string_view text);
std::string format_duration_ms(millis ms); // the largest unit that divides it: 600000 -> "10m"

// Makes a policy from the part of a spec after "NAME:" (empty when there is none).
using keep_alive_factory = std::function<expected<std::unique_ptr<keep_alive_policy>>(std::string_view argument)>;

// Policy names, built in and a user's own. No global state: build one, add to it, pass it on.
class keep_alive_registry {
public:
  // fixed[:DURATION], never-unload, hybrid, greedy-dual, lru[:DURATION]
  static keep_alive_registry with_builtins();
  // Adds (or replaces) `name`; `usage` shows it in messages, e.g. "mine:SECONDS". A name is
  // lower-case letters, digits and '-'.
  expected<bool> add(std::string name, std::string usage, keep_alive_factory make);
  // "NAME" or "NAME:ARGUMENT"
  expected<std::unique_ptr<keep_alive_policy>> make(std::string_view spec) const;
  std::string usages() const; // "fixed[:DURATION], never-unload, ..."

private:
  struct entry {
    std::string usage;
    keep_alive_factory make;
  };
  std::map<std::string, entry, std::less<>> entries_;
  std::vector<std::string> order_;
};

// With the built-in names only.
expected<std::unique_ptr<keep_alive_policy>> make_keep_alive_policy(std::string_view spec);
expected<std::unique_ptr<keep_alive_policy>> make_keep_alive_policy(std::string_view spec, const keep_alive_registry& names);

} // namespace whisk::policy
