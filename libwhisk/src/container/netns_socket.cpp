#include "netns_socket.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace whisk::container {

namespace {

// Enters the namespace for the life of the object, then goes back to the thread's own.
class inside {
public:
  explicit inside(int ns) {
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_ < 0) {
      errno_ = errno;
      return;
    }
    if (::setns(ns, CLONE_NEWNET) != 0) {
      errno_ = errno;
      ::close(home_);
      home_ = -1;
    }
  }
  ~inside() {
    if (home_ < 0)
      return;
    // Failing to return would leave this thread in a runtime's namespace for good: stop.
    if (::setns(home_, CLONE_NEWNET) != 0)
      std::abort();
    ::close(home_);
  }
  inside(const inside&) = delete;
  inside& operator=(const inside&) = delete;
  bool entered() const { return home_ >= 0; }
  int why() const { return errno_; }

private:
  int home_ = -1;
  int errno_ = 0;
};

} // namespace

expected<int> netns_entry::socket(int type) const {
  int fd = -1, err = 0;
  {
    inside in(ns_);
    if (!in.entered())
      return make_error(errc::internal, fmt::format("cannot enter the runtime's network namespace: {}", std::strerror(in.why())));
    fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    err = errno;
  }
  if (fd < 0)
    return make_error(errc::internal, fmt::format("socket in the runtime's network namespace: {}", std::strerror(err)));
  return fd;
}

expected<bool> netns_entry::loopback_up() const {
  auto fd = socket(SOCK_DGRAM);
  if (!fd)
    return fd.err();
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(*fd, SIOCGIFFLAGS, &ifr) == 0;
  if (ok && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(*fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  int err = errno;
  ::close(*fd);
  if (!ok)
    return make_error(errc::internal, fmt::format("cannot bring up the runtime's loopback: {}", std::strerror(err)));
  return true;
}

} // namespace whisk::container
