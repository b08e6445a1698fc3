#pragma once
// Entities and records as both stores keep them: one JSON document per row.
#include <optional>
#include <string>

#include "whisk/domain.hpp"

namespace whisk {

inline std::optional<action> action_from_doc(const std::string& doc) {
  auto parsed = json::parse(doc, json::max_wrapped_depth);
  if (!parsed)
    return std::nullopt;
  auto& d = *parsed;
  auto a = action_from_json(d, json::get_string(d, "namespace"), json::get_string(d, "name"));
  if (!a)
    return std::nullopt;
  a->version = json::get_string(d, "version", "0.0.1");
  a->updated_ms = json::get_int(d, "updated", 0);
  return *a;
}

inline std::optional<activation> activation_from_doc(const std::string& doc) {
  auto parsed = json::parse(doc, json::max_wrapped_depth);
  if (!parsed)
    return std::nullopt;
  auto a = activation_from_json(*parsed);
  if (!a)
    return std::nullopt;
  return *a;
}

} // namespace whisk
