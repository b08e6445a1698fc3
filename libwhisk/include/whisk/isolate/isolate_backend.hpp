#pragma once
// Containerless functions as a container backend: a "container" is a V8 isolate holding one
// compiled action, run on the backend's worker thread (never on HTTP or actor threads).
// Nothing to freeze: suspend and resume succeed at once.
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "whisk/container/container.hpp"

namespace whisk::isolate {

class v8_function;

class isolate_backend final : public container::backend {
public:
  isolate_backend();
  ~isolate_backend() override;
  std::string name() const override { return "isolate"; }
  void create(const container::spec& s, create_done done) override;
  void init(container::container_id id, container::init_request req, op_done done) override;
  void run(container::container_id id, container::run_request req, op_done done) override;
  void suspend(container::container_id id, flag_done done) override;
  void resume(container::container_id id, flag_done done) override;
  void destroy(container::container_id id, std::function<void()> done) override;

private:
  struct slot {
    std::int64_t memory_mb = 256;
    std::unique_ptr<v8_function> fn;
  };
  void post(std::function<void()> task);
  void work();

  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::map<container::container_id, slot> slots_; // touched only on the worker thread
  container::container_id next_id_ = 1;
  std::thread worker_;
};

} // namespace whisk::isolate
