// A keep-alive policy of your own, registered by name next to the built-in ones and replayed
// on a small made-up day against them: the same objects the pool and whisk-sim call.
//   whisk-example-keep-alive [SPEC...]   (default: mean-gap fixed:10m hybrid greedy-dual)
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
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

  // Six hours of three functions: every 3 minutes, every 20 minutes, every 45 minutes (runs
  // of 100 ms, offsets keep every run apart). One container per function, as in whisk-sim's
  // smallest model.
  struct run {
    std::string function;
    millis at;
  };
  std::vector<run> runs;
  for (auto [function, every, offset] : {std::tuple{"api", 3, 1}, std::tuple{"report", 20, 2}, std::tuple{"backup", 45, 3}})
    for (millis t = offset * 1000; t < 6 * 60 * minute_ms; t += every * minute_ms)
      runs.push_back({function, t});
  std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.at < b.at; });

  std::printf("%-16s %6s %6s\n", "policy", "runs", "cold");
  for (auto& spec : specs) {
    auto policy = make_keep_alive_policy(spec, names);
    if (!policy) {
      std::fprintf(stderr, "%s\n", policy.err().message.c_str());
      return 2;
    }
    auto& p = **policy;
    struct idle {
      std::uint64_t id;
      millis since;
      keep_alive_decision decision;
    };
    std::map<std::string, idle> warm;
    std::uint64_t next_id = 1;
    int cold = 0;
    for (auto& r : runs) {
      function_ref fn{r.function};
      auto it = warm.find(r.function);
      bool hit = it != warm.end() && warm_at(it->second.decision, it->second.since, r.at);
      if (it != warm.end() && !hit)
        p.on_removed(it->second.id, fn, r.at, removal_cause::expired);
      auto id = hit ? it->second.id : next_id++;
      cold += hit ? 0 : 1;
      p.on_arrival(fn, r.at, hit ? start_kind::warm : start_kind::cold);
      p.on_idle(id, fn, r.at + 100);
      warm[r.function] = {id, r.at + 100, p.keep_alive(id, fn, r.at + 100)};
    }
    std::printf("%-16s %6zu %6d\n", p.name().c_str(), runs.size(), cold);
  }
}
