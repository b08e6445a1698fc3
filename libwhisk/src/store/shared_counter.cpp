#include "shared_counter.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace whisk {

namespace {
constexpr std::size_t mapped_bytes = 4096; // one page; the counter is its first 8 bytes
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free, "a counter shared between processes must be lock-free");
} // namespace

expected<shared_counter> shared_counter::open(const std::string& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  auto fail = [&](const char* what) {
    auto why = std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return make_error(errc::internal, fmt::format("store: cannot {} {}: {}", what, file, why));
  };
  if (fd < 0)
    return fail("open");
  struct stat st{};
  if (::fstat(fd, &st) != 0 || ::fchmod(fd, 0600) != 0)
    return fail("make owner-only");
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return fail("use (not a regular file)");
  }
  // Grown, never shrunk: a mapped page past the end of a file would fault.
  if (st.st_size < static_cast<off_t>(mapped_bytes) && ::ftruncate(fd, mapped_bytes) != 0)
    return fail("size");
  void* p = ::mmap(nullptr, mapped_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return fail("map");
  ::close(fd);
  return shared_counter{static_cast<std::uint64_t*>(p)};
}

shared_counter::~shared_counter() {
  if (word_)
    ::munmap(word_, mapped_bytes);
}

} // namespace whisk
