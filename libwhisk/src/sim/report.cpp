#include "whisk/sim/report.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "whisk/json.hpp"
#include "whisk/policy/keep_alive.hpp"

namespace whisk::sim {

namespace {

double pct(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// A figure as written to files: four decimals, never "-0.0000"; "" when not finite (the
// caller writes that as null or an empty CSV field).
std::string fixed4(double x) {
  if (!std::isfinite(x))
    return {};
  const std::string s = fmt::format("{:.4f}", x);
  return s == "-0.0000" ? "0.0000" : s;
}

// The figures of a policy in file order, as written (report.json and policies.csv agree).
std::vector<std::pair<std::string_view, std::string>> figure_columns(const policy_figures& f) {
  auto i = [](std::int64_t n) { return fmt::format("{}", n); };
  return {
      {"arrivals", i(f.arrivals)},
      {"completed", i(f.completed)},
      {"cold_starts", i(f.cold_starts)},
      {"rejected", i(f.rejected)},
      {"evictions", i(f.evictions)},
      {"expirations", i(f.expirations)},
      {"containers_created", i(f.containers_created)},
      {"prewarms", i(f.prewarms)},
      {"cold_start_pct", fixed4(f.cold_start_pct)},
      {"app_cold_start_pct_q3", fixed4(f.app_cold_start_pct_q3)},
      {"wasted_mb_s", fixed4(f.wasted_mb_s)},
      {"wasted_normalized", f.wasted_normalized ? fixed4(*f.wasted_normalized) : std::string{}},
      {"added_latency_p50_ms", fixed4(f.added_latency_p50_ms)},
      {"added_latency_p99_ms", fixed4(f.added_latency_p99_ms)},
  };
}

std::string json_string(std::string_view s) {
  std::string out;
  json::write_string(out, s);
  return out;
}

std::string json_number(const std::string& written) {
  return written.empty() ? "null" : written;
}

// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

std::string xml_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no other control characters, not even escaped
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') ? ' ' : c;
    }
  }
  return out;
}

std::string report_json(const report_meta& meta, const std::vector<policy_figures>& figures) {
  std::string out = "{\n";
  out += fmt::format("  \"trace\": {},\n", json_string(meta.trace));
  out += fmt::format("  \"functions\": {},\n  \"apps\": {},\n  \"arrivals\": {},\n", meta.functions, meta.apps, meta.arrivals);
  out += fmt::format("  \"seed\": {},\n  \"memory_mb\": {},\n  \"day\": {},\n", meta.seed, meta.memory_mb, meta.day);
  out += fmt::format("  \"cold_start_model\": {},\n  \"agents\": {},\n", json_string(meta.cold_start_model), meta.agents);
  out += "  \"policies\": [";
  for (std::size_t k = 0; k < figures.size(); ++k) {
    out += k == 0 ? "\n    {" : ",\n    {";
    out += fmt::format("\"name\": {}", json_string(figures[k].policy));
    for (const auto& [name, value] : figure_columns(figures[k]))
      out += fmt::format(", \"{}\": {}", name, json_number(value));
    out += '}';
  }
  out += figures.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

std::string policies_csv(const std::vector<policy_figures>& figures) {
  std::string out = "policy";
  for (const auto& column : figure_columns(policy_figures{}))
    out += fmt::format(",{}", column.first);
  out += '\n';
  for (const auto& f : figures) {
    out += csv_field(f.policy);
    for (const auto& column : figure_columns(f))
      out += fmt::format(",{}", column.second);
    out += '\n';
  }
  return out;
}

std::string apps_csv(const std::vector<policy_figures>& figures) {
  std::string out = "policy,app,arrivals,cold_starts,cold_start_pct\n";
  for (const auto& f : figures)
    for (const auto& a : f.apps)
      out += fmt::format("{},{},{},{},{}\n", csv_field(f.policy), csv_field(a.app), a.arrivals, a.cold_starts,
                         fixed4(pct(a.cold_starts, a.arrivals)));
  return out;
}

// An axis from 0 to a multiple of a 1-2-5 step covering `max`, with about five ticks.
struct axis {
  double step = 1, top = 5;
  int decimals = 0;
};

axis axis_for(double max) {
  if (!(max > 0) || !std::isfinite(max))
    max = 1;
  const double raw = max / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * magnitude) {
      step = m * magnitude;
      break;
    }
  axis a;
  a.step = step;
  a.top = std::ceil(max / step - 1e-9) * step;
  a.decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step))), 0, 6);
  return a;
}

std::string tradeoff_svg(const report_meta& meta, const std::vector<policy_figures>& figures) {
  // Normalized to fixed:10m when every policy has that figure (summarize gives all or none).
  const bool normalized = !figures.empty() && std::all_of(figures.begin(), figures.end(), [](const policy_figures& f) {
    return f.wasted_normalized.has_value();
  });
  auto x_of = [&](const policy_figures& f) { return normalized ? *f.wasted_normalized : f.wasted_mb_s; };
  double max_x = 0, max_y = 0;
  for (const auto& f : figures) {
    if (std::isfinite(x_of(f)) && std::isfinite(f.cold_start_pct)) {
      max_x = std::max(max_x, x_of(f));
      max_y = std::max(max_y, f.cold_start_pct);
    }
  }
  const axis ax = axis_for(max_x * 1.05), ay = axis_for(max_y * 1.05);
  constexpr double width = 800, height = 520, left = 90, right = 770, top = 70, bottom = 450;
  auto px = [&](double x) { return left + std::clamp(x / ax.top, 0.0, 1.0) * (right - left); };
  auto py = [&](double y) { return bottom - std::clamp(y / ay.top, 0.0, 1.0) * (bottom - top); };

  std::string out;
  auto add = [&out]<class... Args>(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
  };
  add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height);
  add("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  add("<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">Cold starts against wasted memory, per keep-alive policy</text>\n",
      width / 2);
  const std::string memory = meta.memory_mb > 0 ? fmt::format("{} MB", meta.memory_mb) : std::string("unbounded memory");
  add("<text x=\"{}\" y=\"48\" text-anchor=\"middle\" fill=\"#555\">{} (day {}, {} functions, {} arrivals, {}, seed {})</text>\n",
      width / 2, xml_text(meta.trace), meta.day, meta.functions, meta.arrivals, memory, meta.seed);

  // grid, ticks and tick labels
  for (int k = 0; k * ax.step <= ax.top * (1 + 1e-9); ++k) {
    const double x = px(k * ax.step);
    add("<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", x, top, bottom);
    add("<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"black\"/>\n", x, bottom, bottom + 5);
    add("<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{:.{}f}</text>\n", x, bottom + 19, k * ax.step, ax.decimals);
  }
  for (int k = 0; k * ay.step <= ay.top * (1 + 1e-9); ++k) {
    const double y = py(k * ay.step);
    add("<line x1=\"{1}\" y1=\"{0:.2f}\" x2=\"{2}\" y2=\"{0:.2f}\" stroke=\"#e4e4e4\"/>\n", y, left, right);
    add("<line x1=\"{1}\" y1=\"{0:.2f}\" x2=\"{2}\" y2=\"{0:.2f}\" stroke=\"black\"/>\n", y, left - 5, left);
    add("<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\" dominant-baseline=\"middle\">{:.{}f}</text>\n", left - 8, y, k * ay.step,
        ay.decimals);
  }
  add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, bottom, right);
  add("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, bottom);
  add("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", (left + right) / 2, bottom + 45,
      normalized ? "wasted memory, normalized to fixed:10m (1 = as wasteful as fixed:10m)"
                 : "wasted memory (MB-s of idle warm containers)");
  add("<text x=\"22\" y=\"{0}\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 22 {0})\">cold starts (% of arrivals)</text>\n",
      (top + bottom) / 2);

  // one point per policy, labelled on the side away from the right edge
  static constexpr const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  for (std::size_t k = 0; k < figures.size(); ++k) {
    const auto& f = figures[k];
    if (!std::isfinite(x_of(f)) || !std::isfinite(f.cold_start_pct))
      continue;
    const double x = px(x_of(f)), y = py(f.cold_start_pct);
    const bool on_left = x > (left + right) / 2;
    add("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"5\" fill=\"{}\"><title>{}: {:.4f} wasted, {:.4f}% cold</title></circle>\n", x, y,
        colors[k % std::size(colors)], xml_text(f.policy), x_of(f), f.cold_start_pct);
    add("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"{}\">{}</text>\n", on_left ? x - 8 : x + 8, y - 7, on_left ? "end" : "start",
        xml_text(f.policy));
  }
  out += "</svg>\n";
  return out;
}

// Writes `text` to `path` through a temporary name beside it, so a reader never sees half a file.
std::optional<error> write_file(const std::filesystem::path& path, const std::string& text) {
  auto failed = [&](const std::filesystem::path& p, const std::string& why) {
    return make_error(errc::internal, fmt::format("{}: cannot write ({})", p.string(), why));
  };
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  std::FILE* f = std::fopen(temporary.c_str(), "wb");
  if (f == nullptr)
    return failed(temporary, std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int write_errno = errno;
  if (std::fclose(f) != 0 || !written) {
    const std::string why = std::strerror(written ? errno : write_errno);
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return failed(temporary, why);
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return failed(path, ec.message());
  }
  return std::nullopt;
}

std::string si(double x) {
  if (x >= 1e9)
    return fmt::format("{:.2f}G", x / 1e9);
  if (x >= 1e6)
    return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e3)
    return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

} // namespace

double percentile(std::vector<double> values, double p) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  if (values.empty())
    return 0;
  p = p > 1 ? 1 : (p > 0 ? p : 0); // also NaN
  const double exact = p * static_cast<double>(values.size());
  // p * n a rounding error above a whole number (0.07 * 100 = 7.000000000000001) is that number
  const double whole = std::round(exact);
  const double rank = std::abs(exact - whole) <= 1e-9 * std::max(1.0, exact) ? whole : std::ceil(exact);
  const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(rank), 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

double quartile3(std::vector<double> values) {
  return percentile(std::move(values), 0.75);
}

bool is_fixed_10m(std::string_view policy) {
  constexpr std::string_view prefix = "fixed:";
  if (policy == "fixed") // the registry's default duration
    return true;
  if (policy.substr(0, prefix.size()) != prefix)
    return false;
  auto keep = policy::parse_duration_ms(policy.substr(prefix.size()));
  return keep && *keep == 10 * policy::minute_ms;
}

std::vector<policy_figures> summarize(const std::vector<policy_run>& runs) {
  std::optional<double> baseline;
  for (const auto& r : runs)
    if (is_fixed_10m(r.policy)) {
      if (r.wasted_mb_ms > 0 && std::isfinite(r.wasted_mb_ms))
        baseline = r.wasted_mb_ms;
      break;
    }
  std::vector<policy_figures> out;
  out.reserve(runs.size());
  for (const auto& r : runs) {
    policy_figures f;
    f.policy = r.policy;
    f.arrivals = r.arrivals;
    f.completed = r.completed;
    f.cold_starts = r.cold_starts;
    f.rejected = r.rejected;
    f.evictions = r.evictions;
    f.expirations = r.expirations;
    f.containers_created = r.containers_created;
    f.prewarms = r.prewarms;
    f.cold_start_pct = pct(r.cold_starts, r.arrivals);
    std::vector<double> app_pcts;
    for (const auto& a : r.apps)
      if (a.arrivals > 0)
        app_pcts.push_back(pct(a.cold_starts, a.arrivals));
    f.app_cold_start_pct_q3 = quartile3(std::move(app_pcts));
    f.wasted_mb_s = r.wasted_mb_ms / 1000;
    if (baseline)
      f.wasted_normalized = r.wasted_mb_ms / *baseline;
    f.added_latency_p50_ms = percentile(r.added_latency_ms, 0.5);
    f.added_latency_p99_ms = percentile(r.added_latency_ms, 0.99);
    f.apps = r.apps;
    out.push_back(std::move(f));
  }
  return out;
}

std::string format_table(const std::vector<policy_figures>& figures) {
  std::size_t name_width = 6;
  for (const auto& f : figures)
    name_width = std::max(name_width, f.policy.size());
  std::string out = fmt::format("{:<{}} {:>12} {:>8} {:>11} {:>14} {:>9} {:>10} {:>10} {:>10} {:>10}\n", "policy", name_width,
                                "arrivals", "cold %", "app cold Q3", "wasted MB-s", "norm", "p50 ms", "p99 ms", "evictions",
                                "created");
  for (const auto& f : figures) {
    const std::string norm = f.wasted_normalized ? fmt::format("{:.3f}", *f.wasted_normalized) : std::string("-");
    out += fmt::format("{:<{}} {:>12} {:>8.2f} {:>11.2f} {:>14.1f} {:>9} {:>10.1f} {:>10.1f} {:>10} {:>10}\n", f.policy, name_width,
                       f.arrivals, f.cold_start_pct, f.app_cold_start_pct_q3, f.wasted_mb_s, norm, f.added_latency_p50_ms,
                       f.added_latency_p99_ms, f.evictions, f.containers_created);
  }
  return out;
}

expected<bool> write_report(const std::filesystem::path& dir, const report_meta& meta, const std::vector<policy_figures>& figures) {
  try {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
      return make_error(errc::internal, fmt::format("{}: cannot create the report directory ({})", dir.string(),
                                                    ec ? ec.message() : std::string("not a directory")));
    const std::pair<const char*, std::string> files[] = {
        {"report.json", report_json(meta, figures)},
        {"policies.csv", policies_csv(figures)},
        {"apps.csv", apps_csv(figures)},
        {"tradeoff.svg", tradeoff_svg(meta, figures)},
    };
    for (const auto& [name, text] : files)
      if (auto err = write_file(dir / name, text))
        return *err;
    return true;
  } catch (const std::exception& e) { // out of memory, or a path the filesystem library refuses
    return make_error(errc::internal, fmt::format("{}: cannot write the report ({})", dir.string(), e.what()));
  }
}

progress_bar::progress_bar(std::FILE* out, std::int64_t total, std::string label, bool enabled)
    : out_(out), total_(total), label_(std::move(label)), enabled_(enabled && out != nullptr),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void progress_bar::update(std::int64_t done) {
  if (!enabled_)
    return;
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100))
    return;
  draw(done, now);
}

void progress_bar::finish() {
  if (!enabled_)
    return;
  draw(done_, std::chrono::steady_clock::now());
  std::fputc('\n', out_);
  std::fflush(out_);
  enabled_ = false;
}

void progress_bar::draw(std::int64_t done, std::chrono::steady_clock::time_point now) {
  constexpr int bar_width = 30;
  const double fraction = total_ > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * bar_width);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const std::string rate = seconds > 0 ? si(static_cast<double>(done) / seconds) : std::string("-");
  // the trailing spaces cover a longer line drawn before
  fmt::print(out_, "\r{} [{}{}] {:5.1f}% {}/{} {}/s   ", label_, std::string(static_cast<std::size_t>(filled), '#'),
             std::string(static_cast<std::size_t>(bar_width - filled), '-'), 100 * fraction, done, total_, rate);
  std::fflush(out_);
  last_draw_ = now;
  drawn_ = true;
}

} // namespace whisk::sim
