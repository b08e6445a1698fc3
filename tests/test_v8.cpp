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

TEST_CASE("v8: Promise results settle, while throws, rejections and bad code are errors") {
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

TEST_CASE("v8: ArrayBuffers count against the memory limit: past it the call ends with the memory error") {
  // at most 40 x 16 MB: bounded even if nothing stopped it
  auto f = compiled("function main() { const a = []; for (let i = 0; i < 40; i++) a.push(new ArrayBuffer(16 << 20)); "
                    "return {n: a.length}; }",
                    64);
  auto r = f->call("{}");
  CHECK(r.status == call_status::oom);
  // a catch in the code does not keep it going: the call still ends as out of memory
  auto caught = compiled("function main() { const keep = []; for (let i = 0; i < 40; i++) { try { keep.push(new Uint8Array(32 << 20)); } "
                         "catch (e) {} } return {n: keep.length}; }",
                         64);
  CHECK(caught->call("{}").status == call_status::oom);
  // within the limit ArrayBuffers work, and the memory of past calls is given back
  auto small = compiled("function main() { return {n: new ArrayBuffer(8 << 20).byteLength}; }", 64);
  for (int i = 0; i < 20; ++i)
    REQUIRE(small->call("{}").output == R"({"n":8388608})");
}

TEST_CASE("v8: console output is cut at the call's log limit, with a line that says so") {
  auto f = compiled("function main(p) { for (let i = 0; i < p.lines; i++) console.log('x'.repeat(99)); return {}; }");
  auto r = f->call(R"({"lines":100})", 60000, 1000);
  REQUIRE(r.status == call_status::ok);
  REQUIRE(r.logs.size() == 11); // ten lines of 99 bytes fit in 1000, the eleventh does not
  CHECK_THAT(r.logs.back(), Catch::Contains("Logs were truncated because the total bytes size exceeds the limit of 1000 bytes."));
  CHECK(f->call(R"({"lines":3})", 60000, 1000).logs.size() == 3); // every call counts from zero
  CHECK(f->call(R"({"lines":300})").logs.size() == 300);            // no limit given: none applied
  auto fresh = call_in_new_isolate("function main() { for (let i = 0; i < 50; i++) console.log('y'.repeat(99)); return {}; }",
                                   "main", 64, "{}", 60000, 500);
  CHECK(fresh.logs.size() == 6);
}

TEST_CASE("v8: many isolates side by side keep their own state") {
  auto a = compiled("let n = 0; function main() { return {n: ++n}; }");
  auto b = compiled("let n = 100; function main() { return {n: ++n}; }");
  CHECK(a->call("{}").output == R"({"n":1})");
  CHECK(b->call("{}").output == R"({"n":101})");
  CHECK(a->call("{}").output == R"({"n":2})");
}

TEST_CASE("v8: a context per call starts every call from the compiled code's fresh state") {
  auto code = "let n = 0; console.log('top level'); function main() { globalThis.seen = (globalThis.seen || 0) + 1; return {n: ++n, seen}; }";
  auto per_call = v8_function::compile(code, "main", 64, true);
  REQUIRE(per_call);
  for (int i = 0; i < 3; ++i) {
    auto r = (*per_call)->call("{}");
    CHECK(r.output == R"({"n":1,"seen":1})");
    REQUIRE(r.logs.size() == 1); // the top level ran again, in this call
    CHECK_THAT(r.logs[0], Catch::EndsWith("stdout: top level"));
  }
  auto kept = v8_function::compile(code, "main", 64, false);
  REQUIRE(kept);
  CHECK((*kept)->call("{}").output == R"({"n":1,"seen":1})");
  CHECK((*kept)->call("{}").output == R"({"n":2,"seen":2})");
  CHECK((*kept)->call("{}").logs.empty());
  // an endless loop in the top level is stopped at the call's time limit, too
  auto spin = v8_function::compile("if (globalThis.armed) for (;;) {} globalThis.armed = true; function main() { return {}; }",
                                   "main", 64, true, 1000);
  REQUIRE(spin);
  auto r = (*spin)->call("{}", 2000); // generous: a new context plus the top level, on a noisy machine
  CHECK(r.status == call_status::ok); // a new context: armed is unset again
}

TEST_CASE("v8: an endless top level is stopped at the init limit, and a non-object result is left to the caller") {
  call_status why = call_status::ok;
  auto f = v8_function::compile("for (;;) {} function main() {}", "main", 64, false, 200, &why);
  REQUIRE(!f);
  CHECK(why == call_status::timeout);
  auto number = compiled("function main() { return 42; }")->call("{}");
  CHECK(number.status == call_status::ok);
  CHECK(number.output == "42");
  auto cyclic = compiled("function main() { const a = {}; a.a = a; return a; }")->call("{}");
  CHECK(cyclic.status == call_status::threw);
  CHECK_THAT(cyclic.output, Catch::Contains("could not be serialized"));
}

TEST_CASE("v8: fresh mode makes an isolate for one call and says how long that took") {
  auto r = call_in_new_isolate("let n = 0; function main(p) { console.log('fresh'); return {n: ++n, x: p.x}; }", "main", 64,
                               R"({"x":3})", 1000);
  CHECK(r.status == call_status::ok);
  CHECK(r.output == R"({"n":1,"x":3})");
  CHECK(r.init_us > 0);
  REQUIRE(r.logs.size() == 1);
  auto bad = call_in_new_isolate("function main( {", "main", 64, "{}", 1000);
  CHECK(bad.status == call_status::threw);
  CHECK_THAT(bad.output, Catch::Contains("SyntaxError"));
  auto spin = call_in_new_isolate("function main() { for (;;) {} }", "main", 64, "{}", 150);
  CHECK(spin.status == call_status::timeout);
  CHECK(spin.output == "The action exceeded its time limits of 150 milliseconds.");
  CHECK(check_compiles("function main() {}", "main", 64, 1000).status == call_status::ok);
  CHECK(check_compiles("function other() {}", "main", 64, 1000).status == call_status::threw);
  // the code compiled once (its code cache) starts later isolates; it holds no values of the run that made it
  const std::string counter = "let n = 0; globalThis.made = Date.now(); function main(p) { return {n: ++n, x: p.x}; }";
  compiled_code cache;
  REQUIRE(check_compiles(counter, "main", 64, 1000, &cache).status == call_status::ok);
  REQUIRE(cache);
  CHECK(!cache->empty());
  for (int i = 0; i < 2; ++i)
    CHECK(run_to_end(start_in_new_isolate(counter, "main", 64, R"({"x":5})", call_options{}, nullptr, cache)).output ==
          R"({"n":1,"x":5})");
  // a cache of other code is refused by V8, and the source compiled instead
  auto other = run_to_end(start_in_new_isolate("function main() { return {other: true}; }", "main", 64, "{}", call_options{}, nullptr, cache));
  CHECK(other.output == R"({"other":true})");
}

TEST_CASE("v8: a shared context holds many functions that can see each other's globals") {
  shared_context ctx(64);
  int a = 0, b = 0;
  auto la = ctx.load(&a, "function main(p) { globalThis.shared = p.v; return {a: true}; }", "main", 1000);
  CHECK(la.status == call_status::ok);
  CHECK(la.init_us >= 0);
  CHECK(ctx.load(&b, "function main() { return {saw: globalThis.shared}; }", "main", 1000).status == call_status::ok);
  CHECK(ctx.load(&a, "ignored: already loaded", "main", 1000).init_us == -1);
  CHECK(ctx.functions() == 2);
  CHECK(ctx.call(&a, R"({"v":"hello"})", 1000).output == R"({"a":true})");
  CHECK(ctx.call(&b, "{}", 1000).output == R"({"saw":"hello"})"); // no isolation: the point of unsafe
  int spin = 0;
  REQUIRE(ctx.load(&spin, "function main() { for (;;) {} }", "main", 1000).status == call_status::ok);
  CHECK(ctx.call(&spin, "{}", 150).status == call_status::timeout);
  CHECK(ctx.call(&b, "{}", 1000).output == R"({"saw":"hello"})");
  ctx.forget(&b);
  CHECK(!ctx.loaded(&b));
  CHECK(ctx.call(&b, "{}", 1000).status == call_status::threw);
}

#include <future>
#include <thread>

#include "whisk/domain.hpp"
#include "whisk/isolate/isolate_backend.hpp"
#include "whisk/json.hpp"
#include "whisk/policy/outcome.hpp"

namespace {
using namespace whisk::container;

// Drives an isolate backend from the test thread, waiting for each completion.
struct driver {
  whisk::isolate::isolate_backend& b;

  template <class Start>
  static outcome wait(Start start) {
    std::promise<outcome> p;
    start([&](outcome o) { p.set_value(std::move(o)); });
    return p.get_future().get();
  }
  container_id create(std::int64_t memory = 64) {
    std::promise<whisk::expected<container_id>> created;
    b.create(spec{"js:isolate", memory}, [&](whisk::expected<container_id> id) { created.set_value(id); });
    auto id = created.get_future().get();
    REQUIRE(id);
    return *id;
  }
  // keep_context: the REST API's default (a slot's one kept context); false: a new context per call
  outcome init(container_id id, const std::string& code, const std::string& mode = "reuse", bool keep_context = true,
               std::int64_t timeout = 1000) {
    return wait([&](auto cb) { b.init(id, init_request{code, "main", false, "{}", timeout, 1 << 20, mode, keep_context}, cb); });
  }
  outcome run(container_id id, const std::string& value_json, std::int64_t timeout = 1000) {
    return wait([&](auto cb) { b.run(id, run_request{R"({"value":)" + value_json + R"(,"activation_id":"x"})", timeout, 1 << 20}, cb); });
  }
  void destroy(container_id id) {
    std::promise<void> gone;
    b.destroy(id, [&] { gone.set_value(); });
    gone.get_future().get();
  }
};

whisk::isolate::isolate_config one_worker(std::int64_t cache = 8) {
  whisk::isolate::isolate_config c;
  c.workers = 1;
  c.cache_isolates = cache;
  return c;
}
} // namespace

TEST_CASE("isolate backend: create, init, run with logs, timeout, destroy through the container interface") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  auto id = d.create();
  auto init = d.init(id, "function main(p) { console.log('got', p.n); if (p.spin) for (;;) {} return {n: p.n + 1}; }");
  CHECK(init.output == R"({"ok":true})");
  auto run = d.run(id, R"({"n":1})");
  CHECK(run.kind == outcome_kind::ok);
  CHECK(run.output == R"({"n":2})");
  CHECK(run.init_us == -1); // compiled by the init on the only worker
  REQUIRE(run.logs.size() == 1);
  CHECK_THAT(run.logs[0], Catch::EndsWith("stdout: got 1"));
  auto spin = d.run(id, R"({"n":1,"spin":true})", 200);
  CHECK(spin.kind == outcome_kind::timeout);
  CHECK(d.run(id, R"({"n":5})").output == R"({"n":6})"); // the terminated isolate still serves
  auto bad = d.init(id, "function main( {");
  CHECK_THAT(bad.output, Catch::Contains("SyntaxError"));
  CHECK_THAT(whisk::json::dump(whisk::policy::classify_init(bad, 1000).result), !Catch::Contains("due to: Initialization"));
  auto endless = d.init(d.create(), "for (;;) {}", "reuse", false, 200);
  CHECK(endless.kind == outcome_kind::timeout);
  d.destroy(id);
  CHECK(d.run(id, "{}").kind == outcome_kind::failed);
  auto s = b.stats();
  CHECK(s.timeouts == 1);
  CHECK(s.workers == 1);
}

TEST_CASE("isolate backend: results, Promises, throws and non-object results are classified like containers") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  auto verdict = [&](const std::string& code) {
    auto id = d.create();
    REQUIRE(d.init(id, code).output == R"({"ok":true})");
    auto out = d.run(id, R"({"x":2})");
    return whisk::policy::classify_run(out, 1000);
  };
  auto ok = verdict("async function main({x}) { return {y: await Promise.resolve(x * 3)}; }");
  CHECK(ok.status == whisk::activation_status::success);
  CHECK(whisk::json::dump(ok.result) == R"({"y":6})");
  auto threw = verdict("function main() { throw new Error('bad input'); }");
  CHECK(threw.status == whisk::activation_status::application_error);
  CHECK_THAT(whisk::json::dump(threw.result), Catch::Contains("bad input"));
  auto rejected = verdict("async function main() { throw new Error('async bad'); }");
  CHECK(rejected.status == whisk::activation_status::application_error);
  CHECK_THAT(whisk::json::dump(rejected.result), Catch::Contains("async bad"));
  auto number = verdict("function main() { return 7; }");
  CHECK(number.status == whisk::activation_status::developer_error);
  CHECK(whisk::json::dump(number.result) == R"({"error":"The action did not return a dictionary."})");
  auto id = d.create(128);
  REQUIRE(d.init(id, "function main() { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }").output == R"({"ok":true})");
  auto oom = d.run(id, "{}", 30000);
  CHECK(oom.kind == outcome_kind::oom);
  CHECK(whisk::json::dump(whisk::policy::classify_run(oom, 30000).result) == R"({"error":"The action exhausted its memory and was aborted."})");
  CHECK(b.stats().out_of_memory == 1);
  CHECK(b.stats().cached_isolates == 4); // the broken isolate left the cache
}

TEST_CASE("isolate backend: modes — reuse keeps compiled isolates, fresh makes one per call, unsafe only when allowed") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  const std::string counter = "let n = 0; function main() { return {n: ++n}; }";
  // reuse with a new context per call (isolate-reuse-context: false): compiled once, no state carried
  auto reuse = d.create();
  d.init(reuse, counter, "reuse", false);
  CHECK(d.run(reuse, "{}").output == R"({"n":1})");
  CHECK(d.run(reuse, "{}").output == R"({"n":1})");
  // another slot of the same code shares the compiled isolate
  auto twin = d.create();
  auto misses = b.stats().cache_misses;
  d.init(twin, counter, "reuse", false);
  CHECK(b.stats().cache_misses == misses);
  CHECK(d.run(twin, "{}").output == R"({"n":1})");
  // reuse with the kept context (the default): state carries, as in a warm container
  auto kept = d.create();
  d.init(kept, counter);
  CHECK(b.stats().cache_misses == misses + 1); // an isolate of its own, not the shared one
  CHECK(d.run(kept, "{}").output == R"({"n":1})");
  CHECK(d.run(kept, "{}").output == R"({"n":2})");
  // fresh: a new isolate (and init time) on every call
  auto fresh = d.create();
  REQUIRE(d.init(fresh, counter, "fresh").output == R"({"ok":true})");
  auto before = b.stats();
  for (int i = 0; i < 3; ++i) {
    auto r = d.run(fresh, "{}");
    CHECK(r.output == R"({"n":1})");
    CHECK(r.init_us > 0);
  }
  CHECK(b.stats().fresh_isolates == before.fresh_isolates + 3);
  CHECK(b.stats().cached_isolates == before.cached_isolates);
  // unsafe is refused on a backend that does not allow it
  auto unsafe = d.create();
  auto refused = d.init(unsafe, counter, "unsafe");
  CHECK_THAT(refused.output, Catch::Contains("not allowed"));
  CHECK(d.run(unsafe, "{}").kind == outcome_kind::failed);
  auto allowed_cfg = one_worker();
  allowed_cfg.allow_unsafe = true;
  whisk::isolate::isolate_backend allowed(allowed_cfg);
  driver u{allowed};
  auto x = u.create(), y = u.create();
  REQUIRE(u.init(x, "function main(p) { globalThis.note = p.note; return {}; }", "unsafe").output == R"({"ok":true})");
  REQUIRE(u.init(y, "function main() { return {note: globalThis.note}; }", "unsafe").output == R"({"ok":true})");
  u.run(x, R"({"note":"shared"})");
  CHECK(u.run(y, "{}").output == R"({"note":"shared"})");
  CHECK(allowed.stats().unsafe_contexts == 1);
}

TEST_CASE("isolate backend: fresh mode runs in isolates made ahead in idle time and each serves one call only") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  auto fresh = d.create(128);
  REQUIRE(d.init(fresh, "let n = 0; function main(p) { if (p.mark) globalThis.mark = p.mark; return {n: ++n, mark: globalThis.mark || null}; }",
                 "fresh")
              .output == R"({"ok":true})");
  CHECK(d.run(fresh, R"({"mark":"first"})").output == R"({"n":1,"mark":"first"})"); // made now: the worker learns the size
  auto made_ahead = [&](std::int64_t want) {
    for (int i = 0; i < 400 && b.stats().blank_isolates < want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return b.stats().blank_isolates;
  };
  REQUIRE(made_ahead(2) == 2); // two, made while the worker was idle
  auto before = b.stats().fresh_made_ahead;
  for (auto mark : {"second", "third"}) { // nothing of the previous call, nor of another call, is there
    auto r = d.run(fresh, std::string(R"({"mark":")") + mark + "\"}");
    CHECK(r.output == std::string(R"({"n":1,"mark":")") + mark + "\"}");
    CHECK(r.init_us >= 0); // compiling still counts as the call's init
    CHECK(d.run(fresh, "{}").output == R"({"n":1,"mark":null})");
  }
  CHECK(b.stats().fresh_made_ahead > before);
  CHECK(b.stats().fresh_isolates == 5);
  CHECK(b.stats().cached_isolates == 0);
  // an isolate made ahead has its action's heap limit: 160 MB do not fit in 128, do in 256
  const std::string hog = "function main() { const a = []; for (let i = 0; i < 200; i++) a.push(new Array(100000).fill(1.5)); "
                          "return {arrays: a.length}; }";
  auto small = d.create(128), large = d.create(256);
  REQUIRE(d.init(small, hog, "fresh").output == R"({"ok":true})");
  REQUIRE(d.init(large, hog, "fresh").output == R"({"ok":true})");
  CHECK(d.run(large, "{}", 30000).output == R"({"arrays":200})");
  made_ahead(4);
  CHECK(d.run(small, "{}", 30000).kind == outcome_kind::oom);
  CHECK(d.run(large, "{}", 30000).output == R"({"arrays":200})");
}

TEST_CASE("isolate backend: the cache is bounded by count and heap, least recently used evicted first") {
  whisk::isolate::isolate_backend b(one_worker(2));
  driver d{b};
  auto make = [&](int k) {
    auto id = d.create();
    REQUIRE(d.init(id, "function main() { return {k: " + std::to_string(k) + "}; }").output == R"({"ok":true})");
    return id;
  };
  auto a = make(1), c = make(2);
  CHECK(b.stats().cached_isolates == 2);
  CHECK(b.stats().cache_evictions == 0);
  d.run(a, "{}"); // a is now the most recently used
  auto e = make(3); // evicts c, not a
  CHECK(b.stats().cached_isolates == 2);
  CHECK(b.stats().cache_evictions == 1);
  auto misses = b.stats().cache_misses;
  CHECK(d.run(a, "{}").output == R"({"k":1})");
  CHECK(b.stats().cache_misses == misses); // still cached
  auto r = d.run(c, "{}");
  CHECK(r.output == R"({"k":2})"); // compiled again, and says so
  CHECK(r.init_us > 0);
  CHECK(b.stats().cache_misses == misses + 1);
  CHECK(d.run(e, "{}").output == R"({"k":3})");
  CHECK(b.stats().cache_evictions == 3);
  CHECK(b.stats().cached_heap_bytes > 0);

  // a heap bound of 1 MB holds one isolate however many the count allows
  auto small = one_worker(100);
  small.cache_mb = 1;
  whisk::isolate::isolate_backend tight(small);
  driver t{tight};
  for (int k = 0; k < 4; ++k) {
    auto id = t.create();
    t.init(id, "function main() { return {k: " + std::to_string(k) + "}; }");
    CHECK(t.run(id, "{}").output == "{\"k\":" + std::to_string(k) + "}");
  }
  CHECK(tight.stats().cached_isolates == 1);
  CHECK(tight.stats().cache_evictions == 3);
}

TEST_CASE("isolate backend: many actions at once on several workers") {
  whisk::isolate::isolate_config cfg;
  cfg.workers = 3;
  cfg.cache_isolates = 24; // fewer than actions x workers: evictions happen under load
  whisk::isolate::isolate_backend b(cfg);
  driver d{b};
  constexpr int actions = 30, calls = 8;
  std::vector<container_id> ids;
  for (int k = 0; k < actions; ++k) {
    ids.push_back(d.create());
    REQUIRE(d.init(ids.back(), "function main({i}) { return {k: " + std::to_string(k) + ", i}; }").output == R"({"ok":true})");
  }
  std::mutex mx;
  std::vector<std::string> wrong;
  std::atomic<int> answered{0};
  std::promise<void> all;
  for (int i = 0; i < calls; ++i)
    for (int k = 0; k < actions; ++k)
      b.run(ids[k], run_request{R"({"value":{"i":)" + std::to_string(i) + "}}", 5000, 1 << 20}, [&, k, i](outcome o) {
        auto want = "{\"k\":" + std::to_string(k) + ",\"i\":" + std::to_string(i) + "}";
        if (o.output != want) {
          std::lock_guard g{mx};
          wrong.push_back(o.output + " instead of " + want);
        }
        if (++answered == actions * calls)
          all.set_value();
      });
  all.get_future().get();
  CHECK(wrong.empty());
  auto s = b.stats();
  CHECK(s.calls == actions * calls);
  CHECK(s.cached_isolates <= 24);
  CHECK(s.cache_evictions > 0);
  CHECK(s.cache_hits + s.cache_misses == actions * calls + actions); // every init and call looked once
}

TEST_CASE("isolate backend: a slot's calls stay on its home worker, so a kept context keeps its state") {
  whisk::isolate::isolate_config cfg;
  cfg.workers = 2;
  whisk::isolate::isolate_backend b(cfg);
  driver d{b};
  std::vector<container_id> ids;
  for (int k = 0; k < 3; ++k) { // two of them share a home worker
    ids.push_back(d.create());
    REQUIRE(d.init(ids.back(), "let n = 0; function main() { return {n: ++n}; }", "reuse", true).output == R"({"ok":true})");
  }
  for (int round = 1; round <= 5; ++round)
    for (auto id : ids)
      CHECK(d.run(id, "{}").output == "{\"n\":" + std::to_string(round) + "}");
  CHECK(b.stats().cache_misses == 3); // a kept context belongs to its slot, like a container's memory
  CHECK(b.stats().cached_isolates == 3);
  d.destroy(ids[0]); // and goes with it
  d.run(ids[1], "{}"); // queued behind the removal on one of the workers: wait for both
  d.run(ids[2], "{}");
  CHECK(b.stats().cached_isolates == 2);
}

TEST_CASE("isolate options: reuse with the kept context by default and isolate-reuse-context false for a new context per call") {
  auto options = [](const std::string& annotations) {
    auto parsed = whisk::json::parse(annotations);
    REQUIRE(parsed);
    return whisk::isolate_options_of(*parsed);
  };
  auto plain = options("[]");
  REQUIRE(plain);
  CHECK(plain->mode == "reuse");
  CHECK(plain->reuse_context); // globals persist between calls, as in a warm container
  auto per_call = options(R"([{"key":"isolate-reuse-context","value":false}])");
  REQUIRE(per_call);
  CHECK(!per_call->reuse_context);
  auto old_spelling = options(R"([{"key":"isolate-reuse-context","value":true}])"); // the opt-in of before: still accepted
  REQUIRE(old_spelling);
  CHECK(old_spelling->reuse_context);
  CHECK(!options(R"([{"key":"isolate-reuse-context","value":"no"}])"));
  auto fresh = options(R"([{"key":"isolate-mode","value":"fresh"}])");
  REQUIRE(fresh);
  CHECK(fresh->mode == "fresh");
}

TEST_CASE("isolate backend: a kept context belongs to its slot alone — no other slot of the same code or other code sees its globals") {
  whisk::isolate::isolate_config cfg;
  cfg.workers = 2;
  whisk::isolate::isolate_backend b(cfg);
  driver d{b};
  // the same code as two actions (say in two namespaces), each with its kept context (the default)
  const std::string code = "let n = 0; function main(p) { if (p.secret) globalThis.secret = p.secret; "
                           "return {n: ++n, secret: globalThis.secret || null}; }";
  auto mine = d.create(), theirs = d.create(), per_call = d.create(), other = d.create();
  auto misses = b.stats().cache_misses;
  REQUIRE(d.init(mine, code).output == R"({"ok":true})");
  REQUIRE(d.init(theirs, code).output == R"({"ok":true})");
  REQUIRE(d.init(per_call, code, "reuse", false).output == R"({"ok":true})");
  REQUIRE(d.init(other, "function main() { return {secret: globalThis.secret || null}; }").output == R"({"ok":true})");
  CHECK(b.stats().cache_misses == misses + 4); // the kept ones compiled an isolate each
  CHECK(d.run(mine, R"({"secret":"s3cret"})").output == R"({"n":1,"secret":"s3cret"})");
  CHECK(d.run(mine, "{}").output == R"({"n":2,"secret":"s3cret"})"); // its own state carries
  for (int i = 0; i < 3; ++i) { // on either worker, the others never see it
    CHECK(d.run(theirs, "{}").output == "{\"n\":" + std::to_string(i + 1) + R"(,"secret":null})");
    CHECK(d.run(per_call, "{}").output == R"({"n":1,"secret":null})");
    CHECK(d.run(other, "{}").output == R"({"secret":null})");
  }
  // a slot made after the first one goes starts from the code, not from what it left
  d.destroy(mine);
  auto again = d.create();
  REQUIRE(d.init(again, code).output == R"({"ok":true})");
  CHECK(d.run(again, "{}").output == R"({"n":1,"secret":null})");
}

TEST_CASE("isolate backend: contexts of past calls are collected, so a cached isolate stays near its compiled size") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  auto id = d.create(256);
  REQUIRE(d.init(id, "function main({n}) { return {n: 2 * n}; }", "reuse", false).output == R"({"ok":true})");
  auto compiled = b.stats().cached_heap_bytes;
  std::int64_t peak = 0;
  for (int i = 0; i < 400; ++i) { // ~170 KB of context each: ~70 MB if nothing were collected
    REQUIRE(d.run(id, R"({"n":1})").output == R"({"n":2})");
    peak = std::max(peak, b.stats().cached_heap_bytes);
  }
  CHECK(peak < compiled + (24 << 20));
  CHECK(b.stats().collections >= 1);
}

TEST_CASE("isolate backend: an action that keeps much live state is not collected on every call") {
  whisk::isolate::isolate_backend b(one_worker());
  driver d{b};
  auto id = d.create(256);
  // 40 MB kept alive in the kept context
  REQUIRE(d.init(id, "const keep = []; function main() { if (!keep.length) for (let i = 0; i < 40; ++i) keep.push(new Array(131072).fill(i + 0.5)); return {n: keep.length}; }",
                 "reuse", true).output == R"({"ok":true})");
  for (int i = 0; i < 200; ++i)
    REQUIRE(d.run(id, "{}").output == R"({"n":40})");
  CHECK(b.stats().cached_heap_bytes > (40 << 20)); // the live state is counted
  CHECK(b.stats().collections <= 1);               // collected once at most, not on every call
}
