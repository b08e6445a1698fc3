// Packages, triggers and rules, and how an action name becomes a run: package and binding
// parameters, sequences resolved into their components, trigger fires through rules.
#include <array>
#include <fmt/format.h>

#include "query.hpp"
#include "whisk/api/rest_api.hpp"
#include "whisk/log.hpp"

namespace whisk::api {

namespace {

constexpr const char* not_found_message = "The requested resource does not exist.";

// Sequences resolve at most this many entries in all (nested sequences included): a cycle
// of sequences that name each other ends here instead of expanding forever.
constexpr std::size_t max_sequence_nodes = 4 * max_sequence_length;

bool has_binding(const json::value& pkg) {
  auto* b = pkg.find("binding");
  return b && b->is_object() && !b->as_object().empty();
}

// [{"key","value"}] merged over `into` (later keys win)
void merge_key_values(json::value& into, const json::value* kv) {
  if (!kv || !kv->is_array())
    return;
  for (auto& e : kv->as_array())
    if (auto* v = e.find("value"))
      into.set(json::get_string(e, "key"), *v);
}

expected<json::value> key_values(const json::value& body, const char* field, const json::value* fallback) {
  auto* v = body.find(field);
  if ((!v || v->is_null()) && fallback)
    return *fallback;
  return parse_key_values(v, field);
}

// The common fields of a package or trigger document from a PUT body, over `old` (an update).
expected<json::value> entity_doc(const json::value& body, const std::string& ns, const std::string& name,
                                 const std::optional<json::value>& old) {
  if (!body.is_object())
    return make_error(errc::bad_request, "The request content was malformed:\nthe entity must be a JSON object");
  auto params = key_values(body, "parameters", old ? old->find("parameters") : nullptr);
  if (!params) return params.err();
  auto annotations = key_values(body, "annotations", old ? old->find("annotations") : nullptr);
  if (!annotations) return annotations.err();
  auto* publish = body.find("publish");
  if (publish && !publish->is_bool() && !publish->is_null())
    return make_error(errc::bad_request, "publish must be true or false");
  bool pub = publish && publish->is_bool() ? publish->as_bool() : (old && json::get_bool(*old, "publish", false));
  auto updated = now_ms();
  if (old)
    updated = std::max(updated, json::get_int(*old, "updated", 0) + 1);
  return json::value{json::object{{"namespace", ns},
                                  {"name", name},
                                  {"version", old ? bump_version(json::get_string(*old, "version", "0.0.1")) : "0.0.1"},
                                  {"publish", pub},
                                  {"parameters", std::move(*params)},
                                  {"annotations", std::move(*annotations)},
                                  {"updated", updated}}};
}

// "/ns/a", "/ns/pkg/a", "pkg/a" or "a" (relative to `ns`) -> {namespace, package, name}
std::optional<std::array<std::string, 3>> split_qualified(const std::string& s, const std::string& ns) {
  std::vector<std::string> parts;
  std::size_t i = s.empty() || s[0] != '/' ? 0 : 1;
  while (i <= s.size()) {
    auto j = s.find('/', i);
    if (j == std::string::npos)
      j = s.size();
    parts.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  bool absolute = !s.empty() && s[0] == '/';
  if (!absolute)
    parts.insert(parts.begin(), ns);
  if (parts.size() != 2 && parts.size() != 3)
    return std::nullopt;
  if (parts[0] == "_")
    parts[0] = ns;
  for (auto& p : parts)
    if (!is_valid_entity_name(p))
      return std::nullopt;
  if (parts.size() == 2)
    return std::array<std::string, 3>{parts[0], "", parts[1]};
  return std::array<std::string, 3>{parts[0], parts[1], parts[2]};
}

http::response method_not_allowed() { return rest_api::error(405, "The method is not allowed for this resource."); }

} // namespace

std::optional<json::value> rest_api::find_entity(const std::string& collection, const std::string& ns, const std::string& name) {
  if (auto v = store_.entities_version(); v != entities_version_) {
    action_cache_.clear();
    entity_cache_.clear();
    entities_version_ = v;
  }
  auto key = collection + "/" + ns + "/" + name;
  if (auto i = entity_cache_.find(key); i != entity_cache_.end())
    return i->second;
  need_store();
  auto doc = store_.get_entity(collection, ns, name);
  if (!doc && !store_.read_failure().empty())
    return std::nullopt; // not known absent
  if (entity_cache_.size() > 10000)
    entity_cache_.clear();
  entity_cache_.emplace(key, doc);
  return doc;
}

expected<std::shared_ptr<const resolved_action>> rest_api::resolve_path(const std::string& caller, const std::string& qualified,
                                                                        bool expand) {
  auto p = split_qualified(qualified, caller);
  if (!p)
    return make_error(errc::bad_request, fmt::format("The action name '{}' is not valid.", qualified));
  return resolve(caller, (*p)[0], (*p)[1], (*p)[2], expand);
}

expected<std::shared_ptr<const resolved_action>> rest_api::resolve(const std::string& caller, const std::string& ns,
                                                                   const std::string& pkg, const std::string& name,
                                                                   bool expand) {
  auto out = std::make_shared<resolved_action>();
  std::string where = ns;
  if (!pkg.empty()) {
    auto p = find_entity("packages", ns, pkg);
    if (!p)
      return make_error(errc::not_found, not_found_message);
    if (ns != caller && !json::get_bool(*p, "publish", false))
      return make_error(errc::forbidden, fmt::format("The supplied authentication is not authorized to access '{}/{}'.", ns, pkg));
    if (has_binding(*p)) {
      auto& b = *p->find("binding");
      auto bns = json::get_string(b, "namespace");
      auto bname = json::get_string(b, "name");
      auto bound = find_entity("packages", bns, bname);
      if (!bound)
        return make_error(errc::not_found, fmt::format("The package binding '{}' refers to a package that does not exist: /{}/{}.",
                                                       pkg, bns, bname));
      if (bns != ns && !json::get_bool(*bound, "publish", false))
        return make_error(errc::forbidden, fmt::format("The bound package /{}/{} is not published.", bns, bname));
      merge_key_values(out->params, bound->find("parameters")); // package < binding
      merge_key_values(out->params, p->find("parameters"));
      where = bns + "/" + bname;
    } else {
      merge_key_values(out->params, p->find("parameters"));
      where = ns + "/" + pkg;
    }
  } else if (ns != caller) {
    return make_error(errc::forbidden, fmt::format("The supplied authentication is not authorized to access '{}'.", ns));
  }
  out->act = find_action(where, name);
  if (!out->act)
    return make_error(!store_.read_failure().empty() ? errc::unavailable : errc::not_found,
                      !store_.read_failure().empty() ? "The store is not available right now: " + store_.read_failure()
                                                     : std::string(not_found_message));
  merge_key_values(out->params, &out->act->parameters); // < action
  if (!expand || out->act->exec.kind != "sequence")
    return std::shared_ptr<const resolved_action>(std::move(out));
  // A sequence's components, breadth first with a work list (no recursion on how deep
  // sequences nest); the nodes are finished before anyone else sees them.
  std::vector<resolved_action*> work{out.get()};
  std::size_t nodes = 1, actions = 0;
  for (std::size_t w = 0; w < work.size(); ++w) {
    for (auto& c : work[w]->act->exec.components) {
      if (++nodes > max_sequence_nodes)
        return make_error(errc::bad_request, "Too many actions in the sequence.");
      auto comp = resolve_path(caller, c, false);
      if (!comp)
        return comp.err().code == errc::not_found
                   ? make_error(errc::bad_request, fmt::format("Sequence component does not exist: {}", c))
                   : comp.err();
      auto node = std::make_shared<resolved_action>(**comp);
      work[w]->components.push_back(node);
      if (node->act->exec.kind == "sequence")
        work.push_back(node.get());
      else if (++actions > max_sequence_length)
        return make_error(errc::bad_request, "Too many actions in the sequence.");
    }
  }
  return std::shared_ptr<const resolved_action>(std::move(out));
}

invocation rest_api::make_invocation(std::shared_ptr<const resolved_action> r, const json::value& body_params,
                                     const caller_info& caller) {
  invocation inv;
  json::value params = r->params;
  if (body_params.is_object())
    for (auto& [k, v] : body_params.as_object())
      params.set(k, v);
  inv.act = r->act; // shared with the cache: the code is not copied per invoke
  if (r->act->exec.kind == "sequence")
    inv.sequence = std::move(r);
  inv.params_json = json::dump(params);
  inv.subject = caller.name;
  if (annotation_true(inv.act->annotations, "provide-api-key"))
    inv.api_key = caller.uuid + ":" + caller.key;
  inv.activation_id = new_activation_id();
  inv.received_ms = now_ms();
  inv.concurrent_limit = merged_limits(find_entity("limits", caller.name, "limits"), cfg_.default_limits).concurrent_invocations;
  return inv;
}

http::response rest_api::listing(const char* collection, const route& r) {
  auto limit = number(r.query, "limit", 30, 0, 200);
  auto skip = number(r.query, "skip", 0, 0, INT64_MAX);
  if (!limit) return error(400, limit.err().message);
  if (!skip) return error(400, skip.err().message);
  json::array out;
  for (auto& d : store_.list_entities(collection, r.ns, *limit == 0 ? 30 : *limit, *skip))
    out.push_back(std::move(d));
  if (out.empty() && !store_.read_failure().empty())
    return store_unavailable();
  return json_response(200, out);
}

http::response rest_api::packages(const route& r, const http::request& req, const caller_info& caller) {
  if (r.parts.size() == 1)
    return r.method == "GET" ? listing("packages", r) : method_not_allowed();
  if (r.parts.size() != 2)
    return error(404, not_found_message);
  const auto& name = r.parts[1];
  if (!is_valid_entity_name(name))
    return error(400, fmt::format("The package name '{}' is not valid.", name));
  if (r.method == "GET") {
    auto doc = find_entity("packages", r.ns, name);
    if (!doc)
      return missing();
    if (r.foreign && !json::get_bool(*doc, "publish", false))
      return error(403, fmt::format("The supplied authentication is not authorized to access '{}/{}'.", r.ns, name));
    if (!has_binding(*doc)) {
      json::array actions;
      for (auto& a : store_.list_actions(r.ns + "/" + name, 200, 0))
        actions.push_back(json::object{{"name", a.name}, {"version", a.version}, {"annotations", a.annotations}});
      doc->set("actions", std::move(actions));
    }
    return json_response(200, *doc);
  }
  if (r.method == "DELETE") {
    auto doc = find_entity("packages", r.ns, name);
    if (!doc)
      return missing();
    if (auto inside = store_.list_actions(r.ns + "/" + name, 200, 0); !inside.empty())
      return error(409, fmt::format("Package not empty (contains {}{} entities)", inside.size(), inside.size() == 200 ? "+" : ""));
    auto deleted = store_.delete_entity("packages", r.ns, name);
    if (!deleted)
      return error(http_status(deleted.err().code), deleted.err().message);
    if (!*deleted)
      return error(404, not_found_message);
    entity_cache_.erase("packages/" + r.ns + "/" + name);
    return json_response(200, *doc);
  }
  if (r.method != "PUT")
    return method_not_allowed();
  auto body = json::parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  if (!body)
    return error(400, "The request content was malformed:\n" + body.err().message);
  auto old = store_.get_entity("packages", r.ns, name);
  if (old && !flag(r.query, "overwrite"))
    return error(409, "resource already exists");
  auto doc = entity_doc(*body, r.ns, name, old);
  if (!doc)
    return error(http_status(doc.err().code), doc.err().message);
  json::value binding = old && old->find("binding") ? *old->find("binding") : json::value{json::object{}};
  if (auto* b = body->find("binding"); b && !b->is_null()) {
    if (!b->is_object())
      return error(400, "binding must be an object with namespace and name");
    if (!b->as_object().empty()) {
      auto bns = json::get_string(*b, "namespace", caller.name);
      if (bns == "_" || bns.empty())
        bns = caller.name;
      auto bname = json::get_string(*b, "name");
      if (!is_valid_entity_name(bns) || !is_valid_entity_name(bname))
        return error(400, "binding must name a package: {\"namespace\": ..., \"name\": ...}");
      auto target = store_.get_entity("packages", bns, bname);
      if (!target)
        return error(400, fmt::format("The binding refers to a package that does not exist: /{}/{}.", bns, bname));
      if (has_binding(*target))
        return error(400, "A binding cannot refer to another binding.");
      if (bns != caller.name && !json::get_bool(*target, "publish", false))
        return error(403, fmt::format("The package /{}/{} is not published.", bns, bname));
      binding = json::object{{"namespace", bns}, {"name", bname}};
    } else {
      binding = json::object{};
    }
  }
  if (old && has_binding(*old) != (binding.is_object() && !binding.as_object().empty()))
    return error(400, "A package cannot become a binding, nor a binding a package.");
  if (!binding.as_object().empty() && !store_.list_actions(r.ns + "/" + name, 1, 0).empty())
    return error(400, "A package that holds actions cannot become a binding.");
  doc->set("binding", std::move(binding));
  if (auto ok = store_.put_entity("packages", r.ns, name, json::get_int(*doc, "updated", 0), *doc); !ok)
    return error(http_status(ok.err().code), ok.err().message);
  entity_cache_["packages/" + r.ns + "/" + name] = *doc;
  log_info("package /{}/{} {}", r.ns, name, old ? "updated" : "created");
  return json_response(200, *doc);
}

http::response rest_api::rules(const route& r, const http::request& req, const caller_info& caller) {
  if (r.parts.size() == 1)
    return r.method == "GET" ? listing("rules", r) : method_not_allowed();
  if (r.parts.size() != 2)
    return error(404, not_found_message);
  const auto& name = r.parts[1];
  if (!is_valid_entity_name(name))
    return error(400, fmt::format("The rule name '{}' is not valid.", name));
  auto doc = store_.get_entity("rules", r.ns, name);
  if (r.method == "GET")
    return doc ? json_response(200, *doc) : missing();
  if (r.method == "DELETE") {
    if (!doc)
      return missing();
    auto deleted = store_.delete_entity("rules", r.ns, name);
    if (!deleted)
      return error(http_status(deleted.err().code), deleted.err().message);
    return *deleted ? json_response(200, *doc) : error(404, not_found_message);
  }
  auto body = json::parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  if (!body)
    return error(400, "The request content was malformed:\n" + body.err().message);
  if (!body->is_object())
    return error(400, "The request content was malformed:\nthe rule must be a JSON object");
  if (r.method == "POST") { // enable or disable
    if (!doc)
      return missing();
    auto status = json::get_string(*body, "status");
    if (status != "active" && status != "inactive")
      return error(400, "status must be 'active' or 'inactive'");
    doc->set("status", status);
    auto updated = std::max(now_ms(), json::get_int(*doc, "updated", 0) + 1);
    doc->set("updated", updated);
    if (auto ok = store_.put_entity("rules", r.ns, name, updated, *doc); !ok)
      return error(http_status(ok.err().code), ok.err().message);
    log_info("rule /{}/{} is {}", r.ns, name, status);
    return json_response(200, json::object{});
  }
  if (r.method != "PUT")
    return method_not_allowed();
  if (doc && !flag(r.query, "overwrite"))
    return error(409, "resource already exists");
  auto trigger_name = json::get_string(*body, "trigger", doc ? json::get_string(*doc->find("trigger"), "path") + "/" +
                                                                  json::get_string(*doc->find("trigger"), "name")
                                                             : "");
  auto action_name = json::get_string(*body, "action", doc ? "/" + json::get_string(*doc->find("action"), "path") + "/" +
                                                                json::get_string(*doc->find("action"), "name")
                                                           : "");
  if (!trigger_name.empty() && trigger_name[0] != '/' && trigger_name.find('/') != std::string::npos)
    trigger_name = "/" + trigger_name; // "ns/t" kept from the stored rule
  auto t = split_qualified(trigger_name, caller.name);
  if (!t || !(*t)[1].empty())
    return error(400, "trigger must name a trigger: \"t\" or \"/namespace/t\"");
  if ((*t)[0] != caller.name)
    return error(403, "A rule may only name a trigger of its own namespace.");
  if (!find_entity("triggers", (*t)[0], (*t)[2]))
    return error(404, fmt::format("The trigger /{}/{} does not exist.", (*t)[0], (*t)[2]));
  auto a = split_qualified(action_name, caller.name);
  if (!a)
    return error(400, "action must name an action: \"a\", \"pkg/a\" or \"/namespace/[pkg/]a\"");
  if (auto resolved = resolve(caller.name, (*a)[0], (*a)[1], (*a)[2], false); !resolved)
    return resolved.err().code == errc::not_found
               ? error(404, fmt::format("The action {} does not exist.", action_name))
               : error(http_status(resolved.err().code), resolved.err().message);
  auto updated = doc ? std::max(now_ms(), json::get_int(*doc, "updated", 0) + 1) : now_ms();
  std::string action_path = (*a)[1].empty() ? (*a)[0] : (*a)[0] + "/" + (*a)[1];
  json::value rule = json::object{
      {"namespace", r.ns},
      {"name", name},
      {"version", doc ? bump_version(json::get_string(*doc, "version", "0.0.1")) : "0.0.1"},
      {"publish", false},
      {"status", doc ? json::get_string(*doc, "status", "active") : "active"},
      {"trigger", json::object{{"path", (*t)[0]}, {"name", (*t)[2]}}},
      {"action", json::object{{"path", action_path}, {"name", (*a)[2]}}},
      {"annotations", doc && doc->find("annotations") ? *doc->find("annotations") : json::value{json::array{}}},
      {"updated", updated}};
  if (auto an = key_values(*body, "annotations", rule.find("annotations")); !an)
    return error(400, an.err().message);
  else
    rule.set("annotations", std::move(*an));
  if (auto ok = store_.put_entity("rules", r.ns, name, updated, rule); !ok)
    return error(http_status(ok.err().code), ok.err().message);
  log_info("rule /{}/{} {}: /{}/{} -> /{}/{}", r.ns, name, doc ? "updated" : "created", (*t)[0], (*t)[2], action_path, (*a)[2]);
  return json_response(200, rule);
}

http::response rest_api::triggers(const route& r, const http::request& req, const caller_info& caller,
                                  const http::responder& respond, const invoke_hook& invoke, bool& answered) {
  if (r.parts.size() == 1)
    return r.method == "GET" ? listing("triggers", r) : method_not_allowed();
  if (r.parts.size() != 2)
    return error(404, not_found_message);
  const auto& name = r.parts[1];
  if (!is_valid_entity_name(name))
    return error(400, fmt::format("The trigger name '{}' is not valid.", name));
  // the rules of this trigger, as its document shows them and as a fire follows them
  auto rules_of = [&] {
    std::vector<json::value> out;
    for (auto& rule : store_.list_entities("rules", r.ns, 100000, 0))
      if (auto* t = rule.find("trigger"); t && json::get_string(*t, "path") == r.ns && json::get_string(*t, "name") == name)
        out.push_back(std::move(rule));
    return out;
  };
  if (r.method == "GET" || r.method == "DELETE") {
    auto doc = find_entity("triggers", r.ns, name);
    if (!doc)
      return missing();
    json::value rules = json::object{};
    for (auto& rule : rules_of())
      rules.set(r.ns + "/" + json::get_string(rule, "name"),
                json::object{{"action", *rule.find("action")}, {"status", json::get_string(rule, "status")}});
    doc->set("rules", std::move(rules));
    if (r.method == "DELETE") {
      auto deleted = store_.delete_entity("triggers", r.ns, name);
      if (!deleted)
        return error(http_status(deleted.err().code), deleted.err().message);
      if (!*deleted)
        return error(404, not_found_message);
      entity_cache_.erase("triggers/" + r.ns + "/" + name);
    }
    return json_response(200, *doc);
  }
  auto body = json::parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  if (!body)
    return error(400, "The request content was malformed:\n" + body.err().message);
  if (!body->is_object())
    return error(400, "The request content was malformed:\nthe parameters must be a JSON object");
  if (r.method == "PUT") {
    auto old = store_.get_entity("triggers", r.ns, name);
    if (old && !flag(r.query, "overwrite"))
      return error(409, "resource already exists");
    auto doc = entity_doc(*body, r.ns, name, old);
    if (!doc)
      return error(http_status(doc.err().code), doc.err().message);
    doc->set("limits", json::object{});
    if (auto ok = store_.put_entity("triggers", r.ns, name, json::get_int(*doc, "updated", 0), *doc); !ok)
      return error(http_status(ok.err().code), ok.err().message);
    entity_cache_["triggers/" + r.ns + "/" + name] = *doc;
    log_info("trigger /{}/{} {}", r.ns, name, old ? "updated" : "created");
    return json_response(200, *doc);
  }
  if (r.method != "POST")
    return method_not_allowed();
  // a fire: each active rule's action runs with the trigger's parameters and the fire's
  auto trigger = find_entity("triggers", r.ns, name);
  if (!trigger)
    return missing();
  json::value payload = json::object{};
  merge_key_values(payload, trigger->find("parameters"));
  for (auto& [k, v] : body->as_object())
    payload.set(k, v);
  std::vector<json::value> active;
  for (auto& rule : rules_of())
    if (json::get_string(rule, "status") == "active")
      active.push_back(std::move(rule));
  if (active.empty())
    return http::response{204, "", "application/json", {}}; // nothing to run: no activation
  if (auto t = throttled(caller.name, true))
    return *t;
  activation fire;
  fire.ns = caller.name;
  fire.name = name;
  fire.version = json::get_string(*trigger, "version", "0.0.1");
  fire.subject = caller.name;
  fire.activation_id = new_activation_id();
  fire.start_ms = fire.end_ms = now_ms();
  fire.result = payload;
  fire.kind = "trigger";
  for (auto& rule : active) {
    auto& a = *rule.find("action");
    auto qualified = "/" + json::get_string(a, "path") + "/" + json::get_string(a, "name");
    json::value outcome = json::object{{"statusCode", 0},
                                       {"success", true},
                                       {"rule", r.ns + "/" + json::get_string(rule, "name")},
                                       {"action", qualified.substr(1)}};
    auto resolved = resolve_path(caller.name, qualified);
    if (!resolved) {
      outcome.set("statusCode", http_status(resolved.err().code));
      outcome.set("success", false);
      outcome.set("error", resolved.err().message);
    } else {
      auto inv = make_invocation(std::move(*resolved), payload, caller);
      inv.cause = fire.activation_id;
      outcome.set("activationId", inv.activation_id);
      invoke(std::move(inv), [](http::response) {}); // its record says how it ended
    }
    fire.logs.push_back(json::dump(outcome));
  }
  answered = true;
  auto aid = fire.activation_id;
  log_debug("trigger /{}/{} fired {} rule(s): activation {}", r.ns, name, active.size(), aid);
  store_.add_activation(std::move(fire), [respond, aid] { respond(accepted(aid)); });
  return {};
}

} // namespace whisk::api
