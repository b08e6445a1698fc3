#pragma once
// Operator verbs over a node's data dir, like OpenWhisk's wskadmin: tenants (namespaces)
// and their keys. They work on a stopped node's store or beside a running node (SQLite WAL;
// the node notices a changed key at its next request, see store::credentials_version).
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "whisk/credentials.hpp"
#include "whisk/expected.hpp"
#include "whisk/store/store.hpp"

namespace whisk::admin {

// OpenWhisk's entity name rules (1..256 of [A-Za-z0-9_@.- ], starting with a letter, digit
// or '_', not ending with a space), and not "_", which every path uses for "my namespace".
expected<bool> check_namespace_name(const std::string& name);

struct issued_key {
  std::string ns;
  std::string uuid;
  std::string key; // shown once; the store keeps only its hash
  std::string auth() const { return uuid + ":" + key; }
};

// A new namespace with a new uuid and key: errc::bad_request (name), errc::conflict (exists).
expected<issued_key> create_user(store& db, const key_hasher& keys, const std::string& ns);
// A new key for the namespace (the uuid stays); the old key stops working. errc::not_found.
expected<issued_key> rotate_key(store& db, const key_hasher& keys, const std::string& ns);
// Removes the namespace's credentials; its actions and activations stay. errc::not_found.
expected<bool> delete_user(store& db, const std::string& ns);

// Exit codes of whisk-admin, documented in its --help.
enum class exit_code : int {
  ok = 0,
  failed = 1,       // the data dir or store cannot be used
  usage = 2,        // unknown verb or option, missing argument
  bad_name = 3,     // not a valid namespace name
  exists = 4,       // user create: the namespace exists
  not_found = 5,    // user delete / key rotate: no such namespace
};

std::string usage_text();

constexpr int to_int(exit_code c) { return static_cast<int>(c); }

// The whole tool: argv without the program name; answers on `out`, errors on `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace whisk::admin
