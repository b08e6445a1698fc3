#pragma once
// Blocking helpers for tests of asynchronous backends: wait for one completion.
#include <chrono>
#include <future>

#include "whisk/container/container.hpp"

namespace whisk::testing {

template <class T>
struct waiter {
  std::promise<T> p;
  std::future<T> f = p.get_future();
  auto callback() {
    return [this](T v) { p.set_value(std::move(v)); };
  }
  T get(std::chrono::seconds limit = std::chrono::seconds(60)) {
    if (f.wait_for(limit) != std::future_status::ready)
      throw std::runtime_error("operation did not complete in time");
    return f.get();
  }
};

} // namespace whisk::testing
