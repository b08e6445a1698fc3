#pragma once
// Private to the process backend: the state of one runtime process, touched only on the
// backend's I/O thread.
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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
  std::vector<std::string> logs;
  std::size_t log_bytes = 0;
  bool truncated = false, out_done = false, err_done = false;
  bool exited = false, dead = false, destroying = false, stopped_by_signal = false;
  int wait_status = 0;
  std::vector<std::function<void()>> on_destroyed;
  network_stack network; // network isolated: the container's slirp4netns
};

using proc_ptr = std::shared_ptr<proc>;

} // namespace whisk::container
