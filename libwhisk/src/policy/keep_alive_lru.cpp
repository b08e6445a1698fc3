// Today's pool: keep idle containers until their memory is needed (or an idle timeout),
// then remove the least recently used first (the base class's eviction order).
#include "whisk/policy/keep_alive.hpp"

namespace whisk::policy {

std::string lru_keep_alive::name() const {
  return idle_timeout_ == keep_forever ? std::string("lru") : "lru:" + format_duration_ms(idle_timeout_);
}

keep_alive_decision lru_keep_alive::keep_alive(std::uint64_t, const function_ref&, millis) const {
  return {idle_timeout_, std::nullopt};
}

} // namespace whisk::policy
