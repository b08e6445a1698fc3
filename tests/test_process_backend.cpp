// Integration tests of the process backend: real runtimes, namespaces, cgroups, freezer.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <ifaddrs.h>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

#include "process_helpers.hpp"
#include "whisk/container/process_backend.hpp"
#include "whisk/json.hpp"

using namespace whisk;
using namespace whisk::container;
using whisk::testing::waiter;

namespace {

process_config test_config() {
  process_config cfg;
  cfg.tree_name = "whisk-test-" + std::to_string(::getpid());
  return cfg;
}

container_id create(process_backend& b, const std::string& kind, std::int64_t memory = 256) {
  waiter<expected<container_id>> w;
  b.create(spec{kind, memory}, w.callback());
  auto r = w.get();
  if (!r)
    FAIL("create failed: " << r.err().message);
  return *r;
}

outcome init(process_backend& b, container_id id, std::string code, bool binary = false) {
  waiter<outcome> w;
  init_request req;
  req.code = std::move(code);
  req.binary = binary;
  req.timeout_ms = 10000;
  b.init(id, req, w.callback());
  return w.get();
}

outcome run(process_backend& b, container_id id, json::value params, std::int64_t timeout_ms = 10000) {
  waiter<outcome> w;
  json::value msg = json::object{{"value", std::move(params)}, {"namespace", "guest"},
                                 {"action_name", "/guest/test"}, {"activation_id", "0123456789abcdef0123456789abcdef"}};
  b.run(id, run_request{json::dump(msg), timeout_ms, 1 << 20}, w.callback());
  return w.get();
}

void destroy(process_backend& b, container_id id) {
  waiter<bool> w;
  b.destroy(id, [&] { w.p.set_value(true); });
  w.get();
}

// This process's children named `comm` (zombies included: a child not reaped counts).
int children_named(const std::string& comm) {
  int n = 0;
  for (auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat))
      continue;
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || stat.substr(open + 1, close - open - 1) != comm)
      continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    int ppid = 0;
    if (rest >> state >> ppid && ppid == ::getpid())
      ++n;
  }
  return n;
}

bool has_log(const outcome& o, const std::string& needle) {
  for (auto& l : o.logs)
    if (l.find(needle) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("a nodejs runtime runs an action, with logs cut per activation") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  auto i = init(b, id, "function main(p) { console.log('hello', p.name); console.error('to stderr'); return {greeting: 'hi ' + p.name, ns: process.env.__OW_NAMESPACE}; }");
  REQUIRE(i.kind == outcome_kind::ok);
  CHECK(i.output == R"({"ok":true})");
  auto r = run(b, id, json::object{{"name", "ada"}});
  REQUIRE(r.kind == outcome_kind::ok);
  CHECK(r.output == R"({"greeting":"hi ada","ns":"guest"})");
  CHECK(has_log(r, "stdout: hello ada"));
  CHECK(has_log(r, "stderr: to stderr"));
  auto r2 = run(b, id, json::object{{"name", "bob"}});
  CHECK(r2.output == R"({"greeting":"hi bob","ns":"guest"})");
  CHECK(r2.logs.size() == 2); // only this activation's lines
  destroy(b, id);
}

TEST_CASE("log cuts stay exact whether a run writes nothing, a little or a lot") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "function main(p) { for (let i = 0; i < p.n; i++) console.log('line ' + i + ' ' + 'x'.repeat(p.w)); return {n: p.n}; }").kind == outcome_kind::ok);
  for (int round = 0; round < 3; ++round) {
    for (int n : {0, 1, 0, 200, 0, 3}) {
      auto r = run(b, id, json::object{{"n", n}, {"w", n == 200 ? 2000 : 10}});
      REQUIRE(r.kind == outcome_kind::ok);
      CHECK(r.logs.size() == static_cast<std::size_t>(n));
    }
  }
  destroy(b, id);
}

TEST_CASE("nodejs: Promise results, exports.main and init failures") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "exports.main = async (p) => new Promise(r => setTimeout(() => r({n: p.n * 2}), 10));").kind == outcome_kind::ok);
  CHECK(run(b, id, json::object{{"n", 21}}).output == R"({"n":42})");
  destroy(b, id);
  auto bad = create(b, "nodejs:20");
  auto i = init(b, bad, "function notmain() {}");
  REQUIRE(i.kind == outcome_kind::ok);
  CHECK(i.output.find("error") != std::string::npos);
  destroy(b, bad);
}

TEST_CASE("a python runtime runs an action") {
  process_backend b{test_config()};
  auto id = create(b, "python:3");
  REQUIRE(init(b, id, "import os\ndef main(args):\n    print('py log')\n    return {'sum': args['a'] + args['b'], 'id': os.environ['__OW_ACTIVATION_ID']}\n").output == R"({"ok": true})");
  auto r = run(b, id, json::object{{"a", 1}, {"b", 2}});
  REQUIRE(r.kind == outcome_kind::ok);
  CHECK(r.output == R"({"sum": 3, "id": "0123456789abcdef0123456789abcdef"})");
  CHECK(has_log(r, "stdout: py log"));
  destroy(b, id);
}

TEST_CASE("a native executable speaks the action loop itself") {
  process_backend b{test_config()};
  auto id = create(b, "native");
  std::string script =
      "#!/bin/sh\n"
      "if [ -n \"$__OW_WAIT_FOR_ACK\" ]; then echo '{\"ok\":true}' >&3; fi\n"
      "while read -r line; do echo \"native got a line\"; echo '{\"native\":true,\"uid\":'$(id -u)'}' >&3; done\n";
  auto i = init(b, id, script);
  REQUIRE(i.kind == outcome_kind::ok);
  CHECK(i.output == R"({"ok":true})");
  auto r = run(b, id, json::object{});
  REQUIRE(r.kind == outcome_kind::ok);
  CHECK(r.output == R"({"native":true,"uid":65534})");
  CHECK(has_log(r, "stdout: native got a line"));
  destroy(b, id);
}

TEST_CASE("the runtime is isolated: own pid namespace, read-only root, private /tmp") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, R"(
    const fs = require('fs');
    function main() {
      let rootWritable = true;
      try { fs.writeFileSync('/etc/whisk-probe', 'x'); } catch (e) { rootWritable = false; }
      fs.writeFileSync('/tmp/probe', 'x');
      return {pid: process.pid, uid: process.getuid(), rootWritable, tmp: fs.readFileSync('/tmp/probe', 'utf8'),
              hostname: require('os').hostname()};
    })").kind == outcome_kind::ok);
  auto r = run(b, id, json::object{});
  REQUIRE(r.kind == outcome_kind::ok);
  auto v = json::parse(r.output);
  REQUIRE(v);
  CHECK(json::get_int(*v, "pid", 0) == 1);
  CHECK(json::get_int(*v, "uid", 0) == 65534);
  CHECK(json::get_bool(*v, "rootWritable", true) == false);
  CHECK(json::get_string(*v, "tmp") == "x");
  CHECK(json::get_string(*v, "hostname") == "whisk");
  destroy(b, id);
}

TEST_CASE("network isolated: tap0 through slirp4netns, started per container and reaped on destroy") {
  auto cfg = test_config();
  cfg.network = network_mode::isolated;
  process_backend b{cfg};
  REQUIRE(children_named("slirp4netns") == 0);
  auto id = create(b, "nodejs:20");
  auto id2 = create(b, "python:3");
  CHECK(children_named("slirp4netns") == 2);
  REQUIRE(init(b, id, R"(
    const os = require('os');
    function main() {
      return {ifs: Object.entries(os.networkInterfaces()).map(([n, as]) => n + ' ' + as.filter(a => a.family === 'IPv4').map(a => a.address).join(',')).sort(),
              dns: require('fs').readFileSync('/etc/resolv.conf', 'utf8').trim()};
    })").kind == outcome_kind::ok);
  CHECK(run(b, id, json::object{}).output == R"({"ifs":["lo 127.0.0.1","tap0 10.0.2.100"],"dns":"nameserver 10.0.2.3"})");
  destroy(b, id);
  CHECK(children_named("slirp4netns") == 1); // the destroyed container's stack is killed and reaped
  destroy(b, id2);
  CHECK(children_named("slirp4netns") == 0);
}

TEST_CASE("network isolated: containers created at once each get their own network stack") {
  auto cfg = test_config();
  cfg.network = network_mode::isolated;
  process_backend b{cfg};
  constexpr int n = 8;
  std::vector<std::unique_ptr<waiter<expected<container_id>>>> created;
  for (int i = 0; i < n; ++i) {
    created.push_back(std::make_unique<waiter<expected<container_id>>>());
    b.create(spec{"python:3", 128}, created.back()->callback());
  }
  std::vector<container_id> ids;
  for (auto& w : created) {
    auto r = w->get();
    REQUIRE(r);
    ids.push_back(*r);
  }
  CHECK(children_named("slirp4netns") == n);
  for (auto id : ids) {
    REQUIRE(init(b, id, "def main(a):\n    return {'route': [l.split()[0] for l in open('/proc/net/route').read().splitlines()[1:] if l.split()[1] == '00000000']}\n").kind == outcome_kind::ok);
    CHECK(run(b, id, json::object{}).output == R"({"route": ["tap0"]})");
  }
  for (auto id : ids)
    destroy(b, id);
  CHECK(children_named("slirp4netns") == 0);
}

TEST_CASE("the runtime's root is minimal, and it runs without capabilities under seccomp") {
  process_backend b{test_config()};
  auto id = create(b, "python:3");
  REQUIRE(init(b, id, R"(
import ctypes, os
def main(args):
    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
    libc = ctypes.CDLL(None, use_errno=True)
    mount = libc.syscall(165, b"none", b"/tmp", b"tmpfs", 0, None)  # x86_64 mount
    return {"root": sorted(os.listdir("/")), "dev": sorted(os.listdir("/dev")),
            "caps": sorted({status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}),
            "seccomp": status["Seccomp"].strip(), "nnp": status["NoNewPrivs"].strip(),
            "mount": [mount, os.strerror(ctypes.get_errno())]}
)").kind == outcome_kind::ok);
  auto r = run(b, id, json::object{});
  REQUIRE(r.kind == outcome_kind::ok);
  auto v = json::parse(r.output);
  REQUIRE(v);
  std::set<std::string> allowed{"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"};
  auto root = v->find("root");
  REQUIRE(root);
  for (auto& entry : root->as_array())
    CHECK(allowed.count(entry.as_string()) == 1);
  REQUIRE((v->find("dev") && v->find("caps") && v->find("mount")));
  CHECK(json::dump(*v->find("dev")) == R"(["fd","full","null","random","stderr","stdin","stdout","urandom","zero"])");
  CHECK(json::dump(*v->find("caps")) == R"(["0000000000000000"])");
  CHECK(json::get_string(*v, "seccomp") == "2");
  CHECK(json::get_string(*v, "nnp") == "1");
  CHECK(json::dump(*v->find("mount")) == R"([-1,"Operation not permitted"])");
  destroy(b, id);
}

TEST_CASE("network none: the runtime sees no interface but loopback") {
  auto cfg = test_config();
  cfg.network = network_mode::none;
  process_backend b{cfg};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "function main() { return {ifs: Object.keys(require('os').networkInterfaces()).filter(n => n !== 'lo')}; }").kind == outcome_kind::ok);
  CHECK(run(b, id, json::object{}).output == R"({"ifs":[]})");
  destroy(b, id);
  auto host_cfg = test_config();
  host_cfg.network = network_mode::host;
  process_backend host{host_cfg};
  auto h = create(host, "nodejs:20");
  REQUIRE(init(host, h, "function main() { return {n: Object.keys(require('os').networkInterfaces()).filter(n => n !== 'lo').length}; }").kind == outcome_kind::ok);
  // with the host network the runtime sees what this process sees
  int host_ifs = 0;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    std::set<std::string> names;
    for (auto* i = list; i; i = i->ifa_next)
      if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6) && std::string(i->ifa_name) != "lo")
        names.insert(i->ifa_name);
    host_ifs = static_cast<int>(names.size());
    ::freeifaddrs(list);
  }
  CHECK(run(host, h, json::object{}).output == "{\"n\":" + std::to_string(host_ifs) + "}");
  destroy(host, h);
}

TEST_CASE("timeouts, crashes and memory exhaustion end the run, the backend stays usable") {
  process_backend b{test_config()};
  SECTION("timeout") {
    auto id = create(b, "nodejs:20");
    REQUIRE(init(b, id, "function main() { while (true) {} }").kind == outcome_kind::ok);
    auto r = run(b, id, json::object{}, 300);
    CHECK(r.kind == outcome_kind::timeout);
    destroy(b, id);
  }
  SECTION("exit mid-run") {
    auto id = create(b, "nodejs:20");
    REQUIRE(init(b, id, "function main() { console.log('bye'); process.exit(3); }").kind == outcome_kind::ok);
    auto r = run(b, id, json::object{});
    CHECK(r.kind == outcome_kind::exited);
    CHECK(r.output.find("status 3") != std::string::npos);
    CHECK(has_log(r, "bye"));
    destroy(b, id);
  }
  SECTION("memory") {
    // Catch2 2 has no SKIP: a host without a memory controller is reported, not passed silently.
    REQUIRE(b.cgroups().memory_limits());
    auto id = create(b, "nodejs:20", 128);
    REQUIRE(init(b, id, "function main() { const a = []; for (;;) a.push(Buffer.alloc(16 << 20, 1)); }").kind == outcome_kind::ok);
    auto r = run(b, id, json::object{});
    CHECK(r.kind == outcome_kind::oom);
    destroy(b, id);
  }
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "function main() { return {ok: 1}; }").kind == outcome_kind::ok);
  CHECK(run(b, id, json::object{}).output == R"({"ok":1})");
  destroy(b, id);
}

TEST_CASE("without a pidfd a runtime's exit is still observed: crashes end the run, destroy completes, no zombie") {
  auto cfg = test_config();
  cfg.exit_by_pidfd = false; // as when pidfd_open is refused
  cfg.network = network_mode::none;
  process_backend b{cfg};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "function main() { process.exit(3); }").kind == outcome_kind::ok);
  auto r = run(b, id, json::object{});
  CHECK(r.kind == outcome_kind::exited); // seen through the waitpid poll
  auto ok = create(b, "nodejs:20");
  REQUIRE(init(b, ok, "function main() { return {fine: true}; }").kind == outcome_kind::ok);
  CHECK(run(b, ok, json::object{}).output == R"({"fine":true})");
  destroy(b, ok); // completes only once the exit was observed
  destroy(b, id);
  CHECK(children_named("node") == 0); // every runtime reaped
}

TEST_CASE("a backend starting on the same tree removes what an earlier run left behind") {
  auto cfg = test_config();
  auto first = std::make_unique<process_backend>(cfg);
  auto id = create(*first, "nodejs:20");
  REQUIRE(init(*first, id, "function main() { return {}; }").kind == outcome_kind::ok);
  auto dir = first->freeze_dir(id);
  REQUIRE(std::filesystem::exists(dir));
  // as after a crash: a new backend finds the leaf, kills what runs in it and removes it
  process_backend second{cfg};
  CHECK(second.leftovers_removed() == 1);
  CHECK(!std::filesystem::exists(dir));
  CHECK(run(*first, id, json::object{}).kind != outcome_kind::ok); // that runtime is gone
}

TEST_CASE("suspend freezes the cgroup and resume thaws it") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init(b, id, "function main(p) { return p; }").kind == outcome_kind::ok);
  auto dir = b.freeze_dir(id);
  REQUIRE(!dir.empty());
  waiter<bool> s;
  b.suspend(id, s.callback());
  REQUIRE(s.get());
  std::ifstream events(dir + (dir.find("freezer") != std::string::npos ? "/freezer.state" : "/cgroup.events"));
  std::string text((std::istreambuf_iterator<char>(events)), {});
  CHECK((text.find("frozen 1") != std::string::npos || text.find("FROZEN") != std::string::npos));
  waiter<bool> r;
  b.resume(id, r.callback());
  REQUIRE(r.get());
  CHECK(run(b, id, json::object{{"x", 1}}).output == R"({"x":1})");
  destroy(b, id);
}

namespace {

// Concurrent runs (an action with concurrency > 1): started at once, collected as they end.
outcome init_concurrent(process_backend& b, container_id id, std::string code, std::int64_t concurrency) {
  waiter<outcome> w;
  init_request req;
  req.code = std::move(code);
  req.timeout_ms = 10000;
  req.concurrency = concurrency;
  b.init(id, req, w.callback());
  return w.get();
}

struct run_batch {
  std::vector<std::unique_ptr<waiter<outcome>>> runs;
  void start(process_backend& b, container_id id, json::value params, std::int64_t timeout_ms = 10000,
             std::int64_t log_limit = 1 << 20) {
    auto aid = fmt::format("{:032x}", runs.size() + 1);
    json::value msg = json::object{{"value", std::move(params)}, {"namespace", "guest"}, {"action_name", "/guest/test"}, {"activation_id", aid}};
    runs.push_back(std::make_unique<waiter<outcome>>());
    b.run(id, run_request{json::dump(msg), timeout_ms, log_limit}, runs.back()->callback());
  }
  std::vector<outcome> get() {
    std::vector<outcome> out;
    for (auto& w : runs)
      out.push_back(w->get());
    return out;
  }
};

// The log lines' texts, without the time stamp: "stdout: text".
std::vector<std::string> texts(const outcome& o) {
  std::vector<std::string> out;
  for (auto& l : o.logs)
    out.push_back(l.substr(l.find("Z ") + 2));
  return out;
}

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST_CASE("nodejs concurrency: runs of one container go side by side and each gets exactly its own log lines") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init_concurrent(b, id, R"(
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    async function main(p) {
      console.log('before', p.i);
      process.stdout.write('part of ' + p.i);
      console.error('to stderr', p.i);
      await sleep(200);
      process.stdout.write(', the rest ' + p.i + '\n' + 'two lines ' + p.i + '\nno newline ' + p.i);
      console.log('after', p.i, process.env.__OW_ACTIVATION_ID);
      return {i: p.i, id: process.env.__OW_ACTIVATION_ID};
    })", 10).kind == outcome_kind::ok);
  constexpr int n = 8;
  auto t0 = std::chrono::steady_clock::now();
  run_batch batch;
  for (int i = 1; i <= n; ++i)
    batch.start(b, id, json::object{{"i", i}});
  auto results = batch.get();
  auto took = ms_since(t0);
  CHECK(took < n * 200 * 6 / 10); // side by side (one after another: at least n * 200 ms)
  for (int i = 1; i <= n; ++i) {
    auto& r = results[i - 1];
    auto aid = fmt::format("{:032x}", i);
    REQUIRE(r.kind == outcome_kind::ok);
    CHECK(r.output == fmt::format(R"({{"i":{},"id":"{}"}})", i, aid));
    // stderr and stdout are separate pipes: their lines are compared per stream
    std::vector<std::string> out, err;
    for (auto& t : texts(r))
      (t.rfind("stdout: ", 0) == 0 ? out : err).push_back(t);
    CHECK(out == std::vector<std::string>{fmt::format("stdout: before {}", i), fmt::format("stdout: part of {}, the rest {}", i, i),
                                          fmt::format("stdout: two lines {}", i),
                                          fmt::format("stdout: no newline {}after {} {}", i, i, aid)});
    CHECK(err == std::vector<std::string>{fmt::format("stderr: to stderr {}", i)});
  }
  // and again, once they are all done: the container goes on taking runs
  run_batch again;
  for (int i = 1; i <= 3; ++i)
    again.start(b, id, json::object{{"i", i}});
  for (auto& r : again.get())
    CHECK((r.kind == outcome_kind::ok && r.logs.size() == 5));
  destroy(b, id);
}

TEST_CASE("nodejs concurrency: each run has its own log limit and overlong lines stay with their run") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init_concurrent(b, id, R"(
    async function main(p) {
      await new Promise(r => setTimeout(r, 50));
      if (p.big) console.log('x'.repeat(p.big));
      for (let k = 0; k < (p.pieces || 0); k++) process.stdout.write('y'.repeat(10000)); // no newline
      for (let k = 0; k < p.lines; k++) console.log('line', k, 'of run', p.i);
      return {i: p.i};
    })", 4).kind == outcome_kind::ok);
  run_batch batch;
  batch.start(b, id, json::object{{"i", 1}, {"lines", 100}}, 10000, 500);            // cut at 500 bytes
  batch.start(b, id, json::object{{"i", 2}, {"lines", 3}}, 10000, 500);              // fits
  batch.start(b, id, json::object{{"i", 3}, {"lines", 1}, {"big", 1500000}}, 10000, 4 << 20); // longer than the host's 1 MB line buffer
  batch.start(b, id, json::object{{"i", 4}, {"lines", 1}, {"pieces", 20}}, 10000, 4 << 20);   // 200 KB written without a newline
  auto r = batch.get();
  REQUIRE(r[0].kind == outcome_kind::ok);
  CHECK(r[0].logs.size() < 100);
  CHECK(has_log(r[0], "Logs were truncated because the total bytes size exceeds the limit of 500 bytes."));
  CHECK(texts(r[1]) == std::vector<std::string>{"stdout: line 0 of run 2", "stdout: line 1 of run 2", "stdout: line 2 of run 2"});
  REQUIRE(r[2].kind == outcome_kind::ok);
  std::size_t xs = 0;
  for (auto& t : texts(r[2]))
    if (t.find("xxxx") != std::string::npos)
      xs += t.size() - std::string("stdout: ").size();
  CHECK(xs == 1500000); // in chunks, all of it, and only in its own run
  CHECK(texts(r[2]).back() == "stdout: line 0 of run 3");
  REQUIRE(r[3].kind == outcome_kind::ok);
  std::size_t ys = 0;
  for (auto& t : texts(r[3]))
    ys += static_cast<std::size_t>(std::count(t.begin(), t.end(), 'y'));
  CHECK(ys == 200000);
  CHECK(texts(r[3]).back().find("line 0 of run 4") != std::string::npos);
  destroy(b, id);
}

TEST_CASE("nodejs concurrency: a run past its time limit ends the runtime and every run in flight is answered with its own logs") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init_concurrent(b, id, R"(
    async function main(p) {
      console.log('started', p.i);
      await new Promise(r => setTimeout(r, p.ms));
      return {i: p.i};
    })", 4).kind == outcome_kind::ok);
  auto t0 = std::chrono::steady_clock::now();
  run_batch batch;
  batch.start(b, id, json::object{{"i", 1}, {"ms", 5000}}, 400); // past its limit at 400 ms
  batch.start(b, id, json::object{{"i", 2}, {"ms", 5000}});
  batch.start(b, id, json::object{{"i", 3}, {"ms", 50}});        // done before
  auto r = batch.get();
  CHECK(ms_since(t0) < 3000);
  CHECK(r[0].kind == outcome_kind::timeout);
  CHECK(texts(r[0]) == std::vector<std::string>{"stdout: started 1"});
  CHECK(r[1].kind == outcome_kind::exited);
  CHECK(r[1].output.find("another activation running in the same container exceeded its time limit") != std::string::npos);
  CHECK(texts(r[1]) == std::vector<std::string>{"stdout: started 2"});
  CHECK(r[2].kind == outcome_kind::ok);
  CHECK(r[2].output == R"({"i":3})");
  CHECK(texts(r[2]) == std::vector<std::string>{"stdout: started 3"});
  CHECK(run(b, id, json::object{{"i", 4}, {"ms", 1}}).kind == outcome_kind::failed); // the runtime is gone
  destroy(b, id);
}

TEST_CASE("nodejs concurrency: output of code left running after its activation and uncaught errors go to no other run") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init_concurrent(b, id, R"(
    async function main(p) {
      if (p.leave) { setInterval(() => console.log('left behind by', p.i), 5); return {left: true}; }
      if (p.throwLater) { setTimeout(() => { throw new Error('thrown later by ' + p.i); }, 20); await new Promise(r => setTimeout(r, 5000)); }
      console.log('mine', p.i);
      await new Promise(r => setTimeout(r, 200));
      console.log('still mine', p.i);
      return {i: p.i};
    })", 4).kind == outcome_kind::ok);
  run_batch first;
  first.start(b, id, json::object{{"i", 1}, {"leave", true}});
  REQUIRE(first.get()[0].kind == outcome_kind::ok);
  auto t0 = std::chrono::steady_clock::now();
  run_batch batch;
  batch.start(b, id, json::object{{"i", 2}});
  batch.start(b, id, json::object{{"i", 3}, {"throwLater", true}});
  auto r = batch.get();
  REQUIRE(r[0].kind == outcome_kind::ok);
  CHECK(texts(r[0]) == std::vector<std::string>{"stdout: mine 2", "stdout: still mine 2"});
  // the uncaught error ends its own activation (with its stack in its logs), not the runtime
  CHECK(r[1].kind == outcome_kind::ok);
  CHECK(r[1].output.find("thrown later by 3") != std::string::npos);
  CHECK(has_log(r[1], "stderr: Error: thrown later by 3"));
  CHECK(!has_log(r[1], "left behind"));
  CHECK(ms_since(t0) < 3000);
  destroy(b, id);
}

TEST_CASE("runs that may not go side by side stay one after another") {
  process_backend b{test_config()};
  SECTION("nodejs with concurrency 1") {
    auto id = create(b, "nodejs:20");
    REQUIRE(init(b, id, "async function main(p) { console.log('run', p.i); await new Promise(r => setTimeout(r, 200)); return {i: p.i}; }").kind == outcome_kind::ok);
    auto t0 = std::chrono::steady_clock::now();
    run_batch batch;
    for (int i = 1; i <= 3; ++i)
      batch.start(b, id, json::object{{"i", i}});
    auto r = batch.get();
    CHECK(ms_since(t0) >= 3 * 200);
    for (int i = 1; i <= 3; ++i)
      CHECK(texts(r[i - 1]) == std::vector<std::string>{fmt::format("stdout: run {}", i)});
    destroy(b, id);
  }
  SECTION("python with concurrency 4") {
    auto id = create(b, "python:3");
    REQUIRE(init_concurrent(b, id, "import time\ndef main(a):\n    print('run', a['i'])\n    time.sleep(0.2)\n    return {'i': a['i']}\n", 4).kind == outcome_kind::ok);
    auto t0 = std::chrono::steady_clock::now();
    run_batch batch;
    for (int i = 1; i <= 3; ++i)
      batch.start(b, id, json::object{{"i", i}});
    auto r = batch.get();
    CHECK(ms_since(t0) >= 3 * 200);
    for (int i = 1; i <= 3; ++i) {
      CHECK(r[i - 1].output == fmt::format(R"({{"i": {}}})", i));
      CHECK(texts(r[i - 1]) == std::vector<std::string>{fmt::format("stdout: run {}", i)});
    }
    destroy(b, id);
  }
}

TEST_CASE("nodejs concurrency: a runtime that exits mid-run answers every run in flight with its own logs") {
  process_backend b{test_config()};
  auto id = create(b, "nodejs:20");
  REQUIRE(init_concurrent(b, id, R"(
    async function main(p) {
      console.log('started', p.i);
      await new Promise(r => setTimeout(r, p.ms));
      if (p.exit) { console.log('leaving', p.i); process.exit(7); }
      return {i: p.i};
    })", 4).kind == outcome_kind::ok);
  run_batch batch;
  batch.start(b, id, json::object{{"i", 1}, {"ms", 100}, {"exit", true}});
  batch.start(b, id, json::object{{"i", 2}, {"ms", 5000}});
  auto r = batch.get();
  for (int i = 0; i < 2; ++i) {
    CHECK(r[i].kind == outcome_kind::exited);
    CHECK(r[i].output == "the runtime exited with status 7");
  }
  CHECK(texts(r[0]) == std::vector<std::string>{"stdout: started 1", "stdout: leaving 1"});
  CHECK(texts(r[1]) == std::vector<std::string>{"stdout: started 2"});
  destroy(b, id);
}
