// The V8 groundwork: a function compiled in its own isolate, called with JSON.
#include <catch2/catch.hpp>

#include "whisk/isolate/v8_function.hpp"

using whisk::isolate::v8_function;

TEST_CASE("v8: a compiled main is called with JSON in and out") {
  auto f = v8_function::compile("function main({n}) { return {n: 2 * n}; }");
  REQUIRE(f);
  auto r = (*f)->call(R"({"n":21})");
  REQUIRE(r);
  CHECK(*r == R"({"n":42})");
  CHECK(*(*f)->call(R"({"n":1})") == R"({"n":2})"); // the compiled function is reused
}

TEST_CASE("v8: Promise results settle; throws, rejections and bad code are errors") {
  auto p = v8_function::compile("async function main(p) { return {ok: await Promise.resolve(p.x)}; }");
  REQUIRE(p);
  CHECK(*(*p)->call(R"({"x":"yes"})") == R"({"ok":"yes"})");
  auto t = v8_function::compile("function main() { throw new Error('boom'); }");
  REQUIRE(t);
  auto thrown = (*t)->call("{}");
  REQUIRE(!thrown);
  CHECK_THAT(thrown.err().message, Catch::Contains("boom"));
  auto rej = v8_function::compile("function main() { return Promise.reject(new Error('nope')); }");
  REQUIRE(rej);
  CHECK_THAT((*rej)->call("{}").err().message, Catch::Contains("nope"));
  auto bad = v8_function::compile("function main( {");
  REQUIRE(!bad);
  CHECK_THAT(bad.err().message, Catch::Contains("SyntaxError"));
  auto missing = v8_function::compile("function other() {}");
  REQUIRE(!missing);
  CHECK_THAT(missing.err().message, Catch::Contains("does not define a function 'main'"));
}

TEST_CASE("v8: many isolates side by side keep their own state") {
  auto a = v8_function::compile("let n = 0; function main() { return {n: ++n}; }");
  auto b = v8_function::compile("let n = 100; function main() { return {n: ++n}; }");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*(*a)->call("{}") == R"({"n":1})");
  CHECK(*(*b)->call("{}") == R"({"n":101})");
  CHECK(*(*a)->call("{}") == R"({"n":2})");
}
