#pragma once
// A backend without processes: latencies come from a model, outcomes from directives in
// the action code, completions from the supplied timer (virtual time in tests).
#include <map>
#include <mutex>

#include "whisk/container/container.hpp"

namespace whisk::container {

struct sim_model {
  std::chrono::milliseconds create{50};
  std::chrono::milliseconds init{5};
  std::chrono::milliseconds run{1};
  std::chrono::milliseconds suspend{0};
  std::chrono::milliseconds resume{0};
  std::chrono::milliseconds destroy{1};
};

// Directives recognised in the action code:
//   "sim:init-fail"  init answers an error
//   "sim:timeout"    runs never answer (time out at the limit)
//   "sim:crash"      the runtime exits during a run
//   "sim:oom"        the runtime is killed for memory during a run
//   "sim:system-error" the backend fails the run (a whisk error: counts against an agent's health)
//   "sim:sleep=N"    a run takes N ms instead of the model's run latency
//   "sim:sleep=param" a run takes as long as its parameter "sim_ms" says and answers {} with
//                    no log line (whisk-sim's replays)
//   "sim:fault"      run() throws in its caller (fault injection: the caller's actor dies)
// A run otherwise answers its "value" object.
struct sim_counters {
  int created = 0, inits = 0, runs = 0, suspends = 0, resumes = 0, destroyed = 0, alive = 0, paused = 0;
};

class sim_backend final : public backend {
public:
  sim_backend(sim_model model, timer_fn timer);
  std::string name() const override { return "sim"; }
  void create(const spec& s, create_done done) override;
  void init(container_id id, init_request req, op_done done) override;
  void run(container_id id, run_request req, op_done done) override;
  void suspend(container_id id, flag_done done) override;
  void resume(container_id id, flag_done done) override;
  void destroy(container_id id, std::function<void()> done) override;
  sim_counters counters() const;

private:
  struct sim_container {
    std::string kind;
    std::string code;
    bool paused = false;
    bool dead = false;
  };
  sim_model model_;
  timer_fn timer_;
  mutable std::mutex mx_;
  container_id next_id_ = 1;
  std::map<container_id, sim_container> containers_;
  sim_counters counters_;
};

} // namespace whisk::container
