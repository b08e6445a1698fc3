#pragma once
// The cluster's roles as actors: an agent hosts the containers of one machine, the
// scheduler holds the fleet view and allocates, the balancer is a controller's lease
// table (it answers runs like the single node's pool, so the same controller sits on top).
#include <functional>

#include "whisk/actors/protocol.hpp"
#include "whisk/metrics.hpp"

namespace whisk {

struct agent_config {
  std::string name;
  scheduler_actor scheduler; // set: wired in this process (no connection; tests, simulations)
  std::string address; // of its HTTP routes, shown by the scheduler
  std::string host;    // where controllers connect to it (its published port)
  std::uint16_t port = 0;
  std::string scheduler_host = "127.0.0.1";
  std::uint16_t scheduler_port = 0;
  std::int64_t user_memory_mb = 2048;
  caf::timespan heartbeat = std::chrono::milliseconds(250);
  std::string probe_kind = "nodejs:20"; // the kind of the health test action's container
  std::vector<policy::stem_cell_config> stem_cells; // kept started for the scheduler to allocate
  proxy_config proxy;
  // How long idle containers stay (set: after every run that leaves a container idle, the
  // policy's keep-alive goes to its proxy; null: proxy.idle_timeout). Arrivals reach it when
  // their runs end (runs go from controllers straight to the proxies); each function is its
  // own app; pre-warm decisions are not taken on agents, and evictions are the scheduler's.
  std::shared_ptr<policy::keep_alive_policy> keep_alive;
};

// What the scheduler shows operators (GET /agents, GET /metrics), refreshed on every tick.
struct fleet_snapshot {
  std::string agents_json;
  std::vector<metrics::sample> metrics;
};

struct scheduler_config {
  policy::agent_choice choice = policy::agent_choice::most_free_memory;
  // no heartbeat for this long: the agent is offline and gets no new containers
  caf::timespan heartbeat_timeout = std::chrono::milliseconds(1500);
  caf::timespan tick = std::chrono::milliseconds(250);
  // an unhealthy or unresponsive agent runs the health test action this often
  caf::timespan probe_interval = std::chrono::seconds(1);
  std::function<void(fleet_snapshot)> publish; // called from the scheduler's thread
};

struct balancer_config {
  std::string name;                  // the controller's name in the scheduler's logs
  scheduler_actor scheduler;         // set: wired in this process (no connection; tests, simulations)
  std::string scheduler_host = "127.0.0.1";
  std::uint16_t scheduler_port = 0;
  // a run that finds no container waits this long for an allocation, then gets 429
  caf::timespan requisition_wait = std::chrono::seconds(10);
  caf::timespan lease_idle = std::chrono::milliseconds(500);   // idle this long: report "free"
  caf::timespan lease_grace = std::chrono::seconds(2);         // idle this long: give the lease back
  std::int64_t max_queue = 1000;
};


// Connects to the scheduler at cfg.scheduler_host:port, registers, sends heartbeats, and
// registers again (reporting its containers) whenever the connection is lost.
agent_actor spawn_agent(caf::actor_system& sys, std::shared_ptr<container::backend> backend, agent_config cfg);

scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_config cfg);

// The controller's side of the container factory protocol, behind the pool interface.
pool_actor spawn_balancer(caf::actor_system& sys, balancer_config cfg);

// Middleman heartbeats (off by default in CAF 0.17) so that a frozen or cut-off peer is
// noticed: set on every role of the cluster.
void configure_remoting(caf::actor_system_config& cfg);

// "HOST:PORT" (PORT 1..65535); false if it is not that.
bool parse_endpoint(const std::string& text, std::string& host, std::uint16_t& port);

// A peer's hello, checked: "" when it speaks this protocol, else why it is refused.
std::string check_hello(const peer_hello& h);

} // namespace whisk
