#pragma once
// Workload traces for whisk-sim: the Azure Functions 2019 and 2021 public traces, loaded
// into one value (functions + arrivals in time order), and a generator of synthetic traces
// in the 2019 format so tests and examples need no download. Pure C++, no actors: the
// simulator replays `trace::arrivals` through the pool under a virtual clock.
//
// Errors are values. A bad file gives an error whose message starts with
// "FILE:LINE:COLUMN: " (LINE and COLUMN count from 1; COLUMN is the comma-separated field,
// not a character offset); a file that cannot be opened gives "FILE: cannot open (...)".
// Nothing here throws (short of running out of memory), and no line longer than
// `max_line_bytes` is read into memory.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::sim {

// A 1440-column row of the 2019 invocations file is ~3-30 KB; anything near this is not a trace.
inline constexpr std::size_t max_line_bytes = 1 << 20;

// One point of an inverse CDF: `probability` of a run taking at most `ms`.
struct quantile_point {
  double probability = 0;
  double ms = 0;
};

// A function's execution time (without cold start), as the piecewise-linear inverse CDF
// through its points. 2019: the published percentiles 0, 1, 25, 50, 75, 99 and 100 of
// "percentile_Average_*"; 2021: the same percentiles of the durations observed in the file.
struct duration_distribution {
  std::vector<quantile_point> points; // probabilities 0 .. 1, both fields non-decreasing
  double average_ms = 0;              // as published (2019) or observed (2021)

  // The duration at probability p (clamped to [0, 1]): exactly a point's ms at its
  // probability, linear in between. 0 when there are no points.
  double quantile(double p) const;

  // Every draw is `ms`.
  static duration_distribution fixed(double ms);
};

struct trace_function {
  std::string id;      // 2019: "HashOwner/HashApp/HashFunction"; 2021: "app/func"
  std::string app;     // 2019: "HashOwner/HashApp"; 2021: "app"
  std::string trigger; // 2019 as published: http, timer, event, queue, storage, orchestration, others; 2021: ""
  std::int64_t memory_mb = 0; // the app's memory / the app's functions in the file, rounded up, >= 1
  duration_distribution duration;
};

struct arrival {
  double time_ms = 0;         // from the trace start
  std::uint32_t function = 0; // index into trace::functions
  double duration_ms = 0;     // the run's execution time (drawn for 2019, as recorded for 2021)
};

struct trace {
  std::vector<trace_function> functions; // in the order of their first row in the file
  std::vector<arrival> arrivals;         // sorted by time_ms, then function, then duration_ms
  double span_ms = 0;    // 2019: the whole day (86,400,000) even if its end is quiet; 2021: the file's last start
  double origin_ms = 0;  // file time of time_ms 0: 2019 midnight of the day (0); 2021 the earliest start
};

// How the runs counted in one minute of the 2019 file are placed inside that minute.
enum class minute_spread {
  uniform, // n runs evenly spaced: at (k + 0.5) * 60000 / n ms into the minute, k = 0 .. n-1
  poisson, // n independent uniform times in the minute, sorted: a Poisson process given its count
};

struct load_options {
  // 2019 only: which day's files (dNN, 1 .. 14).
  int day = 1;
  // At most this many functions; 0 = all. Chosen by a fixed hash of the function id (FNV-1a
  // 64 of `trace_function::id`), smallest first: independent of the seed and of the file's
  // order, close to a uniform sample, and nested (the first 100 are among the first 1000).
  std::size_t max_functions = 0;
  // 2019 only: drives the poisson spread and the durations drawn. Each function draws from
  // streams of its own (seed x id), so its arrivals do not depend on which other functions
  // were chosen, and its durations do not depend on the spread.
  std::uint64_t seed = 0;
  minute_spread spread = minute_spread::uniform; // 2019 only
  // An app without a memory row (2019; and every app of a 2021 trace, which has no memory
  // data) is taken to allocate this much, shared among its functions like a real row:
  // 170 MB, the median app allocation reported by Shahrad et al. (ATC'20).
  double default_app_memory_mb = 170;
  // 2019: a function without a durations row runs this long, every time: 1 s, about the
  // median average execution time reported by Shahrad et al.
  double default_duration_ms = 1000;
  // A trace with more arrivals than this (counted before any is made) is refused with
  // errc::too_large instead of exhausting memory (24 bytes an arrival: 1.2 GB at the
  // default, which a generated 1,000-function day stays well under); choose fewer
  // functions or raise it.
  std::size_t max_arrivals = 50'000'000;
};

// The Azure Functions 2019 trace in `dir`, files named as published:
//   invocations_per_function_md.anon.dNN.csv  (required)
//   function_durations_percentiles.anon.dNN.csv (required)
//   app_memory_percentiles.anon.dNN.csv (required for days 1-12; days 13 and 14 were not
//     published, so there every app gets `default_app_memory_mb`)
// Headers must be exactly the published ones. Memory per function = the app's
// AverageAllocatedMb / the number of distinct functions of the app in the invocations
// file (all of them, not only the chosen ones). Repeated rows for one function: the
// invocation counts are added and the first trigger kept; the first durations or memory
// row wins. Minimum and Maximum may be empty (the dataset notes some were not recorded).
expected<trace> load_azure2019(const std::filesystem::path& dir, const load_options& options = {});

// The Azure Functions 2021 invocation trace (one CSV file; header "app,func,end_timestamp,
// duration"; seconds). Each row is one run starting at end_timestamp - duration. Uses
// max_functions, default_app_memory_mb and max_arrivals of `options`.
expected<trace> load_azure2021(const std::filesystem::path& file, const load_options& options = {});

// A directory: load_azure2019; a file: load_azure2021.
expected<trace> load_trace(const std::filesystem::path& path, const load_options& options = {});

// Writes a synthetic trace of `functions` (1 .. 100,000) functions in the 2019 format into
// `out_dir` (created if needed): for each day 1 .. `days` (at most 14) the invocations file
// (a row for every function), the durations file (a row for each function that ran that
// day) and, for days 1-12 as in the published set, the memory file (a row for every app).
// Shapes from Shahrad et al. (ATC'20):
//  - triggers in the published mix (http 55%, timer 15.6%, queue 15.2%, ...);
//  - timer functions fire once every fixed period (1 min .. 1 day) at a fixed phase;
//  - the others: daily rates log-normal across functions, 10^N(1.6, 1.77) capped at 10^6
//    (~45% at most hourly, ~81% at most once a minute), Poisson minute counts under a
//    diurnal pattern (peak 14:00, trough 02:00, 3:1). 1,000 functions typically make 10-20
//    million invocations a day;
//  - apps of 1 .. 50 functions (54% single-function, 95% at most 10), owners of 1 .. 3 apps;
//  - average execution times e^N(-0.38, 2.36) s (capped at 10 min), log-normal within a
//    function; app memory log-normal (median 170 MB, 90% under 400 MB).
// The same (functions, days, seed) gives the same bytes; the invocation rows of a k-function
// trace are the first k rows of a larger one with the same seed. Returns the paths written.
expected<std::vector<std::filesystem::path>> generate_azure2019(std::size_t functions, int days, std::uint64_t seed,
                                                                const std::filesystem::path& out_dir);

// The published 2019 file names for day `day` (1 .. 14).
std::filesystem::path azure2019_invocations_file(const std::filesystem::path& dir, int day);
std::filesystem::path azure2019_durations_file(const std::filesystem::path& dir, int day);
std::filesystem::path azure2019_memory_file(const std::filesystem::path& dir, int day);

} // namespace whisk::sim
