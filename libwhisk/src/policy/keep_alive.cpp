// What every keep-alive policy shares: the eviction helpers, durations and the names.
#include "whisk/policy/keep_alive.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace whisk::policy {

bool warm_at(const keep_alive_decision& d, millis idle_since, millis now) {
  if (now < deadline(idle_since, d.keep_ms))
    return true;
  return d.prewarm && now >= deadline(idle_since, d.prewarm->start_ms) && now < deadline(idle_since, d.prewarm->end_ms);
}

std::vector<std::uint64_t> enough_to_free(const std::vector<const idle_container*>& in_order, std::int64_t need_mb) {
  std::vector<std::uint64_t> out;
  std::int64_t freed = 0;
  for (auto* c : in_order) {
    if (freed >= need_mb)
      break;
    out.push_back(c->id);
    freed += c->memory_mb;
  }
  if (freed < need_mb)
    out.clear();
  return out;
}

std::vector<std::uint64_t> lru_eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb) {
  std::vector<const idle_container*> order;
  order.reserve(idle.size());
  for (auto& c : idle)
    order.push_back(&c);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->idle_since != b->idle_since ? a->idle_since < b->idle_since : a->id < b->id; });
  return enough_to_free(order, need_mb);
}

std::vector<std::uint64_t> keep_alive_policy::eviction_order(const std::vector<idle_container>& idle, std::int64_t need_mb,
                                                             millis) const {
  return lru_eviction_order(idle, need_mb);
}

// --- durations ---

expected<millis> parse_duration_ms(std::string_view text) {
  auto bad = [&] {
    return make_error(errc::bad_request,
                      fmt::format("'{}' is not a duration: a whole number and a unit (ms, s, m or h), e.g. 10m", text));
  };
  if (text.empty() || text[0] < '0' || text[0] > '9') // from_chars would take a sign
    return bad();
  millis n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range)
    return make_error(errc::bad_request, fmt::format("'{}' is too long a duration", text));
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  millis scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = minute_ms;
  else if (unit == "h")
    scale = 60 * minute_ms;
  else
    return bad();
  if (n > keep_forever / scale - 1) // keep_forever itself means something else
    return make_error(errc::bad_request, fmt::format("'{}' is too long a duration", text));
  return n * scale;
}

std::string format_duration_ms(millis ms) {
  if (ms == keep_forever)
    return "forever";
  if (ms == 0)
    return "0s";
  if (ms % (60 * minute_ms) == 0)
    return fmt::format("{}h", ms / (60 * minute_ms));
  if (ms % minute_ms == 0)
    return fmt::format("{}m", ms / minute_ms);
  if (ms % 1000 == 0)
    return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

// --- names ---

namespace {

using made = expected<std::unique_ptr<keep_alive_policy>>;

template <class Policy>
keep_alive_factory without_argument() {
  return [](std::string_view argument) -> made {
    if (!argument.empty())
      return make_error(errc::bad_request, "takes no argument");
    return std::unique_ptr<keep_alive_policy>(std::make_unique<Policy>());
  };
}

template <class Policy>
keep_alive_factory with_duration(millis fallback) {
  return [fallback](std::string_view argument) -> made {
    auto d = argument.empty() ? expected<millis>(fallback) : parse_duration_ms(argument);
    if (!d)
      return d.err();
    return std::unique_ptr<keep_alive_policy>(std::make_unique<Policy>(*d));
  };
}

bool valid_name(const std::string& name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

} // namespace

keep_alive_registry keep_alive_registry::with_builtins() {
  keep_alive_registry r;
  r.add("fixed", "fixed[:DURATION]", with_duration<fixed_keep_alive>(10 * minute_ms));
  r.add("never-unload", "never-unload", without_argument<never_unload_keep_alive>());
  r.add("hybrid", "hybrid", without_argument<hybrid_keep_alive>());
  r.add("greedy-dual", "greedy-dual", without_argument<greedy_dual_keep_alive>());
  r.add("lru", "lru[:DURATION]", with_duration<lru_keep_alive>(keep_forever));
  return r;
}

expected<bool> keep_alive_registry::add(std::string name, std::string usage, keep_alive_factory make) {
  if (!valid_name(name))
    return make_error(errc::bad_request,
                      fmt::format("keep-alive policy name '{}': use lower-case letters, digits and '-'", name));
  if (!make)
    return make_error(errc::bad_request, fmt::format("keep-alive policy '{}' has no factory", name));
  if (!entries_.count(name))
    order_.push_back(name);
  entries_[name] = entry{usage.empty() ? name : std::move(usage), std::move(make)};
  return true;
}

std::string keep_alive_registry::usages() const {
  std::string out;
  for (auto& name : order_) {
    if (!out.empty())
      out += ", ";
    out += entries_.find(name)->second.usage;
  }
  return out;
}

expected<std::unique_ptr<keep_alive_policy>> keep_alive_registry::make(std::string_view spec) const {
  auto colon = spec.find(':');
  auto name = spec.substr(0, colon);
  auto argument = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  auto it = entries_.find(name);
  if (it == entries_.end())
    return make_error(errc::bad_request,
                      fmt::format("keep-alive policy '{}' is unknown; known policies: {}", spec, usages()));
  if (colon != std::string_view::npos && argument.empty())
    return make_error(errc::bad_request,
                      fmt::format("keep-alive policy '{}': nothing after ':' (usage: {})", spec, it->second.usage));
  auto policy = it->second.make(argument);
  if (!policy)
    return make_error(policy.err().code,
                      fmt::format("keep-alive policy '{}': {} (usage: {})", spec, policy.err().message, it->second.usage));
  if (!*policy)
    return make_error(errc::internal, fmt::format("keep-alive policy '{}': its factory made nothing", spec));
  return policy;
}

expected<std::unique_ptr<keep_alive_policy>> make_keep_alive_policy(std::string_view spec) {
  return keep_alive_registry::with_builtins().make(spec);
}

expected<std::unique_ptr<keep_alive_policy>> make_keep_alive_policy(std::string_view spec, const keep_alive_registry& names) {
  return names.make(spec);
}

} // namespace whisk::policy
