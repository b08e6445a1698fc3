// The Azure Functions 2021 invocation trace: one row per run (app, func, end, duration).
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "csv_reader.hpp"
#include "trace_internal.hpp"
#include "whisk/sim/trace.hpp"

namespace whisk::sim {

namespace {

const std::vector<std::string> header{"app", "func", "end_timestamp", "duration"};

struct run_row {
  std::string id, app;
  double start_ms = 0, duration_ms = 0;
};

// One row: the function and the run's start and duration in ms.
std::optional<error> read_row(const csv_reader& in, run_row& row) {
  if (auto e = in.expect_columns(header.size()))
    return e;
  auto app = in.id(0, "app");
  auto func = app ? in.id(1, "func") : app;
  if (!func)
    return func.err();
  auto end = in.number(2, "end_timestamp");
  if (!end)
    return end.err();
  auto duration = in.non_negative(3, "duration");
  if (!duration)
    return duration.err();
  // beyond ~30,000 years the milliseconds lose their precision (and overflow further on)
  constexpr double limit_s = 1e12;
  if (std::fabs(*end) > limit_s)
    return in.at(2, fmt::format("end_timestamp {:g} is out of range (at most {:g} s)", *end, limit_s));
  if (*duration > limit_s)
    return in.at(3, fmt::format("duration {:g} is out of range (at most {:g} s)", *duration, limit_s));
  row.app = std::string(*app);
  row.id = fmt::format("{}/{}", *app, *func);
  row.start_ms = (*end - *duration) * 1000.0;
  row.duration_ms = *duration * 1000.0;
  return std::nullopt;
}

expected<csv_reader> open_with_header(const std::filesystem::path& path) {
  auto in = csv_reader::open(path);
  if (!in)
    return in;
  auto more = in->next();
  if (!more)
    return more.err();
  if (!*more)
    return make_error(errc::bad_request, fmt::format("{}:1:1: empty file (expected the header app,func,end_timestamp,duration)", path.string()));
  if (auto e = in->expect_header(header))
    return *e;
  return in;
}

// The published percentiles of the observed durations (linear between order statistics).
duration_distribution observed(std::vector<double>& ms) {
  duration_distribution d;
  if (ms.empty())
    return d;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms)
    sum += v;
  d.average_ms = sum / static_cast<double>(ms.size());
  for (double p : detail::published_probabilities) {
    const double pos = p * static_cast<double>(ms.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, ms.size() - 1);
    d.points.push_back({p, ms[lo] + (pos - static_cast<double>(lo)) * (ms[hi] - ms[lo])});
  }
  return d;
}

} // namespace

expected<trace> load_azure2021(const std::filesystem::path& file, const load_options& options) {
  // Pass 1: every row checked; the functions, their run counts and the time range.
  struct function_seen {
    std::string id, app;
    std::uint64_t runs = 0;
  };
  std::vector<function_seen> functions;
  std::unordered_map<std::string, std::size_t> by_id;
  double first = std::numeric_limits<double>::infinity(), last = -first;
  {
    auto in = open_with_header(file);
    if (!in)
      return in.err();
    run_row row;
    for (;;) {
      auto more = in->next();
      if (!more)
        return more.err();
      if (!*more)
        break;
      if (auto e = read_row(*in, row))
        return *e;
      auto [it, fresh] = by_id.try_emplace(row.id, functions.size());
      if (fresh)
        functions.push_back(function_seen{row.id, row.app, 0});
      ++functions[it->second].runs;
      first = std::min(first, row.start_ms);
      last = std::max(last, row.start_ms);
    }
  }

  std::vector<std::string> ids;
  ids.reserve(functions.size());
  for (const auto& f : functions)
    ids.push_back(f.id);
  const auto keep = detail::choose_functions(ids, options.max_functions);
  std::uint64_t total = 0;
  std::unordered_map<std::string, std::size_t> app_functions; // every function of the file, chosen or not
  for (std::size_t i = 0; i < functions.size(); ++i) {
    ++app_functions[functions[i].app];
    if (keep[i])
      total += functions[i].runs;
  }
  if (auto e = detail::check_arrivals(total, options, file.string()))
    return *e;

  trace t;
  if (!functions.empty()) {
    t.origin_ms = first;
    t.span_ms = last - first;
  }
  std::vector<std::uint32_t> index(functions.size(), 0);
  for (std::size_t i = 0; i < functions.size(); ++i) {
    if (!keep[i])
      continue;
    index[i] = static_cast<std::uint32_t>(t.functions.size());
    trace_function f;
    f.id = functions[i].id;
    f.app = functions[i].app;
    f.memory_mb = detail::memory_per_function(options.default_app_memory_mb, app_functions[f.app]);
    t.functions.push_back(std::move(f));
  }

  // Pass 2: the runs of the chosen functions.
  std::vector<std::vector<double>> durations(t.functions.size());
  t.arrivals.reserve(total);
  {
    auto in = open_with_header(file);
    if (!in)
      return in.err();
    run_row row;
    for (;;) {
      auto more = in->next();
      if (!more)
        return more.err();
      if (!*more)
        break;
      if (auto e = read_row(*in, row))
        return *e;
      auto it = by_id.find(row.id);
      if (it == by_id.end())
        return in->at(1, "the file changed while it was read");
      if (!keep[it->second])
        continue;
      const auto f = index[it->second];
      t.arrivals.push_back(arrival{row.start_ms - t.origin_ms, f, row.duration_ms});
      durations[f].push_back(row.duration_ms);
    }
  }
  for (std::size_t f = 0; f < t.functions.size(); ++f)
    t.functions[f].duration = observed(durations[f]);
  detail::sort_arrivals(t.arrivals);
  return t;
}

} // namespace whisk::sim
