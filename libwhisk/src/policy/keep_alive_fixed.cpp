// Fixed keep-alive and never unload: the decision does not depend on the history.
#include "whisk/policy/keep_alive.hpp"

namespace whisk::policy {

std::string fixed_keep_alive::name() const {
  return "fixed:" + format_duration_ms(keep_);
}

keep_alive_decision fixed_keep_alive::keep_alive(std::uint64_t, const function_ref&, millis) const {
  return {keep_, std::nullopt};
}

keep_alive_decision never_unload_keep_alive::keep_alive(std::uint64_t, const function_ref&, millis) const {
  return {keep_forever, std::nullopt};
}

std::vector<std::uint64_t> never_unload_keep_alive::eviction_order(const std::vector<idle_container>&, std::int64_t,
                                                                   millis) const {
  return {};
}

} // namespace whisk::policy
