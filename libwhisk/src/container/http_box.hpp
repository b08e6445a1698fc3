#pragma once
// Private to the http backend: one runtime container and the operation in progress on it,
// touched only on the backend's I/O thread.
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "network_stack.hpp"
#include "runtime_exchange.hpp"
#include "whisk/container/cgroup.hpp"
#include "whisk/container/container.hpp"
#include "whisk/container/runtime_manifest.hpp"

// (a namespace of its own: the process backend has an op_type and a phase of its own too)
namespace whisk::container::http_detail {

enum class op_type { start, init, run };

struct http_op {
  op_type type;
  std::string body; // the JSON posted (empty for start)
  std::int64_t timeout_ms;
  std::int64_t log_limit;
  backend::op_done done;
};

// awaiting: the request is out (or, for start, the port is polled); draining: the answer is
// in, the activation's logs are being cut.
enum class phase { idle, awaiting, draining };

struct runtime_box {
  explicit runtime_box(boost::asio::io_context& io)
      : out_r(io), err_r(io), out_w(io), err_w(io), pidfd(io), timer(io), log_timer(io), exit_poll(io), network(io) {}
  container_id id = 0;
  const manifest_runtime* rt = nullptr;
  pid_t pid = -1;
  int netns = -1, stdin_w = -1; // stdin stays open: a runtime reading it must not see its end
  boost::asio::posix::stream_descriptor out_r, err_r, out_w, err_w, pidfd;
  boost::asio::streambuf out_buf{1 << 20}, err_buf{1 << 20};
  boost::asio::steady_timer timer, log_timer, exit_poll;
  cgroup_leaf leaf;
  network_stack network;
  std::deque<http_op> queue;
  std::optional<http_op> current;
  std::uint64_t generation = 0; // of the current operation: late callbacks of an earlier one are ignored
  std::shared_ptr<runtime_exchange> ex; // the request in flight
  phase ph = phase::idle;
  std::chrono::steady_clock::time_point op_start;
  outcome_kind result_kind = outcome_kind::ok;
  std::string answer;
  std::vector<std::string> logs, carry;   // carry: lines after a stream's sentinel (the next activation's)
  std::size_t log_bytes = 0;
  bool truncated = false, out_done = false, err_done = false;
  int out_owed = 0, err_owed = 0;          // sentinels given up on (they may still arrive)
  bool exited = false, dead = false, destroying = false, stopped_by_signal = false;
  int wait_status = 0;
  std::vector<std::function<void()>> on_destroyed;
};

using box_ptr = std::shared_ptr<runtime_box>;

} // namespace whisk::container::http_detail
