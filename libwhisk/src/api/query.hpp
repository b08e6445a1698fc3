#pragma once
// A request as the REST layer's files see it: its route and query parameters.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/api/rest_api.hpp"

namespace whisk::api {

// A path's segments, each URL-decoded; empty segments are skipped.
std::vector<std::string> split_path(std::string_view path);
// A query string's parameters, URL-decoded ('+' is a space); the last of a repeated key wins.
std::map<std::string, std::string> parse_query(std::string_view q);

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
