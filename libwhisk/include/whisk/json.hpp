#pragma once
// A small JSON document model: parsed with simdjson (on-demand), written by hand.
// Objects keep insertion order, as users expect to see their own documents back.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::json {

class value;
using array = std::vector<value>;
using member = std::pair<std::string, value>;
using object = std::vector<member>;

class value {
public:
  using storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, array, object>;

  value() : v_(nullptr) {}
  value(std::nullptr_t) : v_(nullptr) {}
  value(bool b) : v_(b) {}
  value(int i) : v_(std::int64_t{i}) {}
  value(std::int64_t i) : v_(i) {}
  value(double d) : v_(d) {}
  value(const char* s) : v_(std::string(s)) {}
  value(std::string s) : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(array a) : v_(std::move(a)) {}
  value(object o) : v_(std::move(o)) {}

  bool is_null() const { return v_.index() == 0; }
  bool is_bool() const { return v_.index() == 1; }
  bool is_int() const { return v_.index() == 2; }
  bool is_number() const { return v_.index() == 2 || v_.index() == 3; }
  bool is_string() const { return v_.index() == 4; }
  bool is_array() const { return v_.index() == 5; }
  bool is_object() const { return v_.index() == 6; }

  bool as_bool() const { return std::get<bool>(v_); }
  // A double is truncated, and saturates outside int64's range (a plain cast of, say, a
  // limit of 12e184 from a request body would be undefined behavior).
  std::int64_t as_int() const { return is_int() ? std::get<std::int64_t>(v_) : saturated(std::get<double>(v_)); }
  double as_double() const { return is_int() ? static_cast<double>(std::get<std::int64_t>(v_)) : std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const array& as_array() const { return std::get<array>(v_); }
  array& as_array() { return std::get<array>(v_); }
  const object& as_object() const { return std::get<object>(v_); }
  object& as_object() { return std::get<object>(v_); }

  // Member lookup on objects; nullptr when absent or when this is not an object.
  const value* find(std::string_view key) const;
  value* find(std::string_view key);
  // Sets (or replaces) a member; turns a null into an empty object first.
  void set(std::string key, value v);

  friend bool operator==(const value& a, const value& b) { return a.v_ == b.v_; }

private:
  static std::int64_t saturated(double d) {
    if (d != d)
      return 0;
    if (d >= 9223372036854775808.0) // 2^63
      return std::numeric_limits<std::int64_t>::max();
    if (d < -9223372036854775808.0)
      return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(d);
  }
  storage v_;
};

// Nesting bound of outside input (API bodies, invoke parameters, runtime answers): a
// deeper document is a bad_request error, so nothing recursive ever sees user-chosen depth.
inline constexpr std::size_t max_depth = 128;
// Bound for documents whisk wraps around an outside value itself (stored records, run
// messages): a value accepted at max_depth must still read back.
inline constexpr std::size_t max_wrapped_depth = max_depth + 8;

// Parses one JSON document; trailing content, malformed input or nesting deeper than
// `depth_limit` arrays/objects is a bad_request error.
expected<value> parse(std::string_view text, std::size_t depth_limit = max_depth);

// Writing (and destroying) a value recurses on its depth: values come only from parse,
// which bounds it, and from code, which wraps them a few levels at most.
void write(std::string& out, const value& v);
std::string dump(const value& v);
// Appends `s` as a quoted JSON string.
void write_string(std::string& out, std::string_view s);

// Helpers for the common "read an optional typed member" case.
std::string get_string(const value& obj, std::string_view key, std::string fallback = {});
std::int64_t get_int(const value& obj, std::string_view key, std::int64_t fallback);
bool get_bool(const value& obj, std::string_view key, bool fallback);

} // namespace whisk::json
