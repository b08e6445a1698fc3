#include "plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "whisk/json.hpp"

namespace whisk::load {

namespace {

error field_error(const std::string& field, const std::string& what) {
  return make_error(errc::bad_request, fmt::format("{}: {}", field, what));
}

expected<double> number_field(const json::value& obj, const char* key, double fallback, double lo, double hi,
                              const std::string& where) {
  auto* v = obj.find(key);
  if (!v)
    return fallback;
  if (!v->is_number())
    return field_error(where + key, "must be a number");
  double d = v->as_double();
  if (d < lo || d > hi)
    return field_error(where + key, fmt::format("must be between {} and {}", lo, hi));
  return d;
}

} // namespace

std::string base64(const std::string& in) {
  static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += {chars[(n >> 18) & 63], chars[(n >> 12) & 63], chars[(n >> 6) & 63], chars[n & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += {chars[(n >> 18) & 63], chars[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {chars[(n >> 18) & 63], chars[(n >> 12) & 63], chars[(n >> 6) & 63], '='};
  }
  return out;
}

expected<bool> parse_url(const std::string& url, target& t) {
  constexpr std::string_view scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return make_error(errc::bad_request, "only http:// URLs are supported");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  t.port = 80;
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    auto port = std::atoi(authority.c_str() + colon + 1);
    if (port <= 0 || port > 65535)
      return make_error(errc::bad_request, "the port must be 1..65535");
    t.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty())
    return make_error(errc::bad_request, "the URL has no host");
  t.host = authority;
  return true;
}

expected<std::string> expand_environment(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    auto end = text.find('}', start);
    if (end == std::string::npos)
      return field_error("config", "unterminated ${ in the config");
    out.append(text, i, start - i);
    auto name = text.substr(start + 2, end - start - 2);
    const char* value = std::getenv(name.c_str());
    if (!value)
      return field_error("config", "environment variable " + name + " is not set");
    out += value;
    i = end + 1;
  }
  return out;
}

expected<plan> parse_plan(const std::string& raw) {
  auto expanded = expand_environment(raw);
  if (!expanded)
    return expanded.err();
  const std::string& text = *expanded;
  auto doc = json::parse(text);
  if (!doc)
    return field_error("config", "not valid JSON: " + doc.err().message);
  if (!doc->is_object())
    return field_error("config", "must be a JSON object");
  plan p;
  auto* targets = doc->find("targets");
  if (!targets || !targets->is_array() || targets->as_array().empty())
    return field_error("targets", "must be a non-empty array");
  std::size_t i = 0;
  for (auto& t : targets->as_array()) {
    auto where = fmt::format("targets[{}].", i++);
    if (!t.is_object())
      return field_error(where.substr(0, where.size() - 1), "must be an object");
    target x;
    auto* url = t.find("url");
    if (!url || !url->is_string())
      return field_error(where + "url", "is required (a string like http://127.0.0.1:3233/path)");
    if (auto ok = parse_url(url->as_string(), x); !ok)
      return field_error(where + "url", ok.err().message);
    x.name = json::get_string(t, "name", url->as_string());
    x.method = json::get_string(t, "method", "GET");
    static const std::vector<std::string> methods{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"};
    if (std::find(methods.begin(), methods.end(), x.method) == methods.end())
      return field_error(where + "method", "must be one of GET, POST, PUT, DELETE, HEAD, PATCH");
    if (auto* h = t.find("headers")) {
      if (!h->is_object())
        return field_error(where + "headers", "must be an object of strings");
      for (auto& [k, v] : h->as_object()) {
        if (!v.is_string())
          return field_error(where + "headers." + k, "must be a string");
        x.headers.emplace_back(k, v.as_string());
      }
    }
    if (auto* b = t.find("body")) {
      if (b->is_string())
        x.body = b->as_string();
      else
        x.body = json::dump(*b); // a JSON body may be written inline
    }
    if (auto* bf = t.find("body_file")) {
      if (!bf->is_string())
        return field_error(where + "body_file", "must be a file name");
      std::ifstream in(bf->as_string(), std::ios::binary);
      if (!in)
        return field_error(where + "body_file", "cannot read " + bf->as_string());
      std::ostringstream s;
      s << in.rdbuf();
      x.body = s.str();
    }
    if (auto* a = t.find("auth")) {
      if (!a->is_string() || a->as_string().find(':') == std::string::npos)
        return field_error(where + "auth", "must be \"user:password\"");
      x.headers.emplace_back("Authorization", "Basic " + base64(a->as_string()));
    }
    auto w = number_field(t, "weight", 1, 0, 1e9, where);
    if (!w) return w.err();
    x.weight = *w;
    p.targets.push_back(std::move(x));
  }
  double connections, threads, duration, requests, rate, warmup, timeout;
  struct numeric {
    const char* key;
    double* out;
    double fallback, lo, hi;
  };
  for (auto& n : {numeric{"connections", &connections, 16, 1, 100000}, numeric{"threads", &threads, 1, 1, 256},
                  numeric{"duration", &duration, 10, 0, 86400}, numeric{"requests", &requests, 0, 0, 1e15},
                  numeric{"rate", &rate, 0, 0, 1e9}, numeric{"warmup", &warmup, 0, 0, 86400},
                  numeric{"timeout", &timeout, 10, 0.001, 3600}}) {
    auto v = number_field(*doc, n.key, n.fallback, n.lo, n.hi, "");
    if (!v)
      return v.err();
    *n.out = *v;
  }
  p.connections = static_cast<int>(connections);
  p.threads = static_cast<int>(threads);
  p.duration_s = duration;
  p.requests = static_cast<std::uint64_t>(requests);
  p.rate = rate;
  p.warmup_s = warmup;
  p.timeout_s = timeout;
  p.json_report = json::get_string(*doc, "report");
  p.plot = json::get_string(*doc, "plot");
  if (auto ok = finish_plan(p); !ok)
    return ok.err();
  return p;
}

expected<bool> finish_plan(plan& p) {
  double total = 0;
  for (auto& t : p.targets)
    total += t.weight;
  if (total <= 0)
    return field_error("targets", "at least one target needs a weight above 0");
  if (p.threads > p.connections)
    return field_error("threads", "must not exceed connections");
  if (p.duration_s <= 0 && p.requests == 0)
    return field_error("duration", "give a duration or a request count");
  if (p.warmup_s >= p.duration_s && p.duration_s > 0)
    return field_error("warmup", "must be shorter than the duration");
  for (auto& t : p.targets) {
    std::string r = fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\n", t.method, t.path, t.host, t.port);
    bool has_type = false;
    for (auto& [k, v] : t.headers) {
      r += fmt::format("{}: {}\r\n", k, v);
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      has_type = has_type || lower == "content-type";
    }
    if (!t.body.empty() && !has_type)
      r += "Content-Type: application/json\r\n";
    if (!t.body.empty() || t.method == "POST" || t.method == "PUT" || t.method == "PATCH")
      r += fmt::format("Content-Length: {}\r\n", t.body.size());
    r += "\r\n";
    r += t.body;
    t.request_bytes = std::move(r);
  }
  return true;
}

weighted_draw::weighted_draw(const std::vector<double>& weights, std::uint64_t seed) : rng_(seed) {
  double sum = 0;
  for (auto w : weights)
    cumulative_.push_back(sum += std::max(0.0, w));
}

std::size_t weighted_draw::pick(double u) const {
  double x = u * cumulative_.back();
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  auto i = static_cast<std::size_t>(it - cumulative_.begin());
  return std::min(i, cumulative_.size() - 1);
}

std::size_t weighted_draw::next() {
  if (cumulative_.size() == 1)
    return 0;
  return pick(dist_(rng_));
}

} // namespace whisk::load
