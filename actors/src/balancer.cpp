// balancer: a controller's lease table. It answers runs like the single node's pool, so the
// same controller sits on top; behind it, the container factory protocol: a run finds a
// lease of its action (one message to the container's proxy on its agent, one answer back)
// or waits while one requisition per action asks the scheduler for containers.
#include <deque>
#include <map>
#include <set>

#include "remote.hpp"
#include "run_results.hpp"
#include "whisk/actors/cluster.hpp"
#include "whisk/domain.hpp"
#include "whisk/log.hpp"

namespace whisk {

namespace {

struct pending {
  run_msg msg; // with the code: a run placed again may be the first on a new container
  caf::typed_response_promise<run_result> rp;
};

struct lease {
  proxy_actor proxy;
  bool connected = false;  // a direct connection to its agent is up: runs may go
  bool retired = false;    // answered "place again": takes no more runs

  std::string action_key;
  std::int64_t concurrency = 1;
  bool code_acked = false; // the container answered a run: it holds the code, runs travel without it
  bool reported_free = false;
  std::map<std::string, pending> running;
  caf::actor_clock::time_point idle_since{};
};

struct waiting_run {
  pending p;
  caf::actor_clock::time_point since;
};

struct action_queue {
  std::deque<waiting_run> runs;
  std::uint64_t requisition = 0; // the outstanding requisition's number, 0: none
  std::string last_rejection;
  caf::actor_clock::time_point retry_at{}; // after a rejection: not asked again before
};

// A direct connection to an agent (runs never travel through the scheduler's node).
struct agent_link {
  std::string host;
  std::uint16_t port = 0;
  caf::actor handle; // monitored: its down message says the connection is gone
  bool connecting = false;
};

struct balancer_state {
  balancer_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "balancer";
  balancer_config cfg;
  scheduler_actor scheduler;
  bool connecting = false;
  caf::actor_clock::time_point next_connect{};
  caf::actor_clock::time_point next_heartbeat{};
  std::uint64_t hellos = 0; // accepted hellos: answers to heartbeats of an earlier one are stale
  std::string last_problem;
  std::map<container_ref, lease> leases;
  std::map<std::string, agent_link> agents;   // by name
  std::map<std::string, action_queue> queues; // by action key
  std::int64_t queued = 0;
  std::uint64_t next_requisition = 1;
  pool_stats stats;
};

using self_ptr = pool_actor::stateful_pointer<balancer_state>;

void problem(self_ptr self, std::string text) {
  if (text != self->state.last_problem)
    log_warn("controller {}: {}", self->state.cfg.name, text);
  self->state.last_problem = std::move(text);
}

void report(self_ptr self, const container_ref& ref, lease_change c) {
  if (self->state.scheduler)
    self->send(self->state.scheduler, lease_atom::value, lease_report{ref, static_cast<std::int32_t>(c)});
}

void place_waiting(self_ptr self, const std::string& key);
void request_containers(self_ptr self, const std::string& key);
void drop_lease(self_ptr self, std::map<container_ref, lease>::iterator i, const std::string& why, bool release);
int release_idle_leases(self_ptr self);

// Connects to an agent once; its leases take runs when the connection is up.
void link_agent(self_ptr self, const std::string& name, const std::string& host, std::uint16_t port) {
  auto& st = self->state;
  auto& a = st.agents[name];
  if (a.handle && a.host == host && a.port == port)
    return;
  if (a.connecting)
    return;
  a.host = host;
  a.port = port;
  a.connecting = true;
  connect_async(self, host, port, std::chrono::seconds(2), [self, name](caf::strong_actor_ptr p, std::string why) {
    auto& st = self->state;
    auto& a = st.agents[name];
    a.connecting = false;
    std::vector<container_ref> refs;
    for (auto& [ref, l] : st.leases)
      if (ref.agent == name)
        refs.push_back(ref);
    if (!p) {
      log_warn("controller {}: cannot connect to agent {} at {}:{} ({}); its leases are given back", st.cfg.name, name,
               a.host, a.port, why);
      for (auto& ref : refs)
        drop_lease(self, st.leases.find(ref), "The agent " + name + " cannot be reached.", true);
      return;
    }
    a.handle = caf::actor_cast<caf::actor>(p);
    self->monitor(a.handle);
    log_info("controller {}: connected to agent {} at {}:{}", st.cfg.name, name, a.host, a.port);
    std::set<std::string> keys;
    for (auto& ref : refs) {
      st.leases.at(ref).connected = true;
      keys.insert(st.leases.at(ref).action_key);
    }
    for (auto& key : keys)
      place_waiting(self, key);
  });
}

void drop_lease(self_ptr self, std::map<container_ref, lease>::iterator i, const std::string& why, bool release) {
  auto& st = self->state;
  for (auto& [aid, p] : i->second.running)
    p.rp.deliver(whisk_error(p.msg.activation_id, why));
  self->demonitor(i->second.proxy.address());
  if (release)
    report(self, i->first, lease_change::release);
  auto key = i->second.action_key;
  st.leases.erase(i);
  place_waiting(self, key);
}

void dispatch(self_ptr self, const container_ref& ref, lease& l, pending p) {
  auto& st = self->state;
  if (l.reported_free) { // the lease woke up after the scheduler heard it was idle
    l.reported_free = false;
    report(self, ref, lease_change::busy);
  }
  auto msg = p.msg;
  if (l.code_acked)
    msg.action.code = shared_text(); // the action's code travels once, with the first runs
  auto aid = msg.activation_id;
  auto limit = std::chrono::milliseconds(msg.action.timeout_ms) + std::chrono::seconds(30);
  l.running.emplace(aid, std::move(p));
  if (l.code_acked)
    ++st.stats.warm_starts;
  self->request(l.proxy, limit, run_atom::value, std::move(msg))
      .then(
          [self, ref, aid](run_result& r) {
            auto& st = self->state;
            auto i = st.leases.find(ref);
            if (i == st.leases.end())
              return;
            auto j = i->second.running.find(aid);
            if (j == i->second.running.end())
              return; // already ended (the container was lost)
            auto p = std::move(j->second);
            i->second.running.erase(j);
            if (i->second.running.empty())
              i->second.idle_since = self->clock().now();
            if (r.retry) { // the container is going away or holds another action: place the run again,
                           // elsewhere (the lease takes no more runs and goes when its last answers)
              auto key = p.msg.action.revision;
              i->second.retired = true;
              if (i->second.running.empty()) {
                self->demonitor(i->second.proxy.address());
                report(self, i->first, lease_change::release);
                st.leases.erase(i);
              }
              st.queues[key].runs.push_front(waiting_run{std::move(p), self->clock().now()});
              ++st.queued;
              place_waiting(self, key);
              return;
            }
            i->second.code_acked = true;
            r.activation_id = aid;
            p.rp.deliver(std::move(r));
            auto key = i->second.action_key;
            if (i->second.retired && i->second.running.empty()) {
              self->demonitor(i->second.proxy.address());
              report(self, i->first, lease_change::release);
              st.leases.erase(i);
            }
            place_waiting(self, key);
          },
          [self, ref, aid](caf::error& err) {
            auto& st = self->state;
            auto i = st.leases.find(ref);
            if (i == st.leases.end() || !i->second.running.count(aid))
              return;
            auto p = std::move(i->second.running.at(aid));
            i->second.running.erase(aid);
            p.rp.deliver(whisk_error(p.msg.activation_id, fmt::format("The container on agent {} did not answer: {}", ref.agent,
                                                  self->system().render(err))));
            // an agent that lets a run go unanswered past its limit is not trusted with more
            drop_lease(self, i, "The container on agent " + ref.agent + " stopped answering.", true);
          });
}

// Runs of `key` go to its leases while they have room; what is left waits for a requisition.
void place_waiting(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto q = st.queues.find(key);
  if (q == st.queues.end())
    return;
  for (auto& [ref, l] : st.leases) {
    if (l.action_key != key || !l.connected || l.retired)
      continue;
    // until the container holds the code, one run at a time tells whether it does
    auto room = l.code_acked ? l.concurrency : 1;
    while (!q->second.runs.empty() && static_cast<std::int64_t>(l.running.size()) < room) {
      auto w = std::move(q->second.runs.front());
      q->second.runs.pop_front();
      --st.queued;
      dispatch(self, ref, l, std::move(w.p));
    }
  }
  if (q->second.runs.empty()) {
    if (q->second.requisition == 0)
      st.queues.erase(q);
    return;
  }
  request_containers(self, key);
}

void request_containers(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto& q = st.queues.at(key);
  if (q.requisition != 0 || !st.scheduler || q.runs.empty() || self->clock().now() < q.retry_at)
    return;
  auto& a = q.runs.front().p.msg.action;
  auto per = std::max<std::int64_t>(1, a.concurrency);
  // leases still connecting to their agents, or waiting for their first answer (one run at a
  // time until then), take the rest soon: ask only for what they cannot
  auto waiting = static_cast<std::int64_t>(q.runs.size());
  for (auto& [ref, l] : st.leases)
    if (l.action_key == key && !l.retired)
      waiting -= std::max<std::int64_t>(0, l.concurrency - static_cast<std::int64_t>(l.running.size()));
  if (waiting <= 0)
    return;
  container_requisition req{key, a.kind, a.memory_mb, a.concurrency, 1};
  req.count = std::clamp<std::int64_t>((waiting + per - 1) / per, 1, 8);
  auto n = q.requisition = st.next_requisition++;
  self->request(st.scheduler, std::chrono::seconds(5), requisit_atom::value, std::move(req))
      .then(
          [self, key, n](allocation_answer& ans) {
            auto& st = self->state;
            auto q = st.queues.find(key);
            bool current = q != st.queues.end() && q->second.requisition == n;
            for (auto& g : ans.granted) {
              auto& d = g.container;
              if (!d.proxy || d.ref.agent.empty() || st.leases.count(d.ref))
                continue;
              if (!current) { // nobody waits any more: give it back
                self->send(st.scheduler, lease_atom::value, lease_report{d.ref, static_cast<std::int32_t>(lease_change::release)});
                continue;
              }
              self->monitor(d.proxy);
              bool local = d.proxy->node() == self->node(); // wired in this process: nothing to connect
              if (!local)
                link_agent(self, d.ref.agent, g.agent_host, g.agent_port);
              auto& l = st.leases[d.ref];
              l.connected = local || st.agents[d.ref.agent].handle != nullptr;
              l.proxy = d.proxy;
              l.action_key = key;
              l.concurrency = std::max<std::int64_t>(1, q->second.runs.front().p.msg.action.concurrency);
              l.code_acked = false; // the first run carries the code even to a warm container: the
                                    // scheduler's view could be behind the container's
              l.idle_since = self->clock().now();
              ++(g.warm ? st.stats.resumes : st.stats.cold_starts);
              ++st.stats.created;
              log_debug("controller {}: leased {}/{} for {} ({})", st.cfg.name, d.ref.agent, d.ref.id, key,
                        g.warm ? "warm" : "new");
            }
            if (!current)
              return;
            q->second.requisition = 0;
            if (ans.granted.empty()) { // the tick asks again, until the runs' wait is out
              q->second.last_rejection = ans.rejection.reason;
              // this controller's own idle leases of other actions may hold the memory: give
              // them back now (the scheduler may evict them) and ask again at once
              auto released = release_idle_leases(self);
              q->second.retry_at = self->clock().now() + (released > 0 ? std::chrono::milliseconds(0)
                                                                       : std::chrono::milliseconds(200));
            }
            place_waiting(self, key);
          },
          [self, key, n](caf::error& err) {
            auto& st = self->state;
            auto q = st.queues.find(key);
            if (q != st.queues.end() && q->second.requisition == n) {
              q->second.requisition = 0;
              q->second.last_rejection = "the scheduler did not answer: " + self->system().render(err);
              q->second.retry_at = self->clock().now() + std::chrono::milliseconds(200);
            }
          });
}

void say_hello(self_ptr self, scheduler_actor sched) {
  auto& st = self->state;
  self->monitor(sched);
  peer_hello hello;
  hello.name = st.cfg.name;
  for (auto& [ref, l] : st.leases)
    hello.leases.push_back(ref);
  self->request(sched, std::chrono::seconds(3), hello_atom::value, std::move(hello))
      .then(
          [self, sched](std::string& refusal) {
            auto& st = self->state;
            st.connecting = false;
            if (!refusal.empty()) {
              self->demonitor(sched.address());
              problem(self, "the scheduler refused this controller: " + refusal);
              return;
            }
            st.scheduler = sched;
            ++st.hellos;
            st.last_problem.clear();
            log_info("controller {}: connected to the scheduler at {}:{} ({} lease(s) kept)", st.cfg.name,
                     st.cfg.scheduler_host, st.cfg.scheduler_port, st.leases.size());
            std::vector<std::string> keys;
            for (auto& [key, q] : st.queues)
              keys.push_back(key);
            for (auto& key : keys)
              request_containers(self, key);
          },
          [self, sched](caf::error& err) {
            self->state.connecting = false;
            self->demonitor(sched.address());
            problem(self, "the scheduler did not take the hello: " + self->system().render(err));
          });
}

// Gives back every lease that runs nothing and whose action has nothing waiting.
int release_idle_leases(self_ptr self) {
  auto& st = self->state;
  int n = 0;
  for (auto i = st.leases.begin(); i != st.leases.end();) {
    auto& l = i->second;
    if (!l.running.empty() || st.queues.count(l.action_key) || !l.connected) {
      ++i;
      continue;
    }
    ++st.stats.removed;
    self->demonitor(l.proxy.address());
    report(self, i->first, lease_change::release);
    i = st.leases.erase(i);
    ++n;
  }
  return n;
}

void connect(self_ptr self) {
  auto& st = self->state;
  st.connecting = true;
  st.next_connect = self->clock().now() + std::chrono::milliseconds(500);
  if (st.cfg.scheduler) { // wired in this process
    say_hello(self, st.cfg.scheduler);
    return;
  }
  connect_async(self, st.cfg.scheduler_host, st.cfg.scheduler_port, std::chrono::seconds(2),
                [self](caf::strong_actor_ptr p, std::string why) {
                  auto& st = self->state;
                  if (!p) {
                    st.connecting = false;
                    problem(self, fmt::format("cannot reach the scheduler at {}:{} ({}); retrying",
                                              st.cfg.scheduler_host, st.cfg.scheduler_port, why));
                    return;
                  }
                  say_hello(self, caf::actor_cast<scheduler_actor>(p));
                });
}

// The tick connects again and says hello with the leases this controller holds.
void lose_scheduler(self_ptr self, const std::string& why) {
  auto& st = self->state;
  log_warn("controller {}: lost the scheduler ({}); runs go on over the current leases, connecting again", st.cfg.name, why);
  self->demonitor(st.scheduler.address());
  st.scheduler = nullptr;
  for (auto& [key, q] : st.queues)
    q.requisition = 0; // unanswered now: asked again after the reconnect
}

// A heartbeat every 250 ms, answered: a scheduler gone without a down message here (its
// connection never closed on this side) is noticed within 2 s, and one that no longer knows
// this controller hears its leases again, so it never hands them to another controller.
void heartbeat(self_ptr self) {
  auto& st = self->state;
  auto current = [self, n = st.hellos] { return self->state.scheduler && self->state.hellos == n; };
  self->request(st.scheduler, std::chrono::seconds(2), heartbeat_atom::value, st.cfg.name)
      .then(
          [self, current](bool known) {
            if (!known && current())
              lose_scheduler(self, "it no longer knows this controller");
          },
          [self, current](caf::error& err) {
            if (current())
              lose_scheduler(self, "no answer to a heartbeat: " + self->system().render(err));
          });
}

// Every tick: reconnect, ask again for actions still waiting, refuse runs that waited too
// long, report leases idle past the grace as free, give back those idle past the lease grace.
void tick(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.scheduler && !st.connecting && now >= st.next_connect)
    connect(self);
  if (st.scheduler && now >= st.next_heartbeat) {
    st.next_heartbeat = now + std::chrono::milliseconds(250);
    heartbeat(self);
  }
  std::vector<std::string> keys;
  for (auto& [key, q] : st.queues)
    keys.push_back(key);
  for (auto& key : keys) {
    auto& q = st.queues.at(key);
    while (!q.runs.empty() && now - q.runs.front().since >= st.cfg.requisition_wait) {
      auto& w = q.runs.front();
      ++st.stats.rejected;
      auto why = q.last_rejection.empty() ? (st.scheduler ? std::string("no container was allocated in time")
                                                          : std::string("the scheduler is not reachable"))
                                          : q.last_rejection;
      w.p.rp.deliver(whisk_error(w.p.msg.activation_id, "Too many requests: no container for the action (" + why + ").", true));
      q.runs.pop_front();
      --st.queued;
    }
    if (q.runs.empty() && q.requisition == 0)
      st.queues.erase(key);
    else
      request_containers(self, key);
  }
  for (auto i = st.leases.begin(); i != st.leases.end();) {
    auto& l = i->second;
    if (!l.running.empty() || st.queues.count(l.action_key)) {
      ++i;
      continue;
    }
    auto idle = now - l.idle_since;
    if (idle >= st.cfg.lease_grace) {
      log_debug("controller {}: giving back {}/{} ({})", st.cfg.name, i->first.agent, i->first.id, l.action_key);
      ++st.stats.removed;
      self->demonitor(l.proxy.address());
      report(self, i->first, lease_change::release);
      i = st.leases.erase(i);
      continue;
    }
    if (idle >= st.cfg.lease_idle && !l.reported_free) {
      l.reported_free = true;
      report(self, i->first, lease_change::free);
    }
    ++i;
  }
  self->delayed_send(self, std::chrono::milliseconds(100), timer_atom::value, std::int32_t{0}, std::uint64_t{0});
}

pool_actor::behavior_type balancer(self_ptr self, balancer_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& m) {
    auto& st = self->state;
    for (auto& [name, a] : st.agents)
      if (a.handle && m.source == a.handle.address()) {
        log_warn("controller {}: lost the connection to agent {} ({})", st.cfg.name, name, self->system().render(m.reason));
        st.agents.erase(name); // its proxies' down messages end their runs
        return;
      }
    if (st.scheduler && m.source == st.scheduler.address()) {
      lose_scheduler(self, self->system().render(m.reason));
      return;
    }
    for (auto i = st.leases.begin(); i != st.leases.end(); ++i)
      if (i->second.proxy.address() == m.source) {
        bool lost = m.reason == caf::exit_reason::remote_link_unreachable;
        if (lost || !i->second.running.empty())
          log_warn("controller {}: container {}/{} is gone ({}); {} run(s) end with a whisk error", st.cfg.name,
                   i->first.agent, i->first.id, self->system().render(m.reason), i->second.running.size());
        ++st.stats.proxy_failures;
        auto why = lost ? "The agent " + i->first.agent + " hosting the activation's container was lost."
                        : "The container on agent " + i->first.agent + " ended before the activation completed.";
        drop_lease(self, i, why, lost);
        return;
      }
  });
  tick(self);
  return {
      [self](run_atom, run_msg& msg) -> caf::typed_response_promise<run_result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<run_result>();
        if (st.queued >= st.cfg.max_queue) {
          ++st.stats.rejected;
          rp.deliver(whisk_error(msg.activation_id, "Too many requests: the controller's run queue is full.", true));
          return rp;
        }
        auto key = msg.action.revision;
        st.queues[key].runs.push_back(waiting_run{pending{std::move(msg), rp}, self->clock().now()});
        ++st.queued;
        place_waiting(self, key);
        return rp;
      },
      [](container_atom, container_event&) {}, // the balancer spawns no proxies
      [self](timer_atom, std::int32_t, std::uint64_t) {
        if (self->current_sender().get() == self->ctrl())
          tick(self);
      },
      [self](stats_atom) -> pool_stats {
        auto& st = self->state;
        pool_stats s = st.stats;
        s.containers = static_cast<std::int64_t>(st.leases.size());
        for (auto& [ref, l] : st.leases)
          ++(l.running.empty() ? s.ready : s.busy);
        s.queued = st.queued;
        return s;
      },
  };
}

} // namespace

pool_actor spawn_balancer(caf::actor_system& sys, balancer_config cfg) {
  return sys.spawn(balancer, std::move(cfg));
}

} // namespace whisk
