#pragma once
// whisk-sim's reports: the raw counts of one replay per keep-alive policy turned into
// figures (summarize), a table for the terminal (format_table) and a directory of files a
// person or a script reads afterwards (write_report). Pure C++, no actors, no clock in the
// files: the same runs give the same bytes, so reports can be diffed and kept in git.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::sim {

struct app_tally {
  std::string app;
  std::int64_t arrivals = 0;
  std::int64_t cold_starts = 0;
};

// What the replay of one policy counted.
struct policy_run {
  std::string policy; // its spec, e.g. "fixed:10m", "hybrid"
  std::int64_t arrivals = 0, completed = 0, cold_starts = 0, rejected = 0;
  std::int64_t evictions = 0, expirations = 0, containers_created = 0, prewarms = 0;
  double wasted_mb_ms = 0;              // integral of idle warm containers' memory over virtual time
  std::vector<double> added_latency_ms; // per completed activation: (answer - arrival) - its execution time
  std::vector<app_tally> apps;          // in a deterministic order (the replay sorts them)
  double wall_seconds = 0;              // host time of the replay; never written to files (they must be reproducible)
};

// The figures of one run, as reported.
struct policy_figures {
  std::string policy;
  std::int64_t arrivals = 0, completed = 0, cold_starts = 0, rejected = 0;
  std::int64_t evictions = 0, expirations = 0, containers_created = 0, prewarms = 0;
  double cold_start_pct = 0;        // 100 * cold_starts / arrivals (0 without arrivals)
  double app_cold_start_pct_q3 = 0; // quartile3 of each app's cold-start %, over apps with an arrival
  double wasted_mb_s = 0;           // wasted_mb_ms / 1000
  // wasted / the wasted of the report's fixed:10m run (the papers' baseline); empty when
  // the report has no such run or it wasted nothing.
  std::optional<double> wasted_normalized;
  double added_latency_p50_ms = 0, added_latency_p99_ms = 0; // percentile(); 0 when none completed
  std::vector<app_tally> apps;
};

struct report_meta {
  std::string trace; // the path or name the runs replayed
  std::int64_t functions = 0, apps = 0, arrivals = 0;
  std::uint64_t seed = 0;
  std::int64_t memory_mb = 0; // 0 = unbounded
  int day = 1;
  std::string cold_start_model;
  std::int64_t agents = 1;
};

// Nearest-rank percentile: the value of rank ceil(p * n) (counting from 1, at least 1) among
// the n sorted values, i.e. the smallest value with at least a fraction p of the values at
// or below it. Always one of the values, never an interpolation. p is clamped to [0, 1]
// (NaN as 0); NaN values are left out; 0 when no value is left.
// E.g. {1, 2, 3, 4}: p 0.5 -> 2, p 0.75 -> 3, p 0.99 -> 4, p 0 -> 1.
double percentile(std::vector<double> values, double p);
// The third quartile by the same rule: percentile(values, 0.75).
double quartile3(std::vector<double> values);

// Whether a policy spec is fixed keep-alive for 10 minutes, however spelled: "fixed",
// "fixed:10m", "fixed:600s", "fixed:600000ms".
bool is_fixed_10m(std::string_view policy);

// One figures entry per run, in the runs' order.
std::vector<policy_figures> summarize(const std::vector<policy_run>& runs);

// A fixed-width text table with a header line and one row per policy, for the terminal.
std::string format_table(const std::vector<policy_figures>& figures);

// Writes into `dir` (created if needed), each file to a temporary name then renamed:
//   report.json  - {"trace", "functions", ..., "policies": [{"name", figures...}]}
//   policies.csv - a header and one row per policy with the same figures
//   apps.csv     - policy,app,arrivals,cold_starts,cold_start_pct
//   tradeoff.svg - cold-start % against wasted memory (normalized to fixed:10m when the
//                  report has it, MB-s otherwise), one labelled point per policy
// Numbers have fixed precision, so the same arguments give the same bytes. An error names
// the path that could not be created or written.
expected<bool> write_report(const std::filesystem::path& dir, const report_meta& meta,
                            const std::vector<policy_figures>& figures);

// A one-line progress bar redrawn in place with '\r': percent, done/total and rate per
// second, at most ten times a second. Disabled, it writes nothing (the caller passes
// isatty(fileno(out)), so logs and pipes stay clean).
class progress_bar {
public:
  progress_bar(std::FILE* out, std::int64_t total, std::string label, bool enabled);
  void update(std::int64_t done);
  // Draws the final state and ends the line; later calls do nothing.
  void finish();

private:
  void draw(std::int64_t done, std::chrono::steady_clock::time_point now);
  std::FILE* out_;
  std::int64_t total_;
  std::string label_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::int64_t done_ = 0;
  bool drawn_ = false;
};

} // namespace whisk::sim
