// whisk-admin's verbs, the store's credentials version, and tenants through the REST layer.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sodium.h>
#include <sstream>
#include <unistd.h>

#include "whisk/admin.hpp"
#include "whisk/api/authenticator.hpp"
#include "whisk/api/rest_api.hpp"
#include "whisk/store/store.hpp"

using namespace whisk;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("whisk-admin-test-" + std::to_string(::getpid()) + "-" + random_hex(8));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
};

key_hasher test_keys() {
  std::array<unsigned char, key_hasher::secret_bytes> s;
  s.fill(5);
  return key_hasher{s};
}

std::string basic(const std::string& auth) {
  std::string b64(sodium_base64_ENCODED_LEN(auth.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(auth.data()), auth.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.pop_back(); // the terminating NUL
  return "Basic " + b64;
}

struct admin_run {
  int code;
  std::string out, err;
};

admin_run run_admin(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = admin::run(args, out, err);
  return {code, out.str(), err.str()};
}

// One request through rest_api::handle; invokes are refused (none of these tests runs code).
http::response call(api::rest_api& api, const std::string& method, const std::string& target, const std::string& auth,
                    const std::string& body = "") {
  http::request req{method, target, basic(auth), "application/json", body, {}, {}};
  http::response out;
  bool answered = false;
  api.handle(req, [&](http::response r) { out = std::move(r); answered = true; },
             [](api::invocation, http::responder respond) { respond(api::rest_api::error(503, "no pool in this test")); });
  REQUIRE(answered);
  return out;
}

} // namespace

TEST_CASE("admin: namespace names follow OpenWhisk's entity name rules") {
  for (auto* good : {"team-a", "a", "whisk.system", "x_1@example.com", "_private", "two words"})
    CHECK(admin::check_namespace_name(good));
  for (auto* bad : {"", "_", "-a", ".a", "a/b", "a b ", "a:b", "caf\xc3\xa9", "a\nb", "%2e"})
    CHECK(!admin::check_namespace_name(bad));
  CHECK(admin::check_namespace_name(std::string(256, 'a')));
  CHECK(!admin::check_namespace_name(std::string(257, 'a')));
}

TEST_CASE("admin: create, rotate and delete keep hashes only and answer with errors a user can act on") {
  temp_dir dir;
  auto keys = test_keys();
  auto s = open_sqlite_store((dir.path / "whisk.db").string());
  REQUIRE(s);
  auto& db = **s;
  auto a = admin::create_user(db, keys, "team-a");
  REQUIRE(a);
  CHECK(a->key.size() == 64);
  CHECK(a->uuid.size() == 36);
  auto rec = db.namespace_by_name("team-a");
  REQUIRE(rec);
  CHECK(rec->uuid == a->uuid);
  CHECK(rec->key_hash == keys.hash(a->key));
  CHECK(rec->key_hash != a->key);

  auto again = admin::create_user(db, keys, "team-a");
  REQUIRE(!again);
  CHECK(again.err().code == errc::conflict);
  CHECK(admin::create_user(db, keys, "a/b").err().code == errc::bad_request);

  auto rotated = admin::rotate_key(db, keys, "team-a");
  REQUIRE(rotated);
  CHECK(rotated->uuid == a->uuid);
  CHECK(rotated->key != a->key);
  CHECK(keys.verify(rotated->key, db.namespace_by_name("team-a")->key_hash));
  CHECK(!keys.verify(a->key, db.namespace_by_name("team-a")->key_hash));
  CHECK(admin::rotate_key(db, keys, "nobody").err().code == errc::not_found);

  REQUIRE(admin::delete_user(db, "team-a"));
  CHECK(!db.namespace_by_name("team-a"));
  CHECK(admin::delete_user(db, "team-a").err().code == errc::not_found);
}

TEST_CASE("store: the credentials version moves when another store of the same file writes a namespace, not for activations") {
  temp_dir dir;
  auto file = (dir.path / "whisk.db").string();
  auto node = open_sqlite_store(file);
  auto other = open_sqlite_store(file); // whisk-admin's connection
  REQUIRE(node);
  REQUIRE(other);
  auto v0 = (*node)->credentials_version();
  CHECK(v0 >= 0);
  activation act;
  act.ns = "a";
  act.name = "x";
  act.activation_id = new_activation_id();
  act.start_ms = 1;
  (*node)->add_activation(act);
  (*node)->flush();
  CHECK((*node)->credentials_version() == v0);
  REQUIRE((*other)->add_namespace({"a", "uuid-a", "hash-a"}));
  auto v1 = (*node)->credentials_version();
  CHECK(v1 != v0);
  REQUIRE((*other)->replace_key_hash("a", "hash-b"));
  auto v2 = (*node)->credentials_version();
  CHECK(v2 != v1);
  REQUIRE((*other)->delete_namespace("a"));
  CHECK((*node)->credentials_version() != v2);
  CHECK((*other)->add_namespace({"b", "uuid-b", "h"}));
  CHECK((*other)->add_namespace({"b", "uuid-c", "h"}).err().code == errc::conflict);
  CHECK((*other)->add_namespace({"c", "uuid-b", "h"}).err().code == errc::conflict);
  CHECK((*other)->replace_key_hash("zz", "h").err().code == errc::not_found);
}

TEST_CASE("auth: a key rotated or deleted through another store (as whisk-admin does) stops working at the next request") {
  temp_dir dir;
  auto file = (dir.path / "whisk.db").string();
  auto keys = test_keys();
  auto node = open_sqlite_store(file);
  auto admin_db = open_sqlite_store(file);
  REQUIRE(node);
  REQUIRE(admin_db);
  auto a = admin::create_user(**admin_db, keys, "team-a");
  REQUIRE(a);
  // an hour of trust in a verified key: only the version check can notice the rotation
  api::authenticator auth{**node, keys, 3600 * 1000};
  auto c = auth.authenticate(basic(a->auth()));
  REQUIRE(c);
  CHECK(c->name == "team-a");
  CHECK(auth.authenticate(basic(a->auth()))); // from the cache
  CHECK(!auth.authenticate(basic(a->uuid + ":" + new_key())));
  CHECK(!auth.authenticate("Basic !!!"));
  CHECK(!auth.authenticate("Bearer x"));

  auto r = admin::rotate_key(**admin_db, keys, "team-a");
  REQUIRE(r);
  CHECK(!auth.authenticate(basic(a->auth())));
  CHECK(auth.authenticate(basic(r->auth())));
  REQUIRE(admin::delete_user(**admin_db, "team-a"));
  CHECK(!auth.authenticate(basic(r->auth())));
}

TEST_CASE("tenants: a key sees its own namespace only (403 for another's path, 404 for another's ids)") {
  temp_dir dir;
  auto keys = test_keys();
  auto s = open_sqlite_store((dir.path / "whisk.db").string());
  REQUIRE(s);
  auto& db = **s;
  auto a = admin::create_user(db, keys, "team-a");
  auto b = admin::create_user(db, keys, "team-b");
  REQUIRE(a);
  REQUIRE(b);
  api::rest_config cfg;
  cfg.keys = keys;
  api::rest_api api{db, cfg};
  auto code = R"({"exec":{"kind":"python:3","code":"def main(a): return a"}})";
  CHECK(call(api, "PUT", "/api/v1/namespaces/_/actions/mine", a->auth(), code).status == 200);
  CHECK(call(api, "PUT", "/api/v1/namespaces/team-b/actions/theirs", b->auth(), code).status == 200);

  activation act;
  act.ns = "team-b";
  act.name = "theirs";
  act.activation_id = new_activation_id();
  act.start_ms = 1000;
  act.logs = {"secret log line of b"};
  db.add_activation(act);
  db.flush();

  // team-a: its own action only
  auto list = call(api, "GET", "/api/v1/namespaces/_/actions", a->auth());
  CHECK(list.status == 200);
  CHECK(list.body.find("mine") != std::string::npos);
  CHECK(list.body.find("theirs") == std::string::npos);
  CHECK(call(api, "GET", "/api/v1/namespaces/_/actions/theirs", a->auth()).status == 404);
  CHECK(call(api, "POST", "/api/v1/namespaces/_/actions/theirs?blocking=true", a->auth()).status == 404);
  for (auto* path : {"/api/v1/namespaces/team-b/actions", "/api/v1/namespaces/team-b/actions/theirs",
                     "/api/v1/namespaces/team-b/activations", "/api/v1/namespaces/team-b/actions/theirs?blocking=true"}) {
    INFO(path);
    CHECK(call(api, "GET", path, a->auth()).status == 403);
  }
  CHECK(call(api, "DELETE", "/api/v1/namespaces/team-b/actions/theirs", a->auth()).status == 403);
  CHECK(call(api, "PUT", "/api/v1/namespaces/team%2Db/actions/x", a->auth(), code).status == 403);
  auto id = act.activation_id;
  for (auto suffix : {"", "/logs", "/result"}) {
    INFO(suffix);
    CHECK(call(api, "GET", "/api/v1/namespaces/_/activations/" + id + suffix, a->auth()).status == 404);
    CHECK(call(api, "GET", "/api/v1/namespaces/team-b/activations/" + id + suffix, a->auth()).status == 403);
    CHECK(call(api, "GET", "/api/v1/namespaces/_/activations/" + id + suffix, b->auth()).status == 200);
  }
  auto acts = call(api, "GET", "/api/v1/namespaces/_/activations?docs=true&name=team-b/theirs", a->auth());
  CHECK(acts.status == 200);
  CHECK(acts.body == "[]");
  auto ns = call(api, "GET", "/api/v1/namespaces", a->auth());
  CHECK(ns.body == R"(["team-a"])");
}

TEST_CASE("admin tool: verbs, output and exit codes") {
  temp_dir dir;
  auto data = "--data-dir=" + (dir.path / "data").string();
  CHECK(run_admin({"--help"}).code == 0);
  CHECK_THAT(run_admin({"--help"}).out, Catch::Contains("user key rotate NAMESPACE"));
  CHECK(run_admin({}).code == 2);
  CHECK(run_admin({data, "user", "frobnicate"}).code == 2);
  CHECK(run_admin({data, "--bogus", "user", "list"}).code == 2);
  CHECK(run_admin({data, "user", "create"}).code == 2);
  auto missing = run_admin({data, "user", "list"});
  CHECK(missing.code == 1); // nothing is created by a list
  CHECK_THAT(missing.err, Catch::Contains("no store"));
  CHECK(!fs::exists(dir.path / "data"));
  CHECK(run_admin({data, "user", "create", "a/b"}).code == 3);

  auto created = run_admin({data, "user", "create", "team-a"});
  REQUIRE(created.code == 0);
  auto auth = created.out.substr(0, created.out.size() - 1);
  CHECK(auth.size() == 36 + 1 + 64);
  CHECK(created.out.back() == '\n');
  CHECK(fs::status(dir.path / "data").permissions() == fs::perms::owner_all);
  CHECK(run_admin({data, "user", "create", "team-a"}).code == 4);
  CHECK(run_admin({"user", "create", "team-b", "--data-dir", (dir.path / "data").string()}).code == 0);

  auto users = run_admin({data, "user", "list"});
  CHECK(users.code == 0);
  CHECK(users.out == "team-a\t" + auth.substr(0, 36) + "\n" + "team-b\t" + users.out.substr(users.out.rfind('\t') + 1));
  CHECK(users.out.find(auth.substr(37)) == std::string::npos); // no key, ever
  CHECK(run_admin({data, "namespace", "list"}).out == "team-a\nteam-b\n");

  auto rotated = run_admin({data, "user", "key", "rotate", "team-a"});
  CHECK(rotated.code == 0);
  CHECK(rotated.out.substr(0, 37) == auth.substr(0, 37));
  CHECK(rotated.out != created.out);
  CHECK(run_admin({data, "user", "key", "rotate", "nobody"}).code == 5);
  CHECK(run_admin({data, "user", "delete", "team-b"}).code == 0);
  CHECK(run_admin({data, "user", "delete", "team-b"}).code == 5);
  CHECK(run_admin({data, "namespace", "list"}).out == "team-a\n");

  fs::remove(dir.path / "data" / "node-secret"); // never replaced by a new one that voids every key
  auto no_secret = run_admin({data, "user", "create", "team-c"});
  CHECK(no_secret.code == 1);
  CHECK_THAT(no_secret.err, Catch::Contains("node-secret"));
  CHECK(!fs::exists(dir.path / "data" / "node-secret"));
}
