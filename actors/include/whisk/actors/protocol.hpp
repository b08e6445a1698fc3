#pragma once
// The messages whisk's actors exchange, and their typed interfaces. Every message is a
// plain struct with an inspect overload so that the same types can cross a process
// boundary (register them with add_message_types on both sides).
#include <caf/all.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "whisk/container/container.hpp"
#include "whisk/policy/fleet.hpp"
#include "whisk/policy/keep_alive.hpp"
#include "whisk/policy/placement.hpp"

namespace whisk {

// ---- atoms --------------------------------------------------------------------------
using run_atom = caf::atom_constant<caf::atom("run")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using backend_atom = caf::atom_constant<caf::atom("backend")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using container_atom = caf::atom_constant<caf::atom("container")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
// the cluster's conversations
using register_atom = caf::atom_constant<caf::atom("register")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using requisit_atom = caf::atom_constant<caf::atom("requisit")>; // container_requisition
using lease_atom = caf::atom_constant<caf::atom("lease")>;       // container_busy / free / release
using create_atom = caf::atom_constant<caf::atom("create")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;     // container_deletion
using health_atom = caf::atom_constant<caf::atom("health")>;
using suspend_atom = caf::atom_constant<caf::atom("suspend")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;
using prewarm_atom = caf::atom_constant<caf::atom("prewarm")>;
using keep_atom = caf::atom_constant<caf::atom("keep")>;

// ---- messages -----------------------------------------------------------------------

// Text that copies of a message share instead of copying (an action's code travels with
// every run). It is serialized as a plain string when a message leaves the process.
class shared_text {
public:
  shared_text() = default;
  shared_text(std::string s) : text_(std::make_shared<const std::string>(std::move(s))) {}
  shared_text(const char* s) : shared_text(std::string(s)) {}
  explicit shared_text(std::shared_ptr<const std::string> p) : text_(std::move(p)) {}
  const std::string& str() const {
    static const std::string none;
    return text_ ? *text_ : none;
  }
  bool operator==(const shared_text& other) const { return str() == other.str(); }

private:
  std::shared_ptr<const std::string> text_;
};

template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, const shared_text& x) {
  return f(x.str());
}

template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, shared_text& x) {
  std::string text;
  auto store = caf::meta::load_callback([&]() -> caf::error {
    x = shared_text(std::move(text));
    return caf::none;
  });
  return f(text, store);
}

// What a container needs to know of the action it runs.
struct action_ref {
  std::string ns, name, version;
  std::string revision; // code identity: containers initialized with it are warm for it
  std::string kind;
  shared_text code;
  std::string main = "main";
  bool binary = false;
  std::int64_t timeout_ms = 60000;
  std::int64_t memory_mb = 256;
  std::int64_t log_limit_bytes = 10 << 20;
  std::int64_t concurrency = 1;
  std::string env_json = "{}";
  std::string mode;           // js:isolate: reuse, fresh or unsafe
  bool reuse_context = true; // js:isolate, reuse mode: keep one context across calls (as the REST API does by default)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, action_ref& x) {
  return f(caf::meta::type_name("action_ref"), x.ns, x.name, x.version, x.revision, x.kind, x.code, x.main, x.binary,
           x.timeout_ms, x.memory_mb, x.log_limit_bytes, x.concurrency, x.env_json, x.mode, x.reuse_context);
}

struct run_msg {
  action_ref action;
  std::string activation_id;
  std::string params_json = "{}";
  std::string subject;
  std::int64_t received_ms = 0; // when the node accepted the request (wait time starts)
  std::string api_key;          // passed to the action only when it asks for it
  std::string api_host;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_msg& x) {
  return f(caf::meta::type_name("run_msg"), x.action, x.activation_id, x.params_json, x.subject, x.received_ms,
           x.api_key, x.api_host);
}

struct run_result {
  std::string activation_id;
  std::int32_t status = 0; // activation_status
  std::string result_json = "{}";
  std::vector<std::string> logs;
  std::int64_t start_ms = 0, end_ms = 0, wait_ms = 0;
  std::int64_t init_ms = -1; // -1: the container was warm
  bool timed_out = false;
  bool rejected = false;     // the pool's queue was full: nothing ran
  bool retry = false;        // the container went away before the run started: place again
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_result& x) {
  return f(caf::meta::type_name("run_result"), x.activation_id, x.status, x.result_json, x.logs, x.start_ms, x.end_ms,
           x.wait_ms, x.init_ms, x.timed_out, x.rejected, x.retry);
}

// A completion from the container backend, turned into a message to the proxy.
enum class backend_op : std::int32_t { create, init, run, suspend, resume, destroy };

struct backend_event {
  std::int32_t op = 0;            // backend_op
  bool ok = false;
  std::uint64_t container = 0;    // the backend's id (create)
  std::string activation_id;      // run
  std::int32_t outcome = 0;       // container::outcome_kind (init, run)
  std::string output;
  std::vector<std::string> logs;
  std::int64_t duration_us = 0;
  std::int64_t init_us = -1;      // run: the backend had to prepare the runtime first
  std::uint64_t token = 0;        // the proxy's secret: events without it are dropped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_event& x) {
  return f(caf::meta::type_name("backend_event"), x.op, x.ok, x.container, x.activation_id, x.outcome, x.output,
           x.logs, x.duration_us, x.init_us, x.token);
}

// A proxy tells its pool what became of its container.
struct container_event {
  std::uint64_t id = 0;       // the pool's id of the proxy
  std::int32_t state = 0;     // policy::slot_state
  std::string action_key;     // ready: the action it was initialized for
  std::int32_t run_outcome = 0; // run_outcome: a run ended (only to owners that asked for it);
                                // then state is ready if nothing else runs or waits, else busy
  std::int64_t run_start_ms = 0; // a run ended: when it started (the actor clock, ms)
  bool run_cold = false;         // ... and whether its container was started or initialized for it
};
enum class run_outcome : std::int32_t { none, fine, system_error, timeout };

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_event& x) {
  return f(caf::meta::type_name("container_event"), x.id, x.state, x.action_key, x.run_outcome, x.run_start_ms,
           x.run_cold);
}

struct pool_stats {
  std::int64_t containers = 0, stem_cells = 0, starting = 0, busy = 0, ready = 0, paused = 0;
  std::int64_t queued = 0, memory_in_use_mb = 0, user_memory_mb = 0;
  std::int64_t created = 0, removed = 0, evicted = 0, rejected = 0;
  std::int64_t warm_starts = 0, resumes = 0, stem_cell_starts = 0, cold_starts = 0;
  std::int64_t proxy_failures = 0; // container proxies that died abnormally (their runs ended as whisk errors)
  std::int64_t shed = 0;           // runs refused after waiting out the queueing budget
  // the keep-alive policy's doing
  std::int64_t expired = 0;        // idle containers unloaded when their keep-alive ran out
  std::int64_t prewarms = 0;       // containers started ahead of a function's next run
  std::int64_t idle_mb_ms = 0;     // memory of idle warm containers over time (MB x ms), since the start
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.containers, x.stem_cells, x.starting, x.busy, x.ready, x.paused,
           x.queued, x.memory_in_use_mb, x.user_memory_mb, x.created, x.removed, x.evicted, x.rejected, x.warm_starts,
           x.resumes, x.stem_cell_starts, x.cold_starts, x.proxy_failures, x.shed, x.expired, x.prewarms,
           x.idle_mb_ms);
}

// ---- interfaces ---------------------------------------------------------------------

// One per container: drives it through its states and runs activations in it.
using proxy_actor = caf::typed_actor<
    caf::replies_to<run_atom, run_msg>::with<run_result>,
    caf::reacts_to<remove_atom>,                           // evict / shut down
    caf::reacts_to<prewarm_atom, action_ref>,              // start and initialize for this action, no run (its owner only)
    caf::reacts_to<keep_atom, std::int64_t>,               // this idle period's keep-alive in ms, -1: forever (its owner only)
    caf::replies_to<suspend_atom>::with<bool>,             // operator pause (from its owner only)
    caf::replies_to<resume_atom>::with<bool>,              // operator resume (from its owner only)
    caf::replies_to<log_atom>::with<std::vector<std::string>>, // log lines since the last read (owner only)
    caf::reacts_to<backend_atom, backend_event>,           // backend completions (internal)
    caf::reacts_to<timer_atom, std::int32_t, std::uint64_t>>; // pause / idle timers (internal)

// Whoever spawned a proxy learns what became of its container (a pool, an agent).
using container_owner = caf::typed_actor<caf::reacts_to<container_atom, container_event>>;

// The node's containers: places runs, keeps stem cells, evicts, queues.
using pool_actor = caf::typed_actor<
    caf::replies_to<run_atom, run_msg>::with<run_result>,
    caf::reacts_to<container_atom, container_event>, // from its proxies
    caf::reacts_to<timer_atom, std::int32_t, std::uint64_t>, // queueing budget, keep-alive, pre-warm timers (internal)
    caf::replies_to<stats_atom>::with<pool_stats>>;

// ---- the cluster ----------------------------------------------------------------------
// Every peer announces these; another version or application is refused with a log line.
constexpr std::int32_t cluster_protocol_version = 1;
inline constexpr const char* cluster_application_id = "whisk-cluster";

// A container of the cluster, named the same way by every role: its agent and the agent's id.
struct container_ref {
  std::string agent;
  std::uint64_t id = 0;
  bool operator<(const container_ref& o) const { return std::tie(agent, id) < std::tie(o.agent, o.id); }
  bool operator==(const container_ref& o) const { return agent == o.agent && id == o.id; }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_ref& x) {
  return f(caf::meta::type_name("container_ref"), x.agent, x.id);
}

// An agent's container as the scheduler and the controllers see it.
struct container_descriptor {
  container_ref ref;
  proxy_actor proxy;
  std::string kind;
  std::int64_t memory_mb = 0;
  std::string action_key;   // empty: a stem cell
  std::int32_t state = 0;   // policy::slot_state
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_descriptor& x) {
  return f(caf::meta::type_name("container_descriptor"), x.ref, x.proxy, x.kind, x.memory_mb, x.action_key, x.state);
}

// scheduler -> agent: start a container (a stem cell until its first run binds it).
struct container_spec {
  std::string kind;
  std::int64_t memory_mb = 256;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_spec& x) {
  return f(caf::meta::type_name("container_spec"), x.kind, x.memory_mb);
}

// controller -> scheduler: containers for an action (the code is not sent: it travels
// with the first run on the container).
struct container_requisition {
  std::string action_key; // the action's revision: containers initialized with it are warm for it
  std::string kind;
  std::int64_t memory_mb = 256;
  std::int64_t concurrency = 1;
  std::int64_t count = 1;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_requisition& x) {
  return f(caf::meta::type_name("container_requisition"), x.action_key, x.kind, x.memory_mb, x.concurrency, x.count);
}

struct container_allocation {
  container_descriptor container; // its proxy is where the controller sends runs
  bool warm = false;              // initialized for the action already
  // where the agent accepts connections: the controller connects there before its first
  // run, so runs go straight to the agent and never through the scheduler's node
  std::string agent_host;
  std::uint16_t agent_port = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_allocation& x) {
  return f(caf::meta::type_name("container_allocation"), x.container, x.warm, x.agent_host, x.agent_port);
}

struct container_allocation_rejection {
  std::string reason;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_allocation_rejection& x) {
  return f(caf::meta::type_name("container_allocation_rejection"), x.reason);
}

// The scheduler's answer to a requisition: what it could allocate, and why not more.
struct allocation_answer {
  std::vector<container_allocation> granted;
  container_allocation_rejection rejection; // set when granted is empty
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, allocation_answer& x) {
  return f(caf::meta::type_name("allocation_answer"), x.granted, x.rejection);
}

// controller -> scheduler, per lease and never per run: busy (woke up after an idle
// report), free (idle past the grace), release (given back).
enum class lease_change : std::int32_t { busy, free, release };
struct lease_report {
  container_ref ref;
  std::int32_t change = 0; // lease_change
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_report& x) {
  return f(caf::meta::type_name("lease_report"), x.ref, x.change);
}

// A peer's first words: version, application, and (controller) the leases it holds.
struct peer_hello {
  std::int32_t version = cluster_protocol_version;
  std::string application = cluster_application_id;
  std::string name;
  std::vector<container_ref> leases;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_hello& x) {
  return f(caf::meta::type_name("peer_hello"), x.version, x.application, x.name, x.leases);
}

struct agent_heartbeat {
  std::string name;
  std::int64_t seq = 0;
  std::int64_t free_memory_mb = 0;
  // of the agent's last 10 runs: how many ended in a system error, how many timed out
  std::int32_t system_errors = 0;
  std::int32_t timeouts = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_heartbeat& x) {
  return f(caf::meta::type_name("agent_heartbeat"), x.name, x.seq, x.free_memory_mb, x.system_errors, x.timeouts);
}

// What an agent holds: its answer to a health probe, and its registration.
struct agent_status {
  std::string name;
  std::string address; // where its HTTP routes answer (host:port), for operators
  std::string host;    // where controllers connect to it (its published port)
  std::uint16_t port = 0;
  std::int64_t user_memory_mb = 0;
  std::int64_t free_memory_mb = 0;
  std::vector<container_descriptor> containers;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_status& x) {
  return f(caf::meta::type_name("agent_status"), x.name, x.address, x.host, x.port, x.user_memory_mb, x.free_memory_mb, x.containers);
}

// An agent: creates and deletes containers for the scheduler, hosts their proxies.
using agent_actor = caf::typed_actor<
    caf::replies_to<create_atom, container_spec>::with<container_descriptor>,
    caf::reacts_to<delete_atom, std::uint64_t>,            // container_deletion
    caf::replies_to<health_atom>::with<agent_status>,      // its containers (scheduler, operators)
    caf::replies_to<probe_atom, std::int64_t>::with<bool>, // run the health test action (scheduler only)
    caf::replies_to<suspend_atom, std::uint64_t>::with<bool>, // operator routes (this node only)
    caf::replies_to<resume_atom, std::uint64_t>::with<bool>,
    caf::replies_to<log_atom, std::uint64_t>::with<std::vector<std::string>>,
    caf::reacts_to<container_atom, container_event>,       // from its proxies (local only)
    caf::reacts_to<timer_atom>>;                           // heartbeat / reconnect (local only)

// The scheduler: the fleet view and the allocation policy.
using scheduler_actor = caf::typed_actor<
    caf::replies_to<register_atom, peer_hello, agent_actor, agent_status>::with<std::string>, // agent; "" = accepted
    // true: the scheduler knows the agent by this handle; false: the agent registers again
    caf::replies_to<heartbeat_atom, agent_heartbeat>::with<bool>,
    caf::reacts_to<container_atom, std::string, container_descriptor>, // an agent's container changed state
    caf::replies_to<hello_atom, peer_hello>::with<std::string>,        // controller; "" = accepted
    // a controller's heartbeat (its name): true when the scheduler knows it by this handle
    caf::replies_to<heartbeat_atom, std::string>::with<bool>,
    caf::replies_to<requisit_atom, container_requisition>::with<allocation_answer>,
    caf::reacts_to<lease_atom, lease_report>,
    caf::replies_to<stats_atom>::with<std::string>,         // the fleet as JSON (GET /agents)
    caf::reacts_to<health_atom, std::string, std::int32_t>, // from an agent_proxy (local only)
    caf::reacts_to<timer_atom>>;                            // snapshot tick (local only)

// ---- configuration ------------------------------------------------------------------

struct proxy_config {
  caf::timespan pause_grace = std::chrono::milliseconds(50);
  caf::timespan idle_timeout = std::chrono::minutes(10);
  bool report_runs = false;        // tell the owner how each run ended (an agent's health window)
  std::size_t kept_log_lines = 0;  // for an agent's GET /log: the newest lines since the last read
  std::size_t kept_log_bytes = 1 << 20;
  bool owner_unloads = false;      // the owner removes idle containers (its keep-alive policy): no idle timeout here
};

struct pool_config {
  std::int64_t user_memory_mb = 2048;
  std::int64_t max_queue = 1000;
  // A run that cannot start within this time is refused (429 / a throttled record) rather
  // than kept waiting: under overload, accepted runs keep near their unloaded latency.
  caf::timespan queue_budget = std::chrono::milliseconds(100);
  std::vector<policy::stem_cell_config> stem_cells;
  proxy_config proxy;
  // How long idle containers stay, what is pre-warmed, what goes first under memory
  // pressure. Null: fixed keep-alive for proxy.idle_timeout (evicting least recently used).
  // The pool owns it from then on (events and decisions on the pool's thread only).
  std::shared_ptr<policy::keep_alive_policy> keep_alive;
};

// Registers every message type above (call on each side of a remote connection).
void add_message_types(caf::actor_system_config& cfg);

} // namespace whisk
