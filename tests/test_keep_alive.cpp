#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "whisk/policy/keep_alive.hpp"

using namespace whisk::policy;

namespace {

constexpr millis s = 1000;
constexpr millis m = minute_ms;
constexpr millis h = 60 * minute_ms;

struct run {
  std::string function;
  millis at = 0;
  millis duration = 0;
  std::string app = {};
};

struct replay_result {
  int cold = 0;
  keep_alive_decision last; // the decision made when the last run ended
};

// The smallest pool: one container per function, concurrency 1, unbounded memory; runs of
// one function never overlap. Runs ending at t go idle before runs arriving at t.
replay_result replay(keep_alive_policy& p, const std::vector<run>& runs) {
  struct event {
    millis at;
    int arrival; // 0: a run ends, 1: a run arrives
    std::size_t run;
  };
  std::vector<event> events;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    events.push_back({runs[i].at, 1, i});
    events.push_back({runs[i].at + runs[i].duration, 0, i});
  }
  std::sort(events.begin(), events.end(),
            [](auto& a, auto& b) { return std::tie(a.at, a.arrival, a.run) < std::tie(b.at, b.arrival, b.run); });
  struct container {
    std::uint64_t id = 0;
    millis idle_since = 0;
    keep_alive_decision decision;
  };
  std::map<std::string, container> idle;
  std::map<std::string, std::uint64_t> busy;
  std::uint64_t next_id = 1;
  replay_result out;
  for (auto& e : events) {
    auto& r = runs[e.run];
    function_ref fn{r.function, r.app};
    if (e.arrival) {
      auto it = idle.find(r.function);
      bool warm = it != idle.end() && warm_at(it->second.decision, it->second.idle_since, e.at);
      std::uint64_t id = warm ? it->second.id : next_id++;
      if (it != idle.end() && !warm)
        p.on_removed(it->second.id, fn, e.at, removal_cause::expired);
      if (it != idle.end())
        idle.erase(it);
      out.cold += warm ? 0 : 1;
      p.on_arrival(fn, e.at, warm ? start_kind::warm : start_kind::cold);
      busy[r.function] = id;
    } else {
      auto id = busy[r.function];
      p.on_idle(id, fn, e.at);
      out.last = p.keep_alive(id, fn, e.at);
      idle[r.function] = {id, e.at, out.last};
    }
  }
  return out;
}

idle_container idle_one(std::uint64_t id, std::string function, std::int64_t memory_mb, millis idle_since) {
  return idle_container{id, std::move(function), {}, memory_mb, idle_since};
}

idle_time_histogram histogram_of(std::initializer_list<std::pair<int, millis>> counts) {
  idle_time_histogram hist;
  for (auto [n, idle] : counts)
    for (int i = 0; i < n; ++i)
      hist.add(idle);
  return hist;
}

std::unique_ptr<keep_alive_policy> made(std::string_view spec) {
  auto p = make_keep_alive_policy(spec);
  INFO(spec << ": " << (p ? std::string() : p.err().message));
  REQUIRE(p);
  return std::move(*p);
}

} // namespace

TEST_CASE("keep-alive: fixed keep-alive keeps an idle container for its duration and never-unload for ever") {
  function_ref fn{"guest/hello@1"};
  fixed_keep_alive ninety(90 * s);
  auto d = ninety.keep_alive(7, fn, 1000);
  CHECK(d.keep_ms == 90 * s);
  CHECK(!d.prewarm);
  CHECK(fixed_keep_alive().keep_alive(7, fn, 0).keep_ms == 10 * m);
  CHECK(ninety.name() == "fixed:90s");
  // kept while now < idle_since + keep
  CHECK(warm_at(d, 1000, 1000 + 90 * s - 1));
  CHECK(!warm_at(d, 1000, 1000 + 90 * s));

  never_unload_keep_alive never;
  auto forever = never.keep_alive(7, fn, 1000);
  CHECK(forever.keep_ms == keep_forever);
  CHECK(warm_at(forever, 1000, keep_forever - 1));
  CHECK(deadline(5 * h, keep_forever) == keep_forever);
  CHECK(deadline(keep_forever - 10, 11) == keep_forever);
  CHECK(deadline(5, 10) == 15);
  // never unload means never: a full node waits instead
  std::vector<idle_container> idle{idle_one(1, "a", 256, 0), idle_one(2, "b", 256, 5)};
  CHECK(never.eviction_order(idle, 256, 10).empty());
  CHECK(ninety.eviction_order(idle, 256, 10) == std::vector<std::uint64_t>{1});
}

TEST_CASE("keep-alive: fixed keep-alive cold starts on a hand-made sequence equal the count worked out by hand") {
  // f: 0 cold | 5m warm (idle 4m59s) | 16m cold (idle 10m59s) | 26m warm (9m59s) | 40m cold (13m59s)
  // g: 1m cold | 11m1s cold (idle exactly 10m: the container is gone at that moment)
  // h: 2m cold | 12m29s warm (idle 9m59s) | 22m30s warm (idle 9m31s)
  std::vector<run> runs{{"f", 0, s},         {"f", 5 * m, s},          {"f", 16 * m, s},         {"f", 26 * m, s},
                        {"f", 40 * m, s},    {"g", 1 * m, s},          {"g", 11 * m + s, s},     {"h", 2 * m, 30 * s},
                        {"h", 12 * m + 29 * s, 30 * s},                {"h", 22 * m + 30 * s, 30 * s}};
  fixed_keep_alive ten;
  CHECK(replay(ten, runs).cold == 3 + 2 + 1);
  // 20 minutes covers every gap: one cold start per function
  fixed_keep_alive twenty(20 * m);
  CHECK(replay(twenty, runs).cold == 3);
  // no keep-alive at all: every run is cold
  fixed_keep_alive none(0);
  CHECK(replay(none, runs).cold == 10);
  never_unload_keep_alive never;
  CHECK(replay(never, runs).cold == 3);
}

TEST_CASE("keep-alive: hybrid windows follow the histogram formula on crafted idle times") {
  // 5 in bin 2, 90 in bin 30, 5 in bin 100: the 5th percentile is in bin 2, the 99th in bin 100
  auto hist = histogram_of({{5, 2 * m + 30 * s}, {90, 30 * m + 10 * s}, {5, 100 * m}});
  CHECK(hist.in_bounds() == 100);
  CHECK(hist.percentile_bin(0.05) == 2);
  CHECK(hist.percentile_bin(0.06) == 30);
  CHECK(hist.percentile_bin(0.95) == 30);
  CHECK(hist.percentile_bin(0.99) == 100);
  // cv of the bin counts by hand: 240 bins holding 5, 90 and 5
  double mean = 100.0 / 240;
  double sd = std::sqrt((25.0 + 8100.0 + 25.0) / 240 - mean * mean);
  CHECK(hist.cv() == Approx(sd / mean));
  auto w = hybrid_windows_for(hist, hybrid_config{});
  CHECK(w.pattern == hybrid_pattern::histogram);
  CHECK(w.prewarm_ms == 2 * m * 9 / 10);         // start of the head bin x 0.9
  CHECK(w.keep_alive_ms == 101 * m * 11 / 10);   // end of the tail bin x 1.1
  auto d = decision_for(w);
  CHECK(d.keep_ms == 0); // unloaded at once, back before the next run is due
  REQUIRE(d.prewarm);
  CHECK(d.prewarm->start_ms == 108 * s);
  CHECK(d.prewarm->end_ms == 6666 * s);
  CHECK(!warm_at(d, 0, 100 * s));
  CHECK(warm_at(d, 0, 108 * s));
  CHECK(!warm_at(d, 0, 6666 * s));

  // a head in bin 0 means no pre-warm: keep the container for the whole window instead
  auto early = histogram_of({{19, 30 * s}, {1, 10 * m}});
  auto e = hybrid_windows_for(early, hybrid_config{});
  CHECK(e.pattern == hybrid_pattern::histogram);
  CHECK(e.prewarm_ms == 0);
  CHECK(e.keep_alive_ms == 11 * m * 11 / 10);
  auto kept = decision_for(e);
  CHECK(kept.keep_ms == 11 * m * 11 / 10);
  CHECK(!kept.prewarm);

  // the policy learns per app, from the idle times of all of the app's functions
  hybrid_keep_alive p;
  millis t = 0;
  std::uint64_t id = 1;
  auto idle_then_arrive = [&](std::string_view function, millis idle) {
    function_ref fn{function, "shop"};
    p.on_idle(id, fn, t);
    t += idle;
    p.on_arrival(fn, t, start_kind::warm);
    t += s;
  };
  for (int i = 0; i < 5; ++i)
    idle_then_arrive("shop/cart", 2 * m + 30 * s);
  for (int i = 0; i < 90; ++i)
    idle_then_arrive(i % 2 ? "shop/cart" : "shop/pay", 30 * m + 10 * s);
  for (int i = 0; i < 5; ++i)
    idle_then_arrive("shop/pay", 100 * m);
  auto learned = p.windows("shop");
  CHECK(learned.pattern == hybrid_pattern::histogram);
  CHECK(learned.prewarm_ms == 108 * s);
  CHECK(learned.keep_alive_ms == 6666 * s);
  auto asked = p.keep_alive(id, function_ref{"shop/cart", "shop"}, t);
  REQUIRE(asked.prewarm);
  CHECK(asked.prewarm->start_ms == 108 * s);
  // another app has learnt nothing
  CHECK(p.windows("other").pattern == hybrid_pattern::too_few_samples);
}

TEST_CASE("keep-alive: hybrid falls back to the 4-hour range or a forecast where it should") {
  hybrid_config cfg;
  // too few samples: the range, no pre-warm
  auto nine = hybrid_windows_for(histogram_of({{9, 10 * m}}), cfg);
  CHECK(nine.pattern == hybrid_pattern::too_few_samples);
  CHECK(nine.prewarm_ms == 0);
  CHECK(nine.keep_alive_ms == 4 * h);
  CHECK(decision_for(nine).keep_ms == 4 * h);
  CHECK(!decision_for(nine).prewarm);
  auto ten = hybrid_windows_for(histogram_of({{10, 10 * m}}), cfg);
  CHECK(ten.pattern == hybrid_pattern::histogram);
  CHECK(ten.prewarm_ms == 9 * m);
  CHECK(ten.keep_alive_ms == 11 * m * 11 / 10);

  // cv of the bin counts: one sample in each of 60 bins is 1.73 (uncertain), in 40 bins 2.24
  idle_time_histogram sixty, forty;
  for (millis i = 0; i < 60; ++i)
    sixty.add(i * m + s);
  for (millis i = 0; i < 40; ++i)
    forty.add(i * m + s);
  CHECK(sixty.cv() == Approx(std::sqrt(3.0)));
  CHECK(forty.cv() == Approx(std::sqrt(5.0)));
  auto flat = hybrid_windows_for(sixty, cfg);
  CHECK(flat.pattern == hybrid_pattern::uncertain);
  CHECK(flat.prewarm_ms == 0);
  CHECK(flat.keep_alive_ms == 4 * h);
  CHECK(hybrid_windows_for(forty, cfg).pattern == hybrid_pattern::histogram);

  // 4 h is out of bounds, a millisecond less is not
  idle_time_histogram edge;
  edge.add(4 * h);
  edge.add(4 * h - 1);
  CHECK(edge.out_of_bounds() == 1);
  CHECK(edge.in_bounds() == 1);
  CHECK(edge.bins().back() == 1);

  // half the idle times out of bounds: pre-warm at their mean x 0.85, unload at x 1.15
  auto half = histogram_of({{2, 5 * h}, {2, 7 * h}, {1, 6 * h}, {5, 10 * m}});
  CHECK(half.out_of_bounds_mean_ms() == Approx(6.0 * h));
  auto oob = hybrid_windows_for(half, cfg);
  CHECK(oob.pattern == hybrid_pattern::out_of_bounds);
  CHECK(oob.prewarm_ms == 6 * h * 85 / 100);
  CHECK(oob.keep_alive_ms == 6 * h * 115 / 100);
  auto d = decision_for(oob);
  CHECK(d.keep_ms == 0);
  REQUIRE(d.prewarm);
  CHECK(d.prewarm->start_ms == 6 * h * 85 / 100);
  CHECK(d.prewarm->end_ms == 6 * h * 115 / 100);
  // fewer than half: the histogram of the rest decides
  auto some = hybrid_windows_for(histogram_of({{2, 5 * h}, {2, 7 * h}, {6, 10 * m}}), cfg);
  CHECK(some.pattern == hybrid_pattern::histogram);
  CHECK(some.prewarm_ms == 9 * m);
}

TEST_CASE("keep-alive: hybrid pre-warms an app that runs every half hour and saves its cold starts") {
  std::vector<run> runs;
  for (int i = 0; i < 30; ++i)
    runs.push_back({"cron/report", i * 30 * m, s, "cron"});
  hybrid_keep_alive hybrid;
  auto r = replay(hybrid, runs);
  CHECK(r.cold == 1);
  // idle 29m59s each time: bin 29 is both head and tail
  REQUIRE(r.last.prewarm);
  CHECK(r.last.keep_ms == 0);
  CHECK(r.last.prewarm->start_ms == 29 * m * 9 / 10);
  CHECK(r.last.prewarm->end_ms == 30 * m * 11 / 10);
  fixed_keep_alive ten;
  CHECK(replay(ten, runs).cold == 30);
}

TEST_CASE("keep-alive: Greedy-Dual evicts the lowest priority first and its clock becomes the last evicted's") {
  greedy_dual_keep_alive p;
  CHECK(p.keep_alive(1, function_ref{"a"}, 0).keep_ms == keep_forever);
  // value = frequency x cold-start cost / memory: a 5 x 100 / 100 = 5, b 1 x 1000 / 500 = 2,
  // c 2 x 200 / 100 = 4
  function_ref a{"a", {}, 100, 100}, b{"b", {}, 500, 1000}, c{"c", {}, 100, 200};
  for (int i = 0; i < 5; ++i)
    p.on_arrival(a, i, start_kind::warm);
  p.on_arrival(b, 5, start_kind::cold);
  p.on_arrival(c, 6, start_kind::cold);
  p.on_arrival(c, 7, start_kind::warm);
  p.on_idle(1, a, 10);
  p.on_idle(2, b, 20);
  p.on_idle(3, c, 30);
  std::vector<idle_container> idle{idle_one(1, "a", 100, 10), idle_one(2, "b", 500, 20), idle_one(3, "c", 100, 30)};
  CHECK(p.priority(idle[0]) == Approx(5));
  CHECK(p.priority(idle[1]) == Approx(2));
  CHECK(p.priority(idle[2]) == Approx(4));
  CHECK(p.eviction_order(idle, 500, 40) == std::vector<std::uint64_t>{2});
  CHECK(p.eviction_order(idle, 550, 40) == std::vector<std::uint64_t>{2, 3});
  CHECK(p.eviction_order(idle, 700, 40) == std::vector<std::uint64_t>{2, 3, 1});
  CHECK(p.eviction_order(idle, 701, 40).empty());
  CHECK(p.clock() == 0); // deciding is not evicting

  p.on_removed(2, b, 40, removal_cause::evicted);
  CHECK(p.clock() == Approx(2));
  p.on_removed(3, c, 41, removal_cause::evicted);
  CHECK(p.clock() == Approx(4));
  // an expiry is not an eviction: the clock stays
  function_ref x{"x", {}, 100, 100000};
  p.on_arrival(x, 42, start_kind::cold);
  p.on_idle(9, x, 43);
  p.on_removed(9, x, 44, removal_cause::expired);
  CHECK(p.clock() == Approx(4));

  // d is worth less than a (3 x 50 / 100 = 1.5 against 5) but arrives after the clock moved
  // to 4: 5.5, so a goes first
  function_ref d{"d", {}, 100, 50};
  for (int i = 0; i < 3; ++i)
    p.on_arrival(d, 50 + i, start_kind::warm);
  p.on_idle(4, d, 60);
  idle = {idle_one(1, "a", 100, 10), idle_one(4, "d", 100, 60)};
  CHECK(p.priority(idle[1]) == Approx(5.5));
  CHECK(p.eviction_order(idle, 100, 70) == std::vector<std::uint64_t>{1});
  p.on_removed(1, a, 70, removal_cause::evicted);
  CHECK(p.clock() == Approx(5));
  // a's last container is gone: its frequency starts again from 0
  p.on_arrival(a, 80, start_kind::cold);
  p.on_idle(5, a, 90);
  CHECK(p.priority(idle_one(5, "a", 100, 90)) == Approx(5 + 1));
  // a container the policy never heard of ranks as if it went idle now
  CHECK(p.priority(idle_one(77, "unknown", 100, 90)) == Approx(5));
}

TEST_CASE("keep-alive: LRU evicts the least recently used idle containers first") {
  std::vector<idle_container> idle{idle_one(1, "a", 256, 50), idle_one(2, "b", 256, 10), idle_one(3, "c", 256, 30),
                                   idle_one(4, "d", 256, 10)};
  lru_keep_alive lru;
  CHECK(lru.eviction_order(idle, 256, 100) == std::vector<std::uint64_t>{2});
  CHECK(lru.eviction_order(idle, 600, 100) == std::vector<std::uint64_t>{2, 4, 3});
  CHECK(lru.eviction_order(idle, 1024, 100) == std::vector<std::uint64_t>{2, 4, 3, 1});
  CHECK(lru.eviction_order(idle, 1025, 100).empty());
  CHECK(lru.eviction_order(idle, 0, 100).empty());
  CHECK(lru.keep_alive(1, function_ref{"a"}, 0).keep_ms == keep_forever);
  CHECK(lru.name() == "lru");
  lru_keep_alive timed(5 * m);
  CHECK(timed.keep_alive(1, function_ref{"a"}, 0).keep_ms == 5 * m);
  CHECK(timed.name() == "lru:5m");
  // fixed keep-alive and the hybrid policy share the pool's order under memory pressure
  CHECK(fixed_keep_alive().eviction_order(idle, 600, 100) == std::vector<std::uint64_t>{2, 4, 3});
  CHECK(hybrid_keep_alive().eviction_order(idle, 600, 100) == std::vector<std::uint64_t>{2, 4, 3});
}

TEST_CASE("keep-alive: the parser accepts the policy names and rejects bad ones with a clear message") {
  struct good {
    const char* spec;
    const char* name;
    millis keep_ms;
  };
  for (auto g : {good{"fixed:10m", "fixed:10m", 10 * m}, good{"fixed:90s", "fixed:90s", 90 * s},
                 good{"fixed:500ms", "fixed:500ms", 500}, good{"fixed:2h", "fixed:2h", 2 * h},
                 good{"fixed:120s", "fixed:2m", 2 * m}, good{"fixed", "fixed:10m", 10 * m}, good{"fixed:0s", "fixed:0s", 0},
                 good{"never-unload", "never-unload", keep_forever}, good{"hybrid", "hybrid", 4 * h},
                 good{"greedy-dual", "greedy-dual", keep_forever}, good{"lru", "lru", keep_forever},
                 good{"lru:5m", "lru:5m", 5 * m}}) {
    INFO(g.spec);
    auto p = made(g.spec);
    CHECK(p->name() == g.name);
    CHECK(p->keep_alive(1, function_ref{"f"}, 0).keep_ms == g.keep_ms);
    CHECK(made(p->name())->name() == g.name); // a name makes the same policy again
  }
  struct bad {
    const char* spec;
    const char* says;
  };
  for (auto b : {bad{"", "is unknown"}, bad{"foo", "is unknown"}, bad{"Fixed", "is unknown"},
                 bad{"fixed:10m,lru", "is not a duration"}, bad{"fixed:", "nothing after ':'"},
                 bad{"fixed:10", "is not a duration"}, bad{"fixed:10x", "is not a duration"},
                 bad{"fixed:-5m", "is not a duration"}, bad{"fixed:+5m", "is not a duration"},
                 bad{"fixed:1.5m", "is not a duration"}, bad{"fixed:m", "is not a duration"},
                 bad{"fixed:10 m", "is not a duration"}, bad{"fixed:99999999999999999999h", "too long"},
                 bad{"fixed:9999999999999h", "too long"}, bad{"hybrid:1m", "takes no argument"},
                 bad{"never-unload:x", "takes no argument"}, bad{"greedy-dual:1", "takes no argument"},
                 bad{"lru:", "nothing after ':'"}, bad{"lru:abc", "is not a duration"}}) {
    INFO(b.spec);
    auto p = make_keep_alive_policy(b.spec);
    REQUIRE(!p);
    CHECK(p.err().code == whisk::errc::bad_request);
    CHECK_THAT(p.err().message, Catch::Contains(fmt::format("'{}'", b.spec)) && Catch::Contains(b.says));
  }
  auto unknown = make_keep_alive_policy("foo");
  REQUIRE(!unknown);
  CHECK_THAT(unknown.err().message,
             Catch::Contains("known policies: fixed[:DURATION], never-unload, hybrid, greedy-dual, lru[:DURATION]"));
  auto usage = make_keep_alive_policy("fixed:10x");
  REQUIRE(!usage);
  CHECK_THAT(usage.err().message, Catch::Contains("(ms, s, m or h)") && Catch::Contains("usage: fixed[:DURATION]"));
}

namespace {
// A user's own policy: keep a container for as many seconds as its function has had runs.
class runs_as_seconds : public keep_alive_policy {
public:
  std::string name() const override { return "runs-as-seconds"; }
  void on_arrival(const function_ref& fn, millis, start_kind) override { ++runs_[std::string(fn.function)]; }
  keep_alive_decision keep_alive(std::uint64_t, const function_ref& fn, millis) const override {
    auto it = runs_.find(std::string(fn.function));
    return {(it == runs_.end() ? 0 : it->second) * s, std::nullopt};
  }

private:
  std::map<std::string, millis> runs_;
};
} // namespace

TEST_CASE("keep-alive: a user's own policy registers by name and is made like a built-in one") {
  auto names = keep_alive_registry::with_builtins();
  auto added = names.add("runs-as-seconds", "runs-as-seconds", [](std::string_view argument) -> whisk::expected<std::unique_ptr<keep_alive_policy>> {
    if (!argument.empty())
      return whisk::make_error(whisk::errc::bad_request, "takes no argument");
    return std::unique_ptr<keep_alive_policy>(std::make_unique<runs_as_seconds>());
  });
  REQUIRE(added);
  auto p = make_keep_alive_policy("runs-as-seconds", names);
  REQUIRE(p);
  CHECK((*p)->name() == "runs-as-seconds");
  std::vector<run> runs{{"f", 0, s}, {"f", 3 * s, s}, {"f", 5 * s, s}, {"f", 12 * s, s}};
  // kept 1 s after the first run (gone at 2 s), 2 s after the second (until 6 s: warm at
  // 5 s), 3 s after the third (until 9 s: gone by 12 s)
  CHECK(replay(**p, runs).cold == 3);
  // the built-in names stay as they were, and the built-ins are still there
  CHECK(!make_keep_alive_policy("runs-as-seconds"));
  CHECK(make_keep_alive_policy("hybrid", names));
  CHECK_THAT(names.usages(), Catch::EndsWith("lru[:DURATION], runs-as-seconds"));
  auto badly_named = names.add("Mine:1", "", [](std::string_view) -> whisk::expected<std::unique_ptr<keep_alive_policy>> {
    return std::unique_ptr<keep_alive_policy>(std::make_unique<runs_as_seconds>());
  });
  REQUIRE(!badly_named);
  CHECK_THAT(badly_named.err().message, Catch::Contains("'Mine:1'"));
  CHECK(!names.add("empty", "", nullptr));
}
