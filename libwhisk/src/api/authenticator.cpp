#include "whisk/api/authenticator.hpp"

#include <sodium.h>
#include <string_view>

#include "whisk/base64.hpp"
#include "whisk/domain.hpp"

namespace whisk::api {

authenticator::authenticator(store& s, std::optional<key_hasher> keys, std::int64_t recheck_ms)
    : store_(s), keys_(std::move(keys)), recheck_ms_(recheck_ms) {}

std::optional<caller_info> authenticator::authenticate(const std::string& authorization, bool* unavailable) {
  return check(authorization, unavailable, nullptr);
}

std::optional<caller_info> authenticator::authenticate_cached(const std::string& authorization, bool& needs_store) {
  needs_store = false;
  return check(authorization, nullptr, &needs_store);
}

std::optional<caller_info> authenticator::check(const std::string& authorization, bool* unavailable, bool* needs_store) {
  if (unavailable)
    *unavailable = false;
  constexpr std::string_view scheme = "Basic ";
  if (authorization.size() <= scheme.size() || authorization.size() > 1024 || authorization.compare(0, scheme.size(), scheme) != 0)
    return std::nullopt;
  auto decoded = base64_decode(std::string_view(authorization).substr(scheme.size()));
  auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos || !keys_)
    return std::nullopt;
  caller_info c{{}, decoded->substr(0, colon), decoded->substr(colon + 1)};
  sodium_memzero(decoded->data(), decoded->size());
  std::lock_guard guard{mx_};
  // Another connection (whisk-admin) may have changed a key since the cache was filled.
  auto version = store_.credentials_version();
  if (version != version_ || version < 0) {
    cache_.clear();
    version_ = version;
  }
  auto now = now_ms();
  auto i = cache_.find(c.uuid);
  if (i != cache_.end() && now - i->second.checked_ms < recheck_ms_ && equal_secrets(i->second.key, c.key)) {
    c.name = i->second.ns.name;
    return c;
  }
  if (needs_store) { // (nothing was changed above that the store's answer would not change too)
    *needs_store = true;
    return std::nullopt;
  }
  auto ns = store_.namespace_by_uuid(c.uuid);
  if (!ns && !store_.read_failure().empty()) {
    // the store cannot be read (a database restarting): a key verified before stays good
    // until it can be checked again; an unknown one cannot be checked now
    if (i != cache_.end() && equal_secrets(i->second.key, c.key)) {
      c.name = i->second.ns.name;
      return c;
    }
    if (unavailable)
      *unavailable = true;
    return std::nullopt;
  }
  if (!ns || !keys_->verify(c.key, ns->key_hash)) {
    if (!ns && i != cache_.end())
      cache_.erase(i);
    return std::nullopt;
  }
  if (cache_.size() > 10000)
    cache_.clear();
  cache_[c.uuid] = verified_key{*ns, c.key, now};
  c.name = ns->name;
  return c;
}

bool is_metrics_request(const std::string& method, const std::string& target) {
  return method == "GET" && (target == "/metrics" || target.rfind("/metrics?", 0) == 0);
}

} // namespace whisk::api
