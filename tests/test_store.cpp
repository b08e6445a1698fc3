#include <catch2/catch.hpp>
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
  CHECK(ns->key_hash == "key-1");
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
    // visible at once, even before its batch is written
    CHECK((*s)->get_activation("guest", ids.back()));
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

TEST_CASE("store: a result nested as deep as outside input allows reads back from its record") {
  temp_dir dir;
  auto db = (dir.path / "whisk.db").string();
  auto a = make_activation("deep", 1000);
  std::string deep = "{\"r\":" + std::string(json::max_depth - 1, '[') + std::string(json::max_depth - 1, ']') + "}";
  auto result = json::parse(deep);
  REQUIRE(result);
  a.result = *result;
  {
    auto s = open_sqlite_store(db);
    REQUIRE(s);
    (*s)->add_activation(a);
  }
  auto s = open_sqlite_store(db);
  REQUIRE(s);
  auto back = (*s)->get_activation("guest", a.activation_id);
  REQUIRE(back);
  CHECK(json::dump(back->result) == deep);
}
