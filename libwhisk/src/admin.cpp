#include "whisk/admin.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include "whisk/api/rest_api.hpp"
#include "whisk/domain.hpp"

namespace whisk::admin {

namespace fs = std::filesystem;

namespace {

int exit_code_of(const error& e) {
  switch (e.code) {
  case errc::bad_request: return to_int(exit_code::bad_name);
  case errc::conflict: return to_int(exit_code::exists);
  case errc::not_found: return to_int(exit_code::not_found);
  default: return to_int(exit_code::failed);
  }
}

// The printable form of a name that failed the rules: control bytes and quotes escaped.
std::string shown(const std::string& name) {
  std::string out;
  for (unsigned char c : name.substr(0, 80)) {
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return name.size() > 80 ? out + "..." : out;
}

struct options {
  fs::path data_dir = "whisk-data";
  std::string store; // empty: SQLite in the data dir
  bool help = false;
  std::vector<std::string> words; // the verb and its arguments
};

expected<options> parse_options(const std::vector<std::string>& args) {
  options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a.rfind("--data-dir=", 0) == 0) {
      o.data_dir = a.substr(11);
    } else if (a.rfind("--store=", 0) == 0) {
      o.store = a.substr(8);
    } else if (a == "--data-dir") {
      if (i + 1 == args.size())
        return make_error(errc::bad_request, "--data-dir needs a directory");
      o.data_dir = args[++i];
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      return make_error(errc::bad_request, fmt::format("unknown option '{}'", shown(a)));
    } else {
      o.words.push_back(a);
    }
  }
  if (o.data_dir.empty())
    return make_error(errc::bad_request, "--data-dir needs a directory");
  return o;
}

// The node secret and the store of a data dir. `create`: a missing data dir, secret and
// store are made (the first user of a node not started yet); otherwise they must exist, and
// a store without its secret is refused rather than given a new secret that voids its keys.
struct opened {
  std::optional<key_hasher> keys;
  std::unique_ptr<store> db;
};

expected<opened> open_data_dir(const fs::path& dir, const std::string& store_spec, bool create) {
  auto db_file = dir / "whisk.db";
  auto secret_file = dir / "node-secret";
  std::error_code ec;
  bool has_db = store_spec.empty() ? fs::exists(db_file, ec) : fs::exists(secret_file, ec); // a database: its secret here
  bool has_secret = fs::exists(secret_file, ec);
  if (!has_db && !create)
    return make_error(errc::internal, fmt::format("no store in {} (start whisk-node with --data-dir={} once, or create a user)",
                                                  dir.string(), dir.string()));
  if (has_db && !has_secret)
    return make_error(errc::internal, fmt::format("{} has no node-secret: its stored key hashes cannot be checked; "
                                                  "restore the file (a new secret would void every key)", dir.string()));
  if (auto ok = make_private_dir(dir); !ok)
    return ok.err();
  auto keys = load_node_secret(secret_file);
  if (!keys)
    return keys.err();
  auto db = open_store(store_spec, dir, *keys);
  if (!db)
    return db.err();
  return opened{*keys, std::move(*db)};
}

} // namespace

expected<bool> check_namespace_name(const std::string& name) {
  if (name == "_")
    return make_error(errc::bad_request, "the namespace name '_' is reserved: API paths use it for the caller's own namespace");
  if (!is_valid_entity_name(name))
    return make_error(errc::bad_request,
                      fmt::format("'{}' is not a valid namespace name: 1 to 256 characters of letters, digits, '_', '@', "
                                  "'.', '-' and spaces, starting with a letter, digit or '_', not ending with a space",
                                  shown(name)));
  return true;
}

expected<issued_key> create_user(store& db, const key_hasher& keys, const std::string& ns) {
  if (auto ok = check_namespace_name(ns); !ok)
    return ok.err();
  issued_key k{ns, new_uuid(), new_key()};
  if (auto ok = db.add_namespace({ns, k.uuid, keys.hash(k.key)}); !ok)
    return ok.err();
  return k;
}

expected<issued_key> rotate_key(store& db, const key_hasher& keys, const std::string& ns) {
  if (auto ok = check_namespace_name(ns); !ok)
    return ok.err();
  auto rec = db.namespace_by_name(ns);
  if (!rec)
    return make_error(errc::not_found, fmt::format("the namespace '{}' does not exist", ns));
  issued_key k{ns, rec->uuid, new_key()};
  if (auto ok = db.replace_key_hash(ns, keys.hash(k.key)); !ok)
    return ok.err();
  return k;
}

expected<bool> delete_user(store& db, const std::string& ns) {
  if (auto ok = check_namespace_name(ns); !ok)
    return ok.err();
  if (!db.delete_namespace(ns))
    return make_error(errc::not_found, fmt::format("the namespace '{}' does not exist", ns));
  return true;
}

// limits get|set|unset NAMESPACE [KEY=N ...]
int run_limits(const options& opts, std::ostream& out, std::ostream& err) {
  auto& w = opts.words;
  const auto& ns = w[2];
  if (auto valid = check_namespace_name(ns); !valid) {
    err << "whisk-admin: " << valid.err().message << "\n";
    return to_int(exit_code::bad_name);
  }
  json::value changes = json::object{};
  for (std::size_t i = 3; i < w.size(); ++i) {
    auto eq = w[i].find('=');
    char* end = nullptr;
    long long n = eq == std::string::npos ? -1 : std::strtoll(w[i].c_str() + eq + 1, &end, 10);
    if (eq == std::string::npos || !end || *end != '\0' || eq + 1 == w[i].size()) {
      err << "whisk-admin: '" << shown(w[i]) << "' is not KEY=NUMBER\n";
      return to_int(exit_code::usage);
    }
    changes.set(w[i].substr(0, eq), static_cast<std::int64_t>(n));
  }
  if (auto ok = api::limits_from_json(changes); !ok) {
    err << "whisk-admin: " << ok.err().message << "\n";
    return to_int(exit_code::usage);
  }
  auto o = open_data_dir(opts.data_dir, opts.store, false);
  if (!o) {
    err << "whisk-admin: " << o.err().message << "\n";
    return to_int(exit_code::failed);
  }
  auto& db = *o->db;
  if (!db.namespace_by_name(ns)) {
    err << "whisk-admin: the namespace '" << ns << "' does not exist\n";
    return to_int(exit_code::not_found);
  }
  auto doc = db.get_entity("limits", ns, "limits").value_or(json::object{});
  if (w[1] == "get") {
    out << json::dump(doc) << "\n";
    return to_int(exit_code::ok);
  }
  if (w[1] == "unset") {
    if (auto ok = db.delete_entity("limits", ns, "limits"); !ok) {
      err << "whisk-admin: " << ok.err().message << "\n";
      return to_int(exit_code::failed);
    }
    out << "the limits of namespace '" << ns << "' are the node's defaults\n";
    return to_int(exit_code::ok);
  }
  for (auto& [k, v] : changes.as_object())
    doc.set(k, v);
  if (auto ok = db.put_entity("limits", ns, "limits", now_ms(), doc); !ok) {
    err << "whisk-admin: " << ok.err().message << "\n";
    return to_int(exit_code::failed);
  }
  out << json::dump(doc) << "\n";
  return to_int(exit_code::ok);
}

std::string usage_text() {
  return "usage: whisk-admin [--data-dir=DIR] [--store=URI] VERB [ARGS]\n"
         "\n"
         "Namespaces (tenants) and keys of a whisk-node data dir; works while the node runs.\n"
         "\n"
         "  user create NAMESPACE      new namespace; prints its uuid:key (shown only this once)\n"
         "  user list                  every namespace and its uuid (keys are stored as hashes only)\n"
         "  user delete NAMESPACE      removes the namespace's key (its actions and activations stay)\n"
         "  user key rotate NAMESPACE  a new key for the namespace; prints the new uuid:key\n"
         "  namespace list             every namespace's name\n"
         "  limits get NAMESPACE       the namespace's own limits (JSON; absent ones: the node's defaults)\n"
         "  limits set NAMESPACE KEY=N...  sets concurrentInvocations, invocationsPerMinute or\n"
         "                             firesPerMinute (0: no limit); others keep their value\n"
         "  limits unset NAMESPACE     back to the node's defaults (--limit-* options)\n"
         "\n"
         "  --data-dir=DIR             the node's data dir (default: 'whisk-data', as whisk-node)\n"
         "  --store=URI                the node's PostgreSQL database, as its --store (the key hashes\n"
         "                             still need --data-dir's node-secret)\n"
         "  --help                     this text\n"
         "\n"
         "A changed or deleted key stops working on a running node at its next request.\n"
         "Exit codes: 0 done, 1 the data dir or store cannot be used, 2 usage error,\n"
         "3 invalid namespace name, 4 the namespace exists, 5 no such namespace.\n";
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto opts = parse_options(args);
  if (!opts) {
    err << "whisk-admin: " << opts.err().message << " (see --help)\n";
    return to_int(exit_code::usage);
  }
  if (opts->help) {
    out << usage_text();
    return to_int(exit_code::ok);
  }
  auto& w = opts->words;
  auto is = [&](std::initializer_list<const char*> verb, std::size_t args_after) {
    if (w.size() != verb.size() + args_after)
      return false;
    std::size_t i = 0;
    for (auto* v : verb)
      if (w[i++] != v)
        return false;
    return true;
  };
  if (w.size() >= 3 && w[0] == "limits" && (w[1] == "get" || w[1] == "set" || w[1] == "unset") &&
      (w[1] == "set" ? w.size() >= 4 : w.size() == 3))
    return run_limits(*opts, out, err);
  enum class verb { none, create, list, remove, rotate, namespaces } v = verb::none;
  if (is({"user", "create"}, 1)) v = verb::create;
  else if (is({"user", "list"}, 0)) v = verb::list;
  else if (is({"user", "delete"}, 1)) v = verb::remove;
  else if (is({"user", "key", "rotate"}, 1)) v = verb::rotate;
  else if (is({"namespace", "list"}, 0)) v = verb::namespaces;
  if (v == verb::none) {
    std::string said;
    for (auto& x : w) {
      if (!said.empty())
        said += ' ';
      said += shown(x);
    }
    err << "whisk-admin: " << (w.empty() ? std::string("no verb") : fmt::format("unknown verb or wrong arguments: '{}'", said))
        << "\n\n" << usage_text();
    return to_int(exit_code::usage);
  }
  const std::string& ns = w.back();
  if (v == verb::create || v == verb::remove || v == verb::rotate)
    if (auto valid = check_namespace_name(ns); !valid) {
      err << "whisk-admin: " << valid.err().message << "\n";
      return to_int(exit_code::bad_name);
    }
  auto dir = opened{};
  if (auto o = open_data_dir(opts->data_dir, opts->store, v == verb::create); !o) {
    err << "whisk-admin: " << o.err().message << "\n";
    return to_int(exit_code::failed);
  } else {
    dir = std::move(*o);
  }
  auto& db = *dir.db;
  auto fail = [&](const error& e) {
    err << "whisk-admin: " << e.message << "\n";
    return exit_code_of(e);
  };
  switch (v) {
  case verb::create:
  case verb::rotate: {
    auto k = v == verb::create ? create_user(db, *dir.keys, ns) : rotate_key(db, *dir.keys, ns);
    if (!k)
      return fail(k.err());
    auto auth = k->auth();
    out << auth << "\n" << std::flush;
    sodium_memzero(auth.data(), auth.size());
    sodium_memzero(k->key.data(), k->key.size());
    return to_int(exit_code::ok);
  }
  case verb::remove:
    if (auto done = delete_user(db, ns); !done)
      return fail(done.err());
    out << "deleted the key of namespace '" << ns << "'\n";
    return to_int(exit_code::ok);
  case verb::list:
    for (auto& r : db.namespaces())
      out << r.name << "\t" << r.uuid << "\n";
    return to_int(exit_code::ok);
  case verb::namespaces:
    for (auto& r : db.namespaces())
      out << r.name << "\n";
    return to_int(exit_code::ok);
  case verb::none:
    break;
  }
  return to_int(exit_code::usage);
}

} // namespace whisk::admin
