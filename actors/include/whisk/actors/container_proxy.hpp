#pragma once
#include <memory>

#include "whisk/actors/protocol.hpp"

namespace whisk {

// Spawns the proxy of one new container of `kind` and `memory_mb`, linked to `parent`.
// It starts the container at once; without a run it becomes a stem cell.
proxy_actor spawn_container_proxy(caf::local_actor* parent, container_owner owner, std::uint64_t id,
                                  std::shared_ptr<container::backend> backend, std::string kind,
                                  std::int64_t memory_mb, proxy_config cfg);

} // namespace whisk
