#include "whisk/container/runtime_manifest.hpp"

#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "whisk/domain.hpp"
#include "whisk/json.hpp"

namespace whisk::container {

namespace {

error bad(const std::string& where, const std::string& what) {
  return make_error(errc::bad_request, fmt::format("runtime manifest: {}: {}", where, what));
}

bool absolute_clean(const std::string& p) {
  return p.size() > 1 && p[0] == '/' && p.find("/.") == std::string::npos && p.find("//") == std::string::npos;
}

// "256 MB", "256MB", "256" or 256 -> 256
bool memory_of(const json::value& v, std::int64_t& out) {
  if (v.is_int()) {
    out = v.as_int();
    return true;
  }
  if (!v.is_string())
    return false;
  std::istringstream in(v.as_string());
  std::string unit;
  if (!(in >> out))
    return false;
  in >> unit;
  return (unit.empty() || unit == "MB" || unit == "M") && in.eof();
}

bool valid_kind(const std::string& k) {
  if (k.empty() || k.size() > 64 || k.front() == ':' || k.back() == ':' || k.find(':') == std::string::npos)
    return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '.' && c != '-' && c != '_')
      return false;
  return true;
}

expected<manifest_runtime> parse_runtime(const json::value& v, const std::string& family, const std::string& where) {
  if (!v.is_object())
    return bad(where, "each runtime must be an object");
  manifest_runtime r;
  r.family = family;
  r.kind = json::get_string(v, "kind");
  if (!valid_kind(r.kind) || r.kind.compare(0, family.size() + 1, family + ":") != 0)
    return bad(where, fmt::format("\"kind\" must be '{}:<version>' (letters, digits, '.', '-', '_'), not '{}'", family, r.kind));
  if (r.kind == family + ":default")
    return bad(where, fmt::format("'{}' is made by \"default\": true on one of the family's kinds", r.kind));
  const std::string at = where + " (" + r.kind + ")";
  if (auto* d = v.find("default")) {
    if (!d->is_bool())
      return bad(at, "\"default\" must be true or false");
    r.is_default = d->as_bool();
  }
  auto* protocol = v.find("protocol");
  if (protocol && (!protocol->is_string() || protocol->as_string() != "http"))
    return bad(at, "\"protocol\" must be \"http\" (runtimes that serve /init and /run); the action-loop runtimes are built in");
  auto* cmd = v.find("command");
  if (!cmd || !cmd->is_array() || cmd->as_array().empty())
    return bad(at, "\"command\" must be a non-empty array of strings (argv)");
  for (auto& a : cmd->as_array()) {
    if (!a.is_string() || a.as_string().find('\0') != std::string::npos)
      return bad(at, "\"command\" must be a non-empty array of strings (argv)");
    r.command.push_back(a.as_string());
  }
  if (!absolute_clean(r.command[0]))
    return bad(at, fmt::format("command[0] must be an absolute path in the runtime's root, not '{}'", r.command[0]));
  if (auto* root = v.find("root")) {
    if (!root->is_string() || !absolute_clean(root->as_string()))
      return bad(at, "\"root\" must be an absolute host path (a directory holding a root filesystem)");
    r.root = root->as_string();
  }
  if (auto* mounts = v.find("mounts")) {
    if (!mounts->is_array())
      return bad(at, "\"mounts\" must be an array of {\"source\", \"target\"}");
    for (auto& m : mounts->as_array()) {
      manifest_mount mm{json::get_string(m, "source"), json::get_string(m, "target")};
      if (!m.is_object() || !absolute_clean(mm.source) || !absolute_clean(mm.target))
        return bad(at, "each mount needs an absolute \"source\" (host directory) and \"target\" (path in the runtime)");
      r.mounts.push_back(std::move(mm));
    }
  }
  if (auto* w = v.find("workdir")) {
    if (!w->is_string() || (w->as_string() != "/" && !absolute_clean(w->as_string())))
      return bad(at, "\"workdir\" must be an absolute path in the runtime's root");
    r.workdir = w->as_string();
  }
  if (auto* env = v.find("env")) {
    if (!env->is_object())
      return bad(at, "\"env\" must be an object of strings");
    for (auto& [k, val] : env->as_object()) {
      if (k.empty() || k.find('=') != std::string::npos || !val.is_string() || k.find('\0') != std::string::npos ||
          val.as_string().find('\0') != std::string::npos)
        return bad(at, fmt::format("\"env\": '{}' must be a name without '=' with a string value", k));
      r.env.emplace_back(k, val.as_string());
    }
  }
  if (auto* port = v.find("port")) {
    if (!port->is_int() || port->as_int() < 1 || port->as_int() > 65535)
      return bad(at, "\"port\" must be 1..65535");
    r.port = static_cast<int>(port->as_int());
  }
  if (auto* s = v.find("sentinels")) {
    if (!s->is_bool())
      return bad(at, "\"sentinels\" must be true or false");
    r.sentinels = s->as_bool();
  }
  if (auto* stems = v.find("stemCells")) {
    if (!stems->is_array())
      return bad(at, "\"stemCells\" must be an array of {\"initialCount\", \"memory\"}");
    for (auto& s : stems->as_array()) {
      manifest_stem_cell c;
      auto* count = s.is_object() ? (s.find("initialCount") ? s.find("initialCount") : s.find("count")) : nullptr;
      auto* mem = s.is_object() ? s.find("memory") : nullptr;
      if (!count || !count->is_int() || count->as_int() < 0 || count->as_int() > 64)
        return bad(at, "each stem cell needs an \"initialCount\" of 0..64");
      c.count = count->as_int();
      if (mem && (!memory_of(*mem, c.memory_mb) || c.memory_mb < action_limits::min_memory_mb ||
                  c.memory_mb > action_limits::max_memory_mb))
        return bad(at, fmt::format("a stem cell's \"memory\" must be {}..{} MB (\"256 MB\")", action_limits::min_memory_mb,
                                   action_limits::max_memory_mb));
      r.stem_cells.push_back(c);
    }
  }
  return r;
}

bool is_dir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

const manifest_runtime* runtime_manifest::find(const std::string& kind) const {
  for (auto& r : runtimes)
    if (r.kind == kind)
      return &r;
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> runtime_manifest::default_aliases() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& r : runtimes)
    if (r.is_default)
      out.emplace_back(r.family + ":default", r.kind);
  return out;
}

std::string runtime_manifest::stem_cells_option() const {
  std::string out;
  for (auto& r : runtimes)
    for (auto& s : r.stem_cells)
      if (s.count > 0)
        out += fmt::format("{}{}:{}:{}", out.empty() ? "" : ",", r.kind, s.memory_mb, s.count);
  return out;
}

expected<runtime_manifest> parse_runtime_manifest(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return bad("not JSON", doc.err().message);
  auto* families = doc->is_object() ? doc->find("runtimes") : nullptr;
  if (!families || !families->is_object())
    return bad("top level", "expected {\"runtimes\": {\"<family>\": [ ... ]}}");
  runtime_manifest m;
  std::set<std::string> kinds;
  for (auto& [family, list] : families->as_object()) {
    if (family.empty() || family.find(':') != std::string::npos || !valid_kind(family + ":x"))
      return bad("runtimes", fmt::format("'{}' is not a family name (letters, digits, '.', '-', '_')", family));
    if (!list.is_array())
      return bad(family, "a family is an array of runtimes");
    int defaults = 0;
    for (std::size_t i = 0; i < list.as_array().size(); ++i) {
      auto r = parse_runtime(list.as_array()[i], family, fmt::format("{}[{}]", family, i));
      if (!r)
        return r.err();
      if (!kinds.insert(r->kind).second)
        return bad(family, fmt::format("kind '{}' is listed twice", r->kind));
      defaults += r->is_default ? 1 : 0;
      m.runtimes.push_back(std::move(*r));
    }
    if (defaults > 1)
      return bad(family, "at most one kind of a family can be \"default\": true");
  }
  if (m.runtimes.empty())
    return bad("runtimes", "no runtime is listed");
  return m;
}

expected<runtime_manifest> load_runtime_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(errc::bad_request, fmt::format("runtime manifest: cannot read '{}'", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20))
    return make_error(errc::bad_request, fmt::format("runtime manifest: '{}' is larger than 1 MB", path));
  auto m = parse_runtime_manifest(text.str());
  if (!m)
    return m;
  for (auto& r : m->runtimes)
    if (auto ok = check_runtime_files(r); !ok)
      return ok.err();
  return m;
}

expected<bool> check_runtime_files(const manifest_runtime& r) {
  // The sandbox builds a runtime's root on a tmpfs it mounts over /tmp: what lies there is hidden.
  auto under_tmp = [](const std::string& p) { return p == "/tmp" || p.compare(0, 5, "/tmp/") == 0; };
  for (auto& mount : r.mounts) {
    if (!is_dir(mount.source))
      return bad(r.kind, fmt::format("mount source '{}' is not a directory", mount.source));
    if (under_tmp(mount.source))
      return bad(r.kind, fmt::format("mount source '{}' lies under /tmp, which the sandbox covers: place it elsewhere", mount.source));
  }
  if (!r.root.empty() && !is_dir(r.root))
    return bad(r.kind, fmt::format("root '{}' is not a directory", r.root));
  if (under_tmp(r.root))
    return bad(r.kind, fmt::format("root '{}' lies under /tmp, which the sandbox covers: place it elsewhere", r.root));
  // Where command[0] lies on the host: the deepest mount that holds it, else the root.
  const std::string& exe = r.command[0];
  std::string host = (r.root.empty() ? "" : r.root) + exe;
  std::size_t best = 0;
  for (auto& mount : r.mounts)
    if (exe.compare(0, mount.target.size() + 1, mount.target + "/") == 0 && mount.target.size() > best) {
      best = mount.target.size();
      host = mount.source + exe.substr(mount.target.size());
    }
  if (::access(host.c_str(), X_OK) != 0)
    return bad(r.kind, fmt::format("command[0] '{}' is not an executable file (looked at '{}' on the host)", exe, host));
  return true;
}

expected<bool> register_manifest_kinds(const runtime_manifest& m) {
  for (auto& r : m.runtimes)
    if (!register_kind(r.kind))
      return bad(r.kind, "the kind is already known (built-in kinds cannot be replaced)");
  for (auto& [alias, kind] : m.default_aliases())
    if (!register_kind(alias, kind))
      return bad(alias, "the family's default is already known (built-in families keep theirs)");
  return true;
}

} // namespace whisk::container
