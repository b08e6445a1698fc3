#include "cli.hpp"

#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "wskprops.hpp"

namespace whisk::cli {

int exit_for_status(int http_status) {
  int code = http_status % 256;
  return code == 0 ? exit_failure : code;
}

// --- context ---

bool context::client(api_client& into, bool need_auth) {
  if (apihost.empty()) {
    err << "error: No API host is set: run 'whisk property set --apihost HOST', add APIHOST to " << props_path
        << " or pass --apihost.\n";
    return false;
  }
  if (need_auth && auth.empty()) {
    err << "error: No authorization key is set: run 'whisk property set --auth KEY', add AUTH to " << props_path
        << " or pass --auth.\n";
    return false;
  }
  auto host = parse_api_host(apihost);
  if (!host) {
    err << "error: " << host.err().message << "\n";
    return false;
  }
  into = api_client(*host, auth, debug);
  return true;
}

int context::call(const std::string& what, std::string_view method, const std::vector<std::string>& segments,
                  const query_params& query, const json::value* body, json::value& reply, http_reply* raw) {
  api_client c({}, {}, false);
  if (!client(c))
    return exit_failure;
  auto r = c.call(method, segments, query, body ? json::dump(*body) : std::string{});
  if (!r) {
    err << "error: " << (what.empty() ? "" : "Unable to " + what + ": ") << r.err().message << "\n";
    return exit_network;
  }
  if (raw)
    *raw = *r;
  reply = nullptr;
  auto parsed = r->body.empty() ? expected<json::value>(json::value{}) : json::parse(r->body, 1024);
  if (r->status >= 200 && r->status < 300) {
    if (!parsed) {
      err << "error: The API answered " << r->status << " with a body that is not JSON: " << r->body.substr(0, 200)
          << "\n";
      return exit_failure;
    }
    reply = std::move(*parsed);
    return exit_ok;
  }
  std::string message = fmt::format("the API answered HTTP {}", r->status);
  std::string code;
  if (parsed) {
    reply = *parsed;
    if (auto* e = parsed->find("error"); e && e->is_string())
      message = e->as_string();
    if (auto* c = parsed->find("code"); c && (c->is_string() || c->is_number()))
      code = c->is_string() ? c->as_string() : json::dump(*c);
  } else if (!r->body.empty()) {
    message = r->body.substr(0, 300);
  }
  err << "error: " << (what.empty() ? "" : "Unable to " + what + ": ") << message
      << (code.empty() ? "" : " (code " + code + ")") << "\n";
  return exit_for_status(r->status);
}

std::string context::default_namespace() {
  if (!resolved_ns_.empty())
    return resolved_ns_;
  resolved_ns_ = "_";
  api_client c({}, {}, false);
  if (!client(c))
    return resolved_ns_;
  auto r = c.call("GET", {"namespaces"}, {}, {}, std::chrono::seconds(30));
  if (r && r->status == 200)
    if (auto list = json::parse(r->body); list && list->is_array() && !list->as_array().empty() &&
                                          list->as_array()[0].is_string())
      resolved_ns_ = list->as_array()[0].as_string();
  return resolved_ns_;
}

int context::usage_error(const std::string& message) {
  err << "error: " << message << "\n";
  return exit_usage;
}

int context::failure(const std::string& message) {
  err << "error: " << message << "\n";
  return exit_failure;
}

// --- names ---

entity_name parse_entity_name(const std::string& text) {
  entity_name n;
  std::vector<std::string> parts;
  std::string rest = text;
  bool absolute = !rest.empty() && rest[0] == '/';
  if (absolute)
    rest.erase(0, 1);
  std::stringstream in(rest);
  for (std::string p; std::getline(in, p, '/');)
    parts.push_back(p);
  if (!rest.empty() && rest.back() == '/')
    parts.push_back("");
  for (auto& p : parts)
    if (p.empty())
      n.valid = false;
  if (absolute) {
    if (parts.size() < 2 || parts.size() > 3) {
      n.valid = false;
      return n;
    }
    n.ns = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.empty() || parts.size() > 2) {
    n.valid = false;
    return n;
  }
  if (parts.size() == 2)
    n.package = parts[0];
  n.name = parts.back();
  return n;
}

std::vector<std::string> entity_name::path(const std::string& collection) const {
  std::vector<std::string> p{"namespaces", ns, collection};
  if (!package.empty())
    p.push_back(package);
  p.push_back(name);
  return p;
}

std::string entity_name::qualified() const { return qualified(ns); }

std::string entity_name::qualified(const std::string& default_ns) const {
  return "/" + (ns == "_" ? default_ns : ns) + "/" + (package.empty() ? "" : package + "/") + name;
}

// --- parameters ---

bool read_file(context& ctx, const std::string& path, std::string& into) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.err << "error: Cannot read the file '" << path << "'.\n";
    return false;
  }
  into.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

namespace {

void put_key_value(json::array& list, const std::string& key, json::value v) {
  for (auto& kv : list)
    if (json::get_string(kv, "key") == key) {
      kv.set("value", std::move(v));
      return;
    }
  list.push_back(json::object{{"key", key}, {"value", std::move(v)}});
}

} // namespace

bool key_values(context& ctx, const parsed_args& a, const std::string& pair_flag, const std::string& file_flag,
                json::array& into) {
  if (auto i = a.values.find(file_flag); i != a.values.end()) {
    for (auto& path : i->second) {
      std::string text;
      if (!read_file(ctx, path, text))
        return false;
      auto doc = json::parse(text);
      if (!doc || !doc->is_object()) {
        ctx.err << "error: The file '" << path << "' does not hold a JSON object"
                << (doc ? "" : ": " + doc.err().message) << ".\n";
        return false;
      }
      for (auto& [k, v] : doc->as_object())
        put_key_value(into, k, v);
    }
  }
  if (auto i = a.values.find(pair_flag); i != a.values.end()) {
    auto& vals = i->second;
    for (std::size_t k = 0; k + 1 < vals.size(); k += 2) {
      // like wsk: a value that parses as JSON is that JSON, anything else a string
      auto doc = json::parse(vals[k + 1]);
      put_key_value(into, vals[k], doc ? *doc : json::value(vals[k + 1]));
    }
  }
  return true;
}

json::value as_object(const json::array& key_values) {
  json::value obj = json::object{};
  for (auto& kv : key_values)
    if (auto* v = kv.find("value"))
      obj.set(json::get_string(kv, "key"), *v);
  return obj;
}

bool parse_bool(const std::string& text, bool& into) {
  if (text == "true" || text == "yes") {
    into = true;
    return true;
  }
  if (text == "false" || text == "no") {
    into = false;
    return true;
  }
  return false;
}

// --- output ---

namespace {

void write_pretty(std::string& out, const json::value& v, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 4, ' '); };
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (auto& [k, m] : v.as_object()) {
      if (!first)
        out += ",\n";
      first = false;
      indent(depth + 1);
      json::write_string(out, k);
      out += ": ";
      write_pretty(out, m, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (auto& m : v.as_array()) {
      if (!first)
        out += ",\n";
      first = false;
      indent(depth + 1);
      write_pretty(out, m, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "]";
  } else {
    json::write(out, v);
  }
}

} // namespace

std::string pretty(const json::value& v) {
  std::string out;
  write_pretty(out, v, 0);
  return out;
}

std::string listed_name(const json::value& entity) {
  return "/" + json::get_string(entity, "namespace") + "/" + json::get_string(entity, "name");
}

void print_list(context& ctx, const std::string& header, const json::value& list,
                const std::function<std::string(const json::value&)>& extra) {
  ctx.out << header << "\n";
  if (!list.is_array())
    return;
  for (auto& e : list.as_array()) {
    bool shared = json::get_bool(e, "publish", false);
    auto more = extra ? extra(e) : std::string{};
    ctx.out << fmt::format("{:<70} {}{}", listed_name(e), shared ? "shared" : "private", more.empty() ? "" : " " + more)
            << "\n";
  }
}

// --- parsing and dispatch ---

namespace {

const std::vector<flag>& global_flags() {
  static const std::vector<flag> flags{
      {"apihost", 0, 1, "HOST", "the API host (default: APIHOST of the properties file)"},
      {"auth", 'u', 1, "KEY", "the authorization key UUID:KEY (default: AUTH of the properties file)"},
      {"insecure", 'i', 0, "", "accepted for wsk compatibility (this client speaks plain http)"},
      {"debug", 'd', 0, "", "print each request and response to stderr"},
      {"help", 'h', 0, "", "help for whisk or for the verb"},
  };
  return flags;
}

std::vector<command> all_commands() {
  std::vector<command> all;
  for (auto part : {action_commands, activation_commands, package_commands, trigger_commands, rule_commands,
                    namespace_commands, property_commands}) {
    auto cs = part();
    std::move(cs.begin(), cs.end(), std::back_inserter(all));
  }
  return all;
}

const char* entity_summary(const std::string& entity) {
  if (entity == "action") return "work with actions";
  if (entity == "activation") return "work with activations";
  if (entity == "package") return "work with packages";
  if (entity == "trigger") return "work with triggers";
  if (entity == "rule") return "work with rules";
  if (entity == "namespace") return "work with namespaces";
  if (entity == "property") return "work with whisk properties";
  return "";
}

std::string flag_label(const flag& f) {
  std::string s = f.short_name ? fmt::format("-{}, --{}", f.short_name, f.name) : "    --" + f.name;
  if (!f.value_help.empty())
    s += " " + f.value_help;
  return s;
}

void print_flags(std::ostream& out, const std::vector<flag>& flags) {
  for (auto& f : flags)
    out << fmt::format("  {:<34} {}\n", flag_label(f), f.help);
}

void print_main_help(std::ostream& out, const std::vector<command>& commands) {
  out << "whisk: the command-line client of whisk (and of OpenWhisk's REST API)\n\n"
         "Usage:\n  whisk ENTITY VERB [ARGUMENTS] [FLAGS]\n\nEntities:\n";
  std::vector<std::string> seen;
  for (auto& c : commands)
    if (std::find(seen.begin(), seen.end(), c.entity) == seen.end()) {
      seen.push_back(c.entity);
      out << fmt::format("  {:<12} {}\n", c.entity, entity_summary(c.entity));
    }
  out << "\nGlobal flags:\n";
  print_flags(out, global_flags());
  out << "\nThe API host and key come from " << wskprops_path()
      << " ($WSK_CONFIG_FILE, else ~/.wskprops; lines APIHOST=... and AUTH=...).\n"
         "Exit status: 0 ok, 1 a local error, 2 a usage error, 3 the API host cannot be reached,\n"
         "an API error its HTTP status modulo 256 (404: 148, 401: 145, 409: 153, 502: 246),\n"
         "202 a blocking invoke that is still running.\n"
         "Run 'whisk ENTITY --help' for the verbs of an entity, 'whisk ENTITY VERB --help' for a verb.\n";
}

void print_entity_help(std::ostream& out, const std::string& entity, const std::vector<command>& commands) {
  out << "whisk " << entity << ": " << entity_summary(entity) << "\n\nUsage:\n  whisk " << entity
      << " VERB [ARGUMENTS] [FLAGS]\n\nVerbs:\n";
  for (auto& c : commands)
    if (c.entity == entity)
      out << fmt::format("  {:<10} {}\n", c.verb, c.summary);
  out << "\nRun 'whisk " << entity << " VERB --help' for a verb's arguments and flags.\n";
}

void print_command_help(std::ostream& out, const command& c) {
  out << "whisk " << c.entity << " " << c.verb << ": " << c.summary << "\n\nUsage:\n  whisk " << c.entity << " "
      << c.verb << (c.args_help.empty() ? "" : " " + c.args_help) << " [FLAGS]\n";
  if (!c.flags.empty()) {
    out << "\nFlags:\n";
    print_flags(out, c.flags);
  }
  out << "\nGlobal flags:\n";
  print_flags(out, global_flags());
}

bool same_entity(const std::string& given, const std::string& entity) {
  return given == entity || given == entity + "s";
}

} // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  auto commands = all_commands();
  const command* cmd = nullptr;
  std::string entity;
  parsed_args args;
  std::vector<flag> spec = global_flags();
  bool flags_done = false;

  auto find_flag = [&](const std::string& token, std::string& inline_value) -> const flag* {
    inline_value.clear();
    if (token.rfind("--", 0) == 0) {
      auto name = token.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      // a verb's own flag wins over a global one of the same name (property get --auth)
      for (auto f = spec.rbegin(); f != spec.rend(); ++f)
        if (f->name == name)
          return &*f;
      return nullptr;
    }
    for (auto f = spec.rbegin(); f != spec.rend(); ++f)
      if (token.size() == 2 && f->short_name == token[1])
        return &*f;
    return nullptr;
  };
  auto usage = [&](const std::string& message) {
    err << "error: " << message << "\n";
    if (cmd)
      err << "Run 'whisk " << cmd->entity << " " << cmd->verb << " --help' for usage.\n";
    else
      err << "Run 'whisk --help' for usage.\n";
    return exit_usage;
  };

  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (!flags_done && t == "--") {
      flags_done = true;
      continue;
    }
    if (!flags_done && t.size() > 1 && t[0] == '-') {
      std::string inline_value;
      const flag* f = find_flag(t, inline_value);
      // -br: several one-letter switches together
      if (!f && t[1] != '-' && t.size() > 2) {
        std::vector<const flag*> group;
        for (std::size_t k = 1; k < t.size(); ++k) {
          std::string one{'-', t[k]}, ignored;
          auto* g = find_flag(one, ignored);
          if (!g || g->arity != 0)
            return usage(fmt::format("unknown flag '{}'", t));
          group.push_back(g);
        }
        for (auto* g : group)
          args.values[g->name];
        continue;
      }
      if (!f)
        return usage(fmt::format("unknown flag '{}'", t));
      auto& vals = args.values[f->name];
      if (f->arity == 0) {
        if (!inline_value.empty())
          return usage(fmt::format("the flag '--{}' takes no value", f->name));
        continue;
      }
      int needed = f->arity;
      if (!inline_value.empty()) {
        vals.push_back(inline_value);
        --needed;
      }
      for (int k = 0; k < needed; ++k) {
        if (i + 1 >= tokens.size())
          return usage(fmt::format("the flag '{}' needs {}", t, f->value_help.empty() ? "a value" : f->value_help));
        vals.push_back(tokens[++i]);
      }
      continue;
    }
    if (entity.empty()) {
      for (auto& c : commands)
        if (same_entity(t, c.entity))
          entity = c.entity;
      if (entity.empty())
        return usage(fmt::format("unknown entity '{}'", t));
      continue;
    }
    if (!cmd) {
      for (auto& c : commands)
        if (c.entity == entity && c.verb == t)
          cmd = &c;
      if (!cmd)
        return usage(fmt::format("unknown verb '{}' for {}s", t, entity));
      spec.insert(spec.end(), cmd->flags.begin(), cmd->flags.end());
      continue;
    }
    args.positional.push_back(t);
  }

  if (args.has("help") || entity.empty() || !cmd) {
    if (cmd)
      print_command_help(out, *cmd);
    else if (!entity.empty())
      print_entity_help(out, entity, commands);
    else
      print_main_help(out, commands);
    return exit_ok;
  }
  if (args.positional.size() < cmd->min_args)
    return usage(fmt::format("'{} {}' needs {}", cmd->entity, cmd->verb, cmd->args_help));
  if (args.positional.size() > cmd->max_args)
    return usage(fmt::format("too many arguments for '{} {}': {}", cmd->entity, cmd->verb,
                             args.positional[cmd->max_args]));

  context ctx(out, err, wskprops_path());
  ctx.debug = args.has("debug");
  auto props = load_wskprops(ctx.props_path);
  if (!props) {
    err << "error: " << props.err().message << "\n";
    return exit_failure;
  }
  ctx.apihost = args.value("apihost", props->get("APIHOST"));
  ctx.auth = args.value("auth", props->get("AUTH"));
  return cmd->run(ctx, args);
}

} // namespace whisk::cli
