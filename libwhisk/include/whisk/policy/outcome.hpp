#pragma once
// How a container's answer becomes an activation's status and result (OpenWhisk's rules).
#include <string>

#include "whisk/container/container.hpp"
#include "whisk/domain.hpp"

namespace whisk::policy {

struct classified {
  activation_status status = activation_status::success;
  json::value result = json::object{};
};

// An /init answer: {"ok":true} is success; anything else is a developer error.
classified classify_init(const container::outcome& out, std::int64_t timeout_ms);
// A /run answer: an object is success, an object with "error" an application error,
// anything else (not an object, timeout, exit, OOM) a developer error.
classified classify_run(const container::outcome& out, std::int64_t timeout_ms);

} // namespace whisk::policy
