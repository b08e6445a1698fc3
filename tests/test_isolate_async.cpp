// js:isolate functions that wait and call out: timers, fetch (against a test server on
// 127.0.0.1 that the network policy is told to allow), the Web API set, the limits of each,
// and calls parked on their workers while others run.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include "test_http_server.hpp"
#include "whisk/isolate/fetch_client.hpp"
#include "whisk/isolate/isolate_backend.hpp"
#include "whisk/isolate/v8_function.hpp"
#include "whisk/json.hpp"

using namespace whisk::isolate;
using whisk::test::http_test_server;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::unique_ptr<v8_function> compiled(const std::string& code, std::int64_t heap_mb = 64) {
  auto f = v8_function::compile(code, "main", heap_mb, true);
  if (!f)
    FAIL("compile failed: " << f.err().message);
  return std::move(*f);
}

std::shared_ptr<fetch_client> loopback_net(fetch_limits limits = {}) {
  return std::make_shared<fetch_client>(*parse_net_ranges("127.0.0.1/32"), limits);
}

std::string quoted(const std::string& s) { return whisk::json::dump(whisk::json::value(s)); }

double ms_since(clock_type::time_point t) { return std::chrono::duration<double, std::milli>(clock_type::now() - t).count(); }

} // namespace

TEST_CASE("isolate async: a function awaits chains of timers and intervals") {
  auto f = compiled(R"(
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    async function main() {
      const t0 = Date.now();
      await sleep(30);
      await sleep(30);
      let n = 0;
      await new Promise(r => { const id = setInterval(() => { if (++n === 3) { clearInterval(id); r(); } }, 5); });
      const order = [];
      setTimeout(() => order.push('late'), 20);
      setTimeout(() => order.push('early'), 1);
      const never = setTimeout(() => order.push('cleared'), 5);
      clearTimeout(never);
      setTimeout(() => { throw new Error('a throwing callback does not end the call'); }, 0);
      const sum = await new Promise(r => setTimeout((a, b) => r(a + b), 1, 2, 3));
      await sleep(40);
      queueMicrotask(() => order.push('micro'));
      await null;
      return {waited: Date.now() - t0 >= 60, n, sum, order};
    })");
  auto started = clock_type::now();
  auto r = f->call("{}", 5000);
  CHECK(r.status == call_status::ok);
  CHECK(r.output == R"({"waited":true,"n":3,"sum":5,"order":["early","late","micro"]})");
  CHECK(ms_since(started) < 2000);
  // and again: the next call's timers start from nothing
  CHECK(f->call("{}", 5000).status == call_status::ok);
}

TEST_CASE("isolate async: a Promise that nothing can settle ends at once with an error") {
  auto started = clock_type::now();
  auto r = compiled("function main() { return new Promise(() => {}); }")->call("{}", 10000);
  CHECK(r.status == call_status::threw);
  CHECK_THAT(r.output, Catch::Contains("did not settle"));
  CHECK(ms_since(started) < 1000);
  auto at_init = v8_function::compile("setTimeout(() => {}, 1); function main() {}");
  REQUIRE(!at_init);
  CHECK_THAT(at_init.err().message, Catch::Contains("only available while the action runs"));
}

TEST_CASE("isolate async: the time limit ends a waiting call and its timers") {
  auto f = compiled("let fired = 0; async function main(p) { if (p.wait) { setInterval(() => fired++, 1); "
                    "await new Promise(r => setTimeout(r, 10000)); } return {fired}; }");
  auto started = clock_type::now();
  auto r = f->call(R"({"wait":true})", 200);
  CHECK(r.status == call_status::timeout);
  CHECK(r.output == "The action exceeded its time limits of 200 milliseconds.");
  CHECK(ms_since(started) < 1000);
  CHECK(f->call("{}", 1000).output == R"({"fired":0})"); // a context per call: nothing of the last one runs on
}

TEST_CASE("isolate async: timer storms are bounded") {
  // too many pending timers: setTimeout throws
  auto many = compiled("function main() { try { for (let i = 0; i < 20000; i++) setTimeout(() => {}, 100000); } "
                       "catch (e) { return {error: e.message}; } return {error: 'none'}; }")
                  ->call("{}", 5000);
  CHECK_THAT(many.output, Catch::Contains("too many timers"));
  // an interval of 0 and a chain of timeouts of 0 that never stop: the time limit ends them
  for (auto code : {"async function main() { setInterval(() => {}, 0); await new Promise(() => setTimeout(() => {}, 1e9)); }",
                    "async function main() { const again = () => setTimeout(again, 0); again(); await new Promise(() => {}); }",
                    "async function main() { for (let i = 0; i < 5000; i++) setInterval(() => {}, 0); await new Promise(() => {}); }"}) {
    auto started = clock_type::now();
    auto r = compiled(code)->call("{}", 300);
    CHECK(r.status == call_status::timeout);
    CHECK(ms_since(started) < 1500);
  }
}

TEST_CASE("isolate async: fetch returns a test server's JSON and sends method headers and body") {
  http_test_server server;
  auto net = loopback_net();
  auto f = compiled("async function main(p) { const r = await fetch(p.url); return {status: r.status, ok: r.ok, "
                    "type: r.headers.get('content-type'), body: await r.json()}; }");
  auto r = f->call(R"({"url":)" + quoted(server.url("/json")) + "}", 5000, -1, net);
  CHECK(r.status == call_status::ok);
  CHECK(r.output == R"({"status":200,"ok":true,"type":"application/json","body":{"hello":"world"}})");
  auto post = compiled(R"(async function main(p) {
      const r = await fetch(new Request(p.url, {method: 'post', headers: {'X-One': '1'}, body: JSON.stringify({a: 1})}));
      const echo = await r.json();
      const bytes = new Uint8Array(await (await fetch(p.url, {method: 'PUT', body: new Uint8Array([104, 105])})).arrayBuffer());
      return {method: echo.method, one: echo.headers['x-one'], type: echo.headers['content-type'], body: echo.body,
              test: r.headers.get('X-Test'), url: r.url, put: JSON.parse(new TextDecoder().decode(bytes)).body};
    })")
                  ->call(R"({"url":)" + quoted(server.url("/echo")) + "}", 5000, -1, net);
  CHECK(post.output == R"({"method":"POST","one":"1","type":"text/plain;charset=UTF-8","body":"{\"a\":1}","test":"yes","url":")" +
                           server.url("/echo") + R"(","put":"hi"})");
  // redirects are followed and said so
  auto moved = compiled("async function main(p) { const r = await fetch(p.url); return {redirected: r.redirected, "
                        "status: r.status, body: await r.text()}; }")
                   ->call(R"({"url":)" + quoted(server.url("/redirect/2")) + "}", 5000, -1, net);
  CHECK(moved.output == R"({"redirected":true,"status":200,"body":"{\"redirects\":\"done\"}"})");
}

TEST_CASE("isolate async: loopback and metadata addresses are refused under the default policy") {
  http_test_server server;
  auto closed = std::make_shared<fetch_client>(std::vector<net_range>{}, fetch_limits{});
  auto f = compiled("async function main(p) { const out = []; for (const u of p.urls) { try { await fetch(u); out.push('fetched'); } "
                    "catch (e) { out.push(e instanceof TypeError && e.message); } } return {out}; }");
  auto r = f->call(R"({"urls":[)" + quoted(server.url("/json")) + "," +
                       quoted("http://localhost:" + std::to_string(server.port()) + "/json") +
                       R"(,"http://169.254.169.254/latest/meta-data/","http://[::1]:1/","file:///etc/passwd"]})",
                   5000, -1, closed);
  CHECK(r.status == call_status::ok);
  CHECK_THAT(r.output, Catch::Contains("127.0.0.1 (127.0.0.1) is refused by the network policy"));
  CHECK_THAT(r.output, Catch::Contains("localhost (127.0.0.1) is refused by the network policy"));
  CHECK_THAT(r.output, Catch::Contains("169.254.169.254 (169.254.169.254) is refused"));
  CHECK_THAT(r.output, Catch::Contains("::1 (::1) is refused"));
  CHECK_THAT(r.output, !Catch::Contains("fetched"));
  CHECK(server.requests() == 0);
  // a host that gives isolates no network at all
  CHECK_THAT(f->call(R"({"urls":["http://example.com/"]})", 5000).output, Catch::Contains("gives isolates no network"));
}

TEST_CASE("isolate async: every fetch limit reaches the function as an error") {
  http_test_server server;
  fetch_limits limits;
  limits.response_body_bytes = 100000;
  limits.header_bytes = 8192;
  limits.redirects = 3;
  limits.concurrent = 4;
  limits.request_body_bytes = 1000;
  auto net = loopback_net(limits);
  auto f = compiled(R"(async function main(p) {
      const out = {};
      for (const [name, path, init] of p.cases) {
        try { const r = await fetch(p.base + path, init); out[name] = (await r.text()).length; }
        catch (e) { out[name] = e.message; }
      }
      const many = await Promise.allSettled(Array.from({length: 6}, () => fetch(p.base + '/slow/50')));
      out.concurrent = many.map(s => s.status).join(' ');
      return out;
    })");
  auto r = f->call(R"({"base":)" + quoted(server.url("")) +
                       R"(,"cases":[["small","/big/1000"],["big","/big/200000"],["endless","/endless"],["headers","/huge-headers"],)"
                       R"(["redirects","/redirect/4"],["loop","/loop"],["upload","/echo",{"method":"POST","body":")" +
                       std::string(1001, 'u') + R"("}]]})",
                   10000, -1, net);
  REQUIRE(r.status == call_status::ok);
  auto out = whisk::json::parse(r.output);
  REQUIRE(out);
  CHECK(whisk::json::dump(*out->find("small")) == "1000");
  CHECK_THAT(whisk::json::dump(*out->find("big")), Catch::Contains("response body exceeds 100000 bytes"));
  CHECK_THAT(whisk::json::dump(*out->find("endless")), Catch::Contains("response body exceeds 100000 bytes"));
  CHECK_THAT(whisk::json::dump(*out->find("headers")), Catch::Contains("headers exceed 8192 bytes"));
  CHECK_THAT(whisk::json::dump(*out->find("redirects")), Catch::Contains("more than 3 redirects"));
  CHECK_THAT(whisk::json::dump(*out->find("loop")), Catch::Contains("more than 3 redirects"));
  CHECK_THAT(whisk::json::dump(*out->find("upload")), Catch::Contains("request body exceeds 1000 bytes"));
  CHECK(whisk::json::dump(*out->find("concurrent")) == R"("fulfilled fulfilled fulfilled fulfilled rejected rejected")");
}

TEST_CASE("isolate async: a server that never answers or a body that never ends meets the call's deadline") {
  http_test_server server;
  auto net = loopback_net();
  auto f = compiled("async function main(p) { const r = await fetch(p.url); return {text: await r.text()}; }");
  for (auto path : {"/never", "/trickle"}) {
    auto before = server.abandoned();
    auto started = clock_type::now();
    auto r = f->call(R"({"url":)" + quoted(server.url(path)) + "}", 300, -1, net);
    CHECK(r.status == call_status::timeout);
    CHECK(ms_since(started) < 1500);
    for (int i = 0; i < 200 && server.abandoned() == before; ++i)
      std::this_thread::sleep_for(5ms);
    CHECK(server.abandoned() == before + 1); // the request was cancelled and its connection closed
  }
  CHECK(net->in_flight() == 0);
}

TEST_CASE("isolate async: the Web API set works without the host beyond it") {
  auto r = compiled(R"(async function main() {
      const enc = new TextEncoder().encode('héllo €');
      const dec = new TextDecoder();
      let fatal = 'none';
      try { new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
      const u = new URL('../b/c?x=1&y=two words#top', 'https://user:pw@Example.COM:443/a/d/e');
      u.searchParams.append('z', 'é&');
      const q = new URLSearchParams({a: '1', b: 'x y'});
      q.sort();
      let badUrl = 'none';
      try { new URL('not a url'); } catch (e) { badUrl = e.name; }
      const rnd = crypto.getRandomValues(new Uint8Array(32));
      let quota = 'none';
      try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
      const original = {m: new Map([[1, {d: new Date(0)}]]), list: [1, 'two', null]};
      original.self = original;
      const copy = structuredClone(original);
      let uncloneable = 'none';
      try { structuredClone({f() {}}); } catch (e) { uncloneable = e.name; }
      const h = new Headers([['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['Accept', 'x']]);
      h.append('accept', 'y');
      const res = Response.json({ok: 1}, {status: 201});
      return {
        bytes: enc.length, text: dec.decode(enc), replaced: dec.decode(new Uint8Array([0x61, 0xff, 0x62])), fatal,
        href: u.href, host: u.host, origin: u.origin, path: u.pathname, x: u.searchParams.get('x'), y: u.searchParams.get('y'),
        q: q.toString(), badUrl,
        b64: btoa('hello'), back: atob('aGVsbG8='),
        random: rnd.some(b => b !== 0), quota,
        uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
        cloned: copy !== original && copy.self === copy && copy.m.get(1).d.getTime() === 0 && copy.list[1] === 'two',
        uncloneable,
        cookies: h.getSetCookie(), accept: h.get('ACCEPT'),
        res: [res.status, res.ok, res.headers.get('content-type'), await res.json()],
        host_reach: [typeof require, typeof process, typeof Deno, typeof native, typeof WebAssembly !== 'undefined'],
      };
    })")
               ->call("{}", 5000);
  REQUIRE(r.status == call_status::ok);
  auto out = whisk::json::parse(r.output);
  REQUIRE(out);
  auto field = [&](const char* k) { return whisk::json::dump(*out->find(k)); };
  CHECK(field("bytes") == "10");
  CHECK(field("text") == R"("héllo €")");
  CHECK(field("replaced") == R"("a�b")");
  CHECK(field("fatal") == R"("TypeError")");
  CHECK(field("href") == R"("https://user:pw@example.com/a/b/c?x=1&y=two+words&z=%C3%A9%26#top")"); // re-serialized by searchParams
  CHECK(field("host") == R"("example.com")");
  CHECK(field("origin") == R"("https://example.com")");
  CHECK(field("path") == R"("/a/b/c")");
  CHECK(field("x") == R"("1")");
  CHECK(field("y") == R"("two words")");
  CHECK(field("q") == R"("a=1&b=x+y")");
  CHECK(field("badUrl") == R"("TypeError")");
  CHECK(field("b64") == R"("aGVsbG8=")");
  CHECK(field("back") == R"("hello")");
  CHECK(field("random") == "true");
  CHECK(field("quota") == R"("RangeError")");
  CHECK(field("uuid") == "true");
  CHECK(field("cloned") == "true");
  CHECK(field("uncloneable") == R"("DataCloneError")");
  CHECK(field("cookies") == R"(["a=1","b=2"])");
  CHECK(field("accept") == R"("x, y")");
  CHECK(field("res") == R"([201,true,"application/json",{"ok":1}])");
  CHECK(field("host_reach") == R"(["undefined","undefined","undefined","undefined",true])");
}

TEST_CASE("isolate async: structuredClone of a deeply nested value throws instead of overflowing the stack") {
  auto r = compiled("function main() { let deep = []; for (let i = 0; i < 1e6; i++) deep = [deep]; "
                    "try { structuredClone(deep); return {deep: 'cloned'}; } catch (e) { return {deep: e.name}; } }")
               ->call("{}", 10000);
  CHECK(r.status == call_status::ok);
  CHECK(r.output == R"({"deep":"DataCloneError"})");
}

TEST_CASE("isolate async: fresh mode and a kept context wait on timers too") {
  auto fresh = call_in_new_isolate("async function main(p) { await new Promise(r => setTimeout(r, 20)); return {x: p.x}; }", "main",
                                   64, R"({"x":1})", 2000);
  CHECK(fresh.status == call_status::ok);
  CHECK(fresh.output == R"({"x":1})");
  auto kept = v8_function::compile("let n = 0; async function main() { await new Promise(r => setTimeout(r, 5)); return {n: ++n}; }",
                                   "main", 64, false);
  REQUIRE(kept);
  CHECK((*kept)->call("{}", 2000).output == R"({"n":1})");
  CHECK((*kept)->call("{}", 2000).output == R"({"n":2})");
}

// ---- through the backend: parked calls -------------------------------------------------

namespace {
using namespace whisk::container;

struct async_driver {
  isolate_backend& b;
  container_id create(std::int64_t memory = 64) {
    std::promise<whisk::expected<container_id>> created;
    b.create(spec{"js:isolate", memory}, [&](whisk::expected<container_id> id) { created.set_value(id); });
    auto id = created.get_future().get();
    REQUIRE(id);
    return *id;
  }
  // keep_context: the REST API's default (the slot's one kept context); false: a new context per call
  outcome init(container_id id, const std::string& code, const std::string& mode = "reuse", bool keep_context = true) {
    std::promise<outcome> p;
    b.init(id, init_request{code, "main", false, "{}", 2000, 1 << 20, mode, keep_context}, [&](outcome o) { p.set_value(std::move(o)); });
    return p.get_future().get();
  }
  std::future<outcome> run(container_id id, const std::string& value_json, std::int64_t timeout = 5000) {
    auto p = std::make_shared<std::promise<outcome>>();
    b.run(id, run_request{R"({"value":)" + value_json + "}", timeout, 1 << 20}, [p](outcome o) { p->set_value(std::move(o)); });
    return p->get_future();
  }
};

isolate_config two_workers() {
  isolate_config c;
  c.workers = 2;
  c.fetch_allow = "127.0.0.1/32";
  return c;
}

} // namespace

TEST_CASE("isolate backend: 100 concurrent calls waiting 50 ms on 2 workers do not block each other or other actions") {
  // in the slot's kept context (the default; the calls interleave in it) and in a new context each
  bool keep_context = GENERATE(true, false);
  http_test_server server;
  isolate_backend b(two_workers());
  async_driver d{b};
  auto timer = d.create();
  REQUIRE(d.init(timer, "async function main(p) { await new Promise(r => setTimeout(r, 50)); return {i: p.i}; }", "reuse",
                 keep_context)
              .output == R"({"ok":true})");
  auto fetcher = d.create();
  REQUIRE(d.init(fetcher, "async function main(p) { const r = await fetch(p.url); return await r.json(); }", "reuse",
                 keep_context)
              .output == R"({"ok":true})");
  auto busy = d.create();
  REQUIRE(d.init(busy, "function main() { let s = 0; for (let i = 0; i < 1e5; i++) s += i; return {s}; }").output == R"({"ok":true})");
  for (auto [name, id, value] : {std::tuple{"timer", timer, std::string("{\"i\":1}")},
                                 std::tuple{"fetch", fetcher, R"({"url":)" + quoted(server.url("/slow/50")) + "}"}}) {
    auto started = clock_type::now();
    std::vector<std::future<outcome>> calls;
    for (int i = 0; i < 100; ++i)
      calls.push_back(d.run(id, value));
    // another action meanwhile: served while the 100 wait
    auto other_started = clock_type::now();
    auto other = d.run(busy, "{}").get();
    auto other_ms = ms_since(other_started);
    int ok = 0;
    for (auto& c : calls) {
      REQUIRE(c.wait_for(10s) == std::future_status::ready);
      ok += c.get().kind == outcome_kind::ok;
    }
    auto elapsed = ms_since(started);
    CHECK(ok == 100);
    CHECK(other.kind == outcome_kind::ok);
    CHECK(other_ms < 500);
    CHECK(elapsed < 2500); // one after the other: at least 5 s
    std::printf("isolate async: 100 concurrent calls each awaiting a 50 ms %s on 2 workers (%s): %.0f ms, %.0f calls/s "
                "(another action answered in %.1f ms meanwhile)\n",
                name, keep_context ? "kept context" : "a context each", elapsed, 100 * 1000.0 / elapsed, other_ms);
  }
  CHECK(b.stats().waiting == 0);
}

TEST_CASE("isolate backend: a parked call keeps its isolate through evictions and its deadline cancels its fetch") {
  http_test_server server;
  auto cfg = two_workers();
  cfg.workers = 1;
  cfg.cache_isolates = 2;
  isolate_backend b(cfg);
  async_driver d{b};
  auto waiting = d.create();
  REQUIRE(d.init(waiting, "let n = 0; async function main() { const m = ++n; await new Promise(r => setTimeout(r, 300)); "
                          "return {m, n}; }")
              .output == R"({"ok":true})");
  auto pending = d.run(waiting, "{}");
  for (int i = 0; i < 6; ++i) { // other actions push the waiting one's isolate out of the cache
    auto other = d.create();
    REQUIRE(d.init(other, "function main() { return {i: " + std::to_string(i) + "}; }").output == R"({"ok":true})");
    CHECK(d.run(other, "{}").get().output == "{\"i\":" + std::to_string(i) + "}");
  }
  CHECK(b.stats().cache_evictions > 0);
  CHECK(b.stats().waiting == 1);
  auto r = pending.get();
  CHECK(r.kind == outcome_kind::ok);
  CHECK(r.output == R"({"m":1,"n":1})");
  // the deadline of a call waiting on a silent server ends it and closes the connection
  auto silent = d.create();
  REQUIRE(d.init(silent, "async function main(p) { await fetch(p.url); return {}; }").output == R"({"ok":true})");
  auto started = clock_type::now();
  auto t = d.run(silent, R"({"url":)" + quoted(server.url("/never")) + "}", 300).get();
  CHECK(t.kind == outcome_kind::timeout);
  CHECK(ms_since(started) < 1500);
  for (int i = 0; i < 200 && server.abandoned() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(server.abandoned() == 1);
  CHECK(b.stats().timeouts == 1);
  // fresh mode parks too
  auto fresh = d.create();
  REQUIRE(d.init(fresh, "async function main() { await new Promise(r => setTimeout(r, 20)); return {fresh: true}; }", "fresh").output ==
          R"({"ok":true})");
  CHECK(d.run(fresh, "{}").get().output == R"({"fresh":true})");
}
