// whisk action create|update|invoke|get|list|delete
#include <fmt/format.h>
#include <ostream>
#include <sodium.h>

#include "cli.hpp"

namespace whisk::cli {

namespace {

const flag param_flag{"param", 'p', 2, "KEY VALUE", "a parameter (VALUE as JSON when it parses, else a string)"};
const flag param_file_flag{"param-file", 'P', 1, "FILE", "parameters from a JSON object in FILE"};
const flag annotation_flag{"annotation", 'a', 2, "KEY VALUE", "an annotation (VALUE as JSON when it parses)"};
const flag annotation_file_flag{"annotation-file", 'A', 1, "FILE", "annotations from a JSON object in FILE"};

std::vector<flag> create_flags() {
  return {{"kind", 0, 1, "KIND", "the runtime kind (default from the file: .js nodejs:default, .py python:3)"},
          {"main", 0, 1, "NAME", "the function to call (default: main)"},
          {"sequence", 0, 1, "A,B,...", "make a sequence of these actions (no code file)"},
          param_flag,
          param_file_flag,
          annotation_flag,
          annotation_file_flag,
          {"web", 0, 1, "true|false|raw", "make it a web action (raw: the raw HTTP request)"},
          {"web-secure", 0, 1, "SECRET|true|false", "require X-Require-Whisk-Auth on web calls (true: a random secret)"},
          {"timeout", 't', 1, "MS", "the time limit of one run in milliseconds"},
          {"memory", 'm', 1, "MB", "the memory limit in MB"},
          {"logsize", 0, 1, "MB", "the log size limit in MB"},
          {"concurrency", 'c', 1, "N", "activations one container may run at once"}};
}

// Code that is not UTF-8 text (a zip, an executable) travels as base64 with binary=true.
bool is_binary(const std::string& path, const std::string& code) {
  for (const char* ext : {".zip", ".jar", ".bin"})
    if (path.size() >= std::string(ext).size() && path.compare(path.size() - std::string(ext).size(), std::string::npos, ext) == 0)
      return true;
  if (code.find('\0') != std::string::npos)
    return true;
  // UTF-8 well-formedness, enough to tell text from bytes
  for (std::size_t i = 0; i < code.size();) {
    auto c = static_cast<unsigned char>(code[i]);
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 4;
    if (n == 4 || i + n >= code.size())
      return true;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(code[i + k]) >> 6) != 0x2)
        return true;
    i += n + 1;
  }
  return false;
}

std::string kind_from_file(const std::string& path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string::npos ? std::string{} : path.substr(dot);
  if (ext == ".js")
    return "nodejs:default";
  if (ext == ".py")
    return "python:3";
  return {};
}

void set_annotation(json::array& list, const std::string& key, json::value v) {
  for (auto& kv : list)
    if (json::get_string(kv, "key") == key) {
      kv.set("value", std::move(v));
      return;
    }
  list.push_back(json::object{{"key", key}, {"value", std::move(v)}});
}

bool positive_number(context& ctx, const parsed_args& a, const std::string& name, json::value& limits, const char* key) {
  if (!a.has(name))
    return true;
  auto text = a.value(name);
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n <= 0) {
    ctx.err << "error: --" << name << " needs a positive whole number, not '" << text << "'.\n";
    return false;
  }
  limits.set(key, static_cast<std::int64_t>(n));
  return true;
}

int create_or_update(context& ctx, const parsed_args& a, bool update) {
  auto name = parse_entity_name(a.positional[0]);
  if (!name.valid)
    return ctx.usage_error(fmt::format("'{}' is not a valid action name", a.positional[0]));
  const std::string verb = update ? "update" : "create";
  json::value body = json::object{};

  if (a.has("sequence")) {
    if (a.positional.size() > 1)
      return ctx.usage_error("a sequence takes no code file");
    json::array components;
    std::string list = a.value("sequence");
    std::size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      auto part = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto c = parse_entity_name(part);
      if (!c.valid)
        return ctx.usage_error(fmt::format("'{}' is not a valid action name in --sequence", part));
      // OpenWhisk stores components fully qualified: "_" becomes the caller's namespace
      components.emplace_back(c.qualified(ctx.default_namespace()));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    body.set("exec", json::object{{"kind", "sequence"}, {"components", std::move(components)}});
  } else if (a.positional.size() > 1) {
    const auto& path = a.positional[1];
    std::string code;
    if (!read_file(ctx, path, code))
      return exit_failure;
    auto kind = a.value("kind", kind_from_file(path));
    if (kind.empty())
      return ctx.usage_error(fmt::format("cannot tell the kind of '{}' from its name: give --kind", path));
    bool binary = is_binary(path, code);
    json::value exec = json::object{{"kind", kind}, {"code", binary ? base64_encode(code) : code}, {"binary", binary}};
    if (a.has("main"))
      exec.set("main", a.value("main"));
    body.set("exec", std::move(exec));
  } else if (!update) {
    return ctx.usage_error("'action create' needs a code file or --sequence");
  } else if (a.has("kind") || a.has("main")) {
    return ctx.usage_error("--kind and --main need a code file");
  }

  json::array params;
  if (!key_values(ctx, a, "param", "param-file", params))
    return exit_failure;
  if (a.has("param") || a.has("param-file"))
    body.set("parameters", std::move(params));

  json::array annotations;
  bool annotated = a.has("annotation") || a.has("annotation-file") || a.has("web") || a.has("web-secure");
  if (update && annotated) {
    // an update replaces the annotations: start from the action's own, as wsk does
    json::value old;
    if (int rc = ctx.call(fmt::format("update action '{}'", a.positional[0]), "GET", name.path("actions"), {}, nullptr, old))
      return rc;
    if (auto* an = old.find("annotations"); an && an->is_array())
      for (auto& kv : an->as_array())
        if (json::get_string(kv, "key") != "exec")
          annotations.push_back(kv);
  }
  if (!key_values(ctx, a, "annotation", "annotation-file", annotations))
    return exit_failure;
  if (a.has("web")) {
    auto web = a.value("web");
    bool on = false;
    bool raw = web == "raw";
    if (!raw && !parse_bool(web, on))
      return ctx.usage_error(fmt::format("--web takes true, false or raw, not '{}'", web));
    set_annotation(annotations, "web-export", on || raw);
    set_annotation(annotations, "raw-http", raw);
    set_annotation(annotations, "final", on || raw);
  }
  if (a.has("web-secure")) {
    auto secure = a.value("web-secure");
    bool flag_value = false;
    if (parse_bool(secure, flag_value)) {
      if (flag_value)
        set_annotation(annotations, "require-whisk-auth", static_cast<std::int64_t>(randombytes_uniform(0x7fffffff)) + 1);
      else
        set_annotation(annotations, "require-whisk-auth", false);
    } else {
      set_annotation(annotations, "require-whisk-auth", secure);
    }
  }
  if (annotated)
    body.set("annotations", std::move(annotations));

  json::value limits = json::object{};
  if (!positive_number(ctx, a, "timeout", limits, "timeout") || !positive_number(ctx, a, "memory", limits, "memory") ||
      !positive_number(ctx, a, "logsize", limits, "logs") || !positive_number(ctx, a, "concurrency", limits, "concurrency"))
    return exit_usage;
  if (!limits.as_object().empty())
    body.set("limits", std::move(limits));

  json::value reply;
  query_params q;
  if (update)
    q.emplace_back("overwrite", "true");
  if (int rc = ctx.call(fmt::format("{} action '{}'", verb, a.positional[0]), "PUT", name.path("actions"), q, &body, reply))
    return rc;
  ctx.out << "ok: " << verb << "d action " << a.positional[0] << "\n";
  return exit_ok;
}

int invoke(context& ctx, const parsed_args& a) {
  auto name = parse_entity_name(a.positional[0]);
  if (!name.valid)
    return ctx.usage_error(fmt::format("'{}' is not a valid action name", a.positional[0]));
  json::array params;
  if (!key_values(ctx, a, "param", "param-file", params))
    return exit_failure;
  bool result = a.has("result");
  bool blocking = result || a.has("blocking");
  query_params q;
  if (blocking)
    q.emplace_back("blocking", "true");
  if (result)
    q.emplace_back("result", "true");
  api_client client({}, {}, false);
  if (!ctx.client(client))
    return exit_failure;
  auto r = client.call("POST", name.path("actions"), q, json::dump(as_object(params)));
  if (!r)
    return ctx.err << "error: Unable to invoke action '" << a.positional[0] << "': " << r.err().message << "\n",
           exit_network;
  auto doc = json::parse(r->body, 1024);
  auto id = doc ? json::get_string(*doc, "activationId") : std::string{};
  if (r->status == 202) {
    if (blocking) {
      ctx.out << "ok: invoked " << name.qualified() << ", but the request has not yet finished, with id " << id << "\n";
      return exit_accepted;
    }
    ctx.out << "ok: invoked " << name.qualified() << " with id " << id << "\n";
    return exit_ok;
  }
  // a blocking run that ended (in success or in an error of the action) answers its record or result
  bool ran = blocking && doc && (r->status == 200 || r->status == 502 || r->status == 500) &&
             (result || !id.empty());
  if (!ran) {
    std::string message = doc ? json::get_string(*doc, "error") : std::string{};
    auto code = doc ? json::get_string(*doc, "code") : std::string{};
    ctx.err << "error: Unable to invoke action '" << a.positional[0]
            << "': " << (message.empty() ? fmt::format("the API answered HTTP {}", r->status) : message)
            << (code.empty() ? "" : " (code " + code + ")") << "\n";
    return exit_for_status(r->status);
  }
  if (!result)
    ctx.out << "ok: invoked " << name.qualified() << " with id " << id << "\n";
  ctx.out << pretty(*doc) << "\n";
  if (r->status != 200) {
    const json::value* res = result ? &*doc : nullptr;
    if (!result)
      if (auto* response = doc->find("response"))
        res = response->find("result");
    auto why = res ? json::get_string(*res, "error") : std::string{};
    ctx.err << "error: The action '" << a.positional[0] << "' failed" << (why.empty() ? "" : ": " + why) << "\n";
    return exit_for_status(r->status);
  }
  return exit_ok;
}

// The URL of a web action: APIHOST/api/v1/web/NS/PKG|default/NAME
std::string web_url(context& ctx, const entity_name& n) {
  auto host = ctx.apihost;
  while (!host.empty() && host.back() == '/')
    host.pop_back();
  if (host.find("://") == std::string::npos)
    host = "http://" + host;
  return fmt::format("{}/api/v1/web/{}/{}/{}", host, n.ns == "_" ? ctx.default_namespace() : n.ns,
                     n.package.empty() ? "default" : n.package, n.name);
}

int get(context& ctx, const parsed_args& a) {
  auto name = parse_entity_name(a.positional[0]);
  if (!name.valid)
    return ctx.usage_error(fmt::format("'{}' is not a valid action name", a.positional[0]));
  json::value reply;
  if (int rc = ctx.call(fmt::format("get action '{}'", a.positional[0]), "GET", name.path("actions"), {}, nullptr, reply))
    return rc;
  if (a.has("url")) {
    ctx.out << "ok: got action " << a.positional[0] << "\n" << web_url(ctx, name) << "\n";
    return exit_ok;
  }
  if (a.positional.size() > 1) {
    const json::value* field = &reply;
    std::string path = a.positional[1];
    std::size_t start = 0;
    while (field && start <= path.size()) {
      auto dot = path.find('.', start);
      field = field->find(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos)
        break;
      start = dot + 1;
    }
    if (!field)
      return ctx.failure(fmt::format("The action '{}' has no field '{}'.", a.positional[0], path));
    ctx.out << "ok: got action " << a.positional[0] << ", displaying field " << path << "\n" << pretty(*field) << "\n";
    return exit_ok;
  }
  ctx.out << "ok: got action " << a.positional[0] << "\n" << pretty(reply) << "\n";
  return exit_ok;
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

int list(context& ctx, const parsed_args& a) {
  json::value reply;
  if (!a.positional.empty()) {
    // the actions of a package are listed in the package's own document
    auto pkg = parse_entity_name(a.positional[0]);
    if (!pkg.valid || !pkg.package.empty())
      return ctx.usage_error(fmt::format("'{}' is not a valid package name", a.positional[0]));
    if (int rc = ctx.call(fmt::format("list the actions of package '{}'", a.positional[0]), "GET",
                          pkg.path("packages"), {}, nullptr, reply))
      return rc;
    json::array actions;
    auto ns = json::get_string(reply, "namespace") + "/" + json::get_string(reply, "name");
    if (auto* acts = reply.find("actions"); acts && acts->is_array())
      for (auto& act : acts->as_array()) {
        json::value e = act;
        e.set("namespace", ns);
        actions.push_back(std::move(e));
      }
    print_list(ctx, "actions", actions, {});
    return exit_ok;
  }
  query_params q;
  if (!paging(ctx, a, q))
    return exit_usage;
  if (int rc = ctx.call("list actions", "GET", {"namespaces", "_", "actions"}, q, nullptr, reply))
    return rc;
  print_list(ctx, "actions", reply, [](const json::value& e) {
    auto* exec = e.find("exec");
    return exec ? json::get_string(*exec, "kind") : std::string{};
  });
  return exit_ok;
}

int remove(context& ctx, const parsed_args& a) {
  auto name = parse_entity_name(a.positional[0]);
  if (!name.valid)
    return ctx.usage_error(fmt::format("'{}' is not a valid action name", a.positional[0]));
  json::value reply;
  if (int rc = ctx.call(fmt::format("delete action '{}'", a.positional[0]), "DELETE", name.path("actions"), {}, nullptr, reply))
    return rc;
  ctx.out << "ok: deleted action " << a.positional[0] << "\n";
  return exit_ok;
}

} // namespace

std::vector<command> action_commands() {
  return {
      {"action", "create", "ACTION_NAME [ACTION_FILE]", "create an action", 1, 2, create_flags(),
       [](context& c, const parsed_args& a) { return create_or_update(c, a, false); }},
      {"action", "update", "ACTION_NAME [ACTION_FILE]", "update an action (or create it)", 1, 2, create_flags(),
       [](context& c, const parsed_args& a) { return create_or_update(c, a, true); }},
      {"action", "invoke", "ACTION_NAME", "invoke an action", 1, 1,
       {param_flag, param_file_flag,
        {"blocking", 'b', 0, "", "wait for the activation and print its record"},
        {"result", 'r', 0, "", "wait for the activation and print only its result (implies --blocking)"}},
       invoke},
      {"action", "get", "ACTION_NAME [FIELD]", "get an action (or one field of it, e.g. exec.kind)", 1, 2,
       {{"url", 0, 0, "", "print the action's web URL"}}, get},
      {"action", "list", "[PACKAGE_NAME]", "list the actions (of the namespace or a package)", 0, 1,
       {{"limit", 'l', 1, "N", "at most N actions (default 30)"}, {"skip", 's', 1, "N", "skip the first N"}}, list},
      {"action", "delete", "ACTION_NAME", "delete an action", 1, 1, {}, remove},
  };
}

} // namespace whisk::cli
