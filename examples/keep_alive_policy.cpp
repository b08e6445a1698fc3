// A keep-alive policy of your own, registered by name next to the built-in ones and replayed
// against them through the production pool in virtual time (whisk-sim's engine), on three
// hours of a synthetic trace; then the same policy plugged into a live pool (real time, the
// sim backend standing in for runtimes) through pool_config::keep_alive, as whisk-node does.
//   whisk-example-keep-alive [SPEC...]   (default: mean-gap fixed:10m hybrid greedy-dual)
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>
#include <whisk/actors/actor_timer.hpp>
#include <whisk/actors/container_pool.hpp>
#include <whisk/actors/sim_replay.hpp>
#include <whisk/container/sim_backend.hpp>
#include <whisk/policy/keep_alive.hpp>

using namespace whisk::policy;

// Keep an idle container for FACTOR times the mean gap between its function's runs (at least
// a minute, at most an hour): frequent functions stay a little, rare ones a while.
class mean_gap_keep_alive : public keep_alive_policy {
public:
  explicit mean_gap_keep_alive(int factor) : factor_(factor) {}
  std::string name() const override { return fmt::format("mean-gap:{}", factor_); }

  void on_arrival(const function_ref& fn, millis now, start_kind) override {
    auto& g = gaps_[std::string(fn.function)];
    if (g.runs > 0)
      g.sum_ms += now - g.last;
    g.last = now;
    ++g.runs;
  }

  keep_alive_decision keep_alive(std::uint64_t, const function_ref& fn, millis) const override {
    auto it = gaps_.find(std::string(fn.function));
    if (it == gaps_.end() || it->second.runs < 2)
      return {10 * minute_ms, std::nullopt}; // nothing learnt yet: the usual 10 minutes
    auto mean = it->second.sum_ms / (it->second.runs - 1);
    return {std::clamp<millis>(factor_ * mean, minute_ms, 60 * minute_ms), std::nullopt};
  }
  // eviction_order: the base class's least recently used first is fine here

private:
  struct gaps {
    std::int64_t runs = 0;
    millis last = 0;
    millis sum_ms = 0;
  };
  int factor_;
  std::map<std::string, gaps> gaps_;
};

whisk::expected<std::unique_ptr<keep_alive_policy>> make_mean_gap(std::string_view argument) {
  int factor = 2;
  if (!argument.empty()) {
    auto [end, ec] = std::from_chars(argument.data(), argument.data() + argument.size(), factor);
    if (ec != std::errc{} || end != argument.data() + argument.size() || factor < 1)
      return whisk::make_error(whisk::errc::bad_request, "FACTOR is a whole number from 1");
  }
  return std::unique_ptr<keep_alive_policy>(std::make_unique<mean_gap_keep_alive>(factor));
}

int main(int argc, char** argv) {
  auto names = keep_alive_registry::with_builtins();
  names.add("mean-gap", "mean-gap[:FACTOR]", make_mean_gap);
  std::vector<std::string> specs(argv + 1, argv + argc);
  if (specs.empty())
    specs = {"mean-gap", "fixed:10m", "hybrid", "greedy-dual"};

  // A synthetic day of 20 functions in the Azure 2019 format (what `whisk-sim generate`
  // writes), of which the first three hours are replayed.
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / fmt::format("whisk-example-trace-{}", ::getpid());
  auto written = whisk::sim::generate_azure2019(20, 1, 42, dir);
  auto trace = written ? whisk::sim::load_trace(dir) : whisk::expected<whisk::sim::trace>(written.err());
  fs::remove_all(dir);
  if (!trace) {
    std::fprintf(stderr, "%s\n", trace.err().message.c_str());
    return 1;
  }
  auto& arrivals = trace->arrivals;
  arrivals.erase(std::find_if(arrivals.begin(), arrivals.end(), [](auto& a) { return a.time_ms >= 3 * 3600e3; }), arrivals.end());
  trace->span_ms = 3 * 3600e3;

  std::vector<whisk::sim::policy_run> runs;
  for (auto& spec : specs) {
    auto policy = make_keep_alive_policy(spec, names);
    if (!policy) {
      std::fprintf(stderr, "%s\n", policy.err().message.c_str());
      return 2;
    }
    auto run = whisk::sim::replay(*trace, std::shared_ptr<keep_alive_policy>(std::move(*policy)));
    if (!run) {
      std::fprintf(stderr, "%s\n", run.err().message.c_str());
      return 1;
    }
    runs.push_back(std::move(*run));
  }
  std::fputs(whisk::sim::format_table(whisk::sim::summarize(runs)).c_str(), stdout);

  // The winner goes live: the pool takes the policy object and asks it about every idle
  // container (whisk-node: --keep-alive-policy, with the policy registered in its names).
  caf::actor_system_config cfg;
  whisk::add_message_types(cfg);
  caf::actor_system sys{cfg};
  auto timer = whisk::make_actor_timer(sys);
  whisk::pool_config pool_cfg;
  pool_cfg.keep_alive = std::shared_ptr<keep_alive_policy>(std::move(*make_keep_alive_policy("mean-gap", names)));
  auto pool = whisk::spawn_container_pool(sys, std::make_shared<whisk::container::sim_backend>(whisk::container::sim_model{}, timer.fn),
                                          pool_cfg);
  caf::scoped_actor self{sys};
  for (int i = 1; i <= 3; ++i) {
    whisk::run_msg m;
    m.action.ns = "guest";
    m.action.name = m.action.revision = "echo";
    m.action.kind = "nodejs:20";
    m.activation_id = fmt::format("live-{}", i);
    self->request(pool, std::chrono::seconds(10), whisk::run_atom::value, m)
        .receive([](const whisk::run_result& r) { std::printf("%s: %s\n", r.activation_id.c_str(), r.init_ms >= 0 ? "cold" : "warm"); },
                 [&](const caf::error& e) { std::printf("%s\n", sys.render(e).c_str()); });
  }
  self->request(pool, std::chrono::seconds(5), whisk::stats_atom::value)
      .receive([&](const whisk::pool_stats& s) { std::printf("live pool under %s: created %lld, warm starts %lld\n",
                                                             pool_cfg.keep_alive->name().c_str(), static_cast<long long>(s.created),
                                                             static_cast<long long>(s.warm_starts)); },
               [&](const caf::error& e) { std::printf("%s\n", sys.render(e).c_str()); });
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  self->send_exit(timer.handle, caf::exit_reason::user_shutdown);
}
