// whisk-scheduler: the cluster's fleet view and allocation policy. Composition only: parse
// the configuration, spawn the scheduler, publish it for agents and controllers, and serve
// GET /agents and GET /metrics to operators until SIGTERM/SIGINT.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app_main.hpp"
#include <csignal>
#include <iostream>
#include <mutex>

#include "whisk/actors/cluster.hpp"
#include "whisk/actors/front.hpp"
#include "whisk/http/server.hpp"
#include "whisk/log.hpp"

using namespace whisk;

namespace {

struct scheduler_options : caf::actor_system_config {
  std::int64_t port = 0;
  std::string host = "127.0.0.1";
  std::int64_t http_port = 0;
  std::string http_host = "127.0.0.1";
  std::string policy = "most-free-memory";
  std::int64_t heartbeat_timeout = 1500;
  std::int64_t probe_interval = 1000;
  std::string log_level = "info";

  scheduler_options() {
    opt_group{custom_options_, "global"}
        .add(port, "port", "port agents and controllers connect to (0: any free port; the start line says which)")
        .add(host, "host", "address of that port (default: '127.0.0.1')")
        .add(http_port, "http-port", "port of GET /agents and GET /metrics (0: any free port)")
        .add(http_host, "http-host", "address of the HTTP port (default: '127.0.0.1')")
        .add(policy, "policy", "where new containers go: most-free-memory or home-hash (default: 'most-free-memory')")
        .add(heartbeat_timeout, "heartbeat-timeout", "ms without an agent's heartbeat before it is offline (default: 1500)")
        .add(probe_interval, "probe-interval", "ms between health test actions on an unhealthy or unresponsive agent (default: 1000)")
        .add(log_level, "log-level", "debug, info, warn or error (default: 'info')");
    load<caf::io::middleman>();
    whisk::add_message_types(*this);
    configure_remoting(*this);
    set("scheduler.max-threads", 1);
    set("work-stealing.moderate-poll-attempts", 0); // no 50 us sleep-polling: it adds to every remote hop
  }
};

// The latest fleet snapshot, written by the scheduler's thread and read by HTTP threads.
class snapshot_board {
public:
  void put(fleet_snapshot s) {
    std::lock_guard guard{mx_};
    snap_ = std::move(s);
  }
  fleet_snapshot get() const {
    std::lock_guard guard{mx_};
    return snap_;
  }

private:
  mutable std::mutex mx_;
  fleet_snapshot snap_{"[]", {}};
};

int run(caf::actor_system& sys, const scheduler_options& o, const sigset_t& signals) {
  apply_log_level(o.log_level);
  scheduler_config cfg;
  if (!policy::parse_agent_choice(o.policy, cfg.choice) || o.port < 0 || o.port > 65535 || o.http_port < 0 ||
      o.http_port > 65535 || o.heartbeat_timeout < 100 || o.probe_interval < 100) {
    log_error("invalid option: check --policy, --port, --http-port, --heartbeat-timeout and --probe-interval (at least 100) (see --help)");
    return 2;
  }
  cfg.heartbeat_timeout = std::chrono::milliseconds(o.heartbeat_timeout);
  cfg.probe_interval = std::chrono::milliseconds(o.probe_interval);
  auto board = std::make_shared<snapshot_board>();
  cfg.publish = [board](fleet_snapshot s) { board->put(std::move(s)); };
  auto sched = spawn_scheduler(sys, cfg);
  auto port = sys.middleman().publish(sched, static_cast<std::uint16_t>(o.port), o.host.c_str(), true);
  if (!port) {
    log_error("cannot listen on {}:{}: {}", o.host, o.port, sys.render(port.error()));
    caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
    return 1;
  }
  http::server_config hc;
  hc.address = o.http_host;
  hc.port = static_cast<std::uint16_t>(o.http_port);
  http::server server{hc, [board](http::request req, http::responder respond) {
                        if (req.method != "GET") {
                          respond({405, R"({"error":"Only GET is served here."})", "application/json", {}});
                        } else if (req.target == "/agents") {
                          respond({200, board->get().agents_json, "application/json", {}});
                        } else if (req.target == "/metrics") {
                          respond({200, metrics::render(board->get().metrics), "text/plain; version=0.0.4", {}});
                        } else {
                          respond({404, R"({"error":"The requested resource does not exist."})", "application/json", {}});
                        }
                      }};
  auto http_port = server.start();
  int rc = 0;
  if (!http_port) {
    log_error("{}", http_port.err().message);
    rc = 1;
  } else {
    log_info("whisk-scheduler listening on {}:{} (http http://{}:{}, policy {})", o.host, *port, o.http_host, *http_port,
             policy::to_string(cfg.choice));
    int sig = 0;
    sigwait(&signals, &sig);
    log_info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
  sched = nullptr;
  sys.await_all_actors_done();
  server.stop();
  log_info("whisk-scheduler stopped");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  return app_main<scheduler_options>(argc, argv, "whisk-scheduler", run);
}
