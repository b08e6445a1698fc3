#include "whisk/isolate/isolate_backend.hpp"

#include "whisk/isolate/v8_function.hpp"
#include "whisk/json.hpp"

namespace whisk::isolate {

using container::outcome;
using container::outcome_kind;

isolate_backend::isolate_backend() : worker_([this] { work(); }) {}

isolate_backend::~isolate_backend() {
  {
    std::lock_guard guard{mx_};
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void isolate_backend::post(std::function<void()> task) {
  {
    std::lock_guard guard{mx_};
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void isolate_backend::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock{mx_};
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty())
        break;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
  slots_.clear(); // isolates are disposed on the thread that used them
}

void isolate_backend::create(const container::spec& s, create_done done) {
  post([this, memory = s.memory_mb, done = std::move(done)] {
    auto id = next_id_++;
    slots_[id].memory_mb = memory;
    done(id);
  });
}

void isolate_backend::init(container::container_id id, container::init_request req, op_done done) {
  post([this, id, req = std::move(req), done = std::move(done)] {
    auto i = slots_.find(id);
    if (i == slots_.end()) {
      done(outcome{outcome_kind::failed, "no such container", {}, 0});
      return;
    }
    auto started = std::chrono::steady_clock::now();
    auto fn = v8_function::compile(req.code, req.main, i->second.memory_mb);
    outcome out{outcome_kind::ok, R"({"ok":true})", {}, 0};
    if (fn)
      i->second.fn = std::move(*fn);
    else
      out.output = json::dump(json::object{{"error", fn.err().message}});
    out.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    done(std::move(out));
  });
}

void isolate_backend::run(container::container_id id, container::run_request req, op_done done) {
  post([this, id, req = std::move(req), done = std::move(done)] {
    auto i = slots_.find(id);
    if (i == slots_.end() || !i->second.fn) {
      done(outcome{outcome_kind::failed, "no such container", {}, 0});
      return;
    }
    auto msg = json::parse(req.message_json);
    const json::value* value = msg ? msg->find("value") : nullptr;
    auto started = std::chrono::steady_clock::now();
    auto r = i->second.fn->call(value ? json::dump(*value) : "{}", req.timeout_ms);
    outcome out;
    out.logs = std::move(r.logs);
    out.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    switch (r.status) {
      case call_status::ok: out.kind = outcome_kind::ok; out.output = std::move(r.output); break;
      // a throw answers {"error": ...}, as the nodejs runtime does
      case call_status::threw: out.kind = outcome_kind::ok; out.output = json::dump(json::object{{"error", r.output}}); break;
      case call_status::timeout: out.kind = outcome_kind::timeout; break;
      case call_status::oom: out.kind = outcome_kind::oom; break;
    }
    done(std::move(out));
  });
}

void isolate_backend::suspend(container::container_id, flag_done done) {
  post([done = std::move(done)] { done(true); });
}

void isolate_backend::resume(container::container_id, flag_done done) {
  post([done = std::move(done)] { done(true); });
}

void isolate_backend::destroy(container::container_id id, std::function<void()> done) {
  post([this, id, done = std::move(done)] {
    slots_.erase(id);
    done();
  });
}

} // namespace whisk::isolate
