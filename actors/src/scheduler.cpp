// scheduler: the fleet view (agents, their containers, which controller leases which) and
// the allocation policy. It is the only writer of that view, and it is never on the warm
// path: controllers send runs straight to the containers' proxies.
#include <map>
#include <set>

#include "agent_proxy.hpp"
#include "whisk/actors/cluster.hpp"
#include "whisk/domain.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"

namespace whisk {

namespace {

struct agent_record {
  agent_actor handle;
  agent_proxy_actor supervisor;
  std::string address;
  std::string host; // where controllers connect
  std::uint16_t port = 0;
  std::int64_t user_memory_mb = 0;
  policy::agent_health health = policy::agent_health::healthy;
  std::int64_t last_heartbeat_ms = 0; // wall clock, for operators
};

struct fleet_entry {
  container_descriptor d;
  caf::actor_addr leased_by; // null: free for any controller
  std::uint64_t last_used = 0;
  bool placeholder = false;  // being created: counts its memory, has no proxy yet
};

struct scheduler_counters {
  std::int64_t requisitions = 0, rejections = 0, lease_reports = 0, registrations = 0, heartbeats = 0;
  std::int64_t controller_messages = 0; // everything controllers sent: constant while they only run warm
  std::int64_t controller_heartbeats = 0; // (not counted above: they come by the clock, not by the run)
  std::int64_t reclaimed = 0;           // leases taken back from controllers that went away
  std::map<policy::allocation_kind, std::int64_t> allocations;
  std::map<policy::agent_health, std::int64_t> state_changes; // agents that went into each state
};

struct scheduler_state {
  scheduler_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "scheduler";
  scheduler_config cfg;
  std::map<std::string, agent_record> agents;
  std::map<std::uint64_t, fleet_entry> fleet; // by the scheduler's id
  std::map<container_ref, std::uint64_t> by_ref;
  std::map<caf::actor_addr, std::string> controllers;
  std::map<container_ref, caf::actor_addr> claims; // leases a controller reported before the agent came back
  std::uint64_t next_id = 1;
  std::uint64_t use_seq = 0;
  scheduler_counters n;
};

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

bool from_this_node(self_ptr self) {
  auto s = self->current_sender();
  return s && s->node() == self->node();
}

policy::fleet_view view_of(const scheduler_state& st) {
  policy::fleet_view v;
  for (auto& [name, a] : st.agents)
    v.agents.push_back({name, a.health, a.user_memory_mb});
  for (auto& [id, e] : st.fleet)
    v.containers.push_back({id, e.d.ref.agent, static_cast<policy::slot_state>(e.d.state), e.d.kind, e.d.memory_mb,
                            e.d.action_key, static_cast<bool>(e.leased_by) || e.placeholder, e.last_used});
  return v;
}

void add_container(self_ptr self, container_descriptor d, caf::actor_addr leased_by) {
  auto& st = self->state;
  auto id = st.next_id++;
  st.by_ref[d.ref] = id;
  st.fleet[id] = fleet_entry{std::move(d), std::move(leased_by), ++st.use_seq, false};
}

void drop_container(self_ptr self, const container_ref& ref) {
  auto& st = self->state;
  auto i = st.by_ref.find(ref);
  if (i == st.by_ref.end())
    return;
  st.fleet.erase(i->second);
  st.by_ref.erase(i);
}

fleet_entry* find(self_ptr self, const container_ref& ref) {
  auto i = self->state.by_ref.find(ref);
  return i == self->state.by_ref.end() ? nullptr : &self->state.fleet.at(i->second);
}

// Grants requisitions one container at a time; creating one on an agent is asynchronous.
struct requisition_job {
  container_requisition req;
  caf::actor_addr controller;
  caf::typed_response_promise<allocation_answer> rp;
  allocation_answer answer;
  std::int64_t left = 0;
};

void grant_next(self_ptr self, std::shared_ptr<requisition_job> job);

void finish_job(self_ptr self, const std::shared_ptr<requisition_job>& job, std::string reason) {
  if (job->answer.granted.empty()) {
    ++self->state.n.rejections;
    job->answer.rejection.reason = std::move(reason);
  }
  job->rp.deliver(std::move(job->answer));
}

void lease(self_ptr self, fleet_entry& e, const std::shared_ptr<requisition_job>& job, bool warm) {
  e.leased_by = job->controller;
  e.last_used = ++self->state.use_seq;
  // a stem cell or a new container is warm for the action only once its agent says it was
  // initialized (the controller's first run may never come)
  if (!warm)
    e.d.action_key.clear();
  e.d.state = static_cast<std::int32_t>(policy::slot_state::busy);
  auto& a = self->state.agents.at(e.d.ref.agent);
  job->answer.granted.push_back({e.d, warm, a.host, a.port});
}

void grant_next(self_ptr self, std::shared_ptr<requisition_job> job) {
  auto& st = self->state;
  if (job->left <= 0 || !st.controllers.count(job->controller))
    return finish_job(self, job, "the controller went away");
  policy::run_need need{job->req.action_key, job->req.kind, job->req.memory_mb, job->req.concurrency};
  auto a = policy::allocate(view_of(st), need, st.cfg.choice);
  ++st.n.allocations[a.kind];
  --job->left;
  switch (a.kind) {
    case policy::allocation_kind::reject:
      return finish_job(self, job, a.reason);
    case policy::allocation_kind::warm:
    case policy::allocation_kind::stem_cell:
      lease(self, st.fleet.at(a.container), job, a.kind == policy::allocation_kind::warm);
      return grant_next(self, std::move(job));
    case policy::allocation_kind::evict_and_create:
      for (auto victim : a.victims) {
        auto& v = st.fleet.at(victim);
        v.d.state = static_cast<std::int32_t>(policy::slot_state::removing);
        log_debug("scheduler: evicting {}/{} ({}) for {}", v.d.ref.agent, v.d.ref.id, v.d.action_key, job->req.action_key);
        self->send(st.agents.at(a.agent).handle, delete_atom::value, v.d.ref.id);
      }
      [[fallthrough]];
    case policy::allocation_kind::create:
      break;
  }
  // The new container's memory is counted at once (a placeholder) so the next grant sees it.
  auto pid = st.next_id++;
  fleet_entry ph;
  ph.d.ref.agent = a.agent;
  ph.d.kind = job->req.kind;
  ph.d.memory_mb = job->req.memory_mb;
  ph.d.state = static_cast<std::int32_t>(policy::slot_state::starting);
  ph.placeholder = true;
  st.fleet[pid] = ph;
  self->request(st.agents.at(a.agent).handle, std::chrono::seconds(5), create_atom::value,
                container_spec{job->req.kind, job->req.memory_mb})
      .then(
          [self, job, pid](container_descriptor& d) {
            auto& st = self->state;
            st.fleet.erase(pid);
            if (st.by_ref.count(d.ref) || !d.proxy)
              return grant_next(self, job); // a confused agent: try elsewhere
            add_container(self, std::move(d), {});
            auto& e = st.fleet.at(st.next_id - 1);
            if (!st.controllers.count(job->controller))
              return finish_job(self, job, "the controller went away"); // the new container stays as a stem cell
            lease(self, e, job, false);
            grant_next(self, job);
          },
          [self, job, pid, agent = a.agent](caf::error& err) {
            self->state.fleet.erase(pid);
            log_warn("scheduler: agent {} could not create a container: {}", agent, self->system().render(err));
            finish_job(self, job, "agent " + agent + " could not create a container: " + self->system().render(err));
          });
}

std::string agents_json(const scheduler_state& st) {
  json::array out;
  for (auto& [name, a] : st.agents) {
    std::map<std::string, std::int64_t> by_state;
    std::int64_t used = 0, leased = 0;
    for (auto& [id, e] : st.fleet) {
      if (e.d.ref.agent != name)
        continue;
      used += e.d.memory_mb;
      leased += e.leased_by ? 1 : 0;
      ++by_state[policy::to_string(static_cast<policy::slot_state>(e.d.state))];
    }
    json::object states;
    for (auto& [s, k] : by_state)
      states.emplace_back(s, k);
    out.push_back(json::object{{"name", name},
                               {"address", a.address},
                               {"state", policy::to_string(a.health)},
                               {"containers", std::move(states)},
                               {"leased", leased},
                               {"freeMemoryMB", a.user_memory_mb - used},
                               {"totalMemoryMB", a.user_memory_mb},
                               {"lastHeartbeat", a.last_heartbeat_ms}});
  }
  return json::dump(json::value{std::move(out)});
}

void publish(self_ptr self) {
  auto& st = self->state;
  if (!st.cfg.publish)
    return;
  fleet_snapshot snap;
  snap.agents_json = agents_json(st);
  using metrics::kind;
  auto add = [&](const char* name, const char* help, kind k, std::int64_t v,
                 std::vector<std::pair<std::string, std::string>> labels = {}) {
    snap.metrics.push_back({name, help, k, static_cast<double>(v), std::move(labels)});
  };
  for (auto h : {policy::agent_health::healthy, policy::agent_health::unhealthy, policy::agent_health::unresponsive,
                 policy::agent_health::offline}) {
    std::int64_t k = 0;
    for (auto& [name, a] : st.agents)
      k += a.health == h;
    add("agents", "Registered agents by state", kind::gauge, k, {{"state", policy::to_string(h)}});
  }
  add("controllers", "Controllers connected", kind::gauge, static_cast<std::int64_t>(st.controllers.size()));
  add("fleet_containers", "Containers on all agents", kind::gauge, static_cast<std::int64_t>(st.fleet.size()));
  add("requisitions_total", "Container requisitions from controllers", kind::counter, st.n.requisitions);
  add("requisitions_rejected_total", "Requisitions answered with no container", kind::counter, st.n.rejections);
  for (auto& [k, v] : st.n.allocations)
    add("allocations_total", "Allocation decisions by kind", kind::counter, v, {{"kind", policy::to_string(k)}});
  add("lease_reports_total", "Lease busy/free/release reports from controllers", kind::counter, st.n.lease_reports);
  add("controller_messages_total", "Messages received from controllers (none per warm run)", kind::counter,
      st.n.controller_messages);
  add("leases_reclaimed_total", "Leases taken back from controllers that went away", kind::counter, st.n.reclaimed);
  add("agent_registrations_total", "Agent registrations accepted", kind::counter, st.n.registrations);
  add("agent_heartbeats_total", "Agent heartbeats received", kind::counter, st.n.heartbeats);
  add("controller_heartbeats_total", "Controller heartbeats received", kind::counter, st.n.controller_heartbeats);
  for (auto& [h, v] : st.n.state_changes)
    add("agent_state_changes_total", "Agents that went into a state (supervision)", kind::counter, v,
        {{"state", policy::to_string(h)}});
  st.cfg.publish(std::move(snap));
}

void controller_gone(self_ptr self, const caf::actor_addr& who, const std::string& why) {
  auto& st = self->state;
  auto i = st.controllers.find(who);
  if (i == st.controllers.end())
    return;
  std::int64_t k = 0;
  for (auto& [id, e] : st.fleet)
    if (e.leased_by == who) {
      e.leased_by = nullptr;
      e.d.state = static_cast<std::int32_t>(e.d.action_key.empty() ? policy::slot_state::stem : policy::slot_state::ready);
      ++k;
    }
  for (auto c = st.claims.begin(); c != st.claims.end();)
    c = c->second == who ? st.claims.erase(c) : std::next(c);
  st.n.reclaimed += k;
  log_info("scheduler: controller {} is gone ({}): {} lease(s) reclaimed", i->second, why, k);
  st.controllers.erase(i);
}

scheduler_actor::behavior_type scheduler(self_ptr self, scheduler_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& m) {
    controller_gone(self, m.source, self->system().render(m.reason));
  });
  self->delayed_send(self, self->state.cfg.tick, timer_atom::value);
  return {
      [self](register_atom, peer_hello& hello, agent_actor& agent, agent_status& status) -> std::string {
        auto& st = self->state;
        if (auto refusal = check_hello(hello); !refusal.empty()) {
          log_warn("scheduler: refused agent '{}': {}", hello.name, refusal);
          return refusal;
        }
        if (!agent || hello.name.empty() || hello.name.size() > 128 || hello.name != status.name ||
            status.user_memory_mb < 1 || status.containers.size() > 100000 || status.host.empty() || status.port == 0)
          return "bad registration";
        auto [it, fresh] = st.agents.try_emplace(status.name);
        auto& a = it->second;
        if (!fresh && a.supervisor)
          caf::anon_send_exit(a.supervisor, caf::exit_reason::user_shutdown);
        a.handle = agent;
        a.address = status.address;
        a.host = status.host;
        a.port = status.port;
        a.user_memory_mb = status.user_memory_mb;
        a.health = policy::agent_health::healthy;
        a.last_heartbeat_ms = now_ms();
        a.supervisor = spawn_agent_proxy(self, status.name, agent, caf::actor_cast<scheduler_actor>(self), st.cfg);
        // Reconcile: what the agent reports is the truth; leases known here (or claimed by
        // controllers while the agent was away) stay with their holders.
        std::set<container_ref> reported;
        std::int64_t adopted = 0;
        for (auto& d : status.containers) {
          if (d.ref.agent != status.name || !d.proxy)
            continue;
          reported.insert(d.ref);
          if (auto* e = find(self, d.ref)) {
            auto holder = e->leased_by;
            e->d = d;
            e->leased_by = holder;
            continue;
          }
          caf::actor_addr holder;
          if (auto c = st.claims.find(d.ref); c != st.claims.end()) {
            holder = c->second;
            st.claims.erase(c);
          }
          add_container(self, d, holder);
          ++adopted;
        }
        std::vector<container_ref> stale;
        for (auto& [ref, id] : st.by_ref)
          if (ref.agent == status.name && !reported.count(ref))
            stale.push_back(ref);
        for (auto& ref : stale)
          drop_container(self, ref);
        ++st.n.registrations;
        log_info("scheduler: agent {} registered ({} MB, {} container(s) reported, {} adopted, {} forgotten){}",
                 status.name, status.user_memory_mb, status.containers.size(), adopted, stale.size(),
                 fresh ? "" : " again");
        return {};
      },
      [self](heartbeat_atom, agent_heartbeat& hb) {
        auto& st = self->state;
        auto i = st.agents.find(hb.name);
        if (i == st.agents.end() || caf::actor_cast<caf::actor_addr>(self->current_sender()) != i->second.handle.address())
          return false;
        ++st.n.heartbeats;
        i->second.last_heartbeat_ms = now_ms();
        self->send(i->second.supervisor, heartbeat_atom::value, hb);
        return true;
      },
      [self](container_atom, std::string& agent, container_descriptor& d) {
        auto& st = self->state;
        auto i = st.agents.find(agent);
        if (i == st.agents.end() || d.ref.agent != agent ||
            caf::actor_cast<caf::actor_addr>(self->current_sender()) != i->second.handle.address())
          return;
        auto s = static_cast<policy::slot_state>(d.state);
        if (s == policy::slot_state::removing) {
          drop_container(self, d.ref);
          return;
        }
        if (auto* e = find(self, d.ref)) {
          e->d.state = d.state;
          if (!d.action_key.empty())
            e->d.action_key = d.action_key;
        } else if (d.proxy) {
          add_container(self, std::move(d), {});
        }
      },
      [self](hello_atom, peer_hello& hello) -> std::string {
        auto& st = self->state;
        if (auto refusal = check_hello(hello); !refusal.empty()) {
          log_warn("scheduler: refused controller '{}': {}", hello.name, refusal);
          return refusal;
        }
        auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
        if (!who || hello.leases.size() > 100000)
          return "bad hello";
        for (auto& [addr, name] : st.controllers)
          if (name == hello.name && addr != who) {
            log_warn("scheduler: refused controller '{}': another controller of that name is connected", hello.name);
            return "another controller named '" + hello.name + "' is connected";
          }
        if (!st.controllers.count(who))
          self->monitor(who);
        st.controllers[who] = hello.name;
        std::int64_t kept = 0;
        for (auto& ref : hello.leases) {
          if (auto* e = find(self, ref)) {
            e->leased_by = who;
            ++kept;
          } else {
            st.claims[ref] = who;
          }
        }
        log_info("scheduler: controller {} connected ({} lease(s) reported, {} known)", hello.name, hello.leases.size(), kept);
        return {};
      },
      [self](heartbeat_atom, const std::string& name) {
        auto& st = self->state;
        ++st.n.controller_heartbeats;
        auto i = st.controllers.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        return i != st.controllers.end() && i->second == name;
      },
      [self](requisit_atom, container_requisition& req) -> caf::typed_response_promise<allocation_answer> {
        auto& st = self->state;
        ++st.n.requisitions;
        ++st.n.controller_messages;
        auto who = caf::actor_cast<caf::actor_addr>(self->current_sender()); // before the promise takes the sender
        auto rp = self->make_response_promise<allocation_answer>();
        if (!st.controllers.count(who)) {
          rp.deliver(allocation_answer{{}, {"the controller has not said hello"}});
          return rp;
        }
        if (req.action_key.empty() || req.action_key.size() > 1024 || req.kind.empty() || req.kind.size() > 64 ||
            req.memory_mb < 1 || req.concurrency < 1 || req.count < 1 || req.count > 64) {
          rp.deliver(allocation_answer{{}, {"bad requisition"}});
          return rp;
        }
        auto job = std::make_shared<requisition_job>();
        job->left = req.count;
        job->req = std::move(req);
        job->controller = who;
        job->rp = rp;
        grant_next(self, job);
        return rp;
      },
      [self](lease_atom, lease_report& r) {
        auto& st = self->state;
        ++st.n.lease_reports;
        ++st.n.controller_messages;
        auto* e = find(self, r.ref);
        if (!e || e->leased_by != caf::actor_cast<caf::actor_addr>(self->current_sender()))
          return; // not its lease (any more)
        switch (static_cast<lease_change>(r.change)) {
          case lease_change::busy: e->d.state = static_cast<std::int32_t>(policy::slot_state::busy); break;
          case lease_change::free: e->d.state = static_cast<std::int32_t>(policy::slot_state::ready); break;
          case lease_change::release:
            e->leased_by = nullptr;
            // never initialized: still a stem cell for any action of its kind and memory
            e->d.state = static_cast<std::int32_t>(e->d.action_key.empty() ? policy::slot_state::stem
                                                                            : policy::slot_state::ready);
            e->last_used = ++st.use_seq;
            break;
        }
      },
      [self](stats_atom) -> std::string { return agents_json(self->state); },
      [self](health_atom, std::string& agent, std::int32_t h) {
        if (!from_this_node(self) || h < 0 || h > 3)
          return;
        auto i = self->state.agents.find(agent);
        if (i != self->state.agents.end() && i->second.supervisor &&
            caf::actor_cast<caf::actor_addr>(self->current_sender()) == i->second.supervisor.address()) {
          i->second.health = static_cast<policy::agent_health>(h);
          ++self->state.n.state_changes[i->second.health];
        }
      },
      [self](timer_atom) {
        if (self->current_sender().get() != self->ctrl())
          return;
        publish(self);
        self->delayed_send(self, self->state.cfg.tick, timer_atom::value);
      },
  };
}

} // namespace

scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_config cfg) {
  return sys.spawn(scheduler, std::move(cfg));
}

} // namespace whisk
