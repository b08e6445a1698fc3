// What only the PostgreSQL store has: a schema version in the database, a server that can go
// away and come back, URIs. The server is this process's own (pg_server.hpp).
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "store_backends.hpp"
#include "whisk/store/store.hpp"

using namespace whisk;
using whisk::test::eventually;
using whisk::test::make_action;
using whisk::test::make_activation;
using whisk::test::pg_server;
using whisk::test::postgres_backend;

TEST_CASE("store: a database whose whisk schema is newer than this binary is refused (postgresql)") {
  postgres_backend b;
  auto& pg = pg_server::instance();
  {
    auto s = b.open();
    REQUIRE(s);
    REQUIRE((*s)->put_action(make_action("kept")));
  }
  CHECK(pg.sql(b.db.name, "SELECT version FROM whisk_schema") == "2"); // what this binary writes
  pg.sql(b.db.name, "UPDATE whisk_schema SET version = 3");
  auto refused = b.open();
  REQUIRE(!refused);
  INFO(refused.err().message);
  CHECK_THAT(refused.err().message, Catch::Contains("schema version 3") && Catch::Contains("newer"));
  CHECK(pg.sql(b.db.name, "SELECT count(*) FROM actions") == "1"); // nothing touched

  pg.sql(b.db.name, "UPDATE whisk_schema SET version = 2"); // the version alone was the reason
  auto s = b.open();
  REQUIRE(s);
  CHECK((*s)->get_action("guest", "kept"));
}

TEST_CASE("store: a version 1 database is migrated to version 2 and keeps its actions (postgresql)") {
  postgres_backend b;
  auto& pg = pg_server::instance();
  {
    auto s = b.open();
    REQUIRE(s);
    REQUIRE((*s)->put_action(make_action("kept")));
  }
  // what a version 1 binary left: no entities table
  pg.sql(b.db.name, "DROP TABLE entities");
  pg.sql(b.db.name, "UPDATE whisk_schema SET version = 1");
  auto s = b.open();
  REQUIRE(s);
  CHECK(pg.sql(b.db.name, "SELECT max(version) FROM whisk_schema") == "2");
  CHECK((*s)->get_action("guest", "kept"));
  REQUIRE((*s)->put_entity("packages", "guest", "utils", 1, whisk::json::object{{"name", "utils"}}));
  auto doc = (*s)->get_entity("packages", "guest", "utils");
  REQUIRE(doc);
  CHECK(whisk::json::get_string(*doc, "name", "") == "utils");
}

TEST_CASE("store: controllers starting at once on a new database all get the schema (postgresql)") {
  postgres_backend b;
  std::vector<std::future<bool>> opened;
  for (int i = 0; i < 4; ++i)
    opened.push_back(std::async(std::launch::async, [&b, i] {
      auto s = b.open();
      return s && (*s)->put_action(make_action("a" + std::to_string(i)));
    }));
  for (auto& f : opened)
    CHECK(f.get());
  CHECK(pg_server::instance().sql(b.db.name, "SELECT count(*) FROM whisk_schema") == "1");
}

TEST_CASE("store: activation writes while PostgreSQL is down are kept and written once it is back (postgresql)") {
  postgres_backend b;
  auto& pg = pg_server::instance();
  auto s = b.open();
  REQUIRE(s);
  REQUIRE((*s)->put_action(make_action("before")));

  pg.down();
  std::atomic<int> callbacks{0};
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto a = make_activation("during", 1000 + i);
    ids.push_back(a.activation_id);
    (*s)->add_activation(a, [&] { ++callbacks; });
  }
  // answered 202 while down: one ends meanwhile (its record replaces the stand-in), one does not
  auto ended = make_activation("ended", 2000), running = make_activation("running", 2001);
  for (auto* a : {&ended, &running}) {
    auto stand_in = *a;
    stand_in.status = activation_status::whisk_error;
    (*s)->add_accepted(stand_in, [&] { ++callbacks; });
  }
  (*s)->add_activation(ended, [&] { ++callbacks; });
  ids.push_back(ended.activation_id);

  CHECK(eventually([&] { return (*s)->pending_writes() > 0 && !(*s)->write_failure().empty(); }));
  INFO("write failure: " << (*s)->write_failure());
  CHECK((*s)->pending_writes() == 23);
  auto put = (*s)->put_action(make_action("during"));
  REQUIRE(!put);
  CHECK(put.err().code == errc::unavailable);
  auto del = (*s)->delete_action("guest", "before");
  REQUIRE(!del);
  CHECK(del.err().code == errc::unavailable);
  auto ns = (*s)->put_namespace({"guest", "uuid-1", "hash-1"});
  REQUIRE(!ns);
  CHECK(ns.err().code == errc::unavailable);
  CHECK(!(*s)->flush(std::chrono::milliseconds(200))); // not while the server is down

  pg.up();
  CHECK(eventually([&] { return (*s)->pending_writes() == 0 && (*s)->write_failure().empty(); }, std::chrono::seconds(30)));
  CHECK((*s)->flush(std::chrono::seconds(5)));
  CHECK(callbacks == 23); // every answer was sent
  int readable = 0;
  for (auto& id : ids)
    readable += (*s)->get_activation("guest", id).has_value();
  CHECK(readable == 21);
  CHECK((*s)->get_activation("guest", ended.activation_id)->status == activation_status::success);
  CHECK(!(*s)->get_activation("guest", running.activation_id)); // a stand-in, not a record yet
  // entity writes work again (the first may wait out the reconnect backoff)
  CHECK(eventually([&] { return bool((*s)->put_action(make_action("after"))); }, std::chrono::seconds(10)));
  CHECK((*s)->get_action("guest", "before"));

  s->reset();
  auto again = b.open();
  REQUIRE(again);
  CHECK(*(*again)->recover_accepted() == 1); // the stand-in written during the outage
  auto r = (*again)->get_activation("guest", running.activation_id);
  REQUIRE(r);
  CHECK(r->status == activation_status::whisk_error);
}

TEST_CASE("store: a PostgreSQL URI is told from a file path and shown without its password") {
  CHECK(is_postgres_uri("postgresql://u@h:5432/whisk"));
  CHECK(is_postgres_uri("postgres://h/whisk"));
  CHECK(is_postgres_uri("postgresql:///whisk?host=/tmp/x"));
  CHECK(!is_postgres_uri("/var/lib/whisk/whisk.db"));
  CHECK(!is_postgres_uri("postgresql"));
  CHECK(!is_postgres_uri("mysql://h/db"));
  auto r = redacted_uri("postgresql://whisk:pw-in-userinfo@db.example:5432/whisk");
  CHECK(r.find("pw-in-userinfo") == std::string::npos);
  CHECK_THAT(r, Catch::StartsWith("postgresql://whisk:") && Catch::EndsWith("@db.example:5432/whisk"));
  r = redacted_uri("postgresql:///whisk?host=/run/pg&password=pw-in-query&user=whisk");
  CHECK(r.find("pw-in-query") == std::string::npos);
  CHECK_THAT(r, Catch::Contains("host=/run/pg") && Catch::Contains("user=whisk"));
  CHECK(redacted_uri("postgresql://h/db") == "postgresql://h/db");
}

TEST_CASE("store: opening a PostgreSQL URI that reaches no server fails at once and names it without the password") {
  auto t0 = std::chrono::steady_clock::now();
  auto s = open_postgres_store("postgresql://whisk:pw-of-nowhere@/whisk?host=/nonexistent-whisk-test-dir");
  REQUIRE(!s);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  INFO(s.err().message);
  CHECK_THAT(s.err().message, Catch::Contains("/nonexistent-whisk-test-dir"));
  CHECK(s.err().message.find("pw-of-nowhere") == std::string::npos);
}
