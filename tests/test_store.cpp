// The store contract, run against each backend (SQLite, PostgreSQL: see store_backends.hpp
// and pg_server.hpp for the server these tests start), then what only SQLite has (its files,
// plain-key migration), the guest's credentials and Basic auth over a store.
#include <array>
#include <catch2/catch.hpp>
#include <future>
#include <filesystem>
#include <fstream>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_backends.hpp"
#include "whisk/api/rest_api.hpp"
#include "whisk/store/store.hpp"

using namespace whisk;
using whisk::test::eventually;
using whisk::test::make_action;
using whisk::test::make_activation;
using whisk::test::store_backend;
using whisk::test::temp_dir;

namespace {

void namespaces_and_actions_persist(store_backend& b) {
  {
    auto s = b.open();
    REQUIRE(s);
    REQUIRE((*s)->put_namespace({"guest", "uuid-1", "key-1"}));
    auto a = action_from_json(*json::parse(R"({"exec":{"kind":"python:3","code":"def main(a): return a"}})"), "guest", "echo");
    REQUIRE(a);
    REQUIRE((*s)->put_action(*a));
    REQUIRE((*s)->put_action(make_action("second")));
  }
  auto s = b.open();
  REQUIRE(s);
  auto ns = (*s)->namespace_by_uuid("uuid-1");
  REQUIRE(ns);
  CHECK(ns->name == "guest");
  CHECK(ns->key_hash == "key-1");
  CHECK(!(*s)->namespace_by_uuid("nope"));
  CHECK((*s)->namespace_by_name("guest"));
  auto a = (*s)->get_action("guest", "echo");
  REQUIRE(a);
  CHECK(a->exec.kind == "python:3");
  CHECK(a->exec.code == "def main(a): return a");
  CHECK((*s)->list_actions("guest", 10, 0).size() == 2);
  CHECK((*s)->list_actions("guest", 1, 0).size() == 1);
  CHECK((*s)->list_actions("guest", 10, 1).size() == 1);
  CHECK((*s)->list_actions("other", 10, 0).empty());
  CHECK(!(*s)->get_action("other", "echo"));
  CHECK(*(*s)->delete_action("guest", "echo"));
  CHECK(!*(*s)->delete_action("guest", "echo"));
  CHECK(!(*s)->get_action("guest", "echo"));
}

void activations_batched_and_listed(store_backend& b) {
  std::vector<std::string> ids;
  {
    auto s = b.open();
    REQUIRE(s);
    for (int i = 0; i < 250; ++i) {
      auto a = make_activation(i % 2 ? "odd" : "even", 1000 + i);
      ids.push_back(a.activation_id);
      (*s)->add_activation(a);
    }
    REQUIRE((*s)->flush());
    auto stats = (*s)->write_stats();
    CHECK(stats.records == 250);
    CHECK(stats.commits >= 1);
    CHECK(stats.commits < stats.records); // records queued meanwhile share a commit
    CHECK((*s)->pending_writes() == 0);
    CHECK((*s)->write_failure().empty());
    for (int i = 250; i < 500; ++i) {
      auto a = make_activation(i % 2 ? "odd" : "even", 1000 + i);
      ids.push_back(a.activation_id);
      (*s)->add_activation(a);
    }
  } // closing drains the queue
  auto s = b.open();
  REQUIRE(s);
  activation_query q;
  q.ns = "guest";
  q.limit = 1000;
  auto all = (*s)->list_activations(q);
  CHECK(all.size() == 500);
  CHECK(all.front().start_ms == 1499);
  CHECK(all.back().start_ms == 1000);
  q.name = "odd";
  q.limit = 5;
  q.skip = 1;
  auto odd = (*s)->list_activations(q);
  REQUIRE(odd.size() == 5);
  CHECK(odd.front().start_ms == 1497);
  CHECK(odd.back().start_ms == 1489);
  q = {};
  q.ns = "guest";
  q.since = 1100;
  q.upto = 1109;
  CHECK((*s)->list_activations(q).size() == 10);
  q.ns = "other";
  CHECK((*s)->list_activations(q).empty());
  auto one = (*s)->get_activation("guest", ids[7]);
  REQUIRE(one);
  CHECK(one->name == "odd");
  CHECK(one->start_ms == 1007);
  CHECK(one->logs == std::vector<std::string>{"log of odd"});
  CHECK((*s)->get_activation("guest", ids[499]));
  CHECK(!(*s)->get_activation("other", ids[7]));
}

void committed_before_callback_and_accepted_never_lost(store_backend& b) {
  auto s = b.open();
  REQUIRE(s);
  auto done = make_activation("done", 2000);
  std::promise<bool> visible;
  (*s)->add_activation(done, [&] {
    // a second connection (another process after a crash would use one) sees the record already
    auto other = b.open();
    visible.set_value(other && (*other)->get_activation("guest", done.activation_id).has_value());
  });
  CHECK(visible.get_future().get());

  // accepted (answered 202): the stand-in waits in its own table, the record replaces it
  auto finished = make_activation("finished", 3000);
  auto stand_in_1 = finished;
  stand_in_1.status = activation_status::whisk_error;
  auto lost = make_activation("lost", 3001);
  auto stand_in_2 = lost;
  stand_in_2.status = activation_status::whisk_error;
  std::promise<void> accepted;
  (*s)->add_accepted(stand_in_1, [] {});
  (*s)->add_accepted(stand_in_2, [&] { accepted.set_value(); });
  accepted.get_future().get();
  CHECK(!(*s)->get_activation("guest", lost.activation_id)); // not a record yet
  (*s)->add_activation(finished);
  (*s)->flush();
  s->reset(); // the node stops; "lost" never ended

  auto again = b.open();
  REQUIRE(again);
  auto n = (*again)->recover_accepted();
  REQUIRE(n);
  CHECK(*n == 1);
  auto f = (*again)->get_activation("guest", finished.activation_id);
  REQUIRE(f);
  CHECK(f->status == activation_status::success); // the real record won over its stand-in
  auto l = (*again)->get_activation("guest", lost.activation_id);
  REQUIRE(l);
  CHECK(l->status == activation_status::whisk_error);
  CHECK(*(*again)->recover_accepted() == 0); // once only
}

// Controllers sharing a store: each recovers the stand-ins it wrote, not another's.
void accepted_recovered_by_their_owner(store_backend& b) {
  auto stand_in = [](const std::string& name, std::int64_t start) {
    auto a = make_activation(name, start);
    a.status = activation_status::whisk_error;
    return a;
  };
  auto of_c1 = stand_in("of-c1", 1000), of_c2 = stand_in("of-c2", 1001);
  {
    auto c1 = b.open();
    auto c2 = b.open();
    REQUIRE(c1);
    REQUIRE(c2);
    REQUIRE(*(*c1)->recover_accepted("c1") == 0);
    REQUIRE(*(*c2)->recover_accepted("c2") == 0);
    (*c1)->add_accepted(of_c1, [] {});
    (*c2)->add_accepted(of_c2, [] {});
    REQUIRE((*c1)->flush());
    REQUIRE((*c2)->flush());
  } // both stop before their runs end
  auto c1 = b.open();
  REQUIRE(c1);
  auto n = (*c1)->recover_accepted("c1");
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK((*c1)->get_activation("guest", of_c1.activation_id));
  CHECK(!(*c1)->get_activation("guest", of_c2.activation_id)); // c2's, still running as far as c1 knows
  auto c2 = b.open();
  REQUIRE(c2);
  CHECK(*(*c2)->recover_accepted("c2") == 1);
  CHECK((*c1)->get_activation("guest", of_c2.activation_id));
}

void deep_results_read_back(store_backend& b) {
  auto a = make_activation("deep", 1000);
  std::string deep = "{\"r\":" + std::string(json::max_depth - 1, '[') + std::string(json::max_depth - 1, ']') + "}";
  auto result = json::parse(deep);
  REQUIRE(result);
  a.result = *result;
  {
    auto s = b.open();
    REQUIRE(s);
    (*s)->add_activation(a);
  }
  auto s = b.open();
  REQUIRE(s);
  auto back = (*s)->get_activation("guest", a.activation_id);
  REQUIRE(back);
  CHECK(json::dump(back->result) == deep);
  activation_query q;
  q.ns = "guest";
  auto listed = (*s)->list_activations(q);
  REQUIRE(listed.size() == 1);
  CHECK(json::dump(listed.front().result) == deep);
}

// `version` of `node` moves after `write` (through another store), within the time a
// notification takes.
template <class Version, class Write>
bool moves_after(Version version, Write write) {
  auto before = version();
  write();
  return eventually([&] { return version() != before; });
}

// Activations moved no version. (First the version settles: a store's own write moves it at
// once and again when the database's notification of that write comes back.)
template <class Version>
bool still_after_activations(store& s, Version version) {
  eventually([&] {
    auto v = version();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return version() == v;
  });
  auto before = version();
  s.add_activation(make_activation("x", 1));
  s.add_accepted(make_activation("y", 2), [] {});
  s.flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return version() == before;
}

void credentials_version_moves_on_namespace_writes(store_backend& b) {
  auto node = b.open();
  auto other = b.open(); // whisk-admin's connection
  REQUIRE(node);
  REQUIRE(other);
  auto version = [&] { return (*node)->credentials_version(); };
  CHECK(version() >= 0);
  CHECK(moves_after(version, [&] { REQUIRE((*other)->add_namespace({"a", "uuid-a", "hash-a"})); }));
  CHECK(moves_after(version, [&] { REQUIRE((*other)->replace_key_hash("a", "hash-b")); }));
  CHECK(moves_after(version, [&] { REQUIRE((*other)->put_namespace({"b", "uuid-b", "hash-c"})); }));
  CHECK(moves_after(version, [&] { REQUIRE((*other)->delete_namespace("a")); }));
  CHECK(moves_after(version, [&] { REQUIRE((*node)->replace_key_hash("b", "hash-d")); })); // its own write too
  CHECK(still_after_activations(**node, version));
  CHECK((*node)->namespace_by_name("b")->key_hash == "hash-d");
  CHECK(!(*node)->namespace_by_name("a"));
  // the errors an operator sees, the same from each backend
  CHECK((*other)->add_namespace({"b", "uuid-x", "h"}).err().code == errc::conflict);
  CHECK((*other)->add_namespace({"c", "uuid-b", "h"}).err().code == errc::conflict);
  CHECK((*other)->replace_key_hash("zz", "h").err().code == errc::not_found);
  CHECK(!(*other)->delete_namespace("zz"));
  CHECK((*other)->namespaces().size() == 1);
}

void entities_version_moves_on_action_writes(store_backend& b) {
  auto c1 = b.open();
  auto c2 = b.open(); // a second controller on the same database
  REQUIRE(c1);
  REQUIRE(c2);
  auto version = [&] { return (*c1)->entities_version(); };
  CHECK(moves_after(version, [&] { REQUIRE((*c2)->put_action(make_action("echo"))); }));
  CHECK(moves_after(version, [&] { REQUIRE((*c2)->put_action(make_action("echo", "def main(a): return {}"))); }));
  CHECK((*c1)->get_action("guest", "echo")->exec.code == "def main(a): return {}");
  CHECK(moves_after(version, [&] { REQUIRE(*(*c2)->delete_action("guest", "echo")); }));
  CHECK(!(*c1)->get_action("guest", "echo"));
  CHECK(moves_after(version, [&] { REQUIRE((*c1)->put_action(make_action("own"))); })); // its own write too
  auto of_c2 = [&] { return (*c2)->entities_version(); };
  CHECK(moves_after(of_c2, [&] { REQUIRE(*(*c1)->delete_action("guest", "own")); }));
  CHECK(still_after_activations(**c1, version));
}

void entities_kept_by_collection(store_backend& b) {
  {
    auto s = b.open();
    REQUIRE(s);
    REQUIRE((*s)->put_entity("packages", "guest", "utils", 1000, json::object{{"name", "utils"}, {"v", 1}}));
    REQUIRE((*s)->put_entity("packages", "guest", "tools", 2000, json::object{{"name", "tools"}}));
    REQUIRE((*s)->put_entity("triggers", "guest", "utils", 1500, json::object{{"name", "a trigger"}}));
    REQUIRE((*s)->put_entity("packages", "other", "utils", 1000, json::object{{"name", "theirs"}}));
    REQUIRE((*s)->put_entity("packages", "guest", "utils", 3000, json::object{{"name", "utils"}, {"v", 2}})); // replaces
  }
  auto s = b.open();
  REQUIRE(s);
  auto doc = (*s)->get_entity("packages", "guest", "utils");
  REQUIRE(doc);
  CHECK(json::get_int(*doc, "v", 0) == 2);
  CHECK(json::get_string(*(*s)->get_entity("triggers", "guest", "utils"), "name", "") == "a trigger");
  CHECK(json::get_string(*(*s)->get_entity("packages", "other", "utils"), "name", "") == "theirs");
  CHECK(!(*s)->get_entity("rules", "guest", "utils"));
  auto listed = (*s)->list_entities("packages", "guest", 10, 0);
  REQUIRE(listed.size() == 2);
  CHECK(json::get_string(listed[0], "name", "") == "utils"); // newest first
  CHECK(json::get_string(listed[1], "name", "") == "tools");
  CHECK((*s)->list_entities("packages", "guest", 1, 1).size() == 1);
  CHECK((*s)->list_entities("packages", "nobody", 10, 0).empty());
  auto version = (*s)->entities_version();
  CHECK(*(*s)->delete_entity("packages", "guest", "utils"));
  CHECK((*s)->entities_version() != version);
  CHECK(!*(*s)->delete_entity("packages", "guest", "utils"));
  CHECK(!(*s)->get_entity("packages", "guest", "utils"));
  CHECK((*s)->get_entity("triggers", "guest", "utils"));
}

void activations_counted_and_listed_by_package_name(store_backend& b) {
  auto s = b.open();
  REQUIRE(s);
  for (int i = 0; i < 5; ++i) {
    auto a = make_activation("echo", 1000 + i);
    if (i < 3)
      a.path = "guest/utils/echo"; // an action in package utils
    (*s)->add_activation(a);
  }
  REQUIRE((*s)->flush());
  activation_query q;
  q.ns = "guest";
  CHECK((*s)->count_activations(q) == 5);
  q.name = "utils/echo";
  CHECK((*s)->count_activations(q) == 3);
  CHECK((*s)->list_activations(q).size() == 3);
  q.name = "echo";
  CHECK((*s)->count_activations(q) == 2);
  q.since = 1003;
  CHECK((*s)->count_activations(q) == 2);
  q.upto = 1003;
  CHECK((*s)->count_activations(q) == 1);
  q.ns = "other";
  CHECK((*s)->count_activations(q) == 0);
}

} // namespace

WHISK_STORE_CONTRACT("activations of package actions are counted and listed by pkg/name", activations_counted_and_listed_by_package_name)
WHISK_STORE_CONTRACT("packages triggers and rules are kept by collection and namespace", entities_kept_by_collection)
WHISK_STORE_CONTRACT("namespaces and actions persist across reopen", namespaces_and_actions_persist)
WHISK_STORE_CONTRACT("activations are batched and listed newest first and never lost on close", activations_batched_and_listed)
WHISK_STORE_CONTRACT("a record is committed before its callback runs and accepted activations are never lost",
                     committed_before_callback_and_accepted_never_lost)
WHISK_STORE_CONTRACT("controllers sharing a store each recover only the activations they accepted", accepted_recovered_by_their_owner)
WHISK_STORE_CONTRACT("a result nested as deep as outside input allows reads back from its record", deep_results_read_back)
WHISK_STORE_CONTRACT("the credentials version moves when another store writes a namespace and not for activations",
                     credentials_version_moves_on_namespace_writes)
WHISK_STORE_CONTRACT("the entities version moves when another store writes an action and not for activations",
                     entities_version_moves_on_action_writes)

// --- SQLite only: its files ---------------------------------------------------------------

namespace {
std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The key's bytes in none of the store's files (the database, its log and shared memory).
bool key_in_store_files(const std::filesystem::path& dir, const std::string& key) {
  for (auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().filename().string().rfind("whisk.db", 0) == 0 && file_bytes(f.path()).find(key) != std::string::npos)
      return true;
  return false;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st{};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

std::array<unsigned char, key_hasher::secret_bytes> test_secret(unsigned char fill) {
  std::array<unsigned char, key_hasher::secret_bytes> s;
  s.fill(fill);
  return s;
}
} // namespace

TEST_CASE("store: keeps the key's hash, never the key, in owner-only files") {
  temp_dir dir;
  auto db = dir.path / "whisk.db";
  key_hasher keys{test_secret(7)};
  auto key = new_key();
  auto uuid = new_uuid();
  {
    auto s = open_sqlite_store(db.string());
    REQUIRE(s);
    REQUIRE((*s)->put_namespace({"guest", uuid, keys.hash(key)}));
    (*s)->add_activation(make_activation("a", 1000));
    (*s)->flush();
    auto ns = (*s)->namespace_by_uuid(uuid);
    REQUIRE(ns);
    CHECK(keys.verify(key, ns->key_hash));
    CHECK(!keys.verify(new_key(), ns->key_hash));
    // while open: the database, its log and its shared memory all exist
    for (auto* name : {"whisk.db", "whisk.db-wal", "whisk.db-shm"}) {
      INFO(name);
      REQUIRE(std::filesystem::exists(dir.path / name));
      CHECK(mode_of(dir.path / name) == 0600);
    }
    CHECK(!key_in_store_files(dir.path, key));
  }
  CHECK(!key_in_store_files(dir.path, key));
  CHECK(file_bytes(db).find(keys.hash(key)) != std::string::npos); // the check above can find what is there
}

TEST_CASE("store: files a past run left readable become owner-only") {
  temp_dir dir;
  auto db = dir.path / "whisk.db";
  { REQUIRE(open_sqlite_store(db.string())); }
  ::chmod(db.c_str(), 0644);
  auto s = open_sqlite_store(db.string());
  REQUIRE(s);
  CHECK(mode_of(db) == 0600);
}

TEST_CASE("store: a store with plain keys is migrated to hashes, and no key bytes remain") {
  temp_dir dir;
  auto db = dir.path / "whisk.db";
  auto key = new_key();
  auto uuid = new_uuid();
  {
    // the layout of stores before keys were hashed, with the key in the log as well
    sqlite3* old = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &old) == SQLITE_OK);
    auto sql = "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
               "CREATE TABLE namespaces(name TEXT PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, key TEXT NOT NULL);"
               "INSERT INTO namespaces VALUES('guest', '" + uuid + "', '" + key + "');"
               "INSERT INTO namespaces VALUES('other', 'uuid-2', 'key-of-other-namespace');";
    REQUIRE(sqlite3_exec(old, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(old, "PRAGMA wal_checkpoint(PASSIVE);", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(old);
  }
  REQUIRE(key_in_store_files(dir.path, key));
  auto refused = open_sqlite_store(db.string());
  REQUIRE(!refused);
  CHECK_THAT(refused.err().message, Catch::Contains("plain keys"));

  key_hasher keys{test_secret(9)};
  {
    auto s = open_sqlite_store(db.string(), &keys);
    REQUIRE(s);
    auto ns = (*s)->namespace_by_uuid(uuid);
    REQUIRE(ns);
    CHECK(ns->name == "guest");
    CHECK(ns->key_hash == keys.hash(key));
    CHECK((*s)->namespaces().size() == 2);
    CHECK(!key_in_store_files(dir.path, key));
    CHECK(!key_in_store_files(dir.path, "key-of-other-namespace"));
  }
  CHECK(!key_in_store_files(dir.path, key));
  auto again = open_sqlite_store(db.string()); // migrated once: no secret needed to open it now
  REQUIRE(again);
  CHECK(keys.verify(key, (*again)->namespace_by_uuid(uuid)->key_hash));
}

TEST_CASE("credentials: guest is created once, keeps its key while wskprops holds it, gets a new one otherwise") {
  temp_dir dir;
  key_hasher keys{test_secret(3)};
  auto s = open_sqlite_store((dir.path / "whisk.db").string());
  REQUIRE(s);
  auto props = dir.path / "wskprops";
  auto first = bootstrap_guest(**s, keys, props, "http://127.0.0.1:1");
  REQUIRE(first);
  CHECK(first->created);
  auto p1 = read_wskprops(props);
  REQUIRE(p1);
  auto ns = (*s)->namespace_by_uuid(p1->uuid);
  REQUIRE(ns);
  CHECK(ns->name == "guest");
  CHECK(keys.verify(p1->key, ns->key_hash));

  auto second = bootstrap_guest(**s, keys, props, "http://127.0.0.1:2"); // a restart on another port
  REQUIRE(second);
  CHECK(!second->new_key);
  auto p2 = read_wskprops(props);
  CHECK(p2->api_host == "http://127.0.0.1:2");
  CHECK(p2->auth() == p1->auth());

  std::filesystem::remove(props); // the key cannot come back from its hash
  auto third = bootstrap_guest(**s, keys, props, "http://127.0.0.1:3");
  REQUIRE(third);
  CHECK(third->new_key);
  CHECK(!third->created);
  auto p3 = read_wskprops(props);
  CHECK(p3->uuid == p1->uuid);
  CHECK(p3->key != p1->key);
  CHECK((*s)->namespaces().size() == 1);
  CHECK(!keys.verify(p1->key, (*s)->namespace_by_uuid(p1->uuid)->key_hash));
}

namespace {
http::response get_namespaces(api::rest_api& rest, const std::string& user_pass, bool raw = false) {
  http::request req;
  req.method = "GET";
  req.target = "/api/v1/namespaces";
  std::string b64(sodium_base64_ENCODED_LEN(user_pass.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(user_pass.data()), user_pass.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.pop_back();
  req.authorization = raw ? user_pass : "Basic " + b64;
  http::response out;
  rest.handle(req, [&](http::response r) { out = std::move(r); }, [](api::invocation, http::responder) {});
  return out;
}
} // namespace

TEST_CASE("rest: Basic auth checks the key against its stored hash, and a replaced key stops working") {
  temp_dir dir;
  key_hasher keys{test_secret(5)};
  auto s = open_sqlite_store((dir.path / "whisk.db").string());
  REQUIRE(s);
  auto uuid = new_uuid(), key = new_key();
  REQUIRE((*s)->put_namespace({"guest", uuid, keys.hash(key)}));
  api::rest_config cfg;
  cfg.keys = keys;
  cfg.auth_recheck_ms = 0; // every request asks the store: a replaced key fails at once
  api::rest_api rest{**s, cfg};
  CHECK(get_namespaces(rest, uuid + ":" + key).status == 200);
  CHECK(get_namespaces(rest, uuid + ":" + key).status == 200); // cached
  CHECK(get_namespaces(rest, uuid + ":" + key.substr(0, 63)).status == 401);
  CHECK(get_namespaces(rest, uuid + ":" + key + "0").status == 401);
  CHECK(get_namespaces(rest, uuid + ":" + keys.hash(key)).status == 401); // the hash is not a key
  CHECK(get_namespaces(rest, new_uuid() + ":" + key).status == 401);
  CHECK(get_namespaces(rest, uuid + key).status == 401);
  CHECK(get_namespaces(rest, "Basic not*base64", true).status == 401);
  CHECK(get_namespaces(rest, "Bearer " + key, true).status == 401);

  auto rotated = new_key();
  REQUIRE((*s)->put_namespace({"guest", uuid, keys.hash(rotated)}));
  CHECK(get_namespaces(rest, uuid + ":" + key).status == 401);
  CHECK(get_namespaces(rest, uuid + ":" + rotated).status == 200);

  api::rest_api no_keys{**s, api::rest_config{}}; // without the node secret nothing verifies
  CHECK(get_namespaces(no_keys, uuid + ":" + rotated).status == 401);
}

TEST_CASE("credentials: a store whose namespaces include no guest keeps every key as it is") {
  temp_dir dir;
  key_hasher keys{test_secret(4)};
  auto s = open_sqlite_store((dir.path / "whisk.db").string());
  REQUIRE(s);
  auto key = new_key();
  REQUIRE((*s)->put_namespace({"alice", new_uuid(), keys.hash(key)}));
  auto props = dir.path / "wskprops";
  auto b = bootstrap_guest(**s, keys, props, "http://127.0.0.1:1");
  REQUIRE(b);
  CHECK(b->name.empty());
  CHECK(!std::filesystem::exists(props));
  REQUIRE((*s)->namespaces().size() == 1);
  CHECK(keys.verify(key, (*s)->namespaces().front().key_hash));
}
