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

} // namespace whisk
