// The cluster's actors (scheduler, agents, balancers) wired in one process on the sim
// backend under CAF's test coordinator: the container factory protocol, leases,
// supervision and the checks on who may send what, with virtual time and no sleeps.
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <fmt/format.h>
#include <optional>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/actors/cluster.hpp"
#include "whisk/container/sim_backend.hpp"
#include "whisk/domain.hpp"
#include "whisk/json.hpp"

using namespace whisk;
using namespace std::chrono_literals;

namespace {

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    whisk::add_message_types(*this);
  }
};

using send_run = caf::atom_constant<caf::atom("sendrun")>;
using send_hello = caf::atom_constant<caf::atom("sendhello")>;
using send_req = caf::atom_constant<caf::atom("sendreq")>;
using send_create = caf::atom_constant<caf::atom("sendcreat")>;

struct cluster {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  actor_timer timer = make_actor_timer(sys);
  fleet_snapshot snap;
  scheduler_actor scheduler;
  std::map<std::string, std::shared_ptr<container::sim_backend>> sims;
  std::map<std::string, agent_actor> agents;
  std::vector<pool_actor> balancers;
  caf::actor client;
  std::map<std::string, run_result> results;
  std::vector<std::string> answers;   // hellos and requisitions, as text
  std::optional<std::string> create_error;
  std::vector<container_ref> granted;

  cluster() {
    scheduler_config sc;
    sc.publish = [this](fleet_snapshot s) { snap = std::move(s); };
    scheduler = spawn_scheduler(sys, sc);
    client = sys.spawn([this](caf::event_based_actor* self, int) -> caf::behavior {
      return {
          [this, self](send_run, pool_actor& to, run_msg& m) {
            self->request(to, caf::infinite, run_atom::value, std::move(m)).then([this](run_result& r) {
              results[r.activation_id] = r;
            });
          },
          [this, self](send_hello, peer_hello& h) {
            self->request(scheduler, caf::infinite, hello_atom::value, std::move(h)).then([this](std::string& s) {
              answers.push_back(s.empty() ? "accepted" : s);
            });
          },
          [this, self](send_req, container_requisition& r) {
            self->request(scheduler, caf::infinite, requisit_atom::value, std::move(r)).then([this](allocation_answer& a) {
              answers.push_back(a.granted.empty() ? a.rejection.reason : "granted");
              for (auto& g : a.granted)
                granted.push_back(g.container.ref);
            });
          },
          [this, self](lease_atom, container_ref& ref) {
            self->send(scheduler, lease_atom::value, lease_report{ref, static_cast<std::int32_t>(lease_change::release)});
          },
          [this, self](send_create, agent_actor& a) {
            self->request(a, caf::infinite, create_atom::value, container_spec{"nodejs:20", 256})
                .then([this](container_descriptor&) { create_error = ""; },
                      [this, self](caf::error& e) { create_error = self->system().render(e); });
          },
      };
    }, 0);
  }

  void add_agent(const std::string& name, std::int64_t memory_mb = 2048,
                 std::shared_ptr<policy::keep_alive_policy> keep_alive = nullptr) {
    auto sim = std::make_shared<container::sim_backend>(container::sim_model{}, timer.fn);
    agent_config ac;
    ac.keep_alive = std::move(keep_alive);
    ac.name = name;
    ac.scheduler = scheduler;
    ac.user_memory_mb = memory_mb;
    ac.host = "127.0.0.1";
    ac.port = 1; // nobody connects: everything is in this process
    sims[name] = sim;
    agents[name] = spawn_agent(sys, sim, ac);
  }

  pool_actor add_balancer(const std::string& name) {
    balancer_config bc;
    bc.name = name;
    bc.scheduler = scheduler;
    bc.lease_idle = 500ms;
    bc.lease_grace = 2s;
    balancers.push_back(spawn_balancer(sys, bc));
    return balancers.back();
  }

  ~cluster() {
    std::vector<caf::actor> all{caf::actor_cast<caf::actor>(scheduler), client, timer.handle};
    for (auto& [n, a] : agents)
      all.push_back(caf::actor_cast<caf::actor>(a));
    for (auto& b : balancers)
      all.push_back(caf::actor_cast<caf::actor>(b));
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void advance(std::chrono::milliseconds d) {
    sched.run();
    for (auto i = 0; i < d.count(); ++i) {
      sched.advance_time(1ms);
      sched.run();
    }
  }

  void run(const pool_actor& b, const std::string& aid, const std::string& code = "", const std::string& rev = "guest/a@1") {
    run_msg m;
    m.action.ns = "guest";
    m.action.name = rev.substr(6, rev.find('@') - 6);
    m.action.revision = rev;
    m.action.kind = "nodejs:20";
    m.action.code = shared_text(code);
    m.action.memory_mb = 256;
    m.action.timeout_ms = 5000;
    m.activation_id = aid;
    m.params_json = "{\"aid\":\"" + aid + "\"}";
    caf::anon_send(client, send_run::value, b, std::move(m));
  }

  double metric(const std::string& name, const std::string& label = "") const {
    for (auto& s : snap.metrics)
      if (s.name == name && (label.empty() || (!s.labels.empty() && s.labels[0].second == label)))
        return s.value;
    return -1;
  }

  std::string agent_state(const std::string& name) const {
    auto v = json::parse(snap.agents_json);
    if (!v || !v->is_array())
      return "?";
    for (auto& a : v->as_array())
      if (json::get_string(a, "name") == name)
        return json::get_string(a, "state");
    return "none";
  }

  int status(const std::string& aid) const {
    auto i = results.find(aid);
    return i == results.end() ? -1 : i->second.status;
  }
};

constexpr int success = static_cast<int>(activation_status::success);
constexpr int whisk_err = static_cast<int>(activation_status::whisk_error);

} // namespace

TEST_CASE("cluster: a run is allocated a container and the next ones are warm and send the scheduler nothing") {
  cluster c;
  c.add_agent("a1");
  c.add_agent("a2");
  auto b = c.add_balancer("c1");
  c.advance(300ms);
  CHECK(c.agent_state("a1") == "healthy");
  c.run(b, "r1");
  c.advance(300ms);
  REQUIRE(c.status("r1") == success);
  CHECK(c.results["r1"].result_json == "{\"aid\":\"r1\"}");
  auto messages = c.metric("controller_messages_total");
  CHECK(messages == 1); // one requisition
  for (int i = 2; i <= 20; ++i) {
    c.run(b, fmt::format("r{}", i));
    c.advance(5ms);
  }
  c.advance(100ms);
  for (int i = 2; i <= 20; ++i)
    CHECK(c.status(fmt::format("r{}", i)) == success);
  CHECK(c.metric("controller_messages_total") == messages);
  CHECK(c.sims["a1"]->counters().created + c.sims["a2"]->counters().created == 1);
}

TEST_CASE("cluster: an idle lease goes back after its grace and another controller gets the container warm") {
  cluster c;
  c.add_agent("a1");
  auto b1 = c.add_balancer("c1");
  auto b2 = c.add_balancer("c2");
  c.advance(300ms);
  c.run(b1, "r1");
  c.advance(300ms);
  REQUIRE(c.status("r1") == success);
  c.advance(2500ms); // past the lease grace: c1 gives it back ("free" first, then "release")
  CHECK(c.metric("lease_reports_total") == 2);
  c.run(b2, "r2");
  c.advance(300ms);
  CHECK(c.status("r2") == success);
  CHECK(c.metric("allocations_total", "warm") == 1);
  CHECK(c.sims["a1"]->counters().created == 1); // the same container served both
}

TEST_CASE("cluster: a container is not leased to two controllers at once") {
  cluster c;
  c.add_agent("a1");
  auto b1 = c.add_balancer("c1");
  auto b2 = c.add_balancer("c2");
  c.advance(300ms);
  c.run(b1, "r1");
  c.advance(300ms);
  c.run(b2, "r2"); // c1 still holds its lease: c2 gets a container of its own
  c.advance(300ms);
  CHECK(c.status("r2") == success);
  CHECK(c.sims["a1"]->counters().created == 2);
}

TEST_CASE("cluster: the scheduler refuses another protocol version or application and nameless peers") {
  cluster c;
  c.advance(10ms);
  peer_hello old_version;
  old_version.name = "x";
  old_version.version = cluster_protocol_version + 1;
  caf::anon_send(c.client, send_hello::value, old_version);
  peer_hello other_app;
  other_app.name = "y";
  other_app.application = "another-cluster";
  caf::anon_send(c.client, send_hello::value, other_app);
  caf::anon_send(c.client, send_hello::value, peer_hello{});
  c.advance(10ms);
  REQUIRE(c.answers.size() == 3);
  CHECK(c.answers[0].find("protocol version") != std::string::npos);
  CHECK(c.answers[1].find("application 'another-cluster'") != std::string::npos);
  CHECK(c.answers[2].find("name") != std::string::npos);
}

TEST_CASE("cluster: requisitions from a controller that never said hello or out of range are refused") {
  cluster c;
  c.add_agent("a1");
  c.advance(300ms);
  caf::anon_send(c.client, send_req::value, container_requisition{"guest/a@1", "nodejs:20", 256, 1, 1});
  c.advance(10ms);
  peer_hello h;
  h.name = "client";
  caf::anon_send(c.client, send_hello::value, h);
  c.advance(10ms);
  caf::anon_send(c.client, send_req::value, container_requisition{"guest/a@1", "nodejs:20", 256, 1, 1000});
  caf::anon_send(c.client, send_req::value, container_requisition{"guest/a@1", "nodejs:20", -5, 1, 1});
  caf::anon_send(c.client, send_req::value, container_requisition{"guest/a@1", "nodejs:20", 256, 1, 1});
  c.advance(300ms);
  REQUIRE(c.answers.size() == 5);
  CHECK(c.answers[0] == "the controller has not said hello");
  CHECK(c.answers[1] == "accepted");
  CHECK(c.answers[2] == "bad requisition");
  CHECK(c.answers[3] == "bad requisition");
  CHECK(c.answers[4] == "granted");
}

TEST_CASE("cluster: an agent creates containers for its scheduler only") {
  cluster c;
  c.add_agent("a1");
  c.advance(300ms);
  caf::anon_send(c.client, send_create::value, c.agents["a1"]);
  c.advance(10ms);
  REQUIRE(c.create_error);
  CHECK(c.create_error->find("only the scheduler") != std::string::npos);
  CHECK(c.sims["a1"]->counters().created == 0);
}

TEST_CASE("cluster: an agent with system errors turns unhealthy and the health test action brings it back") {
  cluster c;
  c.add_agent("sick");
  auto b = c.add_balancer("c1");
  c.advance(300ms);
  // each run fails the container: the next run needs a new one
  for (int i = 1; i <= 4; ++i) {
    c.run(b, fmt::format("e{}", i), "sim:system-error", "guest/e@1");
    c.advance(300ms);
    CHECK(c.status(fmt::format("e{}", i)) == whisk_err);
  }
  c.advance(300ms); // a heartbeat with 4 system errors in the last 10 runs
  // the probe runs at once: unhealthy shows in the log; afterwards the agent is healthy
  // and its window was cleared (so a fresh action is placed there again)
  c.advance(1500ms);
  CHECK(c.metric("agent_state_changes_total", "unhealthy") == 1);
  CHECK(c.metric("agent_state_changes_total", "healthy") == 1);
  CHECK(c.sims["sick"]->counters().created == 5); // 4 broken containers + the health test's
  CHECK(c.agent_state("sick") == "healthy");
  c.run(b, "ok1");
  c.advance(300ms);
  CHECK(c.status("ok1") == success);
}

TEST_CASE("cluster: runs on an agent that goes away end with a whisk error naming it and the next run goes elsewhere") {
  cluster c;
  c.add_agent("a1", 4096); // most free memory: the first container goes here
  c.add_agent("a2", 2048);
  auto b = c.add_balancer("c1");
  c.advance(300ms);
  c.run(b, "slow", "sim:sleep=2000", "guest/slow@1");
  c.advance(300ms);
  REQUIRE(c.status("slow") == -1); // still running
  REQUIRE(c.sims["a1"]->counters().created == 1);
  caf::anon_send_exit(c.agents["a1"], caf::exit_reason::kill);
  c.advance(50ms);
  REQUIRE(c.status("slow") == whisk_err);
  CHECK(c.results["slow"].result_json.find("a1") != std::string::npos);
  c.advance(300ms);
  CHECK(c.agent_state("a1") == "offline");
  c.run(b, "after");
  c.advance(300ms);
  CHECK(c.status("after") == success);
  CHECK(c.sims["a2"]->counters().created == 1);
}

TEST_CASE("cluster: a container given back before its first run is not warm for the action") {
  cluster c;
  c.add_agent("a1");
  auto b = c.add_balancer("c1");
  c.advance(300ms);
  peer_hello h;
  h.name = "early";
  caf::anon_send(c.client, send_hello::value, h);
  caf::anon_send(c.client, send_req::value, container_requisition{"guest/a@1", "nodejs:20", 256, 1, 1});
  c.advance(300ms); // a new container, leased to "early", never run
  REQUIRE(c.granted.size() == 1);
  caf::anon_send(c.client, lease_atom::value, c.granted[0]); // given back untouched
  c.advance(10ms);
  c.run(b, "r1", "", "guest/a@1");
  c.advance(300ms);
  CHECK(c.status("r1") == success);
  CHECK(c.metric("allocations_total", "warm") == -1);     // never answered warm
  CHECK(c.metric("allocations_total", "stem-cell") == 1); // it went out as a stem cell
  CHECK(c.sims["a1"]->counters().created == 1);
  CHECK(c.sims["a1"]->counters().inits == 1);
}

namespace {

// fixed keep-alive that writes down what it hears
struct recording_policy : policy::fixed_keep_alive {
  std::vector<std::string> events;
  recording_policy() : policy::fixed_keep_alive(1000) {}
  void on_arrival(const policy::function_ref& fn, policy::millis, policy::start_kind k) override {
    events.push_back(fmt::format("arrival {} {}", fn.function, k == policy::start_kind::warm ? "warm" : "cold"));
  }
  void on_idle(std::uint64_t, const policy::function_ref& fn, policy::millis) override {
    events.push_back(fmt::format("idle {}", fn.function));
  }
  void on_removed(std::uint64_t, const policy::function_ref& fn, policy::millis, policy::removal_cause c) override {
    events.push_back(fmt::format("removed {} {}", fn.function, c == policy::removal_cause::expired ? "expired" : "other"));
  }
};

} // namespace

TEST_CASE("cluster: an agent's keep-alive policy hears every run and unloads idle containers when it says") {
  cluster c;
  auto pol = std::make_shared<recording_policy>();
  c.add_agent("a1", 2048, pol);
  auto b = c.add_balancer("c1");
  c.advance(300ms);
  c.run(b, "r1");
  c.advance(100ms); // 50 create + 5 init + 1 run
  REQUIRE(c.status("r1") == success);
  c.run(b, "r2");
  c.advance(10ms);
  REQUIRE(c.status("r2") == success);
  c.advance(900ms); // idle ~910 ms of its 1000
  CHECK(c.sims["a1"]->counters().alive == 1);
  c.advance(200ms);
  CHECK(c.sims["a1"]->counters().alive == 0); // unloaded by the agent's policy, not the 10-minute idle timeout
  CHECK(c.sims["a1"]->counters().destroyed == 1);
  REQUIRE(pol->events.size() == 5);
  CHECK(pol->events[0] == "arrival guest/a@1 cold");
  CHECK(pol->events[1] == "idle guest/a@1");
  CHECK(pol->events[2] == "arrival guest/a@1 warm");
  CHECK(pol->events[3] == "idle guest/a@1");
  CHECK(pol->events[4] == "removed guest/a@1 expired");
  c.run(b, "r3"); // the next run starts a container again
  c.advance(300ms);
  CHECK(c.status("r3") == success);
  CHECK(c.sims["a1"]->counters().created == 2);
}

// A scheduler that went away without this agent seeing its connection close (the restarted
// scheduler of test_cluster.sh, after the agent had been frozen) must not keep the agent
// sending heartbeats into nothing: no answer within 8 heartbeats, or an answer that the
// scheduler does not know the agent, and the agent registers again.
TEST_CASE("cluster: an agent registers again when its scheduler stops answering heartbeats or no longer knows it") {
  cluster c;
  int registrations = 0;
  int heartbeats = 0;
  bool knows = true;
  bool answers = true;
  std::vector<caf::response_promise> unanswered;
  // (an argument, as for the client above: CAF 0.17 dereferences a null tuple for none)
  auto fake = c.sys.spawn([&](caf::event_based_actor* self, int) -> caf::behavior {
    return {
        [&](register_atom, peer_hello&, agent_actor&, agent_status&) {
          ++registrations;
          return std::string{};
        },
        [&, self](heartbeat_atom, agent_heartbeat&) -> caf::result<bool> {
          ++heartbeats;
          if (answers)
            return knows;
          unanswered.push_back(self->make_response_promise());
          return caf::delegated<bool>{};
        },
        [](container_atom, std::string&, container_descriptor&) {},
    };
  }, 0);
  auto sim = std::make_shared<container::sim_backend>(container::sim_model{}, c.timer.fn);
  agent_config ac;
  ac.name = "a1";
  ac.scheduler = caf::actor_cast<scheduler_actor>(fake);
  ac.host = "127.0.0.1";
  ac.port = 1;
  c.agents["a1"] = spawn_agent(c.sys, sim, ac);
  c.advance(1000ms);
  CHECK(registrations == 1);
  CHECK(heartbeats >= 3); // every 250 ms, each answered "known"

  answers = false; // the scheduler hangs: heartbeats go unanswered
  c.advance(1900ms);
  CHECK(registrations == 1); // 8 heartbeats (2 s) are not over yet
  c.advance(700ms);
  CHECK(registrations == 2);

  answers = true;
  knows = false; // the scheduler forgot the agent: the next heartbeat's answer says so
  c.advance(600ms);
  CHECK(registrations >= 3);
  knows = true;
  c.advance(1000ms); // (a registration under way ends)
  auto settled = registrations;
  c.advance(2000ms);
  CHECK(registrations == settled); // known again: no more registrations
  unanswered.clear();
  caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
}

// The same for a controller: a scheduler that stops answering, or no longer knows it, hears
// its hello (with the leases it holds) again.
TEST_CASE("cluster: a controller says hello again when its scheduler stops answering heartbeats or no longer knows it") {
  cluster c;
  int hellos = 0;
  int heartbeats = 0;
  bool knows = true;
  bool answers = true;
  std::vector<caf::response_promise> unanswered;
  auto fake = c.sys.spawn([&](caf::event_based_actor* self, int) -> caf::behavior {
    return {
        [&](hello_atom, peer_hello& h) {
          ++hellos;
          CHECK(h.name == "c1");
          return std::string{};
        },
        [&, self](heartbeat_atom, std::string& name) -> caf::result<bool> {
          ++heartbeats;
          CHECK(name == "c1");
          if (answers)
            return knows;
          unanswered.push_back(self->make_response_promise());
          return caf::delegated<bool>{};
        },
    };
  }, 0);
  balancer_config bc;
  bc.name = "c1";
  bc.scheduler = caf::actor_cast<scheduler_actor>(fake);
  c.balancers.push_back(spawn_balancer(c.sys, bc));
  c.advance(1000ms);
  CHECK(hellos == 1);
  CHECK(heartbeats >= 3);

  answers = false;
  c.advance(1800ms);
  CHECK(hellos == 1); // no answer for 2 s is not over yet
  c.advance(1200ms); // then the next connect (every 500 ms at most) says hello again
  CHECK(hellos == 2);

  answers = true;
  knows = false;
  c.advance(1000ms);
  CHECK(hellos >= 3);
  knows = true;
  c.advance(1000ms); // (a hello under way ends)
  auto settled = hellos;
  c.advance(2000ms);
  CHECK(hellos == settled); // known again: no more hellos
  unanswered.clear();
  caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
}
