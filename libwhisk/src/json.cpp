#include "whisk/json.hpp"

#include <cmath>
#include <fmt/format.h>
#include <simdjson.h>

namespace whisk {

int http_status(errc code) {
  switch (code) {
    case errc::bad_request: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::too_large: return 413;
    case errc::too_many_requests: return 429;
    case errc::internal: return 500;
    case errc::unavailable: return 503;
  }
  return 500;
}

namespace json {

const value* value::find(std::string_view key) const {
  if (!is_object())
    return nullptr;
  for (auto& [k, v] : as_object())
    if (k == key)
      return &v;
  return nullptr;
}

value* value::find(std::string_view key) {
  return const_cast<value*>(static_cast<const value*>(this)->find(key));
}

void value::set(std::string key, value v) {
  if (is_null())
    v_ = object{};
  if (auto* existing = find(key)) {
    *existing = std::move(v);
    return;
  }
  as_object().emplace_back(std::move(key), std::move(v));
}

namespace {

namespace od = simdjson::ondemand;

value convert(od::value v, std::size_t depth_left);

value convert_number(od::number n) {
  switch (n.get_number_type()) {
    case od::number_type::signed_integer: return value{n.get_int64()};
    case od::number_type::unsigned_integer: {
      auto u = n.get_uint64();
      if (u <= static_cast<std::uint64_t>(INT64_MAX))
        return value{static_cast<std::int64_t>(u)};
      return value{static_cast<double>(u)};
    }
    default: return value{n.get_double()};
  }
}

[[noreturn]] void too_deep() {
  throw simdjson::simdjson_error(simdjson::DEPTH_ERROR);
}

// Recursion is bounded by depth_left, checked before every nested array or object.
value convert(od::value v, std::size_t depth_left) {
  switch (v.type()) {
    case od::json_type::object: {
      if (depth_left == 0)
        too_deep();
      object o;
      for (auto field : v.get_object()) {
        std::string key{field.unescaped_key().value()};
        o.emplace_back(std::move(key), convert(field.value(), depth_left - 1));
      }
      return value{std::move(o)};
    }
    case od::json_type::array: {
      if (depth_left == 0)
        too_deep();
      array a;
      for (auto element : v.get_array())
        a.push_back(convert(element.value(), depth_left - 1));
      return value{std::move(a)};
    }
    case od::json_type::string: return value{std::string(v.get_string().value())};
    case od::json_type::number: return convert_number(v.get_number());
    case od::json_type::boolean: return value{v.get_bool().value()};
    case od::json_type::null:
      if (!v.is_null())
        throw simdjson::simdjson_error(simdjson::INCORRECT_TYPE);
      return value{};
  }
  return value{};
}

} // namespace

expected<value> parse(std::string_view text, std::size_t depth_limit) {
  thread_local od::parser parser; // on-demand parsers are per thread
  try {
    simdjson::padded_string padded(text);
    od::document doc = parser.iterate(padded);
    value result;
    if (doc.is_scalar()) {
      switch (doc.type()) {
        case od::json_type::string: result = value{std::string(doc.get_string().value())}; break;
        case od::json_type::number: result = convert_number(doc.get_number()); break;
        case od::json_type::boolean: result = value{doc.get_bool().value()}; break;
        default:
          if (!doc.is_null())
            throw simdjson::simdjson_error(simdjson::INCORRECT_TYPE);
      }
    } else {
      result = convert(doc.get_value(), depth_limit);
    }
    if (!doc.current_location().error()) // anything left after the document
      return make_error(errc::bad_request, "trailing content after the JSON document");
    return result;
  } catch (const simdjson::simdjson_error& e) {
    if (e.error() == simdjson::DEPTH_ERROR)
      return make_error(errc::bad_request, fmt::format("the JSON document is nested deeper than {} levels", depth_limit));
    return make_error(errc::bad_request, e.what());
  }
}

namespace {

// The length of the well-formed UTF-8 sequence that starts at s[i] (Unicode 15, table 3-7),
// 0 when there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto c0 = b(0);
  if (c0 < 0x80)
    return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xbf; // the range of the second byte
  if (c0 >= 0xc2 && c0 <= 0xdf) n = 2;
  else if (c0 == 0xe0) n = 3, lo = 0xa0;
  else if (c0 == 0xed) n = 3, hi = 0x9f; // no surrogates
  else if (c0 >= 0xe1 && c0 <= 0xef) n = 3;
  else if (c0 == 0xf0) n = 4, lo = 0x90;
  else if (c0 == 0xf4) n = 4, hi = 0x8f; // nothing past U+10FFFF
  else if (c0 >= 0xf1 && c0 <= 0xf3) n = 4;
  else return 0;
  if (i + n > s.size() || b(1) < lo || b(1) > hi)
    return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xbf)
      return 0;
  return n;
}

} // namespace

// JSON text is UTF-8 (simdjson refuses anything else), but strings from outside (a
// runtime's output, a percent-decoded path) may hold any bytes: each byte that starts no
// well-formed sequence is written as U+FFFD, so every document whisk writes reads back.
void write_string(std::string& out, std::string_view s) {
  out.push_back('"');
  const bool valid = simdjson::validate_utf8(s.data(), s.size());
  out.reserve(out.size() + s.size() + 1);
  for (std::size_t i = 0; i < s.size(); ++i) {
    // a run of characters that need no escape is appended at once
    auto plain = i;
    while (plain < s.size()) {
      auto p = static_cast<unsigned char>(s[plain]);
      if (p < 0x20 || p == '"' || p == '\\' || (p >= 0x80 && !valid))
        break;
      ++plain;
    }
    if (plain > i) {
      out.append(s.data() + i, plain - i);
      i = plain - 1;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 && !valid) {
      auto n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else
          out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void write(std::string& out, const value& v) {
  if (v.is_null()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    fmt::format_to(std::back_inserter(out), "{}", v.as_int());
  } else if (v.is_number()) {
    double d = v.as_double();
    if (d == 0)
      d = 0; // -0 as 0, like JSON.stringify: "-0" would read back as the integer 0
    if (std::isfinite(d))
      fmt::format_to(std::back_inserter(out), "{}", d);
    else
      out += "null";
  } else if (v.is_string()) {
    write_string(out, v.as_string());
  } else if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (auto& e : v.as_array()) {
      if (!first)
        out.push_back(',');
      first = false;
      write(out, e);
    }
    out.push_back(']');
  } else {
    out.push_back('{');
    bool first = true;
    for (auto& [k, e] : v.as_object()) {
      if (!first)
        out.push_back(',');
      first = false;
      write_string(out, k);
      out.push_back(':');
      write(out, e);
    }
    out.push_back('}');
  }
}

std::string dump(const value& v) {
  std::string out;
  write(out, v);
  return out;
}

std::string get_string(const value& obj, std::string_view key, std::string fallback) {
  auto* v = obj.find(key);
  return v && v->is_string() ? v->as_string() : fallback;
}

std::int64_t get_int(const value& obj, std::string_view key, std::int64_t fallback) {
  auto* v = obj.find(key);
  return v && v->is_number() ? v->as_int() : fallback;
}

bool get_bool(const value& obj, std::string_view key, bool fallback) {
  auto* v = obj.find(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

} // namespace json
} // namespace whisk
