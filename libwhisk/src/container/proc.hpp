#pragma once
// Private to the process backend: the state of one runtime process, touched only on the
// backend's I/O thread.
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "network_stack.hpp"
#include "whisk/container/cgroup.hpp"
#include "whisk/container/container.hpp"

namespace whisk::container {

using clock = std::chrono::steady_clock;

enum class op_type { start, init, run };

struct pending_op {
  op_type type;
  std::string line;  // what to write on stdin (empty for start)
  std::int64_t timeout_ms;
  std::int64_t log_limit;
  backend::op_done done;
  bool concurrent = false; // an init: the action may run several activations at once
};

// One activation's log lines, cut at its limit.
struct run_logs {
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  bool truncated = false;
  void add(bool is_out, std::string_view text, std::int64_t limit) {
    if (truncated)
      return;
    if (static_cast<std::int64_t>(bytes + text.size()) > limit) {
      truncated = true;
      lines.push_back(format_log_line("stderr", fmt::format("Logs were truncated because the total bytes size exceeds the limit of {} bytes.", limit)));
      return;
    }
    bytes += text.size();
    lines.push_back(format_log_line(is_out ? "stdout" : "stderr", text));
  }
};

// A run of a runtime that runs several side by side (see concurrent_runs.hpp).
struct concurrent_run {
  concurrent_run(const boost::asio::any_io_executor& ex, pending_op o) : op(std::move(o)), timer(ex) {}
  pending_op op;
  clock::time_point start = clock::now();
  boost::asio::steady_timer timer;
  outcome_kind kind = outcome_kind::ok;
  std::string answer;
  bool answered = false, out_done = false, err_done = false;
  run_logs logs;
};

enum class phase { idle, awaiting_answer, draining };

struct proc {
  proc(boost::asio::io_context& io)
      : stdin_w(io), fd3_r(io), out_r(io), err_r(io), out_w(io), err_w(io), pidfd(io), timer(io), exit_poll(io), network(io) {}
  container_id id = 0;
  pid_t pid = -1;
  boost::asio::posix::stream_descriptor stdin_w, fd3_r, out_r, err_r, out_w, err_w, pidfd;
  boost::asio::streambuf fd3_buf{16 << 20}, out_buf{1 << 20}, err_buf{1 << 20};
  boost::asio::steady_timer timer;
  boost::asio::steady_timer exit_poll; // without a pidfd: when to ask waitpid again
  cgroup_leaf leaf;
  std::deque<pending_op> queue;
  std::optional<pending_op> current;
  phase ph = phase::idle;
  clock::time_point op_start;
  outcome_kind result_kind = outcome_kind::ok;
  std::string answer;
  run_logs logs;
  bool out_done = false, err_done = false;
  bool exited = false, dead = false, destroying = false, stopped_by_signal = false;
  int wait_status = 0;
  std::vector<std::function<void()>> on_destroyed;
  network_stack network; // network isolated: the container's slirp4netns
  // runs side by side (nodejs, an action with concurrency > 1), each line tagged with its run
  std::string kind;
  bool concurrent = false;
  std::uint64_t next_run = 1;
  std::map<std::uint64_t, std::unique_ptr<concurrent_run>> runs;
  std::uint64_t continued[2] = {0, 0}; // the run whose overlong stdout / stderr line goes on
  std::uint64_t dropped_lines = 0;     // written outside any activation
  std::deque<std::string> stdin_lines; // run lines waiting for the one write in progress
};

using proc_ptr = std::shared_ptr<proc>;

} // namespace whisk::container
