#pragma once
// Runs a plan: one epoll loop per thread over raw non-blocking keep-alive connections.
#include <atomic>
#include <functional>
#include <map>

#include "histogram.hpp"
#include "plan.hpp"

namespace whisk::load {

struct target_result {
  histogram latency_ns;
  histogram accepted_ns;
  std::map<int, std::uint64_t> statuses;
  std::uint64_t completed = 0;
};

struct run_result {
  std::vector<target_result> targets;
  histogram all_ns;
  histogram accepted_ns;         // 2xx responses only (what an overloaded server did serve)
  std::map<int, std::uint64_t> statuses;
  std::uint64_t completed = 0;   // responses recorded (after the warm-up)
  std::uint64_t connect_errors = 0, read_errors = 0, timeouts = 0;
  double measured_s = 0;         // the recorded window (duration minus warm-up)
  bool server_unreachable = false;
  std::string stop_reason;
};

struct progress {
  std::atomic<std::uint64_t> completed{0}, errors{0};
};

run_result run_plan(const plan& p, progress& live);

} // namespace whisk::load
