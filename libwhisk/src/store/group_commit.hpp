#pragma once
// The activation writer every store shares: a queue, a thread, group commits. Whatever
// queued up while the previous transaction was written goes in the next one, at once (no
// waiting for more: an answer waits for its commit). A transaction that fails (disk full,
// database gone) is kept and retried with backoff, and at once whenever newer records come
// (they join it); callbacks run after each try, so invokes are still answered while the store fails (the controller stops taking
// invokes when too much is pending). At shutdown a last try is made and what still fails is
// reported as lost. The backend supplies one function: write a batch in one transaction.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "whisk/store/store.hpp"

namespace whisk {

struct pending_write {
  activation a;
  bool accepted = false; // a stand-in for an activation answered 202, not its record
  store::on_committed done;
};

class group_commit {
public:
  // Writes the batch in one transaction: empty on success, else what failed (nothing of
  // the batch may be committed then).
  using write_fn = std::function<std::string(const std::deque<pending_write>& batch)>;

  explicit group_commit(write_fn write);
  ~group_commit(); // a last try, then the thread ends
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  void enqueue(pending_write w);
  bool flush(std::chrono::milliseconds limit);
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }
  std::string failure() const;
  store_write_stats stats() const;

private:
  void loop();
  std::uint64_t enqueued_total() const { return written_ + in_flight_.size() + queue_.size(); }

  write_fn write_;
  mutable std::mutex mx_;
  std::condition_variable queue_cv_;
  std::condition_variable flushed_cv_;
  std::deque<pending_write> queue_;
  std::deque<pending_write> in_flight_;
  std::uint64_t written_ = 0;
  std::atomic<std::int64_t> pending_{0}; // queued + in flight, readable without the lock
  std::string failure_;                  // why the last write failed; empty while writes succeed
  store_write_stats stats_;
  bool stopping_ = false;
  std::thread thread_; // last: starts once everything above is built
};

} // namespace whisk
