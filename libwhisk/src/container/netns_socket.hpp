#pragma once
// Internal to the http backend: sockets that live in a runtime's network namespace, made by
// the calling thread entering that namespace for the socket() call only. A socket keeps the
// namespace it was made in, so whisk reaches a runtime's port on that namespace's loopback
// without a host port: two runtimes on the same port never clash.
#include "whisk/expected.hpp"

namespace whisk::container {

class netns_entry {
public:
  // `netns_fd`: an open /proc/<pid>/ns/net of the runtime (owned by the caller).
  explicit netns_entry(int netns_fd) : ns_(netns_fd) {}
  // A non-blocking, close-on-exec socket of `type` (SOCK_STREAM, SOCK_DGRAM) in the namespace.
  expected<int> socket(int type) const;
  // Brings the namespace's loopback up (a new namespace starts with it down).
  expected<bool> loopback_up() const;

private:
  int ns_;
};

} // namespace whisk::container
