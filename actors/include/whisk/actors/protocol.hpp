#pragma once
// The messages whisk's actors exchange, and their typed interfaces. Every message is a
// plain struct with an inspect overload so that the same types can cross a process
// boundary (register them with add_message_types on both sides).
#include <caf/all.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "whisk/container/container.hpp"
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
  bool reuse_context = false; // js:isolate: keep one context across calls
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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_event& x) {
  return f(caf::meta::type_name("backend_event"), x.op, x.ok, x.container, x.activation_id, x.outcome, x.output,
           x.logs, x.duration_us, x.init_us);
}

// A proxy tells its pool what became of its container.
struct container_event {
  std::uint64_t id = 0;       // the pool's id of the proxy
  std::int32_t state = 0;     // policy::slot_state
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_event& x) {
  return f(caf::meta::type_name("container_event"), x.id, x.state);
}

struct pool_stats {
  std::int64_t containers = 0, stem_cells = 0, starting = 0, busy = 0, ready = 0, paused = 0;
  std::int64_t queued = 0, memory_in_use_mb = 0, user_memory_mb = 0;
  std::int64_t created = 0, removed = 0, evicted = 0, rejected = 0;
  std::int64_t warm_starts = 0, resumes = 0, stem_cell_starts = 0, cold_starts = 0;
  std::int64_t proxy_failures = 0; // container proxies that died abnormally (their runs ended as whisk errors)
  std::int64_t shed = 0;           // runs refused after waiting out the queueing budget
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.containers, x.stem_cells, x.starting, x.busy, x.ready, x.paused,
           x.queued, x.memory_in_use_mb, x.user_memory_mb, x.created, x.removed, x.evicted, x.rejected, x.warm_starts,
           x.resumes, x.stem_cell_starts, x.cold_starts, x.proxy_failures, x.shed);
}

// ---- interfaces ---------------------------------------------------------------------

// One per container: drives it through its states and runs activations in it.
using proxy_actor = caf::typed_actor<
    caf::replies_to<run_atom, run_msg>::with<run_result>,
    caf::reacts_to<remove_atom>,                           // evict / shut down
    caf::reacts_to<backend_atom, backend_event>,           // backend completions (internal)
    caf::reacts_to<timer_atom, std::int32_t, std::uint64_t>>; // pause / idle timers (internal)

// The node's containers: places runs, keeps stem cells, evicts, queues.
using pool_actor = caf::typed_actor<
    caf::replies_to<run_atom, run_msg>::with<run_result>,
    caf::reacts_to<container_atom, container_event>, // from its proxies
    caf::reacts_to<timer_atom>,                      // queueing-budget check (internal)
    caf::replies_to<stats_atom>::with<pool_stats>>;

// ---- configuration ------------------------------------------------------------------

struct proxy_config {
  caf::timespan pause_grace = std::chrono::milliseconds(50);
  caf::timespan idle_timeout = std::chrono::minutes(10);
};

struct pool_config {
  std::int64_t user_memory_mb = 2048;
  std::int64_t max_queue = 1000;
  // A run that cannot start within this time is refused (429 / a throttled record) rather
  // than kept waiting: under overload, accepted runs keep near their unloaded latency.
  caf::timespan queue_budget = std::chrono::milliseconds(100);
  std::vector<policy::stem_cell_config> stem_cells;
  proxy_config proxy;
};

// Registers every message type above (call on each side of a remote connection).
void add_message_types(caf::actor_system_config& cfg);

} // namespace whisk
