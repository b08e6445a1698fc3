#include "whisk/container/sim_backend.hpp"

#include <algorithm>
#include <stdexcept>
#include <fmt/format.h>

#include "whisk/json.hpp"

namespace whisk::container {

std::string format_log_line(std::string_view stream, std::string_view text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ns = duration_cast<nanoseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z {:<6} {}", stamp, ns % 1000000000, fmt::format("{}:", stream), text);
}

sim_backend::sim_backend(sim_model model, timer_fn timer) : model_(model), timer_(std::move(timer)) {}

sim_counters sim_backend::counters() const {
  std::lock_guard guard{mx_};
  return counters_;
}

void sim_backend::create(const spec& s, create_done done) {
  container_id id;
  {
    std::lock_guard guard{mx_};
    id = next_id_++;
    containers_[id] = sim_container{s.kind, {}, false, false};
    ++counters_.created;
    ++counters_.alive;
  }
  timer_(model_.create, [done = std::move(done), id] { done(id); });
}

void sim_backend::init(container_id id, init_request req, op_done done) {
  outcome out;
  {
    std::lock_guard guard{mx_};
    ++counters_.inits;
    auto i = containers_.find(id);
    if (i == containers_.end() || i->second.dead) {
      out.kind = outcome_kind::failed;
      out.output = "no such container";
    } else if (req.code.find("sim:init-fail") != std::string::npos) {
      out.kind = outcome_kind::ok;
      out.output = R"({"error":"sim: init failed as directed"})";
    } else {
      i->second.code = req.code;
      out.kind = outcome_kind::ok;
      out.output = R"({"ok":true})";
    }
  }
  timer_(model_.init, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
}

void sim_backend::run(container_id id, run_request req, op_done done) {
  outcome out;
  auto delay = model_.run;
  {
    std::lock_guard guard{mx_};
    ++counters_.runs;
    auto i = containers_.find(id);
    if (i == containers_.end() || i->second.dead || i->second.paused) {
      out.kind = outcome_kind::failed;
      out.output = i == containers_.end() ? "no such container" : "container is not runnable";
    } else {
      auto& code = i->second.code;
      if (code.find("sim:fault") != std::string::npos)
        throw std::runtime_error("sim: fault injected into the caller of run()");
      auto sleep = code.find("sim:sleep=");
      if (sleep != std::string::npos && code.compare(sleep + 10, 5, "param") == 0) {
        // a replayed trace: each run says how long it takes; nothing else is read or written
        // (the fast path of whisk-sim: no parse, no output, no log line)
        auto at = req.message_json.find("\"sim_ms\":");
        if (at != std::string::npos)
          delay = std::chrono::milliseconds(std::max(0, std::atoi(req.message_json.c_str() + at + 9)));
        if (delay.count() > req.timeout_ms) {
          delay = std::chrono::milliseconds(req.timeout_ms);
          out.kind = outcome_kind::timeout;
          i->second.dead = true;
        } else {
          out.kind = outcome_kind::ok;
          out.output = "{}";
        }
      } else {
        auto msg = json::parse(req.message_json, json::max_wrapped_depth);
        if (sleep != std::string::npos)
          delay = std::chrono::milliseconds(std::atoi(code.c_str() + sleep + 10));
        if (code.find("sim:timeout") != std::string::npos || delay.count() > req.timeout_ms) {
          delay = std::chrono::milliseconds(req.timeout_ms);
          out.kind = outcome_kind::timeout;
          i->second.dead = true;
        } else if (code.find("sim:crash") != std::string::npos) {
          out.kind = outcome_kind::exited;
          out.output = "exit status 1";
          i->second.dead = true;
        } else if (code.find("sim:system-error") != std::string::npos) {
          out.kind = outcome_kind::failed;
          out.output = "a system error injected by sim:system-error";
          i->second.dead = true;
        } else if (code.find("sim:oom") != std::string::npos) {
          out.kind = outcome_kind::oom;
          i->second.dead = true;
        } else {
          out.kind = outcome_kind::ok;
          const json::value* value = msg ? msg->find("value") : nullptr;
          out.output = value ? json::dump(*value) : "{}";
          out.logs.push_back(format_log_line("stdout", fmt::format("sim run {}", msg ? json::get_string(*msg, "activation_id") : "?")));
        }
      }
    }
  }
  out.duration_us = delay.count() * 1000;
  timer_(delay, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
}

void sim_backend::suspend(container_id id, flag_done done) {
  bool ok;
  {
    std::lock_guard guard{mx_};
    auto i = containers_.find(id);
    ok = i != containers_.end() && !i->second.dead && !i->second.paused;
    if (ok) {
      i->second.paused = true;
      ++counters_.suspends;
      ++counters_.paused;
    }
  }
  timer_(model_.suspend, [done = std::move(done), ok] { done(ok); });
}

void sim_backend::resume(container_id id, flag_done done) {
  bool ok;
  {
    std::lock_guard guard{mx_};
    auto i = containers_.find(id);
    ok = i != containers_.end() && !i->second.dead && i->second.paused;
    if (ok) {
      i->second.paused = false;
      ++counters_.resumes;
      --counters_.paused;
    }
  }
  timer_(model_.resume, [done = std::move(done), ok] { done(ok); });
}

void sim_backend::destroy(container_id id, std::function<void()> done) {
  {
    std::lock_guard guard{mx_};
    auto i = containers_.find(id);
    if (i != containers_.end()) {
      if (i->second.paused)
        --counters_.paused;
      containers_.erase(i);
      ++counters_.destroyed;
      --counters_.alive;
    }
  }
  timer_(model_.destroy, std::move(done));
}

} // namespace whisk::container
