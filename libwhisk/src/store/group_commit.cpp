#include "group_commit.hpp"

#include <pthread.h>

#include <algorithm>

#include "whisk/log.hpp"

namespace whisk {

group_commit::group_commit(write_fn write) : write_(std::move(write)), thread_([this] {
        pthread_setname_np(pthread_self(), "whisk.store");
        loop();
      }) {}

group_commit::~group_commit() {
  {
    std::lock_guard guard{mx_};
    stopping_ = true;
  }
  queue_cv_.notify_all();
  thread_.join();
}

void group_commit::enqueue(pending_write w) {
  bool wake;
  {
    std::lock_guard guard{mx_};
    queue_.push_back(std::move(w));
    pending_.fetch_add(1, std::memory_order_relaxed);
    wake = queue_.size() == 1; // the writer sleeps only when the queue is empty
  }
  if (wake)
    queue_cv_.notify_one();
}

bool group_commit::flush(std::chrono::milliseconds limit) {
  std::unique_lock lock{mx_};
  auto target = enqueued_total();
  return flushed_cv_.wait_for(lock, limit, [&] { return written_ >= target; });
}

std::string group_commit::failure() const {
  std::lock_guard guard{mx_};
  return failure_;
}

store_write_stats group_commit::stats() const {
  std::lock_guard guard{mx_};
  return stats_;
}

void group_commit::loop() {
  int attempt = 0;
  for (;;) {
    {
      std::unique_lock lock{mx_};
      if (in_flight_.empty()) {
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_)
          return;
      }
      for (auto& w : queue_)
        in_flight_.push_back(std::move(w));
      queue_.clear();
    }
    auto began = std::chrono::steady_clock::now();
    auto error = write_(in_flight_);
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began).count();
    for (auto& w : in_flight_)
      if (w.done)
        std::exchange(w.done, nullptr)();
    std::unique_lock lock{mx_};
    if (error.empty()) {
      if (!failure_.empty())
        log_info("store: activation records are written again ({} kept record(s) written)", in_flight_.size());
      failure_.clear();
      attempt = 0;
      ++stats_.commits;
      stats_.records += static_cast<std::int64_t>(in_flight_.size());
      stats_.commit_us += took;
      written_ += in_flight_.size();
      pending_.fetch_sub(static_cast<std::int64_t>(in_flight_.size()), std::memory_order_relaxed);
      in_flight_.clear();
      lock.unlock();
      flushed_cv_.notify_all();
      continue;
    }
    if (failure_.empty()) // once per change of state, not per retry
      log_error("store: cannot write activation records ({}): keeping {} in memory and retrying", error, in_flight_.size());
    failure_ = error;
    if (stopping_) {
      log_error("store: stopping with {} activation record(s) that could not be written: {}", in_flight_.size(), error);
      return;
    }
    // the next try after the backoff, or at once for new records: their answers wait for a
    // try (a broken PostgreSQL connection fails it at once, without a round trip)
    queue_cv_.wait_for(lock, std::chrono::milliseconds(std::min(1000, 10 << std::min(attempt++, 7))),
                       [&] { return stopping_ || !queue_.empty(); });
  }
}

} // namespace whisk
