#pragma once
// The scheduler's supervisor of one agent (local to the scheduler: not published).
#include "whisk/actors/cluster.hpp"

namespace whisk {

using agent_proxy_actor = caf::typed_actor<caf::reacts_to<heartbeat_atom, agent_heartbeat>, // forwarded by the scheduler
                                           caf::reacts_to<timer_atom>>;                     // supervision tick

agent_proxy_actor spawn_agent_proxy(caf::local_actor* scheduler_self, std::string name, agent_actor agent,
                                    scheduler_actor scheduler, scheduler_config cfg);

} // namespace whisk
