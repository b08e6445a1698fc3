#include "whisk/domain.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <mutex>

#include "whisk/base64.hpp"
#include "whisk/credentials.hpp"

namespace whisk {

namespace {

// The built-in kinds, then those a runtime manifest registered at startup (register_kind).
struct kind_registry {
  std::mutex mx;
  std::vector<std::string> kinds{"nodejs:20", "nodejs:default", "python:3", "native", "js:isolate"};
  std::map<std::string, std::string> aliases{{"nodejs:default", "nodejs:20"}};
};

kind_registry& registry() {
  static kind_registry r;
  return r;
}

std::vector<std::string> kinds() {
  std::lock_guard guard{registry().mx};
  return registry().kinds;
}

expected<std::int64_t> limit_in(const json::value& limits, const char* key, std::int64_t fallback,
                                std::int64_t lo, std::int64_t hi, const char* unit) {
  auto* v = limits.find(key);
  if (!v || v->is_null())
    return fallback;
  if (!v->is_number())
    return make_error(errc::bad_request, fmt::format("limits.{} must be a number", key));
  auto n = v->as_int();
  if (n < lo || n > hi)
    return make_error(errc::bad_request,
                      fmt::format("{} limit {} {} exceeds allowed range [{} {}, {} {}].", key, n, unit, lo, unit, hi, unit));
  return n;
}

expected<action_limits> parse_limits(const json::value* v, const action_limits& base) {
  action_limits l = base;
  if (!v || v->is_null())
    return l;
  if (!v->is_object())
    return make_error(errc::bad_request, "limits must be an object");
  auto t = limit_in(*v, "timeout", base.timeout_ms, action_limits::min_timeout_ms, action_limits::max_timeout_ms, "milliseconds");
  if (!t) return t.err();
  auto m = limit_in(*v, "memory", base.memory_mb, action_limits::min_memory_mb, action_limits::max_memory_mb, "MB");
  if (!m) return m.err();
  auto g = limit_in(*v, "logs", base.logs_mb, 0, action_limits::max_logs_mb, "MB");
  if (!g) return g.err();
  auto c = limit_in(*v, "concurrency", base.concurrency, 1, action_limits::max_concurrency, "activations");
  if (!c) return c.err();
  l.timeout_ms = *t;
  l.memory_mb = *m;
  l.logs_mb = *g;
  l.concurrency = *c;
  return l;
}

} // namespace

expected<json::value> parse_key_values(const json::value* v, const char* what) {
  if (!v || v->is_null())
    return json::value{json::array{}};
  if (!v->is_array())
    return make_error(errc::bad_request, fmt::format("{} must be an array of {{\"key\", \"value\"}} objects", what));
  for (auto& kv : v->as_array())
    if (!kv.is_object() || !kv.find("key") || !kv.find("key")->is_string())
      return make_error(errc::bad_request, fmt::format("every entry of {} needs a string \"key\"", what));
  return *v;
}

namespace {

// "/ns/name" or "/ns/pkg/name" (the namespace may be "_": the caller's, filled in by the API)
bool is_qualified_name(const std::string& s) {
  if (s.size() < 4 || s[0] != '/')
    return false;
  std::vector<std::string> parts;
  std::size_t i = 1;
  while (i <= s.size()) {
    auto j = s.find('/', i);
    if (j == std::string::npos)
      j = s.size();
    parts.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  if (parts.size() != 2 && parts.size() != 3)
    return false;
  return std::all_of(parts.begin(), parts.end(), [](const std::string& p) { return p == "_" || is_valid_entity_name(p); });
}

expected<exec_spec> parse_sequence(const json::value& v) {
  exec_spec e;
  e.kind = "sequence";
  auto* c = v.find("components");
  if (!c || !c->is_array() || c->as_array().empty())
    return make_error(errc::bad_request, "exec.components must be a non-empty array of fully qualified action names");
  if (c->as_array().size() > max_sequence_length)
    return make_error(errc::bad_request, "Too many actions in the sequence.");
  for (auto& n : c->as_array()) {
    if (!n.is_string() || !is_qualified_name(n.as_string()))
      return make_error(errc::bad_request,
                        "every entry of exec.components must be a fully qualified action name (/namespace/[package/]action)");
    e.components.push_back(n.as_string());
  }
  return e;
}

expected<exec_spec> parse_exec(const json::value* v) {
  if (!v || !v->is_object())
    return make_error(errc::bad_request, "exec is required and must be an object with kind and code");
  if (json::get_string(*v, "kind") == "sequence")
    return parse_sequence(*v);
  exec_spec e;
  e.kind = json::get_string(*v, "kind");
  if (!is_known_kind(e.kind)) {
    std::string list;
    for (auto& k : known_kinds())
      list += (list.empty() ? "" : ", ") + k;
    list += ", sequence";
    return make_error(errc::bad_request, fmt::format("exec.kind '{}' is not supported; supported kinds: {}", e.kind, list));
  }
  e.kind = canonical_kind(e.kind);
  auto* code = v->find("code");
  if (!code || !code->is_string() || code->as_string().empty())
    return make_error(errc::bad_request, "exec.code must be a non-empty string");
  e.code = code->as_string();
  e.main = json::get_string(*v, "main", "main");
  if (e.main.empty())
    e.main = "main";
  e.binary = json::get_bool(*v, "binary", false);
  if (e.binary) { // kept encoded (runtimes decode it); checked here so a bad upload fails at PUT
    auto decoded = base64_decode(e.code);
    if (!decoded || decoded->empty())
      return make_error(errc::bad_request, "exec.code must be base64 (standard alphabet, padded) when exec.binary is true");
  }
  if (e.kind != "native" && !is_valid_identifier(e.main))
    return make_error(errc::bad_request, fmt::format("exec.main '{}' is not a valid function name", e.main));
  return e;
}

} // namespace

std::string bump_version(const std::string& v) {
  unsigned a = 0, b = 0, c = 0;
  if (std::sscanf(v.c_str(), "%u.%u.%u", &a, &b, &c) != 3)
    return "0.0.1";
  return fmt::format("{}.{}.{}", a, b, c + 1);
}

namespace {

} // namespace

std::string action::revision_key() const {
  return fmt::format("{}@{}#{}", fully_qualified(), version, updated_ms);
}

bool is_known_kind(const std::string& kind) {
  auto& r = registry();
  std::lock_guard guard{r.mx};
  return std::find(r.kinds.begin(), r.kinds.end(), kind) != r.kinds.end();
}

std::string canonical_kind(const std::string& kind) {
  std::lock_guard guard{registry().mx};
  auto i = registry().aliases.find(kind);
  return i == registry().aliases.end() ? kind : i->second;
}

bool register_kind(const std::string& kind, const std::string& alias_of) {
  auto& r = registry();
  std::lock_guard guard{r.mx};
  if (kind.empty() || std::find(r.kinds.begin(), r.kinds.end(), kind) != r.kinds.end())
    return false;
  if (!alias_of.empty() && std::find(r.kinds.begin(), r.kinds.end(), alias_of) == r.kinds.end())
    return false;
  r.kinds.push_back(kind);
  if (!alias_of.empty())
    r.aliases[kind] = alias_of;
  return true;
}

std::vector<std::string> known_kinds() { return kinds(); }

bool is_valid_entity_name(const std::string& name) {
  if (name.empty() || name.size() > 256)
    return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0])) && name[0] != '_')
    return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == ' ';
  }) && name.back() != ' ';
}

bool is_valid_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '$'; });
}

const json::value* find_annotation(const json::value& annotations, std::string_view key) {
  if (!annotations.is_array())
    return nullptr;
  for (auto& kv : annotations.as_array())
    if (json::get_string(kv, "key") == key)
      return kv.find("value");
  return nullptr;
}

bool annotation_true(const json::value& annotations, std::string_view key) {
  auto* v = find_annotation(annotations, key);
  return v && ((v->is_bool() && v->as_bool()) || (v->is_string() && v->as_string() == "true"));
}

expected<isolate_options> isolate_options_of(const json::value& annotations) {
  isolate_options o;
  if (auto* m = find_annotation(annotations, "isolate-mode")) {
    if (!m->is_string() || (m->as_string() != "reuse" && m->as_string() != "fresh" && m->as_string() != "unsafe"))
      return make_error(errc::bad_request, "The annotation 'isolate-mode' must be \"reuse\", \"fresh\" or \"unsafe\".");
    o.mode = m->as_string();
  }
  if (auto* c = find_annotation(annotations, "isolate-reuse-context")) {
    if (!c->is_bool())
      return make_error(errc::bad_request, "The annotation 'isolate-reuse-context' must be true or false.");
    o.reuse_context = c->as_bool();
  }
  return o;
}

namespace {
// Checks what depends on more than one field.
expected<action> checked(action a) {
  if (a.exec.kind == "js:isolate") {
    auto o = isolate_options_of(a.annotations);
    if (!o)
      return o.err();
  }
  return a;
}
} // namespace

expected<action> action_from_json(const json::value& body, const std::string& ns, const std::string& name) {
  if (!body.is_object())
    return make_error(errc::bad_request, "the action must be a JSON object");
  action a;
  a.ns = ns;
  a.name = name;
  auto e = parse_exec(body.find("exec"));
  if (!e) return e.err();
  a.exec = std::move(*e);
  auto p = parse_key_values(body.find("parameters"), "parameters");
  if (!p) return p.err();
  a.parameters = std::move(*p);
  auto an = parse_key_values(body.find("annotations"), "annotations");
  if (!an) return an.err();
  a.annotations = std::move(*an);
  auto l = parse_limits(body.find("limits"), action_limits{});
  if (!l) return l.err();
  a.limits = *l;
  a.publish = json::get_bool(body, "publish", false);
  a.updated_ms = now_ms();
  return checked(std::move(a));
}

expected<action> action_update(const action& old, const json::value& body) {
  if (!body.is_object())
    return make_error(errc::bad_request, "the action must be a JSON object");
  action a = old;
  if (auto* e = body.find("exec")) {
    auto parsed = parse_exec(e);
    if (!parsed) return parsed.err();
    a.exec = std::move(*parsed);
  }
  if (body.find("parameters")) {
    auto p = parse_key_values(body.find("parameters"), "parameters");
    if (!p) return p.err();
    a.parameters = std::move(*p);
  }
  if (body.find("annotations")) {
    auto an = parse_key_values(body.find("annotations"), "annotations");
    if (!an) return an.err();
    a.annotations = std::move(*an);
  }
  auto l = parse_limits(body.find("limits"), old.limits);
  if (!l) return l.err();
  a.limits = *l;
  a.publish = json::get_bool(body, "publish", old.publish);
  a.version = bump_version(old.version);
  a.updated_ms = std::max(now_ms(), old.updated_ms + 1);
  return checked(std::move(a));
}

json::value limits_to_json(const action_limits& l) {
  return json::object{{"timeout", l.timeout_ms}, {"memory", l.memory_mb}, {"logs", l.logs_mb},
                      {"concurrency", l.concurrency}};
}

json::value to_json(const action& a, bool with_code) {
  json::value exec = json::object{{"kind", a.exec.kind}};
  if (a.exec.kind == "sequence") {
    json::array components;
    for (auto& c : a.exec.components)
      components.emplace_back(c);
    exec.set("components", std::move(components));
  } else if (with_code) {
    exec.set("code", a.exec.code);
    if (a.exec.main != "main")
      exec.set("main", a.exec.main);
  }
  exec.set("binary", a.exec.binary);
  json::value annotations = a.annotations;
  bool has_exec = false;
  for (auto& kv : annotations.as_array())
    has_exec = has_exec || json::get_string(kv, "key") == "exec";
  if (!has_exec)
    annotations.as_array().push_back(json::object{{"key", "exec"}, {"value", a.exec.kind.substr(0, a.exec.kind.find(':'))}});
  return json::object{{"namespace", a.ns},
                      {"name", a.name},
                      {"version", a.version},
                      {"exec", std::move(exec)},
                      {"annotations", std::move(annotations)},
                      {"parameters", a.parameters},
                      {"limits", limits_to_json(a.limits)},
                      {"publish", a.publish},
                      {"updated", a.updated_ms}};
}

json::value parameters_object(const json::value& key_value_list) {
  json::value out = json::object{};
  if (key_value_list.is_array())
    for (auto& kv : key_value_list.as_array())
      if (auto* v = kv.find("value"))
        out.set(json::get_string(kv, "key"), *v);
  return out;
}

const char* status_text(activation_status s) {
  switch (s) {
    case activation_status::success: return "success";
    case activation_status::application_error: return "application error";
    case activation_status::developer_error: return "action developer error";
    case activation_status::whisk_error: return "whisk internal error";
  }
  return "whisk internal error";
}

json::value response_json(const activation& a) {
  return json::object{{"status", status_text(a.status)},
                      {"statusCode", static_cast<int>(a.status)},
                      {"success", a.status == activation_status::success},
                      {"result", a.result}};
}

json::value to_json(const activation& a, bool with_logs, bool with_result) {
  json::array logs;
  if (with_logs)
    for (auto& l : a.logs)
      logs.emplace_back(l);
  json::array annotations{
      json::object{{"key", "path"}, {"value", a.path.empty() ? a.ns + "/" + a.name : a.path}},
      json::object{{"key", "waitTime"}, {"value", a.wait_ms}},
      json::object{{"key", "kind"}, {"value", a.kind}},
      json::object{{"key", "timeout"}, {"value", a.timeout}},
      json::object{{"key", "limits"}, {"value", limits_to_json(a.limits)}},
  };
  if (a.init_ms >= 0)
    annotations.push_back(json::object{{"key", "initTime"}, {"value", a.init_ms}});
  if (!a.mode.empty())
    annotations.push_back(json::object{{"key", "isolate-mode"}, {"value", a.mode}});
  if (a.sequence)
    annotations.push_back(json::object{{"key", "topmost"}, {"value", a.cause.empty()}});
  json::value response = response_json(a);
  if (!with_result)
    response.as_object().pop_back();
  json::value doc = json::object{{"namespace", a.ns},
                      {"name", a.name},
                      {"version", a.version},
                      {"subject", a.subject},
                      {"activationId", a.activation_id},
                      {"start", a.start_ms},
                      {"end", a.end_ms},
                      {"duration", a.duration_ms >= 0 ? a.duration_ms : a.end_ms - a.start_ms},
                      {"statusCode", static_cast<int>(a.status)},
                      {"response", std::move(response)},
                      {"logs", std::move(logs)},
                      {"annotations", std::move(annotations)},
                      {"publish", false}};
  if (!a.cause.empty())
    doc.set("cause", a.cause);
  return doc;
}

expected<activation> activation_from_json(const json::value& doc) {
  if (!doc.is_object())
    return make_error(errc::internal, "stored activation is not an object");
  activation a;
  a.ns = json::get_string(doc, "namespace");
  a.name = json::get_string(doc, "name");
  a.version = json::get_string(doc, "version");
  a.subject = json::get_string(doc, "subject");
  a.activation_id = json::get_string(doc, "activationId");
  a.start_ms = json::get_int(doc, "start", 0);
  a.end_ms = json::get_int(doc, "end", 0);
  a.cause = json::get_string(doc, "cause");
  if (auto d = json::get_int(doc, "duration", -1); d >= 0 && d != a.end_ms - a.start_ms)
    a.duration_ms = d;
  if (auto* r = doc.find("response")) {
    a.status = static_cast<activation_status>(std::clamp<std::int64_t>(json::get_int(*r, "statusCode", 3), 0, 3));
    if (auto* res = r->find("result"))
      a.result = *res;
  }
  if (auto* logs = doc.find("logs"); logs && logs->is_array())
    for (auto& l : logs->as_array())
      if (l.is_string())
        a.logs.push_back(l.as_string());
  if (auto* an = doc.find("annotations"); an && an->is_array()) {
    for (auto& kv : an->as_array()) {
      auto key = json::get_string(kv, "key");
      auto* v = kv.find("value");
      if (!v)
        continue;
      if (key == "waitTime" && v->is_number()) a.wait_ms = v->as_int();
      else if (key == "path" && v->is_string() && v->as_string() != a.ns + "/" + a.name) a.path = v->as_string();
      else if (key == "topmost") a.sequence = true;
      else if (key == "initTime" && v->is_number()) a.init_ms = v->as_int();
      else if (key == "kind" && v->is_string()) a.kind = v->as_string();
      else if (key == "isolate-mode" && v->is_string()) a.mode = v->as_string();
      else if (key == "timeout" && v->is_bool()) a.timeout = v->as_bool();
      else if (key == "limits" && v->is_object()) {
        a.limits.timeout_ms = json::get_int(*v, "timeout", a.limits.timeout_ms);
        a.limits.memory_mb = json::get_int(*v, "memory", a.limits.memory_mb);
        a.limits.logs_mb = json::get_int(*v, "logs", a.limits.logs_mb);
        a.limits.concurrency = json::get_int(*v, "concurrency", a.limits.concurrency);
      }
    }
  }
  return a;
}

std::string random_hex(std::size_t chars) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(chars, '0');
  random_bytes(out.data(), out.size()); // one random byte per digit, cut to its low 4 bits
  for (auto& c : out)
    c = digits[static_cast<unsigned char>(c) & 0xf];
  return out;
}

// 32 hex digits as OpenWhisk's, time first: 12 digits of milliseconds, then 20 random ones
// (80 bits). New records then land at the end of the store's index instead of on a random
// page each, which keeps a batch of them to a few pages of writes.
std::string new_activation_id() {
  auto ms = static_cast<std::uint64_t>(now_ms());
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(12, '0');
  for (int i = 11; i >= 0; --i, ms >>= 4)
    out[static_cast<std::size_t>(i)] = digits[ms & 0xf];
  return out + random_hex(20);
}

bool is_activation_id(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string timeout_message(std::int64_t timeout_ms) {
  return fmt::format("The action exceeded its time limits of {} milliseconds.", timeout_ms);
}

} // namespace whisk
