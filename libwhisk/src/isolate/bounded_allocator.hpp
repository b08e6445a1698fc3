#pragma once
// Private to the isolate layer (included by v8_function.cpp only, which is compiled without
// RTTI like libnode, since this class derives from one of V8's).
#include <atomic>
#include <cstddef>
#include <memory>
#include <v8.h>

namespace whisk::isolate {

// ArrayBuffer memory lives outside V8's heap: this allocator counts it and refuses what
// would take it past the isolate's memory, which then ends the call like an exhausted heap.
class bounded_allocator final : public v8::ArrayBuffer::Allocator {
public:
  bounded_allocator(std::size_t limit, std::atomic<bool>& refused) : limit_(limit), refused_(refused) {}
  void* Allocate(std::size_t n) override { return take(n) ? keep(base_->Allocate(n), n) : nullptr; }
  void* AllocateUninitialized(std::size_t n) override { return take(n) ? keep(base_->AllocateUninitialized(n), n) : nullptr; }
  void Free(void* data, std::size_t n) override {
    base_->Free(data, n);
    used_ -= n;
  }
  v8::Isolate* iso = nullptr; // set once the isolate exists

private:
  bool take(std::size_t n) {
    if (used_.fetch_add(n) + n <= limit_)
      return true;
    used_ -= n;
    refused_ = true;
    if (iso)
      iso->TerminateExecution(); // the call ends here, even if its code would catch the RangeError
    return false;
  }
  void* keep(void* p, std::size_t n) {
    if (!p)
      used_ -= n;
    return p;
  }
  std::unique_ptr<v8::ArrayBuffer::Allocator> base_{v8::ArrayBuffer::Allocator::NewDefaultAllocator()};
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<bool>& refused_;
};

} // namespace whisk::isolate
