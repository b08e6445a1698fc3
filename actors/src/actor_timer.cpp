#include "whisk/actors/actor_timer.hpp"

namespace whisk {
struct deferred_call {
  std::function<void()> fn;
};
} // namespace whisk

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(whisk::deferred_call)

namespace whisk {

actor_timer make_actor_timer(caf::actor_system& sys) {
  auto handle = sys.spawn([]() -> caf::behavior {
    return {[](deferred_call& call) { call.fn(); }};
  });
  auto fn = [handle](std::chrono::milliseconds delay, std::function<void()> f) {
    if (delay.count() <= 0)
      caf::anon_send(handle, deferred_call{std::move(f)});
    else
      caf::delayed_anon_send(handle, delay, deferred_call{std::move(f)});
  };
  return {handle, fn};
}

} // namespace whisk
