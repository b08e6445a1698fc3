// Synthetic traces in the Azure Functions 2019 format, from the shapes Shahrad et al.
// (ATC'20) publish; see generate_azure2019 in the header for the figures.
#include <algorithm>
#include <array>
#include <bitset>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "random.hpp"
#include "trace_internal.hpp"
#include "whisk/sim/trace.hpp"

namespace whisk::sim {

namespace {

constexpr std::size_t minutes_per_day = 1440;
constexpr std::size_t max_generated_functions = 100'000; // twice a published day; ~350 MB per day of files
constexpr int last_day_with_memory = 12;
constexpr double max_duration_ms = 600'000; // the Azure Functions time limit
constexpr double pi = 3.14159265358979323846;

// Streams of the generator's randomness: each function and app draws from its own, so the
// first k functions do not depend on how many follow.
namespace streams {
constexpr std::uint64_t layout = 1, function = 2, counts = 3, function_hash = 4, app = 5, app_hash = 6, owner_hash = 7;
}

// the paper: the share of functions per trigger group
constexpr std::array<std::pair<double, const char*>, 7> trigger_mix{{{0.550, "http"},
                                              {0.152, "queue"},
                                              {0.022, "event"},
                                              {0.069, "orchestration"},
                                              {0.156, "timer"},
                                              {0.028, "storage"},
                                              {0.023, "others"}}};
// Timer periods in minutes (cron-like; the paper reports timers but not their periods)
constexpr std::array<std::pair<double, std::uint32_t>, 9> timer_periods{
    {{0.15, 1}, {0.20, 5}, {0.10, 10}, {0.10, 15}, {0.10, 30}, {0.20, 60}, {0.05, 360}, {0.03, 720}, {0.07, 1440}}};
// Standard normal quantiles of the published percentiles (0 and 100 taken as -3 and +3)
constexpr std::array<double, 7> percentile_z{-3.0, -2.326, -0.674, 0.0, 0.674, 2.326, 3.0};
// App memory percentiles 1, 5, 25, 50, 75, 95, 99, 100 relative to the average
constexpr std::array<double, 8> memory_spread{0.80, 0.84, 0.92, 1.00, 1.05, 1.15, 1.25, 1.40};

// The value of a (weight, value) table that `u` in [0, 1) falls on (the last one past the total).
template <class Table>
auto pick(const Table& table, double u) {
  for (const auto& [weight, value] : table) {
    if (u < weight)
      return value;
    u -= weight;
  }
  return table.back().second;
}

std::string hex_hash(std::uint64_t seed) {
  random_stream r(seed);
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", r.next(), r.next(), r.next(), r.next());
}

struct app_shape {
  std::string owner, hash;
  double memory_mb = 0;
};

struct function_shape {
  std::size_t app = 0;
  std::string hash;
  const char* trigger = "http";
  std::uint32_t period = 0, phase = 0; // timer: fires in minutes where minute % period == phase
  double per_day = 0;                  // others: mean invocations per day
  double median_ms = 0, sigma = 0, average_ms = 0;
};

// Owners, apps and functions, in the order of the files.
void lay_out(std::size_t functions, std::uint64_t seed, std::vector<app_shape>& apps, std::vector<function_shape>& out) {
  random_stream layout_stream(derive_seed(seed, 0, streams::layout));
  std::size_t owner = 0, owner_apps_left = 0;
  std::string owner_id;
  while (out.size() < functions) {
    if (owner_apps_left == 0) {
      const double u = layout_stream.uniform();
      owner_apps_left = u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
      owner_id = hex_hash(derive_seed(seed, owner++, streams::owner_hash));
    }
    --owner_apps_left;
    // 54% of apps have one function, 95% at most ten (the paper)
    const double u = layout_stream.uniform();
    const std::size_t size = u < 0.54 ? 1 : u < 0.70 ? 2 : u < 0.78 ? 3 : u < 0.95 ? 4 + layout_stream.below(7) : 11 + layout_stream.below(40);
    const std::size_t a = apps.size();
    random_stream app_stream(derive_seed(seed, a, streams::app));
    app_shape app;
    app.owner = owner_id;
    app.hash = hex_hash(derive_seed(seed, a, streams::app_hash));
    // log-normal through the median 170 MB and the 90th percentile 400 MB (the paper)
    app.memory_mb = std::round(std::clamp(std::exp(std::log(170.0) + 0.667 * app_stream.normal()), 16.0, 1536.0));
    apps.push_back(std::move(app));
    for (std::size_t i = 0; i < size && out.size() < functions; ++i) {
      const std::size_t k = out.size();
      random_stream s(derive_seed(seed, k, streams::function));
      function_shape f;
      f.app = a;
      f.hash = hex_hash(derive_seed(seed, k, streams::function_hash));
      f.trigger = pick(trigger_mix, s.uniform());
      if (std::strcmp(f.trigger, "timer") == 0) {
        f.period = pick(timer_periods, s.uniform());
        f.phase = static_cast<std::uint32_t>(s.below(f.period));
      } else {
        // log10 of daily invocations ~ N(1.6, 1.77): 45% at most hourly, 81% at most once a minute
        f.per_day = std::pow(10.0, std::min(1.6 + 1.77 * s.normal(), 6.0));
      }
      // average execution time log-normal, e^N(-0.38, 2.36) s, spread log-normally within the function
      f.average_ms = std::clamp(1000.0 * std::exp(-0.38 + 2.36 * s.normal()), 1.0, max_duration_ms);
      f.sigma = 0.1 + 0.9 * s.uniform();
      f.median_ms = f.average_ms / std::exp(f.sigma * f.sigma / 2);
      out.push_back(std::move(f));
    }
  }
}

// Invocations of `f` in each minute of day `day` (0-based).
void day_counts(const function_shape& f, std::size_t k, int day, std::uint64_t seed, std::array<std::uint32_t, minutes_per_day>& counts) {
  if (f.period > 0) {
    for (std::size_t m = 0; m < minutes_per_day; ++m)
      counts[m] = (static_cast<std::uint64_t>(day) * minutes_per_day + m) % f.period == f.phase ? 1 : 0;
    return;
  }
  random_stream s(derive_seed(derive_seed(seed, k, streams::counts), static_cast<std::uint64_t>(day), 0));
  for (std::size_t m = 0; m < minutes_per_day; ++m) {
    // diurnal: 1.5x at 14:00, 0.5x at 02:00, mean 1 over the day
    const double diurnal = 1.0 + 0.5 * std::cos(2.0 * pi * (static_cast<double>(m) - 840.0) / minutes_per_day);
    counts[m] = static_cast<std::uint32_t>(std::min<std::uint64_t>(s.poisson(f.per_day / minutes_per_day * diurnal), UINT32_MAX));
  }
}

// A file written row by row; the first failure is kept and reported at the end.
class output_file {
public:
  explicit output_file(std::filesystem::path path) : path_(std::move(path)), f_(std::fopen(path_.c_str(), "wb")) {
    if (!f_)
      errno_ = errno;
  }
  void write(const fmt::memory_buffer& b) {
    if (f_ && errno_ == 0 && std::fwrite(b.data(), 1, b.size(), f_.get()) != b.size())
      errno_ = errno ? errno : EIO;
  }
  std::optional<error> close() {
    if (f_ && std::fclose(f_.release()) != 0 && errno_ == 0)
      errno_ = errno ? errno : EIO;
    if (errno_ == 0)
      return std::nullopt;
    return make_error(errc::unavailable, fmt::format("{}: cannot write ({})", path_.string(), std::strerror(errno_)));
  }

private:
  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, closer> f_;
  int errno_ = 0;
};

} // namespace

expected<std::vector<std::filesystem::path>> generate_azure2019(std::size_t functions, int days, std::uint64_t seed,
                                                                const std::filesystem::path& out_dir) {
  if (functions < 1 || functions > max_generated_functions)
    return make_error(errc::bad_request, fmt::format("functions: {} is not between 1 and {}", functions, max_generated_functions));
  if (days < 1 || days > 14)
    return make_error(errc::bad_request, fmt::format("days: {} is not between 1 and 14 (the days of the 2019 trace)", days));
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return make_error(errc::unavailable, fmt::format("{}: cannot create the directory ({})", out_dir.string(), ec.message()));

  std::vector<app_shape> apps;
  std::vector<function_shape> shapes;
  lay_out(functions, seed, apps, shapes);

  std::vector<std::filesystem::path> written;
  std::array<std::uint32_t, minutes_per_day> counts{};
  for (int day = 0; day < days; ++day) {
    std::vector<std::bitset<minutes_per_day>> app_active(apps.size());
    std::vector<std::uint64_t> totals(shapes.size(), 0);

    output_file inv(azure2019_invocations_file(out_dir, day + 1));
    fmt::memory_buffer b;
    fmt::format_to(std::back_inserter(b), "HashOwner,HashApp,HashFunction,Trigger");
    for (std::size_t m = 1; m <= minutes_per_day; ++m)
      fmt::format_to(std::back_inserter(b), ",{}", m);
    b.push_back('\n');
    inv.write(b);
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const auto& f = shapes[k];
      day_counts(f, k, day, seed, counts);
      b.clear();
      fmt::format_to(std::back_inserter(b), "{},{},{},{}", apps[f.app].owner, apps[f.app].hash, f.hash, f.trigger);
      for (std::size_t m = 0; m < minutes_per_day; ++m) {
        fmt::format_to(std::back_inserter(b), ",{}", counts[m]);
        totals[k] += counts[m];
        if (counts[m] > 0)
          app_active[f.app].set(m);
      }
      b.push_back('\n');
      inv.write(b);
    }
    if (auto e = inv.close())
      return *e;
    written.push_back(azure2019_invocations_file(out_dir, day + 1));

    output_file dur(azure2019_durations_file(out_dir, day + 1));
    b.clear();
    fmt::format_to(std::back_inserter(b), "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
                                          "percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,"
                                          "percentile_Average_99,percentile_Average_100\n");
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const auto& f = shapes[k];
      if (totals[k] == 0)
        continue; // as published: a row for each function that ran that day
      std::array<long long, 7> p{};
      for (std::size_t i = 0; i < p.size(); ++i)
        p[i] = std::llround(std::min(f.median_ms * std::exp(f.sigma * percentile_z[i]), max_duration_ms));
      fmt::format_to(std::back_inserter(b), "{},{},{},{},{},{},{},{}\n", apps[f.app].owner, apps[f.app].hash, f.hash,
                     std::llround(f.average_ms), totals[k], p.front(), p.back(), fmt::join(p, ","));
    }
    dur.write(b);
    if (auto e = dur.close())
      return *e;
    written.push_back(azure2019_durations_file(out_dir, day + 1));

    if (day + 1 > last_day_with_memory)
      continue;
    output_file mem(azure2019_memory_file(out_dir, day + 1));
    b.clear();
    fmt::format_to(std::back_inserter(b), "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,"
                                          "AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,"
                                          "AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,"
                                          "AverageAllocatedMb_pct100\n");
    for (std::size_t a = 0; a < apps.size(); ++a) {
      std::array<long long, memory_spread.size()> p{};
      for (std::size_t i = 0; i < p.size(); ++i)
        p[i] = std::llround(apps[a].memory_mb * memory_spread[i]);
      // the platform samples memory every 5 s of every minute the app runs
      fmt::format_to(std::back_inserter(b), "{},{},{},{},{}\n", apps[a].owner, apps[a].hash, 12 * app_active[a].count(),
                     std::llround(apps[a].memory_mb), fmt::join(p, ","));
    }
    mem.write(b);
    if (auto e = mem.close())
      return *e;
    written.push_back(azure2019_memory_file(out_dir, day + 1));
  }
  return written;
}

} // namespace whisk::sim
