// whisk package|trigger|rule verbs: the entities OpenWhisk builds applications from
#include <fmt/format.h>
#include <ostream>

#include "cli.hpp"

namespace whisk::cli {

namespace {

const flag param_flag{"param", 'p', 2, "KEY VALUE", "a parameter (VALUE as JSON when it parses, else a string)"};
const flag param_file_flag{"param-file", 'P', 1, "FILE", "parameters from a JSON object in FILE"};
const flag annotation_flag{"annotation", 'a', 2, "KEY VALUE", "an annotation (VALUE as JSON when it parses)"};
const flag annotation_file_flag{"annotation-file", 'A', 1, "FILE", "annotations from a JSON object in FILE"};
const flag limit_flag{"limit", 'l', 1, "N", "at most N (default 30)"};
const flag skip_flag{"skip", 's', 1, "N", "skip the first N"};

// NAME (or PKG/NAME for actions only) of the first argument; false with a usage error.
bool name_arg(context& ctx, const std::string& text, const char* what, entity_name& into, int& rc) {
  into = parse_entity_name(text);
  if (!into.valid || !into.package.empty()) {
    rc = ctx.usage_error(fmt::format("'{}' is not a valid {} name", text, what));
    return false;
  }
  return true;
}

// parameters and annotations of -p/-P/-a/-A into body (only those given)
bool params_and_annotations(context& ctx, const parsed_args& a, json::value& body) {
  json::array params, annotations;
  if (!key_values(ctx, a, "param", "param-file", params) || !key_values(ctx, a, "annotation", "annotation-file", annotations))
    return false;
  if (a.has("param") || a.has("param-file"))
    body.set("parameters", std::move(params));
  if (a.has("annotation") || a.has("annotation-file"))
    body.set("annotations", std::move(annotations));
  return true;
}

bool paging(context& ctx, const parsed_args& a, query_params& q) {
  for (const char* f : {"limit", "skip"}) {
    if (!a.has(f))
      continue;
    auto text = a.value(f);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      ctx.err << "error: --" << f << " needs a whole number, not '" << text << "'.\n";
      return false;
    }
    q.emplace_back(f, text);
  }
  return true;
}

// get, list and delete read the same for every entity
int get_entity(context& ctx, const parsed_args& a, const char* what, const char* collection) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], what, n, rc))
    return rc;
  json::value reply;
  if ((rc = ctx.call(fmt::format("get {} '{}'", what, a.positional[0]), "GET", n.path(collection), {}, nullptr, reply)))
    return rc;
  ctx.out << "ok: got " << what << " " << a.positional[0] << "\n" << pretty(reply) << "\n";
  return exit_ok;
}

int delete_entity(context& ctx, const parsed_args& a, const char* what, const char* collection) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], what, n, rc))
    return rc;
  json::value reply;
  if ((rc = ctx.call(fmt::format("delete {} '{}'", what, a.positional[0]), "DELETE", n.path(collection), {}, nullptr, reply)))
    return rc;
  ctx.out << "ok: deleted " << what << " " << a.positional[0] << "\n";
  return exit_ok;
}

int list_entities(context& ctx, const parsed_args& a, const char* collection,
                  const std::function<std::string(const json::value&)>& extra = {}) {
  query_params q;
  if (!paging(ctx, a, q))
    return exit_usage;
  std::string ns = "_";
  if (!a.positional.empty()) { // another namespace's shared entities: /NS or NS
    ns = a.positional[0];
    if (!ns.empty() && ns[0] == '/')
      ns.erase(0, 1);
    if (ns.empty() || ns.find('/') != std::string::npos)
      return ctx.usage_error(fmt::format("'{}' is not a namespace", a.positional[0]));
  }
  json::value reply;
  if (int rc = ctx.call(fmt::format("list {}", collection), "GET", {"namespaces", ns, collection}, q, nullptr, reply))
    return rc;
  print_list(ctx, collection, reply, extra);
  return exit_ok;
}

// --- packages ---

int package_put(context& ctx, const parsed_args& a, bool update) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], "package", n, rc))
    return rc;
  json::value body = json::object{};
  if (a.has("shared")) {
    bool shared = false;
    if (!parse_bool(a.value("shared"), shared))
      return ctx.usage_error(fmt::format("--shared takes yes or no, not '{}'", a.value("shared")));
    body.set("publish", shared);
  }
  if (!params_and_annotations(ctx, a, body))
    return exit_failure;
  const char* verb = update ? "update" : "create";
  json::value reply;
  if ((rc = ctx.call(fmt::format("{} package '{}'", verb, a.positional[0]), "PUT", n.path("packages"),
                     update ? query_params{{"overwrite", "true"}} : query_params{}, &body, reply)))
    return rc;
  ctx.out << "ok: " << verb << "d package " << a.positional[0] << "\n";
  return exit_ok;
}

int package_bind(context& ctx, const parsed_args& a) {
  auto source = parse_entity_name(a.positional[0]);
  if (!source.valid || !source.package.empty())
    return ctx.usage_error(fmt::format("'{}' is not a valid package name", a.positional[0]));
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[1], "package binding", n, rc))
    return rc;
  json::value body = json::object{
      {"binding", json::object{{"namespace", source.ns == "_" ? ctx.default_namespace() : source.ns}, {"name", source.name}}}};
  if (!params_and_annotations(ctx, a, body))
    return exit_failure;
  json::value reply;
  if ((rc = ctx.call(fmt::format("bind package '{}'", a.positional[1]), "PUT", n.path("packages"), {}, &body, reply)))
    return rc;
  ctx.out << "ok: created binding " << a.positional[1] << "\n";
  return exit_ok;
}

// --- triggers ---

int trigger_put(context& ctx, const parsed_args& a, bool update) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], "trigger", n, rc))
    return rc;
  json::value body = json::object{};
  if (!params_and_annotations(ctx, a, body))
    return exit_failure;
  const char* verb = update ? "update" : "create";
  json::value reply;
  if ((rc = ctx.call(fmt::format("{} trigger '{}'", verb, a.positional[0]), "PUT", n.path("triggers"),
                     update ? query_params{{"overwrite", "true"}} : query_params{}, &body, reply)))
    return rc;
  ctx.out << "ok: " << verb << "d trigger " << a.positional[0] << "\n";
  return exit_ok;
}

int trigger_fire(context& ctx, const parsed_args& a) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], "trigger", n, rc))
    return rc;
  json::array params;
  if (!key_values(ctx, a, "param", "param-file", params))
    return exit_failure;
  json::value body = as_object(params);
  json::value reply;
  if ((rc = ctx.call(fmt::format("fire trigger '{}'", a.positional[0]), "POST", n.path("triggers"), {}, &body, reply)))
    return rc;
  auto id = json::get_string(reply, "activationId");
  // OpenWhisk answers 204 without a record when no rule of the trigger is active
  ctx.out << "ok: triggered " << n.qualified() << (id.empty() ? "" : " with id " + id) << "\n";
  return exit_ok;
}

// --- rules ---

int rule_put(context& ctx, const parsed_args& a, bool update) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, a.positional[0], "rule", n, rc))
    return rc;
  entity_name trigger;
  if (!name_arg(ctx, a.positional[1], "trigger", trigger, rc))
    return rc;
  auto action = parse_entity_name(a.positional[2]);
  if (!action.valid)
    return ctx.usage_error(fmt::format("'{}' is not a valid action name", a.positional[2]));
  // OpenWhisk wants both fully qualified
  auto ns = ctx.default_namespace();
  json::value body = json::object{{"trigger", trigger.qualified(ns)}, {"action", action.qualified(ns)}};
  if (!params_and_annotations(ctx, a, body))
    return exit_failure;
  const char* verb = update ? "update" : "create";
  json::value reply;
  if ((rc = ctx.call(fmt::format("{} rule '{}'", verb, a.positional[0]), "PUT", n.path("rules"),
                     update ? query_params{{"overwrite", "true"}} : query_params{}, &body, reply)))
    return rc;
  ctx.out << "ok: " << verb << "d rule " << a.positional[0] << "\n";
  return exit_ok;
}

int rule_status(context& ctx, const std::string& name_text, bool active, bool quiet) {
  entity_name n;
  int rc = exit_ok;
  if (!name_arg(ctx, name_text, "rule", n, rc))
    return rc;
  json::value body = json::object{{"status", active ? "active" : "inactive"}};
  json::value reply;
  if ((rc = ctx.call(fmt::format("{} rule '{}'", active ? "enable" : "disable", name_text), "POST", n.path("rules"), {},
                     &body, reply)))
    return rc;
  if (!quiet)
    ctx.out << "ok: " << (active ? "enabled" : "disabled") << " rule " << name_text << "\n";
  return exit_ok;
}

} // namespace

std::vector<command> package_commands() {
  std::vector<flag> put_flags{param_flag, param_file_flag, annotation_flag, annotation_file_flag,
                              {"shared", 0, 1, "yes|no", "make the package readable from other namespaces"}};
  return {
      {"package", "create", "PACKAGE_NAME", "create a package", 1, 1, put_flags,
       [](context& c, const parsed_args& a) { return package_put(c, a, false); }},
      {"package", "update", "PACKAGE_NAME", "update a package (or create it)", 1, 1, put_flags,
       [](context& c, const parsed_args& a) { return package_put(c, a, true); }},
      {"package", "bind", "PACKAGE_NAME BINDING_NAME", "bind a package: a new name with parameters of its own", 2, 2,
       {param_flag, param_file_flag, annotation_flag, annotation_file_flag}, package_bind},
      {"package", "get", "PACKAGE_NAME", "get a package", 1, 1, {},
       [](context& c, const parsed_args& a) { return get_entity(c, a, "package", "packages"); }},
      {"package", "list", "[NAMESPACE]", "list the packages (of this or another namespace)", 0, 1, {limit_flag, skip_flag},
       [](context& c, const parsed_args& a) { return list_entities(c, a, "packages"); }},
      {"package", "delete", "PACKAGE_NAME", "delete a package", 1, 1, {},
       [](context& c, const parsed_args& a) { return delete_entity(c, a, "package", "packages"); }},
  };
}

std::vector<command> trigger_commands() {
  std::vector<flag> put_flags{param_flag, param_file_flag, annotation_flag, annotation_file_flag};
  return {
      {"trigger", "create", "TRIGGER_NAME", "create a trigger", 1, 1, put_flags,
       [](context& c, const parsed_args& a) { return trigger_put(c, a, false); }},
      {"trigger", "update", "TRIGGER_NAME", "update a trigger (or create it)", 1, 1, put_flags,
       [](context& c, const parsed_args& a) { return trigger_put(c, a, true); }},
      {"trigger", "fire", "TRIGGER_NAME", "fire a trigger: its active rules invoke their actions", 1, 1,
       {param_flag, param_file_flag}, trigger_fire},
      {"trigger", "get", "TRIGGER_NAME", "get a trigger", 1, 1, {},
       [](context& c, const parsed_args& a) { return get_entity(c, a, "trigger", "triggers"); }},
      {"trigger", "list", "", "list the triggers", 0, 0, {limit_flag, skip_flag},
       [](context& c, const parsed_args& a) { return list_entities(c, a, "triggers"); }},
      {"trigger", "delete", "TRIGGER_NAME", "delete a trigger", 1, 1, {},
       [](context& c, const parsed_args& a) { return delete_entity(c, a, "trigger", "triggers"); }},
  };
}

std::vector<command> rule_commands() {
  return {
      {"rule", "create", "RULE_NAME TRIGGER_NAME ACTION_NAME", "create a rule: the trigger invokes the action", 3, 3,
       {annotation_flag, annotation_file_flag}, [](context& c, const parsed_args& a) { return rule_put(c, a, false); }},
      {"rule", "update", "RULE_NAME TRIGGER_NAME ACTION_NAME", "update a rule (or create it)", 3, 3,
       {annotation_flag, annotation_file_flag}, [](context& c, const parsed_args& a) { return rule_put(c, a, true); }},
      {"rule", "enable", "RULE_NAME", "make a rule active", 1, 1, {},
       [](context& c, const parsed_args& a) { return rule_status(c, a.positional[0], true, false); }},
      {"rule", "disable", "RULE_NAME", "make a rule inactive", 1, 1, {},
       [](context& c, const parsed_args& a) { return rule_status(c, a.positional[0], false, false); }},
      {"rule", "get", "RULE_NAME", "get a rule", 1, 1, {},
       [](context& c, const parsed_args& a) { return get_entity(c, a, "rule", "rules"); }},
      {"rule", "list", "", "list the rules with their status", 0, 0, {limit_flag, skip_flag},
       [](context& c, const parsed_args& a) {
         return list_entities(c, a, "rules", [](const json::value& e) { return json::get_string(e, "status"); });
       }},
      {"rule", "delete", "RULE_NAME", "delete a rule", 1, 1, {{"disable", 0, 0, "", "disable the rule first"}},
       [](context& c, const parsed_args& a) {
         if (a.has("disable"))
           if (int rc = rule_status(c, a.positional[0], false, true))
             return rc;
         return delete_entity(c, a, "rule", "rules");
       }},
  };
}

} // namespace whisk::cli
