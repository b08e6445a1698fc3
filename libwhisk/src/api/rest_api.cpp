#include "whisk/api/rest_api.hpp"

#include <fmt/format.h>
#include <string_view>
#include <vector>

#include "query.hpp"
#include "whisk/log.hpp"

namespace whisk::api {

namespace {

constexpr const char* not_found_message = "The requested resource does not exist.";

} // namespace

expected<std::int64_t> number(const std::map<std::string, std::string>& q, const char* key, std::int64_t fallback,
                              std::int64_t lo, std::int64_t hi) {
  auto i = q.find(key);
  if (i == q.end() || i->second.empty())
    return fallback;
  char* end = nullptr;
  long long v = std::strtoll(i->second.c_str(), &end, 10);
  if (*end != '\0' || v < lo || v > hi)
    return make_error(errc::bad_request, fmt::format("The query parameter '{}' must be a number between {} and {}.", key, lo, hi));
  return static_cast<std::int64_t>(v);
}




rest_api::rest_api(store& s, rest_config cfg)
    : store_(s), cfg_(std::move(cfg)), auth_(s, cfg_.keys, cfg_.auth_recheck_ms) {}

http::response rest_api::error(int status, std::string message) {
  json::value body = json::object{{"error", std::move(message)}, {"code", random_hex(32)}};
  return json_response(status, body);
}

http::response rest_api::json_response(int status, const json::value& body) {
  http::response r;
  r.status = status;
  r.body = json::dump(body);
  return r;
}

http::response rest_api::accepted(const std::string& activation_id) {
  auto r = json_response(202, json::object{{"activationId", activation_id}});
  r.headers.emplace_back("x-openwhisk-activation-id", activation_id);
  return r;
}

http::response rest_api::invoke_response(const activation& a, bool result_only) {
  int status = 200;
  if (a.status == activation_status::application_error || a.status == activation_status::developer_error)
    status = 502;
  else if (a.status == activation_status::whisk_error)
    status = 500;
  auto r = json_response(status, result_only ? a.result : to_json(a));
  r.headers.emplace_back("x-openwhisk-activation-id", a.activation_id);
  return r;
}

http::response rest_api::answer_of(const invocation& inv, const activation& a) {
  return inv.shape ? inv.shape(a) : invoke_response(a, inv.result_only);
}

std::shared_ptr<const action> rest_api::find_action(const std::string& ns, const std::string& name) {
  // another controller on the same store (or whisk-admin) may have changed an action since
  if (auto v = store_.entities_version(); v != entities_version_) {
    action_cache_.clear();
    entity_cache_.clear();
    entities_version_ = v;
  }
  auto key = ns + "/" + name;
  auto i = action_cache_.find(key);
  if (i != action_cache_.end())
    return i->second;
  need_store();
  auto a = store_.get_action(ns, name);
  if (!a && !store_.read_failure().empty())
    return nullptr; // not known absent: the store cannot be read now (the caller answers 503)
  if (action_cache_.size() > 10000)
    action_cache_.clear();
  std::shared_ptr<const action> shared = a ? std::make_shared<const action>(std::move(*a)) : nullptr;
  action_cache_.emplace(key, shared);
  return shared;
}

http::response rest_api::store_unavailable() const {
  return error(503, "The store is not available right now: " + store_.read_failure());
}

http::response rest_api::missing() const {
  return store_.read_failure().empty() ? error(404, not_found_message) : store_unavailable();
}

bool rest_api::handle_cached(const http::request& req, const http::responder& respond, const invoke_hook& invoke) {
  cached_only_ = true;
  struct cached_scope {
    bool& on;
    ~cached_scope() { on = false; }
  } scope{cached_only_};
  try {
    handle(req, respond, invoke);
    return true;
  } catch (const store_needed&) {
    return false;
  }
}

void rest_api::handle(const http::request& req, const http::responder& respond, const invoke_hook& invoke) {
  auto target = parse_target(req.target);
  if (!target) {
    respond(error(400, "The request URL is malformed."));
    return;
  }
  route r;
  r.method = req.method;
  r.query = std::move(target->query);
  auto& parts = target->segments;

  if (parts.size() == 1 && parts[0] == "ping" && req.method == "GET") {
    respond(json_response(200, json::object{{"status", "ok"}}));
    return;
  }
  if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1") {
    respond(error(404, not_found_message));
    return;
  }
  if (parts.size() >= 3 && parts[2] == "web") { // no key needed, unless the action asks for one
    web(req, parts, target->raw_query, invoke, respond);
    return;
  }
  if (parts.size() == 2) {
    json::array kinds;
    for (auto& k : known_kinds())
      kinds.emplace_back(k);
    respond(json_response(200, json::object{{"api_paths", json::array{"/api/v1"}},
                                            {"description", "whisk: a serverless function platform"},
                                            {"api_version", "1.0.0"},
                                            {"runtimes", std::move(kinds)}}));
    return;
  }
  bool unavailable = false, needs_store = false;
  auto caller = cached_only_ ? auth_.authenticate_cached(req.authorization, needs_store)
                             : auth_.authenticate(req.authorization, &unavailable);
  if (needs_store)
    need_store();
  if (!caller) {
    respond(unavailable ? store_unavailable() : error(401, "The supplied authentication is invalid."));
    return;
  }
  if (parts[2] != "namespaces") {
    respond(error(404, not_found_message));
    return;
  }
  if (parts.size() == 3) {
    if (req.method != "GET") {
      respond(error(405, "The method is not allowed for this resource."));
      return;
    }
    respond(json_response(200, json::array{caller->name}));
    return;
  }
  std::string ns = parts[3] == "_" ? caller->name : parts[3];
  r.parts.assign(parts.begin() + 4, parts.end());
  r.ns = ns;
  r.foreign = ns != caller->name;
  r.trailing_slash = target->trailing_slash;
  // another namespace: only what its published packages offer (read a package, read or run its actions)
  bool published_path = !r.parts.empty() && ((r.parts[0] == "packages" && r.parts.size() == 2 && req.method == "GET") ||
                                              (r.parts[0] == "actions" && r.parts.size() == 3 &&
                                               (req.method == "GET" || req.method == "POST")));
  if (r.foreign && !published_path) {
    respond(error(403, fmt::format("The supplied authentication is not authorized to access '{}'.", ns)));
    return;
  }
  if (r.parts.empty()) {
    respond(error(404, not_found_message));
    return;
  }
  if (cached_only_ && !(r.parts[0] == "actions" && req.method == "POST"))
    need_store(); // only invokes are answered from the caches
  if (r.parts[0] == "actions") {
    bool answered = false;
    auto res = actions(r, req, *caller, respond, invoke, answered);
    if (!answered)
      respond(std::move(res));
    return;
  }
  if (r.parts[0] == "activations") {
    respond(activations(r, *caller));
    return;
  }
  if (r.parts[0] == "packages") {
    respond(packages(r, req, *caller));
    return;
  }
  if (r.parts[0] == "triggers") {
    bool answered = false;
    auto res = triggers(r, req, *caller, respond, invoke, answered);
    if (!answered)
      respond(std::move(res));
    return;
  }
  if (r.parts[0] == "rules") {
    respond(rules(r, req, *caller));
    return;
  }
  if (r.parts[0] == "limits" && r.parts.size() == 1) {
    if (req.method != "GET") {
      respond(error(405, "The method is not allowed for this resource."));
      return;
    }
    respond(json_response(200, to_json(limits_of(store_, r.ns, cfg_.default_limits))));
    return;
  }
  respond(error(404, not_found_message));
}

http::response rest_api::actions(const route& r, const http::request& req, const caller_info& caller,
                                 const http::responder& respond, const invoke_hook& invoke, bool& answered) {
  if (r.parts.size() == 1 || (r.parts.size() == 2 && r.trailing_slash)) { // the namespace's or a package's actions
    if (r.method != "GET")
      return error(405, "The method is not allowed for this resource.");
    auto limit = number(r.query, "limit", 30, 0, 200);
    auto skip = number(r.query, "skip", 0, 0, INT64_MAX);
    if (!limit) return error(400, limit.err().message);
    if (!skip) return error(400, skip.err().message);
    std::string ns = r.ns;
    if (r.parts.size() == 2) {
      auto pkg = find_entity("packages", r.ns, r.parts[1]);
      if (!pkg)
        return missing();
      ns = r.ns + "/" + r.parts[1];
    }
    json::array out;
    for (auto& a : store_.list_actions(ns, *limit == 0 ? 30 : *limit, *skip))
      out.push_back(to_json(a, false));
    if (out.empty() && !store_.read_failure().empty())
      return store_unavailable();
    return json_response(200, out);
  }
  if (r.parts.size() > 3)
    return error(404, not_found_message);
  const std::string& name = r.parts.back();
  std::string pkg = r.parts.size() == 3 ? r.parts[1] : "";
  if (!is_valid_entity_name(name) || (!pkg.empty() && !is_valid_entity_name(pkg)))
    return error(400, fmt::format("The action name '{}' is not valid.", pkg.empty() ? name : pkg + "/" + name));
  std::string ns = pkg.empty() ? r.ns : r.ns + "/" + pkg; // where the action is kept

  if (r.method == "GET" || r.method == "POST") {
    auto resolved = resolve(caller.name, r.ns, pkg, name);
    if (!resolved)
      return resolved.err().code == errc::not_found ? missing() : error(http_status(resolved.err().code), resolved.err().message);
    auto& ra = *resolved;
    if (r.method == "GET") {
      auto doc = to_json(*ra->act, r.query.count("code") == 0 || r.query.at("code") != "false");
      if (!pkg.empty()) // the parameters it runs with: the package's (and binding's) under its own
        doc.set("parameters", [&] {
          json::array kv;
          for (auto& [k, v] : ra->params.as_object())
            kv.push_back(json::object{{"key", k}, {"value", v}});
          return json::value{std::move(kv)};
        }());
      return json_response(200, doc);
    }
    json::value params = json::object{};
    if (!req.body.empty()) {
      auto body = json::parse(req.body);
      if (!body)
        return error(400, "The request content was malformed:\n" + body.err().message);
      if (!body->is_object())
        return error(400, "The request content was malformed:\nthe parameters must be a JSON object");
      params = std::move(*body);
    }
    auto wait = number(r.query, "timeout", cfg_.max_blocking_wait_ms, 0, cfg_.max_blocking_wait_ms);
    if (!wait)
      return error(400, wait.err().message);
    if (auto t = throttled(caller.name, false))
      return *t;
    auto inv = make_invocation(std::move(ra), params, caller);
    inv.blocking = flag(r.query, "blocking");
    inv.result_only = flag(r.query, "result");
    inv.wait_ms = *wait;
    answered = true;
    invoke(std::move(inv), respond);
    return {};
  }
  if (!pkg.empty()) { // writes in a package: it must be the caller's own, and not a binding
    auto p = find_entity("packages", r.ns, pkg);
    if (!p)
      return missing();
    if (auto* b = p->find("binding"); b && b->is_object() && !b->as_object().empty())
      return error(400, "Cannot create or delete an action in a package binding.");
  }
  if (r.method == "DELETE") {
    auto a = find_action(ns, name);
    if (!a)
      return missing();
    auto deleted = store_.delete_action(ns, name);
    if (!deleted)
      return error(http_status(deleted.err().code), deleted.err().message);
    if (!*deleted)
      return error(404, not_found_message);
    action_cache_.erase(ns + "/" + name);
    return json_response(200, to_json(*a));
  }
  if (r.method == "PUT") {
    auto body = json::parse(req.body);
    if (!body)
      return error(400, "The request content was malformed:\n" + body.err().message);
    auto existing = store_.get_action(ns, name);
    if (existing && !flag(r.query, "overwrite"))
      return error(409, "resource already exists");
    auto a = existing ? action_update(*existing, *body) : action_from_json(*body, ns, name);
    if (!a)
      return error(http_status(a.err().code), a.err().message);
    if (a->exec.kind == "js:isolate" && !cfg_.allow_unsafe_isolates && isolate_options_of(a->annotations)->mode == "unsafe")
      return error(400, "The annotation 'isolate-mode' is \"unsafe\", which this node does not allow "
                        "(start whisk-node with --isolate-unsafe to measure it).");
    if (a->exec.kind == "sequence") {
      for (auto& c : a->exec.components) // "_" is the caller's namespace
        if (c.rfind("/_/", 0) == 0)
          c = "/" + caller.name + c.substr(2);
      for (auto& c : a->exec.components) {
        if (c == "/" + a->fully_qualified().substr(1))
          return error(400, "Sequence may not refer to itself.");
        auto comp = resolve_path(caller.name, c);
        if (!comp)
          return comp.err().code == errc::not_found
                     ? error(400, fmt::format("Sequence component does not exist: {}", c))
                     : error(http_status(comp.err().code), comp.err().message);
      }
    }
    if (auto ok = store_.put_action(*a); !ok)
      return error(http_status(ok.err().code), ok.err().message);
    action_cache_[ns + "/" + name] = std::make_shared<const action>(*a);
    log_info("action {} {} (version {}, kind {})", a->fully_qualified(), existing ? "updated" : "created", a->version, a->exec.kind);
    return json_response(200, to_json(*a));
  }
  return error(405, "The method is not allowed for this resource.");
}

http::response rest_api::activations(const route& r, const caller_info& caller) {
  if (r.method != "GET")
    return error(405, "The method is not allowed for this resource.");
  if (r.parts.size() == 1) {
    activation_query q;
    q.ns = caller.name;
    if (auto i = r.query.find("name"); i != r.query.end()) { // "action", "pkg/action", "[/]ns/[pkg/]action"
      std::vector<std::string> parts;
      for (std::size_t b = 0, e; b <= i->second.size(); b = e + 1) {
        e = std::min(i->second.find('/', b), i->second.size());
        if (e > b)
          parts.push_back(i->second.substr(b, e - b));
      }
      if (parts.size() == 3 || (parts.size() == 2 && (i->second[0] == '/' || parts[0] == caller.name)))
        parts.erase(parts.begin()); // the namespace: the caller's anyway
      for (auto& p : parts)
        q.name += (q.name.empty() ? "" : "/") + p;
    }
    auto limit = number(r.query, "limit", 30, 0, 200);
    auto skip = number(r.query, "skip", 0, 0, INT64_MAX);
    auto since = number(r.query, "since", 0, 0, INT64_MAX);
    auto upto = number(r.query, "upto", 0, 0, INT64_MAX);
    for (auto* n : {&limit, &skip, &since, &upto})
      if (!*n)
        return error(400, n->err().message);
    q.limit = *limit == 0 ? 30 : *limit;
    q.skip = *skip;
    q.since = *since;
    q.upto = *upto;
    if (flag(r.query, "count")) {
      auto n = store_.count_activations(q);
      if (n == 0 && !store_.read_failure().empty())
        return store_unavailable();
      return json_response(200, json::object{{"activations", n}});
    }
    bool docs = flag(r.query, "docs");
    json::array out;
    for (auto& a : store_.list_activations(q))
      out.push_back(to_json(a, docs, docs));
    if (out.empty() && !store_.read_failure().empty())
      return store_unavailable();
    return json_response(200, out);
  }
  const std::string& id = r.parts[1];
  auto a = is_activation_id(id) ? store_.get_activation(caller.name, id) : std::nullopt;
  if (!a)
    return missing();
  if (r.parts.size() == 2)
    return json_response(200, to_json(*a));
  if (r.parts.size() == 3 && r.parts[2] == "logs") {
    json::array logs;
    for (auto& l : a->logs)
      logs.emplace_back(l);
    return json_response(200, json::object{{"logs", std::move(logs)}});
  }
  if (r.parts.size() == 3 && r.parts[2] == "result")
    return json_response(200, response_json(*a));
  return error(404, not_found_message);
}

} // namespace whisk::api
