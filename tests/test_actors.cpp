// Pool and proxy on the sim backend under CAF's test coordinator: manual scheduling and a
// manual clock, so every test is deterministic (no sleeps, no real time).
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/actors/container_pool.hpp"
#include "whisk/container/sim_backend.hpp"
#include "whisk/domain.hpp"

using namespace whisk;
using namespace std::chrono_literals;

namespace {

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    whisk::add_message_types(*this);
  }
};

using client_request = caf::atom_constant<caf::atom("client")>;

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  actor_timer timer = make_actor_timer(sys);
  std::shared_ptr<container::sim_backend> sim;
  pool_actor pool;
  caf::actor client;
  std::map<std::string, run_result> results;
  pool_stats last_stats;

  explicit fixture(pool_config pc = {}, container::sim_model model = {}) {
    sim = std::make_shared<container::sim_backend>(model, timer.fn);
    pool = spawn_container_pool(sys, sim, pc);
    // (the int argument: see make_actor_timer)
    client = sys.spawn([this](caf::event_based_actor* self, int) -> caf::behavior {
      return {
          [this, self](client_request, run_msg& m) {
            self->request(pool, caf::infinite, run_atom::value, std::move(m)).then([this](run_result& r) {
              results[r.activation_id] = r;
            });
          },
          [this, self](stats_atom) {
            self->request(pool, caf::infinite, stats_atom::value).then([this](pool_stats& s) { last_stats = s; });
          },
      };
    }, 0);
    sched.run();
  }

  ~fixture() {
    for (auto& a : {caf::actor_cast<caf::actor>(pool), client, timer.handle})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Lets `d` of virtual time pass in 1 ms steps, running every message on the way.
  void advance(std::chrono::milliseconds d) {
    sched.run();
    for (auto i = 0; i < d.count(); ++i) {
      sched.advance_time(1ms);
      sched.run();
    }
  }

  std::string invoke(const std::string& name, std::string code = "echo", std::int64_t memory = 256,
                     std::int64_t concurrency = 1, std::string params = R"({"x":1})", std::int64_t timeout_ms = 1000) {
    run_msg m;
    m.action.ns = "guest";
    m.action.name = name;
    m.action.version = "0.0.1";
    m.action.revision = "/guest/" + name + "@0.0.1";
    m.action.kind = "nodejs:20";
    m.action.code = std::move(code);
    m.action.memory_mb = memory;
    m.action.concurrency = concurrency;
    m.action.timeout_ms = timeout_ms;
    m.activation_id = new_activation_id();
    m.params_json = std::move(params);
    m.received_ms = now_ms();
    caf::anon_send(client, client_request::value, m);
    sched.run();
    return m.activation_id;
  }

  pool_stats stats() {
    caf::anon_send(client, stats_atom::value);
    sched.run();
    return last_stats;
  }

  const run_result& result(const std::string& id) {
    auto i = results.find(id);
    if (i == results.end())
      FAIL("no result for " << id);
    return i->second;
  }
};

pool_config with_memory(std::int64_t mb) {
  pool_config pc;
  pc.user_memory_mb = mb;
  return pc;
}

} // namespace

TEST_CASE("proxy: cold start, warm run, pause after the grace, resume, idle removal") {
  pool_config pc;
  pc.proxy.pause_grace = 50ms;
  pc.proxy.idle_timeout = 1000ms;
  fixture f{pc};
  auto a = f.invoke("a", "echo", 256, 1, R"({"name":"ada"})");
  CHECK(f.results.empty()); // starting: nothing answers before the virtual time passes
  CHECK(f.stats().busy == 1); // a cold start that carries its run counts as busy, not as merely starting
  CHECK(f.stats().starting == 0);
  f.advance(49ms);
  CHECK(f.results.empty());
  f.advance(10ms); // create 50 + init 5 + run 1
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).status == 0);
  CHECK(f.result(a).result_json == R"({"name":"ada"})");
  CHECK(f.result(a).init_ms >= 0);
  CHECK(f.sim->counters().inits == 1);

  auto b = f.invoke("a");
  f.advance(2ms);
  REQUIRE(f.results.count(b));
  CHECK(f.result(b).init_ms == -1); // warm
  CHECK(f.sim->counters().created == 1);
  CHECK(f.stats().warm_starts == 1);

  f.advance(60ms); // past the pause grace
  CHECK(f.sim->counters().paused == 1);
  CHECK(f.stats().paused == 1);

  auto c = f.invoke("a");
  f.advance(2ms);
  REQUIRE(f.results.count(c));
  CHECK(f.result(c).status == 0);
  CHECK(f.sim->counters().resumes == 1);
  CHECK(f.stats().resumes == 1);

  f.advance(60ms); // paused again after the grace, although its idle-timeout check is pending
  CHECK(f.sim->counters().suspends == 2);
  CHECK(f.sim->counters().paused == 1);

  f.advance(1100ms); // past the idle timeout
  CHECK(f.sim->counters().alive == 0);
  CHECK(f.sim->counters().destroyed == 1);
  CHECK(f.stats().containers == 0);
}

TEST_CASE("pool: a stem cell of the kind takes the first run and is refilled") {
  pool_config pc;
  pc.stem_cells = {{"nodejs:20", 256, 1}};
  fixture f{pc};
  f.advance(60ms);
  CHECK(f.stats().stem_cells == 1);
  CHECK(f.sim->counters().created == 1);
  auto a = f.invoke("a");
  f.advance(10ms);
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).status == 0);
  auto s = f.stats();
  CHECK(s.stem_cell_starts == 1);
  CHECK(s.cold_starts == 0);
  f.advance(60ms);
  CHECK(f.sim->counters().created == 2); // refilled
  CHECK(f.stats().stem_cells == 1);
  // another memory size does not use the stem cell
  f.invoke("b", "echo", 512);
  f.advance(70ms);
  CHECK(f.stats().cold_starts == 1);
}

TEST_CASE("pool: a full node evicts the least recently used idle container") {
  pool_config pc = with_memory(512);
  pc.proxy.pause_grace = 10s; // keep them ready for this test
  fixture f{pc};
  f.invoke("a");
  f.advance(60ms);
  f.invoke("b");
  f.advance(60ms);
  f.invoke("a"); // a is now more recently used than b
  f.advance(5ms);
  auto c = f.invoke("c");
  f.advance(60ms);
  auto s = f.stats();
  INFO("containers " << s.containers << " busy " << s.busy << " ready " << s.ready << " starting " << s.starting << " queued " << s.queued << " evicted " << s.evicted << " created " << s.created);
  REQUIRE(f.results.count(c));
  CHECK(s.evicted == 1);
  CHECK(f.sim->counters().destroyed == 1);
  // b was evicted: a is still warm
  auto a2 = f.invoke("a");
  f.advance(2ms);
  REQUIRE(f.results.count(a2));
  CHECK(f.result(a2).init_ms == -1);
}

namespace {

// A policy for the tests below: unload at once and come back after a pre-warm window, and
// under memory pressure evict the newest container first (the opposite of LRU).
struct scripted_policy : policy::keep_alive_policy {
  policy::keep_alive_decision decision;
  std::vector<std::string> events;
  std::string name() const override { return "scripted"; }
  void on_arrival(const policy::function_ref& fn, policy::millis, policy::start_kind k) override {
    events.push_back(fmt::format("arrival {} {}", fn.function, k == policy::start_kind::warm ? "warm" : "cold"));
  }
  void on_idle(std::uint64_t id, const policy::function_ref& fn, policy::millis) override {
    events.push_back(fmt::format("idle {} {} app={}", id, fn.function, fn.app));
  }
  void on_removed(std::uint64_t id, const policy::function_ref&, policy::millis, policy::removal_cause c) override {
    events.push_back(fmt::format("removed {} {}", id, c == policy::removal_cause::expired ? "expired" : c == policy::removal_cause::evicted ? "evicted" : "failed"));
  }
  policy::keep_alive_decision keep_alive(std::uint64_t, const policy::function_ref&, policy::millis) const override { return decision; }
  std::vector<std::uint64_t> eviction_order(const std::vector<policy::idle_container>& idle, std::int64_t need_mb,
                                            policy::millis) const override {
    std::vector<const policy::idle_container*> order;
    for (auto& c : idle)
      order.push_back(&c);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->id > b->id; });
    return policy::enough_to_free(order, need_mb);
  }
};

} // namespace

TEST_CASE("pool: a fixed keep-alive unloads an idle container when it runs out and counts its idle memory") {
  pool_config pc;
  pc.proxy.pause_grace = 10s;
  pc.keep_alive = std::make_shared<policy::fixed_keep_alive>(1000);
  fixture f{pc};
  auto a = f.invoke("a"); // 50 create + 5 init + 1 run: idle from 56 ms
  f.advance(56ms);
  REQUIRE(f.results.count(a));
  f.advance(999ms);
  CHECK(f.stats().containers == 1);
  CHECK(f.stats().expired == 0);
  f.advance(1ms); // 1000 ms idle
  CHECK(f.stats().expired == 1);
  f.advance(5ms);
  auto s = f.stats();
  CHECK(s.containers == 0);
  CHECK(f.sim->counters().destroyed == 1);
  CHECK(s.idle_mb_ms == 256 * 1000); // 256 MB idle for exactly 1000 ms of virtual time
  f.advance(100ms);
  CHECK(f.stats().idle_mb_ms == 256 * 1000); // nothing idle since
}

TEST_CASE("pool: a pre-warm the policy asks for starts the function ahead of its next run which is then warm") {
  auto pol = std::make_shared<scripted_policy>();
  pol->decision = {0, policy::prewarm_window{500, 1500}}; // unload at once, back 500 ms later, for 1 s
  pool_config pc;
  pc.proxy.pause_grace = 10s;
  pc.keep_alive = pol;
  fixture f{pc};
  auto a = f.invoke("a");
  f.advance(60ms);
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).init_ms >= 0);
  CHECK(f.stats().expired == 1); // keep 0: unloaded at once
  f.advance(5ms);
  CHECK(f.stats().containers == 0);
  f.advance(500ms); // the pre-warm is due: 50 create + 5 init
  CHECK(f.stats().prewarms == 1);
  f.advance(60ms);
  auto s = f.stats();
  CHECK(s.containers == 1);
  CHECK(s.ready == 1);
  auto b = f.invoke("a");
  f.advance(2ms);
  REQUIRE(f.results.count(b));
  CHECK(f.result(b).init_ms == -1); // warm: the init happened ahead
  CHECK(f.stats().warm_starts == 1);
  CHECK(f.stats().cold_starts == 1);
  CHECK(f.sim->counters().created == 2);
  REQUIRE(pol->events.size() >= 4);
  CHECK(pol->events[0] == "arrival /guest/a@0.0.1 cold");
  CHECK(pol->events[1] == "idle 1 /guest/a@0.0.1 app=guest");
  CHECK(pol->events[2] == "removed 1 expired");
  CHECK(pol->events[3] == "arrival /guest/a@0.0.1 warm");
}

TEST_CASE("pool: a pre-warmed container that gets no run leaves at the end of its window") {
  auto pol = std::make_shared<scripted_policy>();
  pol->decision = {0, policy::prewarm_window{100, 300}};
  pool_config pc;
  pc.proxy.pause_grace = 10s;
  pc.keep_alive = pol;
  fixture f{pc};
  f.invoke("a");
  f.advance(60ms);
  f.advance(160ms); // due at 156, ready at 211
  CHECK(f.stats().ready == 1);
  f.advance(200ms); // its window of 200 ms ends at 411
  auto s = f.stats();
  CHECK(s.containers == 0);
  CHECK(s.expired == 2);
  CHECK(s.prewarms == 1);
}

TEST_CASE("pool: under memory pressure the policy's eviction order decides") {
  auto pol = std::make_shared<scripted_policy>();
  pol->decision = {policy::keep_forever, std::nullopt};
  pool_config pc = with_memory(512);
  pc.proxy.pause_grace = 10s;
  pc.keep_alive = pol;
  fixture f{pc};
  f.invoke("a");
  f.advance(60ms);
  f.invoke("b");
  f.advance(60ms);
  f.invoke("a"); // a is the most recently used: LRU would evict b, this policy evicts the newest container (b, id 2)
  f.advance(5ms);
  f.invoke("b"); // b most recent now; the policy still picks id 2
  f.advance(5ms);
  auto c = f.invoke("c");
  f.advance(60ms);
  REQUIRE(f.results.count(c));
  CHECK(f.stats().evicted == 1);
  CHECK(std::find(pol->events.begin(), pol->events.end(), "removed 2 evicted") != pol->events.end());
  auto a = f.invoke("a");
  f.advance(2ms);
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).init_ms == -1); // a stayed warm
}

TEST_CASE("pool: runs wait in a FIFO buffer and are placed when a container frees") {
  pool_config pc = with_memory(256);
  pc.max_queue = 2;
  pc.queue_budget = std::chrono::seconds(10); // this test is about order, not waiting time
  fixture f{pc};
  auto slow = f.invoke("slow", "sim:sleep=100");
  auto b = f.invoke("b");
  auto c = f.invoke("c");
  auto d = f.invoke("d"); // queue holds b and c: d is rejected
  REQUIRE(f.results.count(d));
  CHECK(f.result(d).rejected);
  CHECK(f.stats().queued == 2);
  f.advance(160ms); // create 50 + init 5 + run 100
  REQUIRE(f.results.count(slow));
  CHECK(f.results.count(b) == 0);
  f.advance(60ms);  // b evicted the idle slow container and ran in a new one
  CHECK(f.results.count(b) == 1);
  CHECK(f.results.count(c) == 0); // c still waits behind b's container
  f.advance(60ms);
  REQUIRE(f.results.count(c));
  CHECK(f.result(b).start_ms <= f.result(c).start_ms);
  CHECK(f.stats().queued == 0);
}

TEST_CASE("pool: a run that cannot start within the queueing budget is refused, whatever frees later") {
  pool_config pc = with_memory(256);
  pc.queue_budget = 100ms;
  fixture f{pc};
  auto slow = f.invoke("slow", "sim:sleep=400");
  f.advance(20ms);
  auto b = f.invoke("b"); // waits: the node's only slot is busy for 400 ms more
  f.advance(50ms);
  auto c = f.invoke("c"); // queued 50 ms after b
  f.advance(49ms);
  CHECK(f.results.count(b) == 0); // 99 ms of waiting: still inside the budget
  f.advance(2ms);
  REQUIRE(f.results.count(b)); // 101 ms: refused at its own deadline, not at the next free slot
  CHECK(f.result(b).rejected);
  CHECK_THAT(f.result(b).result_json, Catch::Contains("queueing budget of 100 ms"));
  CHECK(f.results.count(c) == 0);
  f.advance(50ms);
  REQUIRE(f.results.count(c));
  CHECK(f.result(c).rejected);
  CHECK(f.stats().shed == 2);
  f.advance(400ms);
  REQUIRE(f.results.count(slow));
  CHECK(f.result(slow).status == 0); // the running one was never touched
  auto d = f.invoke("d"); // the node is idle again: runs start as usual
  f.advance(100ms);
  REQUIRE(f.results.count(d));
  CHECK(f.result(d).status == 0);
}

TEST_CASE("pool: concurrency lets one container take several runs") {
  fixture f;
  auto a = f.invoke("a", "sim:sleep=20", 256, 3);
  auto b = f.invoke("a", "sim:sleep=20", 256, 3);
  auto c = f.invoke("a", "sim:sleep=20", 256, 3);
  f.advance(100ms);
  for (auto& id : {a, b, c}) {
    REQUIRE(f.results.count(id));
    CHECK(f.result(id).status == 0);
  }
  CHECK(f.sim->counters().created == 1);
}

TEST_CASE("proxy: failures give developer errors, remove the container, and the next run works") {
  fixture f;
  SECTION("init failure") {
    auto a = f.invoke("bad", "sim:init-fail");
    f.advance(100ms);
    REQUIRE(f.results.count(a));
    CHECK(f.result(a).status == static_cast<int>(activation_status::developer_error));
    CHECK_THAT(f.result(a).result_json, Catch::Contains("Initialization has failed"));
  }
  SECTION("timeout") {
    auto a = f.invoke("loop", "sim:timeout", 256, 1, "{}", 300);
    f.advance(400ms);
    REQUIRE(f.results.count(a));
    CHECK(f.result(a).timed_out);
    CHECK_THAT(f.result(a).result_json, Catch::Contains("exceeded its time limits of 300 milliseconds"));
  }
  SECTION("crash") {
    auto a = f.invoke("crash", "sim:crash");
    f.advance(100ms);
    REQUIRE(f.results.count(a));
    CHECK(f.result(a).status == static_cast<int>(activation_status::developer_error));
  }
  SECTION("memory") {
    auto a = f.invoke("oom", "sim:oom");
    f.advance(100ms);
    REQUIRE(f.results.count(a));
    CHECK_THAT(f.result(a).result_json, Catch::Contains("exhausted its memory"));
  }
  f.advance(10ms);
  CHECK(f.sim->counters().alive == 0); // the failed container is gone
  CHECK(f.stats().containers == 0);
  auto ok = f.invoke("good");
  f.advance(100ms);
  REQUIRE(f.results.count(ok));
  CHECK(f.result(ok).status == 0);
}

TEST_CASE("pool: a proxy that dies is removed, its runs end with whisk errors, and the pool serves on") {
  fixture f{with_memory(256)};
  auto a = f.invoke("faulty", "sim:fault");
  f.advance(100ms); // create, init, then the run throws inside the proxy, which dies
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).status == static_cast<int>(activation_status::whisk_error));
  CHECK_THAT(f.result(a).result_json, Catch::Contains("The container of the activation failed"));
  auto s = f.stats();
  CHECK(s.proxy_failures == 1);
  CHECK(s.containers == 0);
  CHECK(s.memory_in_use_mb == 0); // its memory is free again: the only slot of the node
  auto b = f.invoke("good");
  f.advance(100ms);
  REQUIRE(f.results.count(b));
  CHECK(f.result(b).status == 0);
  CHECK(f.stats().proxy_failures == 1);
}

TEST_CASE("pool: an action larger than the node is refused at once") {
  fixture f{with_memory(256)};
  auto a = f.invoke("big", "echo", 512);
  REQUIRE(f.results.count(a));
  CHECK(f.result(a).status == static_cast<int>(activation_status::whisk_error));
  CHECK(!f.result(a).rejected);
}

TEST_CASE("protocol: a run message crosses a process boundary whole, its shared code included") {
  test_config cfg;
  caf::actor_system sys{cfg};
  run_msg msg;
  msg.action.ns = "guest";
  msg.action.name = "double";
  msg.action.code = std::string(100000, 'x') + "function main() {}";
  msg.action.mode = "reuse";
  msg.action.reuse_context = true;
  msg.activation_id = "a1";
  msg.params_json = R"({"n":21})";
  auto copy = msg; // copies share the code
  CHECK(&copy.action.code.str() == &msg.action.code.str());
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  CHECK(buf.size() > 100000);
  run_msg out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(out));
  CHECK(out.action.code.str() == msg.action.code.str());
  CHECK(out.action.name == "double");
  CHECK(out.action.mode == "reuse");
  CHECK(out.action.reuse_context);
  CHECK(out.params_json == R"({"n":21})");
  CHECK(caf::deep_to_string(out.action.code).find("function main") != std::string::npos);
}
