// agent: the containers of one machine. The scheduler asks it to create and delete
// containers; controllers send runs straight to the containers' proxies. It registers
// with the scheduler, sends heartbeats, and registers again after losing the connection.
#include <deque>
#include <map>
#include <optional>

#include "remote.hpp"
#include "whisk/actors/cluster.hpp"
#include "whisk/actors/container_proxy.hpp"
#include "whisk/domain.hpp"
#include "whisk/log.hpp"

namespace whisk {

namespace {

struct agent_entry {
  proxy_actor proxy;
  std::string kind;
  std::int64_t memory_mb = 0;
  std::string action_key;
  policy::slot_state state = policy::slot_state::starting;
  bool bound = false; // created for an allocation (not a stem cell of the agent's own)
  bool refill_after_run = false;
  bool idle = false;     // its last run left it idle (the keep-alive policy's view)
  bool deleted = false;  // the scheduler asked for its removal
};

struct agent_state {
  agent_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "agent";
  agent_config cfg;
  std::shared_ptr<container::backend> backend;
  std::map<std::uint64_t, agent_entry> containers;
  std::uint64_t next_id = 1;
  scheduler_actor scheduler;
  bool connecting = false;
  bool registered = false;
  std::uint64_t registration = 0; // counts registrations: answers to an earlier one are stale
  std::string last_problem; // logged once per change
  std::int64_t seq = 0;
  std::deque<run_outcome> window; // how the last 10 runs ended (the scheduler's health view)
  std::optional<std::uint64_t> probe_container;
  std::shared_ptr<policy::keep_alive_policy> keep_alive; // may be null (see agent_config)
};

using self_ptr = agent_actor::stateful_pointer<agent_state>;

std::int64_t free_memory(const agent_state& st) {
  std::int64_t used = 0;
  for (auto& [id, e] : st.containers)
    used += e.memory_mb;
  return st.cfg.user_memory_mb - used;
}

container_descriptor describe(const agent_state& st, std::uint64_t id, const agent_entry& e) {
  return {{st.cfg.name, id}, e.proxy, e.kind, e.memory_mb, e.action_key, static_cast<std::int32_t>(e.state)};
}

agent_status status_of(const agent_state& st) {
  agent_status s{st.cfg.name, st.cfg.address, st.cfg.host, st.cfg.port, st.cfg.user_memory_mb, free_memory(st), {}};
  for (auto& [id, e] : st.containers)
    s.containers.push_back(describe(st, id, e));
  return s;
}

bool from_scheduler(self_ptr self) {
  auto& st = self->state;
  return st.scheduler && caf::actor_cast<caf::actor_addr>(self->current_sender()) == st.scheduler.address();
}

void problem(self_ptr self, std::string text) {
  if (text != self->state.last_problem)
    log_warn("agent {}: {}", self->state.cfg.name, text);
  self->state.last_problem = std::move(text);
}

void tell_scheduler(self_ptr self, std::uint64_t id, const agent_entry& e) {
  if (self->state.registered)
    self->send(self->state.scheduler, container_atom::value, self->state.cfg.name, describe(self->state, id, e));
}

void register_with(self_ptr self, scheduler_actor sched) {
  auto& st = self->state;
  self->monitor(sched);
  peer_hello hello;
  hello.name = st.cfg.name;
  self->request(sched, std::chrono::seconds(3), register_atom::value, hello, caf::actor_cast<agent_actor>(self), status_of(st))
      .then(
          [self, sched](std::string& refusal) {
            auto& st = self->state;
            st.connecting = false;
            if (!refusal.empty()) {
              problem(self, "the scheduler refused the registration: " + refusal);
              self->demonitor(sched.address());
              return;
            }
            st.scheduler = sched;
            st.registered = true;
            ++st.registration;
            st.last_problem.clear();
            log_info("agent {}: registered with the scheduler at {}:{} ({} container(s) reported)", st.cfg.name,
                     st.cfg.scheduler_host, st.cfg.scheduler_port, st.containers.size());
          },
          [self, sched](caf::error& err) {
            self->state.connecting = false;
            self->demonitor(sched.address());
            problem(self, "registration failed: " + self->system().render(err) + "; retrying");
          });
}

void connect(self_ptr self) {
  auto& st = self->state;
  st.connecting = true;
  if (st.cfg.scheduler) { // wired in this process
    register_with(self, st.cfg.scheduler);
    return;
  }
  connect_async(self, st.cfg.scheduler_host, st.cfg.scheduler_port, std::chrono::seconds(2),
                [self](caf::strong_actor_ptr p, std::string why) {
                  auto& st = self->state;
                  if (!p) {
                    st.connecting = false;
                    problem(self, fmt::format("cannot reach the scheduler at {}:{} ({}); retrying", st.cfg.scheduler_host,
                                              st.cfg.scheduler_port, why));
                    return;
                  }
                  register_with(self, caf::actor_cast<scheduler_actor>(p));
                });
}

// The agent registers again on its next tick.
void lose_scheduler(self_ptr self, const std::string& why) {
  auto& st = self->state;
  log_warn("agent {}: lost the scheduler ({}); its containers keep serving, registering again", st.cfg.name, why);
  self->demonitor(st.scheduler.address());
  st.scheduler = nullptr;
  st.registered = false;
}

// A heartbeat is answered: a scheduler that went away without its connection closing here
// (a restarted scheduler, a frozen agent's connection dropped by the other side) is noticed
// within 8 heartbeats, and one that no longer knows this agent is registered with again.
void tick(self_ptr self) {
  auto& st = self->state;
  if (st.registered) {
    agent_heartbeat hb{st.cfg.name, ++st.seq, free_memory(st), 0, 0};
    for (auto o : st.window) {
      hb.system_errors += o == run_outcome::system_error;
      hb.timeouts += o == run_outcome::timeout;
    }
    auto current = [self, n = st.registration] { return self->state.registered && self->state.registration == n; };
    self->request(st.scheduler, st.cfg.heartbeat * 8, heartbeat_atom::value, hb)
        .then(
            [self, current](bool known) {
              if (!known && current())
                lose_scheduler(self, "it no longer knows this agent");
            },
            [self, current](caf::error& err) {
              if (current())
                lose_scheduler(self, "no answer to a heartbeat: " + self->system().render(err));
            });
  }
  else if (!st.connecting)
    connect(self);
  self->delayed_send(self, st.cfg.heartbeat, timer_atom::value);
}

bool from_this_node(self_ptr self) {
  auto s = self->current_sender();
  return s && s->node() == self->node();
}

std::uint64_t spawn_container(self_ptr self, const std::string& kind, std::int64_t memory_mb) {
  auto& st = self->state;
  auto id = st.next_id++;
  auto proxy = spawn_container_proxy(self, caf::actor_cast<container_owner>(self), id, st.backend, kind, memory_mb, st.cfg.proxy);
  st.containers[id] = agent_entry{std::move(proxy), kind, memory_mb, {}, policy::slot_state::starting};
  log_debug("agent {}: starting container {} ({}, {} MB)", st.cfg.name, id, kind, memory_mb);
  return id;
}

// Stem cells the agent keeps (as whisk-node's pool does); the scheduler hears of each
// and hands it out as the allocation of a new action's first container.
void refill_stem_cells(self_ptr self) {
  auto& st = self->state;
  std::vector<policy::container_info> view;
  for (auto& [id, e] : st.containers) {
    policy::container_info c;
    c.id = id;
    c.state = e.state;
    c.kind = e.kind;
    c.memory_mb = e.memory_mb;
    // a container made for an allocation is no stem cell, even before its action is known
    c.action_key = e.action_key.empty() && e.bound ? std::string("(allocated)") : e.action_key;
    view.push_back(std::move(c));
  }
  for (auto& s : policy::missing_stem_cells(view, st.cfg.stem_cells, st.cfg.user_memory_mb))
    spawn_container(self, s.kind, s.memory_mb);
}

// The health test action (main(p){return p}) in a container of its own; a pass clears the
// window of run outcomes, so the agent reports healthy again.
void probe(self_ptr self, std::int64_t n, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  if (!st.probe_container || !st.containers.count(*st.probe_container)) {
    if (free_memory(st) < 128) {
      rp.deliver(false);
      return;
    }
    st.probe_container = spawn_container(self, st.cfg.probe_kind, 128);
  }
  run_msg m;
  m.action.ns = "whisk.system";
  m.action.name = "health";
  m.action.version = "0.0.1";
  m.action.revision = "whisk.system/health@probe";
  m.action.kind = st.cfg.probe_kind;
  m.action.code = shared_text("function main(p) { return p; }");
  m.action.timeout_ms = 5000;
  m.action.memory_mb = 128;
  m.activation_id = fmt::format("health-probe-{}", n);
  m.params_json = fmt::format("{{\"probe\":{}}}", n);
  m.received_ms = now_ms();
  auto id = *st.probe_container;
  self->request(st.containers.at(id).proxy, std::chrono::seconds(10), run_atom::value, std::move(m))
      .then(
          [self, rp, n, id](run_result& r) mutable {
            auto want = fmt::format("{{\"probe\":{}}}", n);
            bool ok = r.status == static_cast<std::int32_t>(activation_status::success) && r.result_json == want;
            if (ok) {
              self->state.window.clear();
              self->state.probe_container.reset();
              if (auto i = self->state.containers.find(id); i != self->state.containers.end())
                self->send(i->second.proxy, remove_atom::value);
            }
            log_info("agent {}: health test action {} ({})", self->state.cfg.name, ok ? "passed" : "failed", r.result_json);
            rp.deliver(ok);
          },
          [self, rp](caf::error& err) mutable {
            log_info("agent {}: health test action failed: {}", self->state.cfg.name, self->system().render(err));
            rp.deliver(false);
          });
}

policy::millis clock_ms(self_ptr self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now().time_since_epoch()).count();
}

// A run ended in container `id`: the policy hears of its arrival and, if the container is
// idle now, decides how long it stays; its proxy keeps it that long (or less, if a run comes).
void run_ended(self_ptr self, std::uint64_t id, agent_entry& e, const container_event& ev) {
  auto& st = self->state;
  if (!st.keep_alive || e.action_key.empty())
    return;
  policy::function_ref fn{e.action_key, {}, e.memory_mb, 0};
  st.keep_alive->on_arrival(fn, ev.run_start_ms, ev.run_cold ? policy::start_kind::cold : policy::start_kind::warm);
  e.idle = static_cast<policy::slot_state>(ev.state) == policy::slot_state::ready;
  if (!e.idle)
    return;
  auto now = clock_ms(self);
  st.keep_alive->on_idle(id, fn, now);
  auto d = st.keep_alive->keep_alive(id, fn, now);
  self->send(e.proxy, keep_atom::value, d.keep_ms == policy::keep_forever ? std::int64_t{-1} : std::max<std::int64_t>(0, d.keep_ms));
}

void forget(self_ptr self, std::uint64_t id, const char* why) {
  auto& st = self->state;
  auto i = st.containers.find(id);
  if (i == st.containers.end())
    return;
  log_debug("agent {}: container {} gone ({})", st.cfg.name, id, why);
  if (st.keep_alive && !i->second.action_key.empty()) {
    auto cause = i->second.deleted ? policy::removal_cause::evicted
                 : i->second.idle  ? policy::removal_cause::expired
                                   : policy::removal_cause::failed;
    st.keep_alive->on_removed(id, policy::function_ref{i->second.action_key, {}, i->second.memory_mb, 0}, clock_ms(self), cause);
  }
  i->second.state = policy::slot_state::removing;
  tell_scheduler(self, id, i->second);
  st.containers.erase(i);
  if (!st.cfg.stem_cells.empty())
    refill_stem_cells(self);
}

// An operator's suspend or resume (this node only), passed to the container's proxy.
template <class Atom>
caf::result<bool> operate(self_ptr self, std::uint64_t id) {
  auto i = self->state.containers.find(id);
  if (!from_this_node(self))
    return caf::make_error(caf::sec::request_receiver_down, "operator routes are local");
  if (i == self->state.containers.end())
    return caf::make_error(caf::sec::invalid_argument, "no such container");
  auto rp = self->make_response_promise<bool>();
  self->request(i->second.proxy, std::chrono::seconds(5), Atom::value)
      .then([rp](bool ok) mutable { rp.deliver(ok); }, [rp](caf::error&) mutable { rp.deliver(false); });
  return rp;
}

agent_actor::behavior_type agent(self_ptr self, std::shared_ptr<container::backend> backend, agent_config cfg) {
  auto& st = self->state;
  st.backend = std::move(backend);
  st.cfg = std::move(cfg);
  st.cfg.proxy.report_runs = true; // the health window counts every run's outcome
  st.keep_alive = st.cfg.keep_alive;
  log_info("agent {}: keep-alive {}", st.cfg.name,
           st.keep_alive ? st.keep_alive->name()
                         : fmt::format("{} ms (--idle-timeout)",
                                       std::chrono::duration_cast<std::chrono::milliseconds>(st.cfg.proxy.idle_timeout).count()));
  if (st.cfg.proxy.kept_log_lines == 0)
    st.cfg.proxy.kept_log_lines = 1000;
  self->set_down_handler([self](caf::down_msg& m) {
    auto& st = self->state;
    if (st.scheduler && m.source == st.scheduler.address())
      lose_scheduler(self, self->system().render(m.reason));
  });
  // Proxies are linked (they end with the agent); the end of one must not end the agent.
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [id, e] : self->state.containers)
      if (e.proxy.address() == m.source) {
        if (m.reason != caf::exit_reason::normal)
          log_warn("agent {}: container proxy {} died: {}", self->state.cfg.name, id, self->system().render(m.reason));
        forget(self, id, "its proxy ended");
        return;
      }
    if (m.reason != caf::exit_reason::normal)
      self->quit(m.reason);
  });
  refill_stem_cells(self);
  tick(self);
  return {
      [self](create_atom, container_spec& spec) -> caf::result<container_descriptor> {
        auto& st = self->state;
        if (!from_scheduler(self))
          return caf::make_error(caf::sec::request_receiver_down, "only the scheduler creates containers");
        if (spec.kind.empty() || spec.kind.size() > 64 || spec.memory_mb < 1 || spec.memory_mb > st.cfg.user_memory_mb)
          return caf::make_error(caf::sec::invalid_argument, "bad container spec");
        if (spec.memory_mb > free_memory(st))
          return caf::make_error(caf::sec::runtime_error,
                                 fmt::format("agent {} has {} MB free, not {}", st.cfg.name, free_memory(st), spec.memory_mb));
        auto id = spawn_container(self, spec.kind, spec.memory_mb);
        st.containers.at(id).bound = true;
        return describe(st, id, st.containers.at(id));
      },
      [self](delete_atom, std::uint64_t id) {
        if (!from_scheduler(self))
          return;
        auto i = self->state.containers.find(id);
        if (i != self->state.containers.end()) {
          i->second.deleted = true;
          self->send(i->second.proxy, remove_atom::value);
        }
      },
      [self](health_atom) -> agent_status { return status_of(self->state); },
      [self](probe_atom, std::int64_t n) -> caf::result<bool> {
        auto& st = self->state;
        auto s = self->current_sender();
        if (!st.scheduler || !s || s->node() != st.scheduler.node())
          return false; // the scheduler's node only
        auto rp = self->make_response_promise<bool>();
        probe(self, n, rp);
        return rp;
      },
      [self](suspend_atom, std::uint64_t id) -> caf::result<bool> {
        return operate<suspend_atom>(self, id);
      },
      [self](resume_atom, std::uint64_t id) -> caf::result<bool> {
        return operate<resume_atom>(self, id);
      },
      [self](log_atom, std::uint64_t id) -> caf::result<std::vector<std::string>> {
        auto i = self->state.containers.find(id);
        if (!from_this_node(self))
          return caf::make_error(caf::sec::request_receiver_down, "operator routes are local");
        if (i == self->state.containers.end())
          return caf::make_error(caf::sec::invalid_argument, "no such container");
        auto rp = self->make_response_promise<std::vector<std::string>>();
        self->request(i->second.proxy, std::chrono::seconds(5), log_atom::value)
            .then([rp](std::vector<std::string>& lines) mutable { rp.deliver(std::move(lines)); },
                  [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](container_atom, container_event& ev) {
        auto& st = self->state;
        auto i = st.containers.find(ev.id);
        if (i == st.containers.end() || caf::actor_cast<caf::actor_addr>(self->current_sender()) != i->second.proxy.address())
          return; // only a container's own proxy reports on it
        if (ev.run_outcome != static_cast<std::int32_t>(run_outcome::none)) { // a run ended
          st.window.push_back(static_cast<run_outcome>(std::clamp(ev.run_outcome, 0, 3)));
          if (st.window.size() > 10)
            st.window.pop_front();
          run_ended(self, ev.id, i->second, ev);
          if (i->second.refill_after_run) {
            i->second.refill_after_run = false;
            refill_stem_cells(self);
          }
          return;
        }
        auto s = static_cast<policy::slot_state>(ev.state);
        if (s == policy::slot_state::removing) {
          forget(self, ev.id, "removed");
          return;
        }
        bool first_init = s == policy::slot_state::ready && i->second.action_key.empty() && !ev.action_key.empty();
        if (s == policy::slot_state::ready) {
          i->second.action_key = ev.action_key;
          i->second.bound = true;
        }
        i->second.state = s;
        if (first_init) // the scheduler learns which action the container is warm for
          tell_scheduler(self, ev.id, i->second);
        if (s == policy::slot_state::ready && !st.cfg.stem_cells.empty())
          i->second.refill_after_run = true; // a stem cell may have been taken: replace it once its first run is
                                             // done (a runtime starting beside that run would slow it)
        if (s == policy::slot_state::paused || s == policy::slot_state::stem)
          tell_scheduler(self, ev.id, i->second);
      },
      [self](timer_atom) {
        if (self->current_sender().get() == self->ctrl())
          tick(self);
      },
  };
}

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, std::shared_ptr<container::backend> backend, agent_config cfg) {
  return sys.spawn(agent, std::move(backend), std::move(cfg));
}

} // namespace whisk
