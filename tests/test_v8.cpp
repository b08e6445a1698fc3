// Containerless functions: a function compiled in its own isolate, called with JSON, with
// console capture, a time limit and a heap limit that end the call, not the process.
#include <catch2/catch.hpp>

#include "whisk/isolate/v8_function.hpp"

using namespace whisk::isolate;

namespace {
std::unique_ptr<v8_function> compiled(const std::string& code, std::int64_t heap_mb = 64) {
  auto f = v8_function::compile(code, "main", heap_mb);
  if (!f)
    FAIL("compile failed: " << f.err().message);
  return std::move(*f);
}
} // namespace

TEST_CASE("v8: a compiled main is called with JSON in and out") {
  auto f = compiled("function main({n}) { return {n: 2 * n}; }");
  auto r = f->call(R"({"n":21})");
  CHECK(r.status == call_status::ok);
  CHECK(r.output == R"({"n":42})");
  CHECK(f->call(R"({"n":1})").output == R"({"n":2})"); // the compiled function is reused
  CHECK(compiled("exports.main = p => ({via: 'exports', x: p.x});")->call(R"({"x":1})").output == R"({"via":"exports","x":1})");
  CHECK(compiled("module.exports = () => ({via: 'module'});")->call("{}").output == R"({"via":"module"})");
}

TEST_CASE("v8: Promise results settle; throws, rejections and bad code are errors") {
  CHECK(compiled("async function main(p) { return {ok: await Promise.resolve(p.x)}; }")->call(R"({"x":"yes"})").output ==
        R"({"ok":"yes"})");
  auto thrown = compiled("function main() { throw new Error('boom'); }")->call("{}");
  CHECK(thrown.status == call_status::threw);
  CHECK_THAT(thrown.output, Catch::Contains("boom"));
  auto rejected = compiled("function main() { return Promise.reject(new Error('nope')); }")->call("{}");
  CHECK(rejected.status == call_status::threw);
  CHECK_THAT(rejected.output, Catch::Contains("nope"));
  auto bad = v8_function::compile("function main( {");
  REQUIRE(!bad);
  CHECK_THAT(bad.err().message, Catch::Contains("SyntaxError"));
  auto missing = v8_function::compile("function other() {}");
  REQUIRE(!missing);
  CHECK_THAT(missing.err().message, Catch::Contains("does not define a function 'main'"));
}

TEST_CASE("v8: console lines are captured per call") {
  auto f = compiled("function main(p) { console.log('hello', p.name, {a: 1}); console.error('oops'); return {}; }");
  auto r = f->call(R"({"name":"ada"})");
  REQUIRE(r.logs.size() == 2);
  CHECK_THAT(r.logs[0], Catch::EndsWith(R"(stdout: hello ada {"a":1})"));
  CHECK_THAT(r.logs[1], Catch::EndsWith("stderr: oops"));
  CHECK(f->call(R"({"name":"bob"})").logs.size() == 2); // only this call's lines
}

TEST_CASE("v8: an endless loop is stopped at its time limit and the function still works") {
  auto f = compiled("function main(p) { if (p.spin) for (;;) {} return {done: true}; }");
  auto r = f->call(R"({"spin":true})", 200);
  CHECK(r.status == call_status::timeout);
  CHECK(r.output == "The action exceeded its time limits of 200 milliseconds.");
  CHECK(f->call(R"({"spin":false})").output == R"({"done":true})");
}

TEST_CASE("v8: exhausting the heap ends the call with the memory error, not the process") {
  auto f = compiled("function main() { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }", 32);
  auto r = f->call("{}", 30000);
  CHECK(r.status == call_status::oom);
  CHECK(r.output == "The action exhausted its memory and was aborted.");
  CHECK(!f->usable());
  // other isolates are unaffected
  CHECK(compiled("function main() { return {fine: true}; }")->call("{}").output == R"({"fine":true})");
}

TEST_CASE("v8: many isolates side by side keep their own state") {
  auto a = compiled("let n = 0; function main() { return {n: ++n}; }");
  auto b = compiled("let n = 100; function main() { return {n: ++n}; }");
  CHECK(a->call("{}").output == R"({"n":1})");
  CHECK(b->call("{}").output == R"({"n":101})");
  CHECK(a->call("{}").output == R"({"n":2})");
}

#include <future>

#include "whisk/isolate/isolate_backend.hpp"

TEST_CASE("isolate backend: create, init, run with logs, timeout, destroy through the container interface") {
  using namespace whisk::container;
  whisk::isolate::isolate_backend b;
  std::promise<whisk::expected<container_id>> created;
  b.create(spec{"js:isolate", 64}, [&](whisk::expected<container_id> id) { created.set_value(id); });
  auto id = created.get_future().get();
  REQUIRE(id);
  auto wait = [](auto start) {
    std::promise<outcome> p;
    start([&](outcome o) { p.set_value(std::move(o)); });
    return p.get_future().get();
  };
  auto init = wait([&](auto cb) {
    b.init(*id, init_request{"function main(p) { console.log('got', p.n); if (p.spin) for (;;) {} return {n: p.n + 1}; }", "main", false, "{}", 1000, 1 << 20}, cb);
  });
  CHECK(init.output == R"({"ok":true})");
  auto run = wait([&](auto cb) { b.run(*id, run_request{R"({"value":{"n":1},"activation_id":"x"})", 1000, 1 << 20}, cb); });
  CHECK(run.kind == outcome_kind::ok);
  CHECK(run.output == R"({"n":2})");
  REQUIRE(run.logs.size() == 1);
  CHECK_THAT(run.logs[0], Catch::EndsWith("stdout: got 1"));
  auto spin = wait([&](auto cb) { b.run(*id, run_request{R"({"value":{"n":1,"spin":true}})", 200, 1 << 20}, cb); });
  CHECK(spin.kind == outcome_kind::timeout);
  auto bad = wait([&](auto cb) { b.init(*id, init_request{"function main( {", "main", false, "{}", 1000, 1 << 20}, cb); });
  CHECK_THAT(bad.output, Catch::Contains("SyntaxError"));
  std::promise<void> gone;
  b.destroy(*id, [&] { gone.set_value(); });
  gone.get_future().get();
  auto after = wait([&](auto cb) { b.run(*id, run_request{"{}", 1000, 1 << 20}, cb); });
  CHECK(after.kind == outcome_kind::failed);
}
