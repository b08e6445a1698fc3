// whisk-agent: hosts the containers of one machine for the cluster. Composition only:
// parse the configuration, build the container backend, spawn the agent (which registers
// with the scheduler), publish it for controllers, and serve its operator routes.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app_main.hpp"
#include <csignal>
#include <iostream>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "backend_options.hpp"
#include "whisk/actors/cluster.hpp"
#include "whisk/actors/front.hpp"
#include "whisk/http/server.hpp"
#include "whisk/credentials.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"
#include "whisk/policy/stem_cells.hpp"

using namespace whisk;

namespace {

struct agent_options : caf::actor_system_config {
  std::string scheduler;
  std::string name;
  std::int64_t port = 0;
  std::string host = "127.0.0.1";
  std::string advertise;
  std::int64_t http_port = 0;
  std::string http_host = "127.0.0.1";
  std::string http_token_file;
  std::int64_t user_memory = 2048;
  std::int64_t pause_grace = 50;
  std::int64_t idle_timeout = 600000;
  std::string keep_alive_policy;
  std::string log_level = "info";
  std::string probe_kind = "nodejs:20";
  std::string stem_cells = "nodejs:20:256:1";
  backend_options containers;

  agent_options() {
    opt_group{custom_options_, "global"}
        .add(scheduler, "scheduler", "HOST:PORT of whisk-scheduler (required)")
        .add(name, "name", "the agent's name in the cluster (default: the host name)")
        .add(port, "port", "port controllers connect to (0: any free port)")
        .add(host, "host", "address of that port (default: '127.0.0.1')")
        .add(advertise, "advertise", "address controllers use to reach --port (default: --host)")
        .add(http_port, "http-port", "port of the operator routes /health, /suspend, /resume, /log (0: any free port)")
        .add(http_host, "http-host", "address of the HTTP port (default: '127.0.0.1'; any other needs --http-token-file)")
        .add(http_token_file, "http-token-file",
             "file holding a shared token (16+ characters, first line); the operator routes then need 'Authorization: Bearer TOKEN'")
        .add(user_memory, "user-memory", "memory (MB) for all containers of this agent (default: 2048)")
        .add(pause_grace, "pause-grace", "ms an idle container stays unpaused (default: 50)")
        .add(idle_timeout, "idle-timeout", "ms an idle container lives before it is removed (default: 600000)")
        .add(keep_alive_policy, "keep-alive-policy",
             "how long idle containers stay: fixed[:DURATION], never-unload, hybrid, greedy-dual, lru[:DURATION] "
             "(default: --idle-timeout; pre-warming is not done on agents, and evictions are the scheduler's)")
        .add(log_level, "log-level", "debug, info, warn or error (default: 'info')")
        .add(probe_kind, "probe-kind", "kind of the health test action's container (default: 'nodejs:20')")
        .add(stem_cells, "stem-cells", "prewarmed containers the scheduler hands out, kind:memoryMB:count separated by commas, or none (default: 'nodejs:20:256:1')");
    containers.add_to(custom_options_);
    load<caf::io::middleman>();
    whisk::add_message_types(*this);
    configure_remoting(*this);
    set("scheduler.max-threads", 1);
    set("work-stealing.moderate-poll-attempts", 0); // no 50 us sleep-polling: it adds to every remote hop
  }
};

std::string host_name() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 && buf[0] ? std::string(buf) : std::string("agent");
}

http::response health_of(caf::actor_system& sys, const agent_actor& agent) {
  caf::scoped_actor self{sys};
  http::response out{500, R"({"error":"The agent did not answer."})", "application/json", {}};
  self->request(agent, std::chrono::seconds(2), health_atom::value)
      .receive(
          [&](agent_status& s) {
            json::array containers;
            for (auto& c : s.containers)
              containers.push_back(json::object{{"id", static_cast<std::int64_t>(c.ref.id)},
                                                {"action", c.action_key},
                                                {"kind", c.kind},
                                                {"state", policy::to_string(static_cast<policy::slot_state>(c.state))},
                                                {"memoryMB", c.memory_mb}});
            out = {200,
                   json::dump(json::object{{"name", s.name},
                                           {"containers", std::move(containers)},
                                           {"freeMemoryMB", s.free_memory_mb},
                                           {"totalMemoryMB", s.user_memory_mb}}),
                   "application/json",
                   {}};
          },
          [](caf::error&) {});
  return out;
}

// GET /suspend/{id}, /resume/{id}, /log/{id}: the operator routes of OpenWhisk's agent.
struct operator_request {
  std::string verb;
  std::optional<std::uint64_t> id; // empty: not a container id
};

std::optional<operator_request> operator_route(const http::request& req) {
  for (const char* verb : {"suspend", "resume", "log"}) {
    auto prefix = fmt::format("/{}/", verb);
    if (req.target.rfind(prefix, 0) != 0)
      continue;
    auto rest = req.target.substr(prefix.size());
    operator_request out{verb, std::nullopt};
    if (!rest.empty() && rest.size() <= 19 && rest.find_first_not_of("0123456789") == std::string::npos)
      out.id = std::stoull(rest);
    return out;
  }
  return std::nullopt;
}

http::response operate(caf::actor_system& sys, const agent_actor& agent, const operator_request& op) {
  auto error = [](int status, std::string text) {
    return http::response{status, json::dump(json::object{{"error", std::move(text)}}), "application/json", {}};
  };
  if (!op.id)
    return error(400, "The container id must be a number (see GET /health).");
  caf::scoped_actor self{sys};
  http::response out = error(500, "The agent did not answer.");
  auto failed = [&](caf::error& err) {
    out = err == caf::sec::invalid_argument ? error(404, "No container " + std::to_string(*op.id) + " on this agent.")
                                            : error(500, sys.render(err));
  };
  if (op.verb == "log") {
    self->request(agent, std::chrono::seconds(6), log_atom::value, *op.id)
        .receive(
            [&](std::vector<std::string>& lines) {
              json::array a;
              for (auto& l : lines)
                a.push_back(std::move(l));
              out = {200, json::dump(json::object{{"logs", std::move(a)}}), "application/json", {}};
            },
            failed);
    return out;
  }
  auto done = [&](bool ok) {
    out = ok ? http::response{204, {}, "application/json", {}}
             : error(500, fmt::format("The container could not be {} (it may be busy or gone).",
                                      op.verb == "suspend" ? "suspended" : "resumed"));
  };
  if (op.verb == "suspend")
    self->request(agent, std::chrono::seconds(6), suspend_atom::value, *op.id).receive(done, failed);
  else
    self->request(agent, std::chrono::seconds(6), resume_atom::value, *op.id).receive(done, failed);
  return out;
}

int run(caf::actor_system& sys, const agent_options& o, const sigset_t& signals) {
  apply_log_level(o.log_level);
  agent_config cfg;
  cfg.name = o.name.empty() ? host_name() : o.name;
  if (!parse_endpoint(o.scheduler, cfg.scheduler_host, cfg.scheduler_port)) {
    log_error("invalid option: --scheduler must be HOST:PORT (see --help)");
    return 2;
  }
  if (auto problem = o.containers.check(); !problem.empty()) {
    log_error("invalid option: {} (see --help)", problem);
    return 2;
  }
  if (o.user_memory < 1 || o.port < 0 || o.port > 65535 || o.http_port < 0 || o.http_port > 65535 || cfg.name.size() > 128) {
    log_error("invalid option: check --user-memory, --port, --http-port and --name (see --help)");
    return 2;
  }
  std::string token;
  if (!o.http_token_file.empty()) {
    std::ifstream in(o.http_token_file);
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (!in && token.empty()) {
      log_error("invalid option: --http-token-file {} cannot be read", o.http_token_file);
      return 2;
    }
    if (token.size() < 16) {
      log_error("invalid option: the token in --http-token-file must have at least 16 characters");
      return 2;
    }
  } else if (o.http_host != "127.0.0.1" && o.http_host != "::1" && o.http_host != "localhost") {
    log_error("invalid option: --http-host {} is not a loopback address: give the operator routes a token "
              "(--http-token-file)", o.http_host);
    return 2;
  }
  cfg.user_memory_mb = o.user_memory;
  cfg.probe_kind = o.probe_kind;
  auto stems = o.containers.stem_cells(o.stem_cells); // with the --runtimes manifest's
  if (!stems) {
    log_error("{}", stems.err().message);
    return 2;
  }
  cfg.stem_cells = *stems;
  cfg.proxy.pause_grace = std::chrono::milliseconds(o.pause_grace);
  cfg.proxy.idle_timeout = std::chrono::milliseconds(o.idle_timeout);
  if (!o.keep_alive_policy.empty()) {
    auto keep_alive = policy::make_keep_alive_policy(o.keep_alive_policy);
    if (!keep_alive) {
      log_error("invalid option: --keep-alive-policy: {} (see --help)", keep_alive.err().message);
      return 2;
    }
    cfg.keep_alive = std::move(*keep_alive);
  }
  auto hosted = make_backend(sys, o.containers, "agent-" + cfg.name, false);

  // The port first: the agent tells the scheduler where controllers reach it. What is
  // published there accepts nothing: controllers only need the connection (and its end).
  // (the int argument: see make_actor_timer)
  auto doorway = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  auto port = sys.middleman().publish(doorway, static_cast<std::uint16_t>(o.port), o.host.c_str(), true);
  int rc = 0;
  if (!port) {
    log_error("cannot listen on {}:{}: {}", o.host, o.port, sys.render(port.error()));
    rc = 1;
  }
  agent_actor agent;
  struct {
    std::mutex mx;
    agent_actor handle;
  } current; // what HTTP threads read (set once the agent runs)
  http::server_config hc;
  hc.address = o.http_host;
  hc.port = static_cast<std::uint16_t>(o.http_port);
  http::server server{hc, [&sys, &current, &token](http::request req, http::responder respond) {
                        if (!token.empty() && !equal_secrets(req.authorization, "Bearer " + token)) {
                          respond({401, R"({"error":"The operator routes need 'Authorization: Bearer' with the agent's token."})",
                                   "application/json", {}});
                          return;
                        }
                        agent_actor a;
                        {
                          std::lock_guard guard{current.mx};
                          a = current.handle;
                        }
                        if (!a)
                          respond({503, R"({"error":"The agent is starting or stopping."})", "application/json", {}});
                        else if (req.method == "GET" && req.target == "/health")
                          respond(health_of(sys, a));
                        else if (auto op = operator_route(req); req.method == "GET" && op)
                          respond(operate(sys, a, *op));
                        else
                          respond({404, R"({"error":"The requested resource does not exist."})", "application/json", {}});
                      }};
  auto http_port = rc == 0 ? server.start() : expected<std::uint16_t>(std::uint16_t{0});
  if (rc == 0 && !http_port) {
    log_error("{}", http_port.err().message);
    rc = 1;
  }
  if (rc == 0) {
    cfg.host = o.advertise.empty() ? o.host : o.advertise;
    cfg.port = *port;
    cfg.address = o.http_host + ":" + std::to_string(*http_port);
    agent = spawn_agent(sys, hosted.backend, cfg);
    {
      std::lock_guard guard{current.mx};
      current.handle = agent;
    }
    log_info("whisk-agent {} listening on {}:{} (http http://{}:{}, backend {}, user memory {} MB, scheduler {})", cfg.name,
             o.host, *port, o.http_host, *http_port, hosted.backend->name(), o.user_memory, o.scheduler);
    int sig = 0;
    sigwait(&signals, &sig);
    log_info("received {}: stopping (its containers are destroyed)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  {
    std::lock_guard guard{current.mx};
    current.handle = nullptr;
  }
  server.stop();
  caf::anon_send_exit(doorway, caf::exit_reason::user_shutdown);
  if (agent)
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
  if (hosted.timer)
    caf::anon_send_exit(hosted.timer->handle, caf::exit_reason::user_shutdown);
  agent = nullptr;
  sys.await_all_actors_done();
  hosted = {};
  log_info("whisk-agent stopped");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  return app_main<agent_options>(argc, argv, "whisk-agent", run);
}
