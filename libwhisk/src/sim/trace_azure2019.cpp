// The Azure Functions 2019 trace: per-minute invocation counts, duration percentiles and
// app memory, turned into arrivals.
#include <algorithm>
#include <array>
#include <unordered_map>

#include <fmt/format.h>

#include "csv_reader.hpp"
#include "random.hpp"
#include "trace_internal.hpp"
#include "whisk/sim/trace.hpp"

namespace whisk::sim {

namespace {

constexpr std::size_t minutes_per_day = 1440;
constexpr double minute_ms = 60'000.0;
constexpr int last_day_with_memory = 12;

// Streams of a function's randomness (see load_options::seed).
constexpr std::uint64_t time_stream = 1;
constexpr std::uint64_t duration_stream = 2;

std::vector<std::string> invocations_header() {
  std::vector<std::string> h{"HashOwner", "HashApp", "HashFunction", "Trigger"};
  for (std::size_t m = 1; m <= minutes_per_day; ++m)
    h.push_back(std::to_string(m));
  return h;
}

const std::vector<std::string> durations_header{
    "HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum", "percentile_Average_0",
    "percentile_Average_1", "percentile_Average_25", "percentile_Average_50", "percentile_Average_75",
    "percentile_Average_99", "percentile_Average_100"};

const std::vector<std::string> memory_header{
    "HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb", "AverageAllocatedMb_pct1", "AverageAllocatedMb_pct5",
    "AverageAllocatedMb_pct25", "AverageAllocatedMb_pct50", "AverageAllocatedMb_pct75", "AverageAllocatedMb_pct95",
    "AverageAllocatedMb_pct99", "AverageAllocatedMb_pct100"};

struct function_row {
  std::string id, app, trigger;
  std::uint64_t total = 0;
  std::vector<std::uint32_t> counts; // per minute; only for chosen functions
  bool chosen = false;
  bool has_duration = false;
};

// Opens `path` and checks its header line.
expected<csv_reader> open_with_header(const std::filesystem::path& path, const std::vector<std::string>& header) {
  auto in = csv_reader::open(path);
  if (!in)
    return in;
  auto more = in->next();
  if (!more)
    return more.err();
  if (!*more)
    return make_error(errc::bad_request, fmt::format("{}:1:1: empty file (expected the header {},...)", path.string(), header[0]));
  if (auto e = in->expect_header(header))
    return *e;
  return in;
}

// One row of the invocations file: ids and counts into `id`, `app`, `trigger`, `counts`.
std::optional<error> read_invocations_row(const csv_reader& in, std::string& id, std::string& app, std::string& trigger,
                                          std::array<std::uint32_t, minutes_per_day>& counts) {
  if (auto e = in.expect_columns(4 + minutes_per_day))
    return e;
  auto owner = in.id(0, "HashOwner");
  auto app_hash = owner ? in.id(1, "HashApp") : owner;
  auto function = app_hash ? in.id(2, "HashFunction") : app_hash;
  auto trig = function ? in.id(3, "Trigger") : function;
  if (!trig)
    return trig.err();
  app = fmt::format("{}/{}", *owner, *app_hash);
  id = fmt::format("{}/{}", app, *function);
  trigger = std::string(*trig);
  for (std::size_t m = 0; m < minutes_per_day; ++m) {
    auto c = in.count(4 + m, "count");
    if (!c)
      return c.err();
    counts[m] = *c;
  }
  return std::nullopt;
}

// Pass 1 over the invocations file: every row checked, the functions and their totals.
std::optional<error> scan_invocations(const std::filesystem::path& path, std::vector<function_row>& rows,
                                      std::unordered_map<std::string, std::size_t>& by_id) {
  auto in = open_with_header(path, invocations_header());
  if (!in)
    return in.err();
  std::string id, app, trigger;
  std::array<std::uint32_t, minutes_per_day> counts{};
  for (;;) {
    auto more = in->next();
    if (!more)
      return more.err();
    if (!*more)
      return std::nullopt;
    if (auto e = read_invocations_row(*in, id, app, trigger, counts))
      return e;
    std::uint64_t total = 0;
    for (auto c : counts)
      total += c;
    auto [it, fresh] = by_id.try_emplace(id, rows.size());
    if (fresh)
      rows.push_back(function_row{id, app, trigger, 0, {}, false, false});
    rows[it->second].total += total; // a repeated row adds its counts (see load_azure2019)
  }
}

// Pass 2: the per-minute counts of the chosen functions.
std::optional<error> read_counts(const std::filesystem::path& path, std::vector<function_row>& rows,
                                 const std::unordered_map<std::string, std::size_t>& by_id) {
  auto in = open_with_header(path, invocations_header());
  if (!in)
    return in.err();
  std::string id, app, trigger;
  std::array<std::uint32_t, minutes_per_day> counts{};
  for (;;) {
    auto more = in->next();
    if (!more)
      return more.err();
    if (!*more)
      return std::nullopt;
    if (auto e = read_invocations_row(*in, id, app, trigger, counts))
      return e;
    auto it = by_id.find(id);
    if (it == by_id.end())
      return in->at(2, "the file changed while it was read");
    auto& row = rows[it->second];
    if (!row.chosen)
      continue;
    if (row.counts.empty())
      row.counts.assign(minutes_per_day, 0);
    for (std::size_t m = 0; m < minutes_per_day; ++m)
      row.counts[m] += counts[m]; // two rows summing past 2^32 in one minute: not in any real trace
  }
}

std::optional<error> read_durations(const std::filesystem::path& path, std::vector<function_row>& rows,
                                    const std::unordered_map<std::string, std::size_t>& by_id,
                                    std::vector<duration_distribution>& out) {
  auto in = open_with_header(path, durations_header);
  if (!in)
    return in.err();
  for (;;) {
    auto more = in->next();
    if (!more)
      return more.err();
    if (!*more)
      return std::nullopt;
    if (auto e = in->expect_columns(durations_header.size()))
      return e;
    auto owner = in->id(0, "HashOwner");
    auto app = owner ? in->id(1, "HashApp") : owner;
    auto function = app ? in->id(2, "HashFunction") : app;
    if (!function)
      return function.err();
    auto average = in->non_negative(3, "Average");
    if (!average)
      return average.err();
    auto count = in->non_negative(4, "Count");
    if (!count)
      return count.err();
    for (std::size_t c : {5, 6}) // Minimum, Maximum: sometimes not recorded
      if (!in->fields()[c].empty())
        if (auto v = in->non_negative(c, durations_header[c]); !v)
          return v.err();
    duration_distribution d;
    d.average_ms = *average;
    for (std::size_t i = 0; i < detail::published_probabilities.size(); ++i) {
      const std::size_t c = 7 + i;
      auto v = in->non_negative(c, durations_header[c]);
      if (!v)
        return v.err();
      if (!d.points.empty() && *v < d.points.back().ms)
        return in->at(c, fmt::format("{} {} is below {} {}: percentiles must not decrease", durations_header[c], *v,
                                     durations_header[c - 1], d.points.back().ms));
      d.points.push_back({detail::published_probabilities[i], *v});
    }
    auto it = by_id.find(fmt::format("{}/{}/{}", *owner, *app, *function));
    if (it == by_id.end() || rows[it->second].has_duration)
      continue; // not invoked this day, or a repeated row (the first wins)
    rows[it->second].has_duration = true;
    out[it->second] = std::move(d);
  }
}

std::optional<error> read_memory(const std::filesystem::path& path, std::unordered_map<std::string, double>& app_memory) {
  auto in = open_with_header(path, memory_header);
  if (!in)
    return in.err();
  for (;;) {
    auto more = in->next();
    if (!more)
      return more.err();
    if (!*more)
      return std::nullopt;
    if (auto e = in->expect_columns(memory_header.size()))
      return e;
    auto owner = in->id(0, "HashOwner");
    auto app = owner ? in->id(1, "HashApp") : owner;
    if (!app)
      return app.err();
    double average = 0;
    for (std::size_t c = 2; c < memory_header.size(); ++c) {
      auto v = in->non_negative(c, memory_header[c]);
      if (!v)
        return v.err();
      if (c == 3)
        average = *v;
    }
    app_memory.try_emplace(fmt::format("{}/{}", *owner, *app), average); // the first row wins
  }
}

} // namespace

expected<trace> load_azure2019(const std::filesystem::path& dir, const load_options& options) {
  if (options.day < 1 || options.day > 14)
    return make_error(errc::bad_request, fmt::format("day {}: the Azure 2019 trace has days 1 to 14", options.day));
  const auto invocations = azure2019_invocations_file(dir, options.day);

  std::vector<function_row> rows;
  std::unordered_map<std::string, std::size_t> by_id;
  if (auto e = scan_invocations(invocations, rows, by_id))
    return *e;

  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& r : rows)
    ids.push_back(r.id);
  const auto keep = detail::choose_functions(ids, options.max_functions);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].chosen = keep[i];
    if (keep[i])
      total += rows[i].total;
  }
  if (auto e = detail::check_arrivals(total, options, invocations.string()))
    return *e;
  if (auto e = read_counts(invocations, rows, by_id))
    return *e;

  std::vector<duration_distribution> durations(rows.size());
  if (auto e = read_durations(azure2019_durations_file(dir, options.day), rows, by_id, durations))
    return *e;

  std::unordered_map<std::string, double> app_memory;
  const auto memory = azure2019_memory_file(dir, options.day);
  std::error_code ec;
  if (options.day <= last_day_with_memory || std::filesystem::exists(memory, ec))
    if (auto e = read_memory(memory, app_memory))
      return *e;

  std::unordered_map<std::string, std::size_t> app_functions; // every function of the file, chosen or not
  for (const auto& r : rows)
    ++app_functions[r.app];

  trace t;
  t.span_ms = minutes_per_day * minute_ms;
  t.arrivals.reserve(total);
  std::vector<double> offsets;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& r = rows[i];
    if (!r.chosen)
      continue;
    const auto index = static_cast<std::uint32_t>(t.functions.size());
    trace_function f;
    f.id = r.id;
    f.app = r.app;
    f.trigger = r.trigger;
    auto mem = app_memory.find(r.app);
    f.memory_mb = detail::memory_per_function(mem == app_memory.end() ? options.default_app_memory_mb : mem->second,
                                              app_functions[r.app]);
    f.duration = r.has_duration ? std::move(durations[i]) : duration_distribution::fixed(options.default_duration_ms);

    const auto key = fnv1a64(f.id);
    random_stream times(derive_seed(options.seed, key, time_stream));
    random_stream draws(derive_seed(options.seed, key, duration_stream));
    for (std::size_t m = 0; m < r.counts.size(); ++m) {
      const std::uint32_t n = r.counts[m];
      if (n == 0)
        continue;
      offsets.resize(n);
      for (std::uint32_t k = 0; k < n; ++k)
        offsets[k] = options.spread == minute_spread::uniform ? (k + 0.5) * minute_ms / n : times.uniform() * minute_ms;
      if (options.spread == minute_spread::poisson)
        std::sort(offsets.begin(), offsets.end());
      for (double offset : offsets)
        t.arrivals.push_back(arrival{static_cast<double>(m) * minute_ms + offset, index, f.duration.quantile(draws.uniform())});
    }
    r.counts = {};
    t.functions.push_back(std::move(f));
  }
  detail::sort_arrivals(t.arrivals);
  return t;
}

} // namespace whisk::sim
