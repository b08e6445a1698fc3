// whisk-node: the single-node platform. Composition only: parse the configuration, pick
// the container backend, spawn the pool, and serve the REST front until SIGTERM/SIGINT
// (then drain, destroy every container and flush the store).
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app_main.hpp"
#include <csignal>
#include <filesystem>
#include <iostream>

#include "backend_options.hpp"
#include "whisk/actors/container_pool.hpp"
#include "whisk/actors/front.hpp"
#include "whisk/log.hpp"
#include "whisk/policy/stem_cells.hpp"

using namespace whisk;
namespace fs = std::filesystem;

namespace {

struct node_config : caf::actor_system_config {
  front_options front;
  backend_options containers;
  std::int64_t user_memory = 2048;
  std::int64_t max_queue = 1000;
  std::int64_t pause_grace = 50;
  std::int64_t idle_timeout = 600000;
  std::string keep_alive_policy;
  std::string stem_cells = "nodejs:20:256:1";

  node_config() {
    front.add_to(custom_options_);
    containers.add_to(custom_options_);
    opt_group{custom_options_, "global"}
        .add(user_memory, "user-memory", "memory (MB) for all containers of the node (default: 2048)")
        .add(max_queue, "max-queue", "runs that may wait for a container before 429s (default: 1000)")
        .add(pause_grace, "pause-grace", "ms an idle container stays unpaused (default: 50)")
        .add(idle_timeout, "idle-timeout", "ms an idle container lives before it is removed (default: 600000)")
        .add(keep_alive_policy, "keep-alive-policy",
             "how long idle containers stay, what is pre-warmed, what goes first when memory is short: "
             "fixed[:DURATION], never-unload, hybrid, greedy-dual, lru[:DURATION] (default: fixed for --idle-timeout)")
        .add(stem_cells, "stem-cells",
             "prewarmed containers, kind:memoryMB:count separated by commas, or none (default: 'nodejs:20:256:1')");
    whisk::add_message_types(*this);
    // Measured on 2 cores: one worker, and no 50 us sleep-polling phase between aggressive
    // polling and sleeping on a condition variable, serve invokes best (override freely).
    set("scheduler.max-threads", 1);
    set("work-stealing.moderate-poll-attempts", 0);
  }
};

int run_node(caf::actor_system& sys, const node_config& cfg, const sigset_t& signals) {
  apply_log_level(cfg.front.log_level);
  auto stems = cfg.containers.stem_cells(cfg.stem_cells); // with the --runtimes manifest's
  if (!stems) {
    log_error("{}", stems.err().message);
    return 2;
  }
  for (auto problem : {cfg.front.check(), cfg.containers.check()})
    if (!problem.empty()) {
      log_error("invalid option: {} (see --help)", problem);
      return 2;
    }
  if (cfg.user_memory <= 0 || cfg.max_queue < 0) {
    log_error("invalid option: --user-memory must be positive and --max-queue not negative (see --help)");
    return 2;
  }
  auto keep_alive = policy::make_keep_alive_policy(
      cfg.keep_alive_policy.empty() ? fmt::format("fixed:{}ms", cfg.idle_timeout) : cfg.keep_alive_policy);
  if (!keep_alive || cfg.idle_timeout < 0) {
    log_error("invalid option: --keep-alive-policy: {} (see --help)",
              keep_alive ? "--idle-timeout must not be negative" : keep_alive.err().message);
    return 2;
  }
  auto data_dir = fs::absolute(cfg.front.data_dir);
  // One cgroup tree per data directory: a restart finds what a crashed run left behind.
  auto hosted = make_backend(sys, cfg.containers, data_dir.string(), cfg.front.isolate_unsafe);

  pool_config pool_cfg;
  pool_cfg.user_memory_mb = cfg.user_memory;
  pool_cfg.max_queue = cfg.max_queue;
  pool_cfg.queue_budget = std::chrono::milliseconds(cfg.front.queue_budget);
  pool_cfg.stem_cells = *stems;
  pool_cfg.proxy.pause_grace = std::chrono::milliseconds(cfg.pause_grace);
  pool_cfg.proxy.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout);
  pool_cfg.keep_alive = std::move(*keep_alive);
  auto pool = spawn_container_pool(sys, hosted.backend, pool_cfg);

  front_parts parts;
  parts.summary = fmt::format("backend {}, user memory {} MB, keep-alive {}", hosted.backend->name(), cfg.user_memory,
                              pool_cfg.keep_alive->name());
  parts.extra_metrics = hosted.metrics;
  if (hosted.timer)
    parts.stop_others = [h = hosted.timer->handle] { caf::anon_send_exit(h, caf::exit_reason::user_shutdown); };
  auto rc = run_front(sys, cfg.front, std::move(pool), std::move(parts), signals);
  hosted = {}; // kills every runtime process and removes the cgroups
  log_info("whisk-node stopped");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  return app_main<node_config>(argc, argv, "whisk-node", run_node);
}
