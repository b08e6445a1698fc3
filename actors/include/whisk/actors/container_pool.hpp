#pragma once
#include <memory>

#include "whisk/actors/protocol.hpp"

namespace whisk {

// The node's container pool over `backend`; spawns and owns one proxy per container.
pool_actor spawn_container_pool(caf::actor_system& sys, std::shared_ptr<container::backend> backend, pool_config cfg);

} // namespace whisk
