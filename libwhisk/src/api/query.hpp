#pragma once
// A request as the REST layer's files see it: its route and query parameters.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/api/rest_api.hpp"

namespace whisk::api {

// A request target (Boost.URL): its path segments, decoded, empty ones skipped; its query
// parameters, decoded ('+' is a space), the last of a repeated key winning; the raw query.
struct target_parts {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  std::string raw_query;
  bool trailing_slash = false;
};
// none: not a valid origin-form target (bad percent-encoding, ...)
std::optional<target_parts> parse_target(std::string_view target);
// A query string (or a form body) as parameters, as above; an invalid one has none.
std::map<std::string, std::string> parse_query(std::string_view q);

// ?key as a number in [lo, hi] (absent or empty: fallback); bad_request naming the key otherwise
expected<std::int64_t> number(const std::map<std::string, std::string>& q, const char* key, std::int64_t fallback,
                              std::int64_t lo, std::int64_t hi);

// ?key, ?key=true and ?key=1 are true
inline bool flag(const std::map<std::string, std::string>& q, const char* key) {
  auto i = q.find(key);
  return i != q.end() && (i->second == "true" || i->second.empty() || i->second == "1");
}

struct rest_api::route {
  std::vector<std::string> parts; // after /api/v1/namespaces/{ns}
  std::map<std::string, std::string> query;
  std::string method;
  std::string ns;              // the namespace of the path ("_": the caller's)
  bool foreign = false;        // another namespace than the caller's (published packages only)
  bool trailing_slash = false; // ".../actions/pkg/": the package's actions
};

} // namespace whisk::api
