#pragma once
// The controller: the REST front. HTTP sessions hand it requests without blocking; it
// authenticates, resolves actions, sends runs to the pool, writes activation records and
// answers (blocking waits that run out answer 202 with the activation id).
#include "whisk/actors/protocol.hpp"
#include "whisk/api/rest_api.hpp"
#include "whisk/http/server.hpp"
#include "whisk/metrics.hpp"

#include <mutex>

namespace whisk {

using http_atom = caf::atom_constant<caf::atom("http")>;

using invoke_atom = caf::atom_constant<caf::atom("invoke")>;

// A request and the way back to its session; local only (it holds a callback).
struct http_exchange {
  http::request req;
  http::responder respond;
};

// An invocation the REST worker authenticated and resolved; local only.
struct local_invocation {
  api::invocation inv;
  http::responder respond;
};

} // namespace whisk

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(whisk::http_exchange)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(whisk::local_invocation)

namespace whisk {

// The controller keeps the activations in flight; the store's reads and writes of the REST
// calls happen on its REST worker's own thread, so the controller never waits on I/O.
using controller_actor = caf::typed_actor<
    caf::reacts_to<http_atom, http_exchange>,      // GET /metrics (from the REST worker)
    caf::reacts_to<invoke_atom, local_invocation>, // from the REST worker
    caf::replies_to<drain_atom, caf::timespan>::with<std::int64_t>, // stop taking runs; answers when none is left
    caf::reacts_to<timer_atom, std::string>>;                       // "sweep" / "drain-deadline" (internal)

struct controller_config {
  api::rest_config rest;
  std::string role = "whisk-node"; // names the process in error texts
  std::int64_t max_in_flight = 10000; // activations accepted and not ended; more get 429
  std::int64_t max_pending_records = 100000; // records waiting for the store; more: invokes get 503
  // An invoke that waited this long before the controller could take it (its mailbox, under
  // overload) is refused with 429 at once, before any work is spent on it.
  std::chrono::milliseconds queue_budget{100};
  // Adds samples of other parts of the node (the isolate cache, say) to GET /metrics.
  std::function<void(std::vector<metrics::sample>&)> extra_metrics;
};

// The REST layer and its caches, shared by the REST worker and the HTTP threads.
struct rest_state;

struct controller_handles {
  controller_actor controller;
  caf::actor rest; // the REST worker (a thread of its own): HTTP requests go here
  // ... except invokes the caches can answer: the HTTP thread hands them to the controller
  std::shared_ptr<rest_state> api;
};
controller_handles spawn_controller(caf::actor_system& sys, store& s, pool_actor pool, controller_config cfg);

// The HTTP threads' way to the controller: requests that come before it exists or after it
// is gone are answered 503, and its handle is never read while it is being set.
class controller_gate {
public:
  explicit controller_gate(std::string role = "whisk-node") : role_(std::move(role)) {}
  void open(const controller_handles& h); // GET /metrics to the controller, the rest to its REST worker
  void close();
  void forward(http::request req, http::responder respond) const;

private:
  std::string role_;
  mutable std::mutex mx_;
  controller_actor controller_;
  caf::actor rest_;
  std::shared_ptr<rest_state> api_;
};

} // namespace whisk
