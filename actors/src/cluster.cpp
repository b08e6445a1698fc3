// What every role of the cluster shares: the middleman's liveness settings and the check
// of a peer's hello.
#include "whisk/actors/cluster.hpp"

#include <fmt/format.h>

namespace whisk {

void configure_remoting(caf::actor_system_config& cfg) {
  // CAF 0.17 sends no heartbeats unless told to, and only checks the timeout on a
  // heartbeat tick: a frozen peer's connection is closed after ~1 s (down messages follow).
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(200)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(1000)});
}

bool parse_endpoint(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size() || text.size() - colon > 6)
    return false;
  std::uint32_t p = 0;
  for (auto c : text.substr(colon + 1)) {
    if (c < '0' || c > '9')
      return false;
    p = p * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p < 1 || p > 65535)
    return false;
  host = text.substr(0, colon);
  port = static_cast<std::uint16_t>(p);
  return true;
}

std::string check_hello(const peer_hello& h) {
  if (h.application != cluster_application_id)
    return fmt::format("application '{}' is not '{}'", h.application.substr(0, 64), cluster_application_id);
  if (h.version != cluster_protocol_version)
    return fmt::format("protocol version {} is not {}", h.version, cluster_protocol_version);
  if (h.name.empty() || h.name.size() > 128)
    return "a peer needs a name of 1 to 128 characters";
  return {};
}

} // namespace whisk
