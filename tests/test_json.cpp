#include <catch2/catch.hpp>

#include "whisk/json.hpp"

using namespace whisk;

TEST_CASE("json: parse and dump round trip, keeping member order") {
  auto v = json::parse(R"({"b":1,"a":[true,false,null,"x\n\"y\""],"c":{"d":-2.5,"e":12345678901234}})");
  REQUIRE(v);
  CHECK(json::dump(*v) == R"({"b":1,"a":[true,false,null,"x\n\"y\""],"c":{"d":-2.5,"e":12345678901234}})");
  CHECK(json::get_int(*v->find("c"), "e", 0) == 12345678901234);
}

TEST_CASE("json: scalars at the top level") {
  CHECK(json::dump(*json::parse("42")) == "42");
  CHECK(json::dump(*json::parse("\"s\"")) == "\"s\"");
  CHECK(json::parse("null")->is_null());
  CHECK(json::parse("true")->as_bool());
}

TEST_CASE("json: malformed input is an error, never a crash") {
  for (auto bad : {"", "{", "{\"a\":}", "[1,2", "{\"a\":1} x", "nul", "{'a':1}", "[1,]"}) {
    INFO(bad);
    auto v = json::parse(bad);
    CHECK(!v);
    if (!v)
      CHECK(v.err().code == errc::bad_request);
  }
}

TEST_CASE("json: control characters are escaped") {
  std::string out;
  json::write_string(out, std::string("a\x01z", 3));
  CHECK(out == "\"a\\u0001z\"");
}

TEST_CASE("json: set replaces or appends members") {
  json::value v;
  v.set("a", 1);
  v.set("b", 2);
  v.set("a", 3);
  CHECK(json::dump(v) == R"({"a":3,"b":2})");
}
