#include "report.hpp"

#include <cmath>
#include <fmt/format.h>

#include "whisk/json.hpp"

namespace whisk::load {

namespace {

constexpr double quantiles[] = {0.5, 0.9, 0.99, 0.999};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

json::value latency_json(const histogram& h) {
  return json::object{{"count", static_cast<std::int64_t>(h.count())},
                      {"mean_ms", ms(static_cast<std::uint64_t>(h.mean()))},
                      {"p50_ms", ms(h.percentile(0.5))},
                      {"p90_ms", ms(h.percentile(0.9))},
                      {"p99_ms", ms(h.percentile(0.99))},
                      {"p999_ms", ms(h.percentile(0.999))},
                      {"max_ms", ms(h.max())}};
}

json::value statuses_json(const std::map<int, std::uint64_t>& s) {
  json::value out = json::object{};
  for (auto& [code, n] : s)
    out.set(std::to_string(code), static_cast<std::int64_t>(n));
  return out;
}

} // namespace

std::string text_report(const plan& p, const run_result& r) {
  std::string out;
  auto line = [&](const std::string& name, const histogram& h, std::uint64_t n, const std::map<int, std::uint64_t>& st) {
    out += fmt::format("  {:<28} {:>10} req {:>10.0f} req/s   p50 {:>8.3f}  p90 {:>8.3f}  p99 {:>8.3f}  p99.9 {:>8.3f}  max {:>8.3f} ms\n",
                       name.substr(0, 28), n, r.measured_s > 0 ? static_cast<double>(n) / r.measured_s : 0.0,
                       ms(h.percentile(0.5)), ms(h.percentile(0.9)), ms(h.percentile(0.99)), ms(h.percentile(0.999)), ms(h.max()));
    std::string codes;
    for (auto& [code, k] : st)
      codes += fmt::format(" {}={}", code < 0 ? std::string("bad") : std::to_string(code), k);
    out += fmt::format("  {:<28} status{}\n", "", codes.empty() ? " none" : codes);
  };
  out += fmt::format("whisk-load: {} connection(s), {} thread(s), {}, {:.1f} s measured after {:.1f} s warm-up ({})\n",
                     p.connections, p.threads, p.rate > 0 ? fmt::format("open loop at {:.0f} req/s", p.rate) : "closed loop",
                     r.measured_s, p.warmup_s, r.stop_reason);
  if (p.targets.size() > 1)
    for (std::size_t i = 0; i < p.targets.size(); ++i)
      line(p.targets[i].name, r.targets[i].latency_ns, r.targets[i].completed, r.targets[i].statuses);
  line("all", r.all_ns, r.completed, r.statuses);
  if (r.accepted_ns.count() != r.completed) {
    std::map<int, std::uint64_t> ok;
    for (auto& [code, k] : r.statuses)
      if (code >= 200 && code < 300)
        ok[code] = k;
    line("accepted (2xx)", r.accepted_ns, r.accepted_ns.count(), ok);
  }
  out += fmt::format("  errors: {} connect, {} read, {} timeouts{}\n", r.connect_errors, r.read_errors, r.timeouts,
                     r.server_unreachable ? "  (the server did not answer)" : "");
  return out;
}

std::string json_report(const plan& p, const run_result& r) {
  json::array targets;
  for (std::size_t i = 0; i < p.targets.size(); ++i)
    targets.push_back(json::object{{"name", p.targets[i].name},
                                   {"method", p.targets[i].method},
                                   {"requests", static_cast<std::int64_t>(r.targets[i].completed)},
                                   {"rps", r.measured_s > 0 ? static_cast<double>(r.targets[i].completed) / r.measured_s : 0.0},
                                   {"latency", latency_json(r.targets[i].latency_ns)},
                                   {"status", statuses_json(r.targets[i].statuses)}});
  json::value doc = json::object{
      {"connections", p.connections},
      {"threads", p.threads},
      {"mode", p.rate > 0 ? "open" : "closed"},
      {"rate", p.rate},
      {"warmup_s", p.warmup_s},
      {"measured_s", r.measured_s},
      {"requests", static_cast<std::int64_t>(r.completed)},
      {"rps", r.measured_s > 0 ? static_cast<double>(r.completed) / r.measured_s : 0.0},
      {"latency", latency_json(r.all_ns)},
      {"accepted_latency", latency_json(r.accepted_ns)},
      {"status", statuses_json(r.statuses)},
      {"errors", json::object{{"connect", static_cast<std::int64_t>(r.connect_errors)},
                              {"read", static_cast<std::int64_t>(r.read_errors)},
                              {"timeouts", static_cast<std::int64_t>(r.timeouts)}}},
      {"server_unreachable", r.server_unreachable},
      {"stop_reason", r.stop_reason},
      {"targets", std::move(targets)}};
  return json::dump(doc) + "\n";
}

std::string svg_plot(const plan& p, const run_result& r) {
  constexpr double width = 800, height = 480, left = 70, right = 45, top = 30, bottom = 50;
  constexpr double max_x = 5; // up to the 99.999th percentile: x = log10(1 / (1 - q))
  double max_ms = std::max(0.001, ms(r.all_ns.percentile(0.99999)));
  auto px = [&](double x) { return left + x / max_x * (width - left - right); };
  auto py = [&](double y) { return height - bottom - y / max_ms * (height - top - bottom); };
  std::string out = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">)"
                                "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", width, height);
  out += fmt::format(R"(<text x="{}" y="18" font-size="14">whisk-load latency by percentile ({}, {} connections)</text>)"
                     "\n", left, p.rate > 0 ? fmt::format("open loop {:.0f} req/s", p.rate) : "closed loop", p.connections);
  static constexpr const char* labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
  for (int i = 0; i <= 5; ++i) {
    out += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>)"
                       "\n", px(i), top, height - bottom, height - bottom + 18, labels[i]);
  }
  for (int i = 0; i <= 4; ++i) {
    double v = max_ms * i / 4;
    out += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#ddd"/><text x="{3}" y="{4}" text-anchor="end">{5:.3g} ms</text>)"
                       "\n", left, py(v), width - right, left - 6, py(v) + 4, v);
  }
  out += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">percentile</text>)" "\n", (left + width - right) / 2, height - 10);
  static constexpr const char* colors[] = {"#222", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  auto curve = [&](const histogram& h, const char* color, const std::string& name, int row) {
    if (h.count() == 0)
      return;
    std::string points;
    for (int i = 0; i <= 200; ++i) {
      double x = max_x * i / 200;
      double q = 1 - std::pow(10.0, -x);
      points += fmt::format("{:.1f},{:.1f} ", px(x), py(std::min(max_ms, ms(h.percentile(q)))));
    }
    out += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)" "\n", color, points);
    out += fmt::format(R"(<text x="{}" y="{}" fill="{}">{}</text>)" "\n", left + 10, top + 16 * (row + 1), color, name);
  };
  curve(r.all_ns, colors[0], "all", 0);
  if (p.targets.size() > 1)
    for (std::size_t i = 0; i < p.targets.size() && i < 6; ++i)
      curve(r.targets[i].latency_ns, colors[i + 1], p.targets[i].name, static_cast<int>(i) + 1);
  out += "</svg>\n";
  return out;
}

} // namespace whisk::load
