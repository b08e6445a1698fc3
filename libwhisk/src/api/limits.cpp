// Per-namespace throttles: concurrent invocations (counted by the controller), invocations
// and trigger fires per minute (counted here, per controller), as OpenWhisk names them.
#include <fmt/format.h>

#include "query.hpp"
#include "whisk/api/rest_api.hpp"

namespace whisk::api {

namespace {

constexpr std::pair<const char*, std::int64_t namespace_limits::*> fields[] = {
    {"concurrentInvocations", &namespace_limits::concurrent_invocations},
    {"invocationsPerMinute", &namespace_limits::invocations_per_minute},
    {"firesPerMinute", &namespace_limits::fires_per_minute},
};

} // namespace

expected<namespace_limits> limits_from_json(const json::value& doc) {
  if (!doc.is_object())
    return make_error(errc::bad_request, "limits must be a JSON object");
  namespace_limits l;
  for (auto& [key, v] : doc.as_object()) {
    bool known = false;
    for (auto& [name, field] : fields)
      if (key == name) {
        if (!v.is_int() || v.as_int() < 0)
          return make_error(errc::bad_request, fmt::format("{} must be a whole number >= 0 (0: no limit)", name));
        l.*field = v.as_int();
        known = true;
      }
    if (!known)
      return make_error(errc::bad_request,
                        fmt::format("unknown limit '{}' (known: concurrentInvocations, invocationsPerMinute, firesPerMinute)", key));
  }
  return l;
}

json::value to_json(const namespace_limits& l) {
  json::value out = json::object{};
  for (auto& [name, field] : fields)
    if (l.*field > 0)
      out.set(name, l.*field);
  return out;
}

namespace_limits merged_limits(const std::optional<json::value>& own_doc, const namespace_limits& defaults) {
  if (!own_doc)
    return defaults;
  auto own = limits_from_json(*own_doc);
  if (!own)
    return defaults;
  namespace_limits out = defaults;
  for (auto& [name, field] : fields)
    if (own_doc->find(name))
      out.*field = (*own).*field;
  return out;
}

namespace_limits limits_of(store& s, const std::string& ns, const namespace_limits& defaults) {
  return merged_limits(s.get_entity("limits", ns, "limits"), defaults);
}

std::optional<http::response> rest_api::throttled(const std::string& ns, bool fire) {
  auto l = merged_limits(find_entity("limits", ns, "limits"), cfg_.default_limits);
  auto allowed = fire ? l.fires_per_minute : l.invocations_per_minute;
  if (allowed <= 0)
    return std::nullopt;
  auto& c = (fire ? fires_ : invokes_)[ns];
  auto minute = now_ms() / 60000;
  if (c.minute != minute)
    c = {minute, 0};
  if (c.count >= allowed)
    return error(429, fmt::format("Too many {} in the last minute (count: {}, allowed: {}).",
                                  fire ? "triggers fired" : "requests", c.count, allowed));
  ++c.count;
  return std::nullopt;
}

} // namespace whisk::api
