#include "whisk/sim/trace.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "random.hpp"
#include "trace_internal.hpp"

namespace whisk::sim {

double duration_distribution::quantile(double p) const {
  if (points.empty())
    return 0;
  if (!(p > points.front().probability)) // also NaN
    return points.front().ms;
  for (std::size_t i = 1; i < points.size(); ++i) {
    const auto& lo = points[i - 1];
    const auto& hi = points[i];
    if (p <= hi.probability) {
      if (p == hi.probability || hi.probability <= lo.probability)
        return hi.ms;
      return lo.ms + (p - lo.probability) / (hi.probability - lo.probability) * (hi.ms - lo.ms);
    }
  }
  return points.back().ms;
}

duration_distribution duration_distribution::fixed(double ms) {
  return duration_distribution{{{0.0, ms}, {1.0, ms}}, ms};
}

std::filesystem::path azure2019_invocations_file(const std::filesystem::path& dir, int day) {
  return dir / fmt::format("invocations_per_function_md.anon.d{:02}.csv", day);
}

std::filesystem::path azure2019_durations_file(const std::filesystem::path& dir, int day) {
  return dir / fmt::format("function_durations_percentiles.anon.d{:02}.csv", day);
}

std::filesystem::path azure2019_memory_file(const std::filesystem::path& dir, int day) {
  return dir / fmt::format("app_memory_percentiles.anon.d{:02}.csv", day);
}

expected<trace> load_trace(const std::filesystem::path& path, const load_options& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return load_azure2019(path, options);
  return load_azure2021(path, options);
}

namespace detail {

std::vector<bool> choose_functions(const std::vector<std::string>& ids, std::size_t max) {
  if (max == 0 || max >= ids.size())
    return std::vector<bool>(ids.size(), true);
  std::vector<std::pair<std::uint64_t, std::size_t>> ranked;
  ranked.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    ranked.emplace_back(fnv1a64(ids[i]), i);
  auto before = [&](const auto& a, const auto& b) { return std::tie(a.first, ids[a.second]) < std::tie(b.first, ids[b.second]); };
  std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(max), ranked.end(), before);
  std::vector<bool> keep(ids.size(), false);
  for (std::size_t i = 0; i < max; ++i)
    keep[ranked[i].second] = true;
  return keep;
}

std::int64_t memory_per_function(double app_memory_mb, std::size_t app_functions) {
  const double share = std::ceil(app_memory_mb / static_cast<double>(std::max<std::size_t>(app_functions, 1)));
  if (!(share >= 1)) // also NaN
    return 1;
  return share > 1e15 ? std::int64_t{1'000'000'000'000'000} : static_cast<std::int64_t>(share); // a petabyte: absurd but no overflow
}

std::optional<error> check_arrivals(std::uint64_t total, const load_options& options, const std::string& what) {
  if (total <= options.max_arrivals)
    return std::nullopt;
  return make_error(errc::too_large,
                    fmt::format("{}: {} invocations in the chosen functions, more than the limit of {}; choose fewer functions "
                                "or raise the limit",
                                what, total, options.max_arrivals));
}

void sort_arrivals(std::vector<arrival>& arrivals) {
  std::sort(arrivals.begin(), arrivals.end(), [](const arrival& a, const arrival& b) {
    return std::tie(a.time_ms, a.function, a.duration_ms) < std::tie(b.time_ms, b.function, b.duration_ms);
  });
}

} // namespace detail

} // namespace whisk::sim
