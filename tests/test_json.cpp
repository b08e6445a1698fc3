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

namespace {
std::string nested(std::size_t depth, char open, const char* inner, char close) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i)
    s += open == '{' ? std::string("{\"a\":") : std::string(1, open);
  s += inner;
  s.append(depth, close);
  return s;
}
} // namespace

TEST_CASE("json: nesting up to max_depth parses, one level more is a bad_request") {
  for (char open : {'[', '{'}) {
    char close = open == '[' ? ']' : '}';
    INFO(open);
    auto at_limit = json::parse(nested(json::max_depth, open, "1", close));
    REQUIRE(at_limit);
    CHECK(json::dump(*at_limit) == nested(json::max_depth, open, "1", close));
    auto over = json::parse(nested(json::max_depth + 1, open, "1", close));
    REQUIRE(!over);
    CHECK(over.err().code == errc::bad_request);
    CHECK_THAT(over.err().message, Catch::Contains("deeper than 128"));
    // an explicit bound for documents whisk wraps around outside values itself
    CHECK(json::parse(nested(json::max_depth + 1, open, "1", close), json::max_wrapped_depth));
  }
}

TEST_CASE("json: 200,000 nested brackets are an error, never a crash") {
  for (char open : {'[', '{'}) {
    char close = open == '[' ? ']' : '}';
    INFO(open);
    for (auto* inner : {"1", ""}) { // balanced, and cut short as an attacker may send it
      auto text = nested(200000, open, inner, close);
      if (*inner == '\0')
        text.resize(text.size() / 2);
      auto v = json::parse(text);
      REQUIRE(!v);
      CHECK(v.err().code == errc::bad_request);
    }
    auto deep_in_member = json::parse("{\"parameters\":[{\"key\":\"x\",\"value\":" + nested(200000, open, "0", close) + "}]}");
    CHECK(!deep_in_member);
  }
}
