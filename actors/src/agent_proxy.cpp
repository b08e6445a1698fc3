// agent_proxy: the scheduler's supervisor of one agent. It watches the agent's actor (a
// closed connection is a down message at once) and its heartbeats (a frozen or cut-off
// agent stops sending them), and tells the scheduler when the agent's health changes.
#include "agent_proxy.hpp"

#include "whisk/log.hpp"

namespace whisk {

namespace {

struct agent_proxy_state {
  agent_proxy_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "agent_proxy";
  std::string agent_name;
  agent_actor agent;
  scheduler_actor scheduler;
  scheduler_config cfg;
  policy::agent_health health = policy::agent_health::healthy;
  caf::actor_clock::time_point last_heartbeat{};
  caf::actor_clock::time_point next_probe{};
  bool probing = false;
  std::int64_t probes = 0;
};

using self_ptr = agent_proxy_actor::stateful_pointer<agent_proxy_state>;

void become(self_ptr self, policy::agent_health h, const std::string& why) {
  auto& st = self->state;
  if (st.health == h)
    return;
  log_info("scheduler: agent {} is {} (was {}): {}", st.agent_name, policy::to_string(h), policy::to_string(st.health), why);
  st.health = h;
  self->send(st.scheduler, health_atom::value, st.agent_name, static_cast<std::int32_t>(h));
}

agent_proxy_actor::behavior_type agent_proxy(self_ptr self, std::string name, agent_actor agent, scheduler_actor scheduler,
                                             scheduler_config cfg) {
  auto& st = self->state;
  st.agent_name = std::move(name);
  st.agent = std::move(agent);
  st.scheduler = std::move(scheduler);
  st.cfg = cfg;
  st.last_heartbeat = self->clock().now();
  self->monitor(st.agent);
  self->set_down_handler([self](caf::down_msg& m) {
    if (m.source != self->state.agent.address())
      return;
    become(self, policy::agent_health::offline, "connection lost (" + self->system().render(m.reason) + ")");
    self->quit(); // a new registration spawns a new proxy
  });
  self->delayed_send(self, st.cfg.tick, timer_atom::value);
  return {
      [self](heartbeat_atom, const agent_heartbeat& hb) {
        auto& st = self->state;
        st.last_heartbeat = self->clock().now();
        // as OpenWhisk's invoker supervision: more than 3 of the last 10 runs timed out
        // (unresponsive) or ended in a system error (unhealthy)
        if (hb.timeouts > 3)
          become(self, policy::agent_health::unresponsive, fmt::format("{} of its last 10 runs timed out", hb.timeouts));
        else if (hb.system_errors > 3)
          become(self, policy::agent_health::unhealthy,
                 fmt::format("{} of its last 10 runs ended in a system error", hb.system_errors));
        else if (st.health == policy::agent_health::offline)
          become(self, policy::agent_health::healthy, "heartbeats are back");
      },
      [self](timer_atom) {
        auto& st = self->state;
        auto silent = self->clock().now() - st.last_heartbeat;
        if (silent > st.cfg.heartbeat_timeout)
          become(self, policy::agent_health::offline,
                 fmt::format("no heartbeat for {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()));
        bool sick = st.health == policy::agent_health::unhealthy || st.health == policy::agent_health::unresponsive;
        if (sick && !st.probing && self->clock().now() >= st.next_probe) {
          st.probing = true;
          auto n = ++st.probes;
          self->request(st.agent, std::chrono::seconds(15), probe_atom::value, n)
              .then(
                  [self](bool passed) {
                    auto& st = self->state;
                    st.probing = false;
                    st.next_probe = self->clock().now() + st.cfg.probe_interval;
                    if (passed)
                      become(self, policy::agent_health::healthy, "the health test action passed");
                  },
                  [self](caf::error&) {
                    self->state.probing = false;
                    self->state.next_probe = self->clock().now() + self->state.cfg.probe_interval;
                  });
        }
        self->delayed_send(self, st.cfg.tick, timer_atom::value);
      },
  };
}

} // namespace

agent_proxy_actor spawn_agent_proxy(caf::local_actor* scheduler_self, std::string name, agent_actor agent,
                                    scheduler_actor scheduler, scheduler_config cfg) {
  return scheduler_self->spawn(agent_proxy, std::move(name), std::move(agent), std::move(scheduler), std::move(cfg));
}

} // namespace whisk
