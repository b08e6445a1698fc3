#pragma once
// Connecting from inside an actor: the middleman's asynchronous connect (remote_actor
// blocks its caller, which an actor must never do).
#include <caf/io/all.hpp>
#include <functional>
#include <string>

namespace whisk {

// `done` gets the remote actor published at host:port, or null and why not.
template <class Self>
void connect_async(Self* self, const std::string& host, std::uint16_t port, caf::timespan timeout,
                   std::function<void(caf::strong_actor_ptr, std::string)> done) {
  auto mm = self->home_system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, host, port)
      .then(
          [done](caf::node_id&, caf::strong_actor_ptr& p, std::set<std::string>&) {
            if (p)
              done(std::move(p), {});
            else
              done(nullptr, "nothing is published there");
          },
          [self, done](caf::error& err) { done(nullptr, self->system().render(err)); });
}

} // namespace whisk
