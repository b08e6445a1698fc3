// whisk-sim: keep-alive policies replayed against a trace in virtual time, through the
// production pool and proxies (see whisk/actors/sim_replay.hpp). Composition only.
//   whisk-sim --trace=DIR|FILE --policy=NAME[,NAME...] --out=DIR [...]
//   whisk-sim generate --functions=N [--days=1] [--seed=S] --out=DIR
#include <caf/all.hpp>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <set>
#include <string_view>

#include "whisk/actors/sim_replay.hpp"
#include "whisk/log.hpp"

using namespace whisk;

namespace {

std::vector<std::string> split_specs(const std::string& text) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    auto comma = text.find(',', from);
    auto part = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (!part.empty())
      out.push_back(part);
    if (comma == std::string::npos)
      break;
    from = comma + 1;
  }
  return out;
}

struct generate_config : caf::actor_system_config {
  std::int64_t functions = 0;
  std::int64_t days = 1;
  std::int64_t seed = 1;
  std::string out;
  generate_config() {
    opt_group{custom_options_, "global"}
        .add(functions, "functions", "functions in the trace, 1 .. 100000 (required)")
        .add(days, "days", "days, 1 .. 14 (default: 1)")
        .add(seed, "seed", "the same seed writes the same files (default: 1)")
        .add(out, "out", "directory for the files, created if needed (required)");
  }
};

struct replay_config : caf::actor_system_config {
  std::string trace;
  std::string policy = "fixed:10m,hybrid,greedy-dual,lru";
  std::int64_t memory = 0;
  std::int64_t agents = 1;
  std::int64_t day = 1;
  std::int64_t functions = 0;
  std::int64_t seed = 1;
  std::string spread = "uniform";
  std::string cold_start = "450ms+50ms";
  std::string out;
  bool quiet = false;
  replay_config() {
    opt_group{custom_options_, "global"}
        .add(trace, "trace",
             "a directory with the Azure Functions 2019 files, or one 2021 CSV file (required; "
             "'whisk-sim generate' writes a synthetic one)")
        .add(policy, "policy",
             "keep-alive policies to compare, separated by commas: fixed[:DURATION], never-unload, hybrid, "
             "greedy-dual, lru[:DURATION] (default: fixed:10m,hybrid,greedy-dual,lru)")
        .add(memory, "memory", "MB of memory for containers; 0: unbounded (default: 0)")
        .add(agents, "agents", "machines to spread the functions over (only 1 so far)")
        .add(day, "day", "which day of a 2019 trace, 1 .. 14 (default: 1)")
        .add(functions, "functions", "at most this many functions, chosen by a hash of their id; 0: all (default: 0)")
        .add(seed, "seed", "seed for arrival times within a minute and for durations (default: 1)")
        .add(spread, "spread", "arrivals within a minute of a 2019 trace: uniform or poisson (default: uniform)")
        .add(cold_start, "cold-start", "what a cold start costs: CREATE[+INIT] durations (default: 450ms+50ms)")
        .add(out, "out", "directory for report.json, policies.csv, apps.csv and tradeoff.svg (required)")
        .add(quiet, "quiet", "no progress bar");
  }
};

template <class Config>
bool parse(Config& cfg, int argc, char** argv) {
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "whisk-sim: " << caf::to_string(err) << " (see --help)\n";
    return false;
  }
  return true;
}

int generate(int argc, char** argv) {
  generate_config cfg;
  if (!parse(cfg, argc, argv))
    return 2;
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.out.empty() || cfg.functions < 1 || cfg.functions > 100000 || cfg.days < 1 || cfg.days > 14 || cfg.seed < 0) {
    std::cerr << "whisk-sim generate: --out is required, --functions 1 .. 100000, --days 1 .. 14, --seed not negative (see --help)\n";
    return 2;
  }
  auto files = sim::generate_azure2019(static_cast<std::size_t>(cfg.functions), static_cast<int>(cfg.days),
                                       static_cast<std::uint64_t>(cfg.seed), cfg.out);
  if (!files) {
    std::cerr << "whisk-sim generate: " << files.err().message << "\n";
    return 1;
  }
  for (auto& f : *files)
    std::cout << f.string() << "\n";
  return 0;
}

int replay(int argc, char** argv) {
  replay_config cfg;
  if (!parse(cfg, argc, argv))
    return 2;
  if (cfg.cli_helptext_printed)
    return 0;
  auto usage = [](const std::string& problem) {
    std::cerr << "whisk-sim: " << problem << " (see --help)\n";
    return 2;
  };
  if (cfg.trace.empty() || cfg.out.empty())
    return usage("--trace and --out are required");
  if (cfg.memory < 0 || cfg.functions < 0 || cfg.seed < 0 || cfg.day < 1 || cfg.day > 14)
    return usage("--memory, --functions and --seed must not be negative, --day is 1 .. 14");
  if (cfg.agents != 1)
    return usage("--agents: only one machine is simulated so far (the cluster's allocation is not replayed yet)");
  if (cfg.spread != "uniform" && cfg.spread != "poisson")
    return usage("--spread is uniform or poisson");
  sim::replay_options ro;
  if (auto ok = sim::parse_cold_start(cfg.cold_start, ro); !ok)
    return usage("--cold-start: " + ok.err().message);
  ro.memory_mb = cfg.memory;
  // every policy is made first: a bad name stops before the trace is read
  auto specs = split_specs(cfg.policy);
  if (specs.empty())
    return usage("--policy names no policy");
  for (auto& s : specs)
    if (auto p = policy::make_keep_alive_policy(s); !p)
      return usage("--policy: " + p.err().message);

  sim::load_options lo;
  lo.day = static_cast<int>(cfg.day);
  lo.max_functions = static_cast<std::size_t>(cfg.functions);
  lo.seed = static_cast<std::uint64_t>(cfg.seed);
  lo.spread = cfg.spread == "poisson" ? sim::minute_spread::poisson : sim::minute_spread::uniform;
  auto trace = sim::load_trace(cfg.trace, lo);
  if (!trace) {
    std::cerr << "whisk-sim: " << trace.err().message << "\n";
    return 1;
  }
  std::set<std::string> apps;
  for (auto& f : trace->functions)
    apps.insert(f.app);
  std::cerr << fmt::format("whisk-sim: {} functions of {} apps, {} arrivals over {:.1f} h\n", trace->functions.size(),
                           apps.size(), trace->arrivals.size(), trace->span_ms / 3.6e6);

  bool tty = !cfg.quiet && isatty(fileno(stderr));
  std::vector<sim::policy_run> runs;
  for (auto& s : specs) {
    sim::progress_bar bar(stderr, static_cast<std::int64_t>(trace->arrivals.size()), s, tty);
    ro.progress = [&bar](std::int64_t done) { bar.update(done); };
    auto run = sim::replay(*trace, std::shared_ptr<policy::keep_alive_policy>(std::move(*policy::make_keep_alive_policy(s))), ro);
    bar.finish();
    if (!run) {
      std::cerr << "whisk-sim: " << s << ": " << run.err().message << "\n";
      return 1;
    }
    std::cerr << fmt::format("whisk-sim: {}: {} activations replayed in {:.2f} s ({:.0f} per second)\n", s, run->arrivals,
                             run->wall_seconds, run->wall_seconds > 0 ? static_cast<double>(run->arrivals) / run->wall_seconds : 0.0);
    runs.push_back(std::move(*run));
  }
  auto figures = sim::summarize(runs);
  std::cout << sim::format_table(figures);
  sim::report_meta meta;
  meta.trace = cfg.trace;
  meta.functions = static_cast<std::int64_t>(trace->functions.size());
  meta.apps = static_cast<std::int64_t>(apps.size());
  meta.arrivals = static_cast<std::int64_t>(trace->arrivals.size());
  meta.seed = static_cast<std::uint64_t>(cfg.seed);
  meta.memory_mb = cfg.memory;
  meta.day = static_cast<int>(cfg.day);
  meta.cold_start_model = cfg.cold_start;
  meta.agents = cfg.agents;
  if (auto ok = sim::write_report(cfg.out, meta, figures); !ok) {
    std::cerr << "whisk-sim: " << ok.err().message << "\n";
    return 1;
  }
  std::cerr << "whisk-sim: report in " << cfg.out << " (report.json, policies.csv, apps.csv, tradeoff.svg)\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  set_log_level(log_level::warn);
  if (argc > 1 && std::string_view(argv[1]) == "generate")
    return generate(argc - 1, argv + 1);
  return replay(argc, argv);
}
