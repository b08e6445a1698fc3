// Greedy-Dual keep-alive (Fuerst and Sharma, FaasCache, ASPLOS'21): keep-alive as caching.
// What is cheap to lose (rarely used, quick to start, large) goes first; the clock ages
// what stays, since every new priority starts from the last evicted one.
#include "whisk/policy/keep_alive.hpp"

#include <algorithm>
#include <tuple>

namespace whisk::policy {

double greedy_dual_priority(double clock, std::int64_t frequency, millis cold_start_ms, std::int64_t memory_mb) {
  return clock + static_cast<double>(frequency) * static_cast<double>(cold_start_ms) /
                     static_cast<double>(std::max<std::int64_t>(memory_mb, 1));
}

millis greedy_dual_keep_alive::cost(const function_state* f) const {
  return f && f->cold_start_ms > 0 ? f->cold_start_ms : default_cold_start_ms_;
}

greedy_dual_keep_alive::function_state& greedy_dual_keep_alive::state_of(const function_ref& fn) {
  auto it = functions_.find(fn.function);
  if (it == functions_.end())
    it = functions_.try_emplace(std::string(fn.function)).first;
  if (fn.cold_start_ms > 0)
    it->second.cold_start_ms = fn.cold_start_ms;
  return it->second;
}

void greedy_dual_keep_alive::on_arrival(const function_ref& fn, millis, start_kind) {
  ++state_of(fn).frequency;
}

void greedy_dual_keep_alive::on_idle(std::uint64_t container, const function_ref& fn, millis) {
  auto& f = state_of(fn);
  auto [it, fresh] = containers_.try_emplace(container);
  if (fresh) {
    ++f.containers;
    it->second.function = std::string(fn.function);
  }
  it->second.priority = greedy_dual_priority(clock_, f.frequency, cost(&f), fn.memory_mb);
}

void greedy_dual_keep_alive::on_removed(std::uint64_t container, const function_ref&, millis, removal_cause cause) {
  auto it = containers_.find(container);
  if (it == containers_.end())
    return;
  // max: evictions reported out of order never turn the clock back
  if (cause == removal_cause::evicted)
    clock_ = std::max(clock_, it->second.priority);
  auto f = functions_.find(it->second.function);
  if (f != functions_.end() && --f->second.containers <= 0)
    functions_.erase(f); // its frequency starts again from 0
  containers_.erase(it);
}

keep_alive_decision greedy_dual_keep_alive::keep_alive(std::uint64_t, const function_ref&, millis) const {
  return {keep_forever, std::nullopt};
}

double greedy_dual_keep_alive::priority(const idle_container& c) const {
  if (auto it = containers_.find(c.id); it != containers_.end())
    return it->second.priority;
  auto f = functions_.find(c.function);
  const function_state* state = f == functions_.end() ? nullptr : &f->second;
  return greedy_dual_priority(clock_, state ? state->frequency : 0, cost(state), c.memory_mb);
}

std::vector<std::uint64_t> greedy_dual_keep_alive::eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb,
                                                                  millis) const {
  std::vector<std::pair<double, const idle_container*>> ranked;
  ranked.reserve(idle.size());
  for (auto& c : idle)
    ranked.emplace_back(priority(c), &c);
  std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) {
    return std::tie(a.first, a.second->idle_since, a.second->id) < std::tie(b.first, b.second->idle_since, b.second->id);
  });
  std::vector<const idle_container*> order;
  order.reserve(ranked.size());
  for (auto& r : ranked)
    order.push_back(r.second);
  return enough_to_free(order, need_mb);
}

} // namespace whisk::policy
