#include <catch2/catch.hpp>
#include <future>
#include <filesystem>
#include <unistd.h>

#include "whisk/store/store.hpp"

using namespace whisk;

namespace {
struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("whisk-store-test-" + std::to_string(::getpid()) + "-" + random_hex(8));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

activation make_activation(const std::string& name, std::int64_t start) {
  activation a;
  a.ns = "guest";
  a.name = name;
  a.activation_id = new_activation_id();
  a.start_ms = start;
  a.end_ms = start + 1;
  a.logs = {"log of " + name};
  return a;
}
} // namespace

TEST_CASE("store: namespaces and actions persist across reopen") {
  temp_dir dir;
  auto db = (dir.path / "whisk.db").string();
  {
    auto s = open_sqlite_store(db);
    REQUIRE(s);
    REQUIRE((*s)->put_namespace({"guest", "uuid-1", "key-1"}));
    auto a = action_from_json(*json::parse(R"({"exec":{"kind":"python:3","code":"def main(a): return a"}})"), "guest", "echo");
    REQUIRE(a);
    REQUIRE((*s)->put_action(*a));
  }
  auto s = open_sqlite_store(db);
  REQUIRE(s);
  auto ns = (*s)->namespace_by_uuid("uuid-1");
  REQUIRE(ns);
  CHECK(ns->key == "key-1");
  CHECK(!(*s)->namespace_by_uuid("nope"));
  auto a = (*s)->get_action("guest", "echo");
  REQUIRE(a);
  CHECK(a->exec.kind == "python:3");
  CHECK((*s)->list_actions("guest", 10, 0).size() == 1);
  CHECK((*s)->delete_action("guest", "echo"));
  CHECK(!(*s)->delete_action("guest", "echo"));
  CHECK(!(*s)->get_action("guest", "echo"));
}

TEST_CASE("store: activations are batched, listed newest first, and never lost on close") {
  temp_dir dir;
  auto db = (dir.path / "whisk.db").string();
  std::vector<std::string> ids;
  {
    auto s = open_sqlite_store(db);
    REQUIRE(s);
    for (int i = 0; i < 500; ++i) {
      auto a = make_activation(i % 2 ? "odd" : "even", 1000 + i);
      ids.push_back(a.activation_id);
      (*s)->add_activation(a);
    }
  } // closing drains the queue
  auto s = open_sqlite_store(db);
  REQUIRE(s);
  activation_query q;
  q.ns = "guest";
  q.limit = 1000;
  auto all = (*s)->list_activations(q);
  CHECK(all.size() == 500);
  CHECK(all.front().start_ms == 1499);
  q.name = "odd";
  q.limit = 5;
  q.skip = 1;
  auto odd = (*s)->list_activations(q);
  REQUIRE(odd.size() == 5);
  CHECK(odd.front().start_ms == 1497);
  q = {};
  q.ns = "guest";
  q.since = 1100;
  q.upto = 1109;
  CHECK((*s)->list_activations(q).size() == 10);
  auto one = (*s)->get_activation("guest", ids[7]);
  REQUIRE(one);
  CHECK(one->logs == std::vector<std::string>{"log of odd"});
  CHECK(!(*s)->get_activation("other", ids[7]));
}

TEST_CASE("store: a record is committed before its callback runs, and accepted activations are never lost") {
  temp_dir dir;
  auto db = (dir.path / "whisk.db").string();
  auto s = open_sqlite_store(db);
  REQUIRE(s);
  auto done = make_activation("done", 2000);
  std::promise<bool> visible;
  (*s)->add_activation(done, [&] {
    // a second connection (another process after a crash would use one) sees the record already
    auto other = open_sqlite_store(db);
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

  auto again = open_sqlite_store(db);
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
