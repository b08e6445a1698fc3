// whisk-sim reports: percentiles, the figures of hand-made runs, the table, the report files
// and the progress bar.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "whisk/json.hpp"
#include "whisk/sim/report.hpp"

using namespace whisk;
using namespace whisk::sim;
namespace fs = std::filesystem;

namespace {

// A directory of its own under the system's temporary directory, removed at the end.
struct temp_dir {
  fs::path path = fs::temp_directory_path() / fmt::format("whisk-report-test-{}-{}", ::getpid(), std::random_device{}());
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// fixed:10m wastes 4000 MB-s; its apps' cold-start % are 10, 50, 25, 40 (and one app without arrivals).
std::vector<policy_run> sample_runs() {
  auto run = [](std::string policy, std::int64_t arrivals, std::int64_t completed, std::int64_t cold_starts, double wasted_mb_ms) {
    policy_run r;
    r.policy = std::move(policy);
    r.arrivals = arrivals;
    r.completed = completed;
    r.cold_starts = cold_starts;
    r.wasted_mb_ms = wasted_mb_ms;
    return r;
  };
  policy_run fixed = run("fixed:10m", 200, 199, 50, 4'000'000);
  fixed.rejected = 1;
  fixed.evictions = 3;
  fixed.containers_created = 50;
  fixed.added_latency_ms = {5, 1, 3, 2, 4};
  fixed.apps = {{"a", 100, 10}, {"b", 50, 25}, {"c", 40, 10}, {"d", 10, 4}, {"e", 0, 0}};
  return {fixed, run("hybrid", 200, 200, 30, 1'000'000), run("mine:\"a,b\"", 0, 0, 0, 8'000'000)};
}

report_meta sample_meta() {
  return report_meta{.trace = "traces/\"day 1\"", .functions = 12, .apps = 5, .arrivals = 200, .seed = 18'446'744'073'709'551'615u,
                     .memory_mb = 4096, .day = 1, .cold_start_model = "fixed:500ms", .agents = 2};
}

} // namespace

TEST_CASE("report: nearest-rank percentiles of small vectors") {
  CHECK(percentile({1, 2, 3, 4}, 0.5) == 2);
  CHECK(percentile({1, 2, 3, 4}, 0.75) == 3);
  CHECK(percentile({1, 2, 3, 4}, 0.99) == 4);
  CHECK(percentile({1, 2, 3, 4}, 0) == 1);
  CHECK(percentile({1, 2, 3, 4}, 1) == 4);
  CHECK(percentile({50, 15, 40, 20, 35}, 0.05) == 15);
  CHECK(percentile({50, 15, 40, 20, 35}, 0.3) == 20); // rank ceil(1.5) = 2
  CHECK(percentile({50, 15, 40, 20, 35}, 0.4) == 20); // rank 2 exactly
  CHECK(percentile({50, 15, 40, 20, 35}, 0.5) == 35);
  CHECK(percentile({7}, 0.99) == 7);
  CHECK(percentile({}, 0.5) == 0);
  CHECK(percentile({3, NAN, 1}, 1) == 3);
  CHECK(percentile({1, 2}, 7) == 2);
  CHECK(percentile({1, 2}, -1) == 1);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i)
    hundred.push_back(i);
  CHECK(percentile(hundred, 0.07) == 7); // 0.07 * 100 is 7.000000000000001 in doubles
  CHECK(percentile(hundred, 0.99) == 99);
  CHECK(quartile3({1, 2, 3, 4, 5, 6, 7, 8}) == 6);
  CHECK(quartile3({3, 1, 2}) == 3); // rank ceil(2.25) = 3
  CHECK(quartile3({}) == 0);
}

TEST_CASE("report: fixed keep-alive for ten minutes however spelled") {
  for (auto spec : {"fixed", "fixed:10m", "fixed:600s", "fixed:600000ms"})
    CHECK(is_fixed_10m(spec));
  for (auto spec : {"fixed:5m", "fixed:", "fixed:10", "hybrid", "lru:10m", "fixed:10m "})
    CHECK_FALSE(is_fixed_10m(spec));
}

TEST_CASE("report: summarize gives cold percentages and Q3 and normalizes to fixed:10m") {
  auto figures = summarize(sample_runs());
  REQUIRE(figures.size() == 3);
  const auto& fixed = figures[0];
  CHECK(fixed.policy == "fixed:10m");
  CHECK(fixed.arrivals == 200);
  CHECK(fixed.completed == 199);
  CHECK(fixed.rejected == 1);
  CHECK(fixed.evictions == 3);
  CHECK(fixed.cold_start_pct == 25);
  CHECK(fixed.app_cold_start_pct_q3 == 40); // of {10, 25, 40, 50}, app "e" left out
  CHECK(fixed.wasted_mb_s == 4000);
  REQUIRE(fixed.wasted_normalized);
  CHECK(*fixed.wasted_normalized == 1);
  CHECK(fixed.added_latency_p50_ms == 3);
  CHECK(fixed.added_latency_p99_ms == 5);
  CHECK(fixed.apps.size() == 5);
  CHECK(figures[1].cold_start_pct == 15);
  CHECK(*figures[1].wasted_normalized == 0.25);
  CHECK(figures[1].added_latency_p99_ms == 0);
  CHECK(figures[1].app_cold_start_pct_q3 == 0);
  CHECK(figures[2].cold_start_pct == 0);
  CHECK(*figures[2].wasted_normalized == 2);

  auto runs = sample_runs();
  runs.erase(runs.begin());
  for (const auto& f : summarize(runs))
    CHECK_FALSE(f.wasted_normalized);
  runs = sample_runs();
  runs[0].wasted_mb_ms = 0;
  for (const auto& f : summarize(runs))
    CHECK_FALSE(f.wasted_normalized);
}

TEST_CASE("report: the table has a row per policy and aligned columns") {
  auto runs = sample_runs();
  runs[0].policy = "lru:10m"; // no baseline: "-" for normalized
  const std::string table = format_table(summarize(runs));
  std::istringstream lines(table);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);)
    rows.push_back(line);
  REQUIRE(rows.size() == 4);
  for (const auto& row : rows)
    CHECK(row.size() == rows[0].size());
  CHECK(rows[0].find("policy") == 0);
  CHECK(rows[1].find("lru:10m") == 0);
  CHECK(rows[1].find(" - ") != std::string::npos);
  CHECK(rows[1].find("25.00") != std::string::npos);
}

TEST_CASE("report: write_report writes four files that read back") {
  temp_dir tmp;
  const fs::path dir = tmp.path / "out";
  auto written = write_report(dir, sample_meta(), summarize(sample_runs()));
  REQUIRE(written);
  for (auto name : {"report.json", "policies.csv", "apps.csv", "tradeoff.svg"})
    CHECK(fs::is_regular_file(dir / name));
  CHECK_FALSE(fs::exists(dir / "report.json.tmp"));

  auto doc = json::parse(read_bytes(dir / "report.json"));
  REQUIRE(doc);
  CHECK(json::get_string(*doc, "trace") == "traces/\"day 1\"");
  CHECK(json::get_int(*doc, "functions", 0) == 12);
  CHECK(json::get_int(*doc, "agents", 0) == 2);
  CHECK(json::get_string(*doc, "cold_start_model") == "fixed:500ms");
  const auto* policies = doc->find("policies");
  REQUIRE(policies);
  REQUIRE(policies->as_array().size() == 3);
  const auto& fixed = policies->as_array()[0];
  CHECK(json::get_string(fixed, "name") == "fixed:10m");
  CHECK(json::get_int(fixed, "cold_starts", 0) == 50);
  CHECK(fixed.find("cold_start_pct")->as_double() == 25);
  CHECK(fixed.find("app_cold_start_pct_q3")->as_double() == 40);
  CHECK(fixed.find("wasted_mb_s")->as_double() == 4000);
  CHECK(fixed.find("added_latency_p50_ms")->as_double() == 3);
  CHECK(policies->as_array()[1].find("wasted_normalized")->as_double() == 0.25);
  CHECK(json::get_string(policies->as_array()[2], "name") == "mine:\"a,b\"");

  const std::string csv = read_bytes(dir / "policies.csv");
  CHECK(csv.find("policy,arrivals,completed,cold_starts,") == 0);
  CHECK(csv.find("\nhybrid,200,200,30,0,0,0,0,0,15.0000,0.0000,1000.0000,0.2500,0.0000,0.0000\n") != std::string::npos);
  CHECK(csv.find("\n\"mine:\"\"a,b\"\"\",0,") != std::string::npos);
  const std::string apps = read_bytes(dir / "apps.csv");
  CHECK(apps.find("policy,app,arrivals,cold_starts,cold_start_pct\nfixed:10m,a,100,10,10.0000\n") == 0);
  CHECK(apps.find("fixed:10m,e,0,0,0.0000\n") != std::string::npos);
  const std::string svg = read_bytes(dir / "tradeoff.svg");
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") == 0);
  CHECK(svg.find(">hybrid</text>") != std::string::npos);
  CHECK(svg.find("mine:&quot;a,b&quot;") != std::string::npos);
  CHECK(svg.find("normalized to fixed:10m") != std::string::npos);
  CHECK(svg.find("cold starts (% of arrivals)") != std::string::npos);
}

TEST_CASE("report: the same inputs give the same bytes") {
  temp_dir tmp;
  auto figures = summarize(sample_runs());
  REQUIRE(write_report(tmp.path / "one", sample_meta(), figures));
  REQUIRE(write_report(tmp.path / "two", sample_meta(), figures));
  for (auto name : {"report.json", "policies.csv", "apps.csv", "tradeoff.svg"})
    CHECK(read_bytes(tmp.path / "one" / name) == read_bytes(tmp.path / "two" / name));
  // without a fixed:10m run the plot falls back to MB-s
  auto runs = sample_runs();
  runs.erase(runs.begin());
  REQUIRE(write_report(tmp.path / "three", sample_meta(), summarize(runs)));
  CHECK(read_bytes(tmp.path / "three" / "tradeoff.svg").find("wasted memory (MB-s") != std::string::npos);
}

TEST_CASE("report: an unwritable path is an error naming it") {
  temp_dir tmp;
  fs::create_directories(tmp.path);
  std::ofstream(tmp.path / "plain-file") << "x";
  const fs::path below_a_file = tmp.path / "plain-file" / "report";
  auto written = write_report(below_a_file, sample_meta(), {});
  REQUIRE_FALSE(written);
  CHECK(written.err().message.find(below_a_file.string()) != std::string::npos);

  fs::create_directories(tmp.path / "taken" / "report.json"); // a directory where the file goes
  written = write_report(tmp.path / "taken", sample_meta(), {});
  REQUIRE_FALSE(written);
  CHECK(written.err().message.find((tmp.path / "taken" / "report.json").string()) != std::string::npos);
}

TEST_CASE("report: the progress bar draws only when enabled") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  auto contents = [&] {
    std::fflush(out);
    std::string text(static_cast<std::size_t>(std::ftell(out)), '\0');
    std::rewind(out);
    auto n = std::fread(text.data(), 1, text.size(), out);
    text.resize(n);
    std::fseek(out, 0, SEEK_END); // a write after a read needs a seek in between
    return text;
  };
  progress_bar off(out, 10, "replay", false);
  off.update(5);
  off.finish();
  CHECK(contents().empty());

  progress_bar on(out, 10, "replay", true);
  on.update(5);
  on.finish();
  on.update(9); // after finish: nothing
  const std::string text = contents();
  CHECK(text.find("\rreplay [###############---------------]  50.0% 5/10 ") == 0);
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  std::fclose(out);
}
