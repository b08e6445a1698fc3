// whisk-sim's replay: traces through the production pool and proxies in virtual time, with
// figures worked out by hand (see tests/data/sim/tiny2021.csv).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "whisk/actors/sim_replay.hpp"

using namespace whisk;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() { return fs::path(WHISK_TEST_DATA_DIR); }

sim::policy_run replayed(const sim::trace& t, std::string_view spec, sim::replay_options o = {}) {
  auto p = policy::make_keep_alive_policy(spec);
  REQUIRE(p);
  auto run = sim::replay(t, std::shared_ptr<policy::keep_alive_policy>(std::move(*p)), o);
  REQUIRE(run);
  return std::move(*run);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One function running every `every_min` minutes for a day, 1 s a run.
sim::trace periodic(int every_min) {
  sim::trace t;
  sim::trace_function f;
  f.id = "cron";
  f.app = "cron";
  f.memory_mb = 128;
  t.functions.push_back(f);
  for (int m = 0; m < 24 * 60; m += every_min)
    t.arrivals.push_back({m * 60000.0, 0, 1000.0});
  t.span_ms = 24 * 3600 * 1000.0;
  return t;
}

} // namespace

// f1 (app A, 85 MB) starts at 0, 120, 800, 1300 s; f2 (A, 85 MB) at 10, 15, 1000 s; f3 (B,
// 170 MB) at 50 and 60 s for 30 s each (overlapping: two containers) and at 100 s. A cold start
// is 450 + 50 ms, a run as long as the trace says. Under fixed:10m:
//   cold: f1 at 0 and 800 (idle 679 s > 600), f2 at 10 and 1000, f3 at 50 and 60 = 6 of 10;
//   idle, until the last run ends at 1301 s: f1 118.5 + 600 + 498.5 = 1217 s; f2 3.5 + 600 +
//   299.5 = 903 s; f3 600 (the first container, never used again) + 9.5 + 600 = 1209.5 s;
//   85 x (1217 + 903) + 170 x 1209.5 = 385,815 MB-s; 4 containers expire.
TEST_CASE("replay: fixed keep-alive on a hand-made trace gives the cold starts and idle memory worked out by hand") {
  auto t = sim::load_trace(data_dir() / "sim" / "tiny2021.csv");
  REQUIRE(t);
  REQUIRE(t->arrivals.size() == 10);
  auto run = replayed(*t, "fixed:10m");
  CHECK(run.policy == "fixed:10m");
  CHECK(run.arrivals == 10);
  CHECK(run.completed == 10);
  CHECK(run.rejected == 0);
  CHECK(run.cold_starts == 6);
  CHECK(run.containers_created == 6);
  CHECK(run.expirations == 4);
  CHECK(run.evictions == 0);
  CHECK(run.wasted_mb_ms == Approx(385815.0 * 1000).margin(0.5));
  REQUIRE(run.apps.size() == 2);
  CHECK(run.apps[0].app == "A");
  CHECK(run.apps[0].arrivals == 7);
  CHECK(run.apps[0].cold_starts == 4);
  CHECK(run.apps[1].cold_starts == 2);
  auto latencies = run.added_latency_ms;
  std::sort(latencies.begin(), latencies.end());
  REQUIRE(latencies.size() == 10);
  CHECK(latencies[3] == Approx(0).margin(1e-6)); // 4 warm runs wait for nothing
  CHECK(latencies[4] == Approx(500));            // 6 cold ones for the cold start
  CHECK(latencies[9] == Approx(500));

  // 12 minutes keep f1 over its 679 s gap (not f2 over its 984 s one): one cold start fewer
  CHECK(replayed(*t, "fixed:12m").cold_starts == 6 - 1);
  // never unloading: one cold start per container (f3's two included)
  auto never = replayed(*t, "never-unload");
  CHECK(never.cold_starts == 4);
  CHECK(never.expirations == 0);
}

TEST_CASE("replay: memory pressure evicts and the cold starts follow") {
  auto t = sim::load_trace(data_dir() / "sim" / "tiny2021.csv");
  REQUIRE(t);
  sim::replay_options o;
  o.memory_mb = 170; // f1 and f2 fit together, f3 only alone
  auto run = replayed(*t, "lru", o);
  CHECK(run.completed == 10);
  CHECK(run.evictions > 0);
  CHECK(run.cold_starts > replayed(*t, "lru").cold_starts);
}

TEST_CASE("replay: the hybrid histogram pre-warms a periodic function that fixed keep-alive always starts cold") {
  auto t = periodic(30);
  auto fixed = replayed(t, "fixed:10m");
  CHECK(fixed.cold_starts == 48); // 30-minute gaps outlive a 10-minute keep-alive
  auto hybrid = replayed(t, "hybrid");
  CHECK(hybrid.cold_starts == 1); // kept for the range while it learns, pre-warmed once it has
  CHECK(hybrid.prewarms > 0);
  CHECK(hybrid.wasted_mb_ms < replayed(t, "never-unload").wasted_mb_ms);
}

TEST_CASE("replay: the same seed gives the same report byte for byte") {
  sim::load_options lo;
  lo.seed = 7;
  lo.spread = sim::minute_spread::poisson;
  auto t = sim::load_trace(data_dir() / "azure2019" / "sample", lo);
  REQUIRE(t);
  REQUIRE(!t->arrivals.empty());
  auto dir = fs::temp_directory_path() / fmt::format("whisk-sim-test-{}", ::getpid());
  std::string files[2];
  for (int i = 0; i < 2; ++i) {
    auto again = sim::load_trace(data_dir() / "azure2019" / "sample", lo);
    REQUIRE(again);
    std::vector<sim::policy_run> runs{replayed(*again, "fixed:10m"), replayed(*again, "hybrid"), replayed(*again, "greedy-dual")};
    sim::report_meta meta;
    meta.trace = "sample";
    meta.seed = 7;
    auto out = dir / std::to_string(i);
    REQUIRE(sim::write_report(out, meta, sim::summarize(runs)));
    for (auto name : {"report.json", "policies.csv", "apps.csv", "tradeoff.svg"})
      files[i] += slurp(out / name);
  }
  fs::remove_all(dir);
  CHECK(files[0].size() > 500);
  CHECK(files[0] == files[1]);
}

TEST_CASE("replay: a cold-start model is a duration or two") {
  sim::replay_options o;
  REQUIRE(sim::parse_cold_start("300ms+20ms", o));
  CHECK(o.create.count() == 300);
  CHECK(o.init.count() == 20);
  REQUIRE(sim::parse_cold_start("1s", o));
  CHECK(o.create.count() == 1000);
  CHECK(o.init.count() == 0);
  CHECK_FALSE(sim::parse_cold_start("fast", o));
  CHECK_FALSE(sim::parse_cold_start("1s+x", o));
}
