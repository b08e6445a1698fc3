#pragma once
// A container::timer_fn backed by an actor: delays use the actor system's clock, so the
// sim backend runs in virtual time under CAF's test coordinator.
#include <caf/all.hpp>

#include "whisk/container/container.hpp"

namespace whisk {

struct actor_timer {
  caf::actor handle;     // send it an exit message when done
  container::timer_fn fn;
};

actor_timer make_actor_timer(caf::actor_system& sys);

} // namespace whisk
