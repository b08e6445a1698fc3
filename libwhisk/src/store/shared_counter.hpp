#pragma once
// A counter shared by every process that opens one store (whisk-admin beside a running
// whisk-node): 8 bytes in an owner-only file mapped into each process. Reading it is one
// memory load, where asking SQLite costs a read transaction (~10 us of file locks, measured
// on the invoke path); it is bumped after a write commits.
#include <atomic>
#include <cstdint>
#include <string>

#include "whisk/expected.hpp"

namespace whisk {

class shared_counter {
public:
  // Maps `file`, creating it (mode 0600, zero) when it does not exist.
  static expected<shared_counter> open(const std::string& file);
  shared_counter(shared_counter&& other) noexcept : word_(other.word_) { other.word_ = nullptr; }
  shared_counter& operator=(shared_counter&&) = delete;
  shared_counter(const shared_counter&) = delete;
  ~shared_counter();

  std::int64_t load() const { return static_cast<std::int64_t>(std::atomic_ref<std::uint64_t>(*word_).load(std::memory_order_acquire)); }
  void bump() { std::atomic_ref<std::uint64_t>(*word_).fetch_add(1, std::memory_order_acq_rel); }

private:
  explicit shared_counter(std::uint64_t* word) : word_(word) {}
  std::uint64_t* word_; // in a MAP_SHARED page of the file
};

} // namespace whisk
