// whisk-load: an HTTP load generator for serverless platforms: weighted multi-target mixes,
// closed or open loop (latency from the intended send time), log-linear histograms, and
// text, JSON and SVG reports.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "engine.hpp"
#include "report.hpp"

using namespace whisk::load;

namespace {

constexpr const char* usage =
    "usage: whisk-load [--config FILE] [URL] [options]\n"
    "  --config FILE      JSON plan: {\"targets\":[{\"url\",\"method\",\"headers\",\"body\",\"body_file\",\"auth\",\"weight\",\"name\"}],\n"
    "                     \"connections\",\"threads\",\"duration\",\"requests\",\"rate\",\"warmup\",\"timeout\",\"report\",\"plot\"}\n"
    "  URL                a single target (http://host:port/path?query) instead of a config\n"
    "  -m, --method M     method of the URL target (default GET)\n"
    "  -b, --body TEXT    body of the URL target\n"
    "  -H, --header 'K: V' header of the URL target (repeatable)\n"
    "  -a, --auth U:P     Basic auth of the URL target\n"
    "  -c N               connections (default 16)        -t N   threads (default 1)\n"
    "  -d SECONDS         duration (default 10)           -n N   stop after N requests\n"
    "  -r RATE            open loop at RATE req/s (default: closed loop)\n"
    "  -w SECONDS         warm-up not recorded (default 0)\n"
    "  --timeout SECONDS  per request (default 10)\n"
    "  --json FILE        write the JSON report          --svg FILE  write the percentile plot\n"
    "  --quiet            no progress line\n";

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "whisk-load: %s\n", message.c_str());
  std::exit(2);
}

double number(const char* flag, const char* value) {
  char* end = nullptr;
  double v = std::strtod(value, &end);
  if (!value[0] || *end)
    die(std::string(flag) + ": not a number: " + value);
  return v;
}

} // namespace

int main(int argc, char** argv) {
  plan p;
  bool have_config = false, quiet = false;
  target url_target;
  bool have_url = false;
  std::string json_out, svg_out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--config") {
      std::string text;
      std::string file = value();
      if (!read_file(file, text))
        die("cannot read " + file);
      auto parsed = parse_plan(text);
      if (!parsed)
        die(file + ": " + parsed.err().message);
      p = *parsed;
      have_config = true;
    } else if (a == "-m" || a == "--method") url_target.method = value();
    else if (a == "-b" || a == "--body") url_target.body = value();
    else if (a == "-H" || a == "--header") {
      std::string h = value();
      auto colon = h.find(':');
      if (colon == std::string::npos)
        die("--header must be 'Name: value'");
      auto v = h.substr(colon + 1);
      v.erase(0, v.find_first_not_of(' '));
      url_target.headers.emplace_back(h.substr(0, colon), v);
    } else if (a == "-a" || a == "--auth") url_target.headers.emplace_back("Authorization", "Basic " + base64(value()));
    else if (a == "-c") p.connections = static_cast<int>(number("-c", value()));
    else if (a == "-t") p.threads = static_cast<int>(number("-t", value()));
    else if (a == "-d") p.duration_s = number("-d", value());
    else if (a == "-n") { p.requests = static_cast<std::uint64_t>(number("-n", value())); p.duration_s = 0; }
    else if (a == "-r") p.rate = number("-r", value());
    else if (a == "-w") p.warmup_s = number("-w", value());
    else if (a == "--timeout") p.timeout_s = number("--timeout", value());
    else if (a == "--json") json_out = value();
    else if (a == "--svg") svg_out = value();
    else if (a == "--quiet") quiet = true;
    else if (!a.empty() && a[0] != '-') {
      if (auto ok = parse_url(a, url_target); !ok)
        die(a + ": " + ok.err().message);
      url_target.name = a;
      have_url = true;
    } else {
      die("unknown option " + a + " (see --help)");
    }
  }
  if (have_url)
    p.targets.push_back(url_target);
  if (!have_config && !have_url)
    die("give a URL or --config FILE (see --help)");
  if (p.connections < 1 || p.threads < 1)
    die("-c and -t must be at least 1");
  if (auto ok = finish_plan(p); !ok)
    die(ok.err().message);
  if (!json_out.empty()) p.json_report = json_out;
  if (!svg_out.empty()) p.plot = svg_out;

  progress live;
  run_result result;
  std::thread runner([&] { result = run_plan(p, live); });
  bool tty = !quiet && ::isatty(2);
  auto started = std::chrono::steady_clock::now();
  auto last_time = started;
  std::uint64_t last = 0;
  while (tty) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto now = std::chrono::steady_clock::now();
    auto elapsed = std::chrono::duration<double>(now - started).count();
    auto interval = std::chrono::duration<double>(now - last_time).count();
    auto done = live.completed.load();
    std::fprintf(stderr, "\r  %6.1f s  %12llu responses  %10.0f req/s  %llu errors   ", elapsed,
                 static_cast<unsigned long long>(done), static_cast<double>(done - last) / interval,
                 static_cast<unsigned long long>(live.errors.load()));
    last = done;
    last_time = now;
    // the plan's end, or the engine's own early end (count reached, server unreachable)
    if ((p.duration_s > 0 && elapsed >= p.duration_s) || (p.requests > 0 && done >= p.requests) ||
        (done == 0 && live.errors.load() > 0 && elapsed > 3))
      break;
  }
  runner.join();
  if (tty)
    std::fputs("\n", stderr);
  std::fputs(text_report(p, result).c_str(), stdout);
  if (!p.json_report.empty()) {
    std::ofstream(p.json_report) << json_report(p, result);
    std::printf("  JSON report: %s\n", p.json_report.c_str());
  }
  if (!p.plot.empty()) {
    std::ofstream(p.plot) << svg_plot(p, result);
    std::printf("  percentile plot: %s\n", p.plot.c_str());
  }
  return result.server_unreachable ? 1 : 0;
}
