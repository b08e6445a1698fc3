#pragma once
// Private to the process backend: activations of one runtime run side by side (nodejs, an
// action with concurrency > 1). A run line is "<id> <json>", its answer on fd 3 "<id> <json>";
// the launcher tags each output line with "\x1e<id>\x1f" and ends a run's output with its
// tagged sentinel on stdout and stderr before it answers, so each run gets its own lines.
// Each run has its own time and log limits. A run past its time limit ends the runtime (a
// busy event loop holds every run; none can be preempted alone, as OpenWhisk destroys the
// container); every other run in flight is answered then, with its logs so far. Lines
// without a tag (output of code left running after its activation ended) belong to no
// activation: they are dropped and counted, the first one and the count in the node's log.
#include <functional>
#include <string>
#include <string_view>

#include "proc.hpp"

namespace whisk::container {

class concurrent_runs {
public:
  using stop_fn = std::function<void(const proc_ptr&)>;
  explicit concurrent_runs(stop_fn stop) : stop_(std::move(stop)) {}
  // Writes the run's line and arms its time limit (on the backend's I/O thread, as all below).
  void start(const proc_ptr& p, pending_op op);
  void on_answer(const proc_ptr& p, std::string_view line);
  // `whole`: the line ended with its newline (else the next chunk of that stream goes on with it).
  void on_log_line(const proc_ptr& p, bool is_out, std::string_view line, bool whole);
  // The runtime ended (or is being ended): every run without an answer ends with `kind`.
  void end_unanswered(const proc_ptr& p, outcome_kind kind, const std::string& why);
  // The container is destroyed: every run still in flight fails.
  void fail_all(const proc_ptr& p, const std::string& why);

private:
  void complete(const proc_ptr& p, std::uint64_t id);
  void write_line(const proc_ptr& p, std::string line);
  void write_next(const proc_ptr& p);
  void drop(const proc_ptr& p, std::string_view line);
  stop_fn stop_;
};

} // namespace whisk::container
