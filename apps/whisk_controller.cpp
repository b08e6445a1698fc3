// whisk-controller: the REST front of a cluster. Composition only: the same front as
// whisk-node (store, HTTP, controller) over a balancer that leases containers from
// whisk-scheduler and sends runs straight to their agents.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app_main.hpp"
#include <csignal>
#include <iostream>

#include "whisk/actors/cluster.hpp"
#include "whisk/actors/front.hpp"
#include "whisk/container/runtime_manifest.hpp"
#include "whisk/log.hpp"

using namespace whisk;

namespace {

struct controller_options : caf::actor_system_config {
  front_options front;
  std::string scheduler;
  std::string name = "controller";
  std::int64_t requisition_wait = 10000;
  std::int64_t lease_idle = 500;
  std::int64_t lease_grace = 2000;
  std::int64_t max_queue = 1000;
  std::string runtimes;

  controller_options() {
    front.add_to(custom_options_);
    opt_group{custom_options_, "global"}
        .add(scheduler, "scheduler", "HOST:PORT of whisk-scheduler (required)")
        .add(name, "name",
             "the controller's name: unique among connected controllers; controllers sharing a data dir recover only "
             "their own accepted activations by it (default: 'controller')")
        .add(requisition_wait, "requisition-wait", "ms a run may wait for a container before 429 (default: 10000)")
        .add(lease_idle, "lease-idle", "ms a lease is idle before the scheduler hears it is free (default: 500)")
        .add(lease_grace, "lease-grace", "ms a lease is idle before it is given back to the scheduler (default: 2000)")
        .add(max_queue, "max-queue", "runs that may wait for containers before 429s (default: 1000)")
        .add(runtimes, "runtimes", "the agents' runtime manifest (JSON): its kinds are accepted for actions here too");
    load<caf::io::middleman>();
    whisk::add_message_types(*this);
    configure_remoting(*this);
    set("scheduler.max-threads", 1);
    set("work-stealing.moderate-poll-attempts", 0);
  }
};

int run(caf::actor_system& sys, const controller_options& o, const sigset_t& signals) {
  apply_log_level(o.front.log_level);
  balancer_config cfg;
  if (!parse_endpoint(o.scheduler, cfg.scheduler_host, cfg.scheduler_port)) {
    log_error("invalid option: --scheduler must be HOST:PORT (see --help)");
    return 2;
  }
  if (auto problem = o.front.check(); !problem.empty()) {
    log_error("invalid option: {} (see --help)", problem);
    return 2;
  }
  if (o.name.empty() || o.name.size() > 128 || o.requisition_wait < 1 || o.lease_idle < 1 || o.lease_grace < 1 ||
      o.max_queue < 0) {
    log_error("invalid option: check --name, --requisition-wait, --lease-idle, --lease-grace and --max-queue (see --help)");
    return 2;
  }
  if (!o.runtimes.empty()) { // the kinds only: the agents run them
    auto m = container::load_runtime_manifest(o.runtimes);
    if (!m) {
      log_error("invalid option: --runtimes: {}", m.err().message);
      return 2;
    }
    if (auto ok = container::register_manifest_kinds(*m); !ok) {
      log_error("invalid option: --runtimes: {}", ok.err().message);
      return 2;
    }
  }
  cfg.name = o.name;
  cfg.requisition_wait = std::chrono::milliseconds(o.requisition_wait);
  cfg.lease_idle = std::chrono::milliseconds(o.lease_idle);
  cfg.lease_grace = std::chrono::milliseconds(o.lease_grace);
  cfg.max_queue = o.max_queue;
  auto balancer = spawn_balancer(sys, cfg);
  front_parts parts;
  parts.role = "whisk-controller";
  parts.owner = o.name;
  parts.summary = "controller " + o.name + ", scheduler " + o.scheduler;
  auto rc = run_front(sys, o.front, std::move(balancer), std::move(parts), signals);
  log_info("whisk-controller stopped");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  return app_main<controller_options>(argc, argv, "whisk-controller", run);
}
