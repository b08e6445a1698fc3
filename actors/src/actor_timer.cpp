#include "whisk/actors/actor_timer.hpp"

namespace whisk {
struct deferred_call {
  std::function<void()> fn;
};
} // namespace whisk

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(whisk::deferred_call)

namespace whisk {

actor_timer make_actor_timer(caf::actor_system& sys) {
  // The unused int works around CAF 0.17 spawning argument-less functions through a null
  // shared_ptr<tuple<>> (undefined behaviour that UBSan reports).
  auto handle = sys.spawn([](int) -> caf::behavior { return {[](deferred_call& call) { call.fn(); }}; }, 0);
  auto fn = [handle](std::chrono::milliseconds delay, std::function<void()> f) {
    if (delay.count() <= 0)
      caf::anon_send(handle, deferred_call{std::move(f)});
    else
      caf::delayed_anon_send(handle, delay, deferred_call{std::move(f)});
  };
  return {handle, fn};
}

} // namespace whisk
