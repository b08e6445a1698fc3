// whisk property get|set|unset (the properties file) and whisk namespace list
#include <fmt/format.h>
#include <ostream>

#include "cli.hpp"
#include "wskprops.hpp"

namespace whisk::cli {

namespace {

struct property {
  const char* flag_name;
  const char* key; // in the properties file
  const char* label;
};
const property properties[] = {
    {"apihost", "APIHOST", "whisk API host"},
    {"auth", "AUTH", "whisk auth"},
    {"namespace", "NAMESPACE", "whisk namespace"},
};

int property_get(context& ctx, const parsed_args& a) {
  auto props = load_wskprops(ctx.props_path);
  if (!props)
    return ctx.failure(props.err().message);
  bool any = false;
  for (auto& p : properties)
    any = any || a.has(p.flag_name);
  for (auto& p : properties) {
    if (any && !a.has(p.flag_name))
      continue;
    auto v = props->get(p.key);
    if (std::string(p.key) == "NAMESPACE" && v.empty())
      v.push_back('_'); // (not v = "_": GCC 12 warns wrongly there, -Wrestrict)
    ctx.out << p.label << "\t\t" << v << "\n";
  }
  return exit_ok;
}

int property_set(context& ctx, const parsed_args& a) {
  std::map<std::string, std::string> changes;
  for (auto& p : properties)
    if (a.has(p.flag_name)) {
      auto v = a.value(p.flag_name);
      if (v.empty())
        return ctx.usage_error(fmt::format("--{} needs a value (use 'property unset' to remove it)", p.flag_name));
      if (std::string(p.key) == "APIHOST")
        if (auto h = parse_api_host(v); !h)
          return ctx.usage_error(h.err().message);
      changes[p.key] = v;
    }
  if (changes.empty())
    return ctx.usage_error("give at least one of --apihost, --auth, --namespace");
  if (auto ok = update_wskprops(ctx.props_path, changes); !ok)
    return ctx.failure(ok.err().message);
  for (auto& p : properties) {
    auto i = changes.find(p.key);
    if (i == changes.end())
      continue;
    if (std::string(p.key) == "AUTH")
      ctx.out << "ok: whisk auth set. Run 'whisk property get --auth' to see the new value.\n";
    else
      ctx.out << "ok: " << p.label << " set to " << i->second << "\n";
  }
  return exit_ok;
}

int property_unset(context& ctx, const parsed_args& a) {
  std::map<std::string, std::string> changes;
  for (auto& p : properties)
    if (a.has(p.flag_name))
      changes[p.key] = "";
  if (changes.empty())
    return ctx.usage_error("give at least one of --apihost, --auth, --namespace");
  if (auto ok = update_wskprops(ctx.props_path, changes); !ok)
    return ctx.failure(ok.err().message);
  for (auto& p : properties)
    if (changes.count(p.key))
      ctx.out << "ok: " << p.label << " unset.\n";
  return exit_ok;
}

int namespace_list(context& ctx, const parsed_args&) {
  json::value reply;
  if (int rc = ctx.call("list namespaces", "GET", {"namespaces"}, {}, nullptr, reply))
    return rc;
  ctx.out << "namespaces\n";
  if (reply.is_array())
    for (auto& n : reply.as_array())
      if (n.is_string())
        ctx.out << n.as_string() << "\n";
  return exit_ok;
}

} // namespace

std::vector<command> property_commands() {
  std::vector<flag> which{{"apihost", 0, 0, "", "the API host"},
                          {"auth", 'u', 0, "", "the authorization key"},
                          {"namespace", 0, 0, "", "the namespace"}};
  return {
      {"property", "get", "", "print the properties (all, or those flagged)", 0, 0, which, property_get},
      {"property", "set", "", "set properties in the properties file", 0, 0,
       {{"apihost", 0, 1, "HOST", "the API host, e.g. http://127.0.0.1:3233"},
        {"auth", 'u', 1, "KEY", "the authorization key UUID:KEY"},
        {"namespace", 0, 1, "NAMESPACE", "the namespace"}},
       property_set},
      {"property", "unset", "", "remove properties from the properties file", 0, 0, which, property_unset},
  };
}

std::vector<command> namespace_commands() {
  return {{"namespace", "list", "", "list the namespaces of the key", 0, 0, {}, namespace_list}};
}

} // namespace whisk::cli
