#pragma once
// whisk-sim's engine: a trace replayed through the production container pool and its proxies
// on the sim backend, under CAF's test coordinator, so time is virtual: nothing sleeps, the
// clock jumps from one event (an arrival, a container's start, a run's end, a keep-alive
// timer) to the next. The keep-alive policy is the object the live pool would use.
//
// The model: each trace function is an action of its own (namespace = its app, so that
// policies see the trace's apps); a run takes the execution time the trace gives it; a cold
// start costs `create` + `init` of virtual time; containers are never paused (pausing
// changes neither cold starts nor memory here). A run is cold when its container had to be
// started or initialized for it (the record's init time is set), warm otherwise (a pre-warmed
// container counts as warm, as in the hybrid-histogram paper).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "whisk/expected.hpp"
#include "whisk/policy/keep_alive.hpp"
#include "whisk/sim/report.hpp"
#include "whisk/sim/trace.hpp"

namespace whisk::sim {

struct replay_options {
  std::int64_t memory_mb = 0;                // the node's memory for containers; 0: unbounded
  std::chrono::milliseconds create{450};     // a cold start: the container ...
  std::chrono::milliseconds init{50};        // ... and the function's initialization
  // A run that cannot be placed (memory full, nothing to evict) waits at most this long,
  // then it is refused (counted as rejected), as the live pool's queueing budget does.
  std::chrono::milliseconds queue_budget{std::chrono::minutes(10)};
  std::int64_t max_queue = 1'000'000;
  // Called now and then with the number of arrivals replayed so far (a progress bar).
  std::function<void(std::int64_t)> progress;
};

// Replays every arrival of `t` under `policy` (which the replay owns for its duration) and
// returns the counts for the report. The same trace, policy and options give the same counts.
expected<policy_run> replay(const trace& t, std::shared_ptr<policy::keep_alive_policy> policy, const replay_options& options = {});

// "DURATION" or "CREATE+INIT", e.g. "500ms" (all of it the container start) or "450ms+50ms".
expected<bool> parse_cold_start(std::string_view text, replay_options& options);

} // namespace whisk::sim
