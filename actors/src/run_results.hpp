#pragma once
// The result of a run that never reached (or never came back from) its container.
#include "whisk/actors/protocol.hpp"
#include "whisk/domain.hpp"
#include "whisk/json.hpp"

namespace whisk {

// A whisk error ending the activation now; `rejected`: nothing ran (the caller gets a 429).
inline run_result whisk_error(const std::string& activation_id, std::string message, bool rejected = false) {
  run_result r;
  r.activation_id = activation_id;
  r.status = static_cast<std::int32_t>(activation_status::whisk_error);
  r.result_json = json::dump(json::object{{"error", std::move(message)}});
  r.start_ms = r.end_ms = now_ms();
  r.rejected = rejected;
  return r;
}

// How long an answer to a run may take before the asker gives up on it: an init and a run
// at the action's limit, plus a minute of queueing and start-up. The proxy enforces the
// limit itself; this bound only keeps a run from waiting forever on a peer that is gone.
inline caf::timespan run_answer_limit(const action_ref& a) {
  return std::chrono::milliseconds(2 * a.timeout_ms) + std::chrono::minutes(1);
}

} // namespace whisk
