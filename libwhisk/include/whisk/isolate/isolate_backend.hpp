#pragma once
// Containerless functions as a container backend. A "container" here is a slot holding one
// action's code; its calls run on a fixed set of worker threads (never on HTTP or actor
// threads), each with its own isolates:
//   reuse   each worker keeps a compiled isolate per action in a bounded cache (count and
//           heap bytes, least recently used evicted); with init_request::reuse_context
//           (the REST API's default) a slot's calls share its one kept context and its
//           isolate is the slot's alone, else each call gets a new context
//   fresh   a new isolate for every call, disposed after it; a worker makes a few ahead
//           while idle (no user code runs in them before their call)
//   unsafe  one shared isolate and context per worker; refused unless allowed
// Each slot has a home worker (the one with fewest slots when it was made): its calls queue
// there and find the isolate compiled, and a slot's kept context stays on one thread. An idle
// worker takes queued calls of other workers unless they need a kept context.
// A call whose Promise waits for timers or fetches is parked on the worker that started it
// (its isolate and context kept, never evicted under it) and resumed there when a timer is
// due or an answer arrives; the worker runs other calls meanwhile. Its deadline ends it.
// Nothing to freeze: suspend and resume succeed at once.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "whisk/container/container.hpp"
#include "whisk/isolate/fetch_client.hpp"

namespace whisk::isolate {

struct isolate_config {
  int workers = 0;                       // 0: one per core
  std::int64_t cache_isolates = 64;      // cached isolates in all workers together
  std::int64_t cache_mb = 512;           // their heap, in all workers together
  bool allow_unsafe = false;             // unsafe mode may be used
  // Address ranges that fetch may reach although the network policy refuses them by
  // default (loopback, private, link-local): comma-separated CIDRs, e.g. "127.0.0.1/32".
  std::string fetch_allow;
  fetch_limits fetch;                    // sizes, redirects and requests in flight per call
};

// Counters for metrics; a snapshot of atomics, consistent enough for monitoring.
struct isolate_stats {
  std::int64_t workers = 0;
  std::int64_t cached_isolates = 0, cached_heap_bytes = 0;
  std::int64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0;
  std::int64_t calls = 0, fresh_isolates = 0, unsafe_contexts = 0;
  std::int64_t timeouts = 0, out_of_memory = 0;
  std::int64_t collections = 0; // full garbage collections asked for (contexts of past calls)
  std::int64_t queued = 0;
  std::int64_t waiting = 0; // calls parked on their timers and fetches
  std::int64_t fresh_made_ahead = 0; // fresh calls that ran in an isolate made ahead in idle time
  std::int64_t blank_isolates = 0;   // isolates made ahead, waiting for a fresh call
};

class isolate_backend final : public container::backend {
public:
  explicit isolate_backend(isolate_config cfg = {});
  ~isolate_backend() override;
  std::string name() const override { return "isolate"; }
  void create(const container::spec& s, create_done done) override;
  void init(container::container_id id, container::init_request req, op_done done) override;
  void run(container::container_id id, container::run_request req, op_done done) override;
  void suspend(container::container_id id, flag_done done) override;
  void resume(container::container_id id, flag_done done) override;
  void destroy(container::container_id id, std::function<void()> done) override;

  isolate_stats stats() const;
  const isolate_config& config() const { return cfg_; }

  struct code;   // one action's code and how to run it, shared by its slots
  struct worker; // a worker thread's isolates

private:
  struct slot {
    std::int64_t memory_mb = 256;
    int home = 0;                   // the worker its calls go to first
    std::shared_ptr<const code> fn; // set by a successful init
  };
  struct task {
    std::function<void(worker&)> fn;
    bool stealable = true; // another worker may take it (not when the call needs its home's kept context)
  };
  struct queue {
    std::deque<task> tasks;
    std::condition_variable wake;
    bool idle = false;
    std::chrono::steady_clock::time_point busy_since; // when its worker took the task it runs
    std::int64_t slots = 0;
  };
  void post(int home, task t);
  void work(int index);
  std::shared_ptr<const code> intern(const container::init_request& req, std::int64_t memory_mb);

  isolate_config cfg_;
  mutable std::mutex mx_;
  std::vector<std::unique_ptr<queue>> queues_; // one per worker
  bool stopping_ = false;
  std::map<container::container_id, slot> slots_;
  std::map<std::string, std::weak_ptr<const code>> codes_; // identity -> code, so slots share isolates
  container::container_id next_id_ = 1;
  std::vector<std::thread> threads_;

  // counters, updated by the workers
  struct counters {
    std::atomic<std::int64_t> cached{0}, heap{0}, hits{0}, misses{0}, evictions{0}, calls{0}, fresh{0}, unsafe{0},
        timeouts{0}, ooms{0}, collections{0}, waiting{0}, fresh_ahead{0}, blanks{0};
  };
  counters counters_;
  // last: destroyed first, so that its I/O thread (which wakes workers) ends before the queues go
  std::shared_ptr<fetch_client> net_;
};

} // namespace whisk::isolate
