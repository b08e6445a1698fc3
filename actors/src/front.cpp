// The REST front: store, HTTP server and controller over a pool, and the orderly stop.
#include "whisk/actors/front.hpp"

#include <filesystem>

#include "whisk/actors/controller.hpp"
#include "whisk/api/authenticator.hpp"
#include "whisk/credentials.hpp"
#include "whisk/log.hpp"
#include "whisk/store/store.hpp"

namespace whisk {

namespace fs = std::filesystem;

void front_options::add_to(caf::config_option_set& options) {
  caf::config_option_adder{options, "global"}
      .add(port, "port", with_default("HTTP port of the REST API (0: any free port)", port))
      .add(host, "host", with_default("address the REST API listens on", host))
      .add(data_dir, "data-dir", with_default("directory of the store (whisk.db), the node secret and wskprops", data_dir))
      .add(store, "store",
           "a PostgreSQL database instead of SQLite in --data-dir: postgresql://USER@HOST:PORT/DB or "
           "postgresql:///DB?host=/socket/dir (controllers sharing it need the same node-secret)")
      .add(queue_budget, "queue-budget", with_default("ms an invoke may wait (for the controller, then for a container) before it is refused with 429", queue_budget))
      .add(http_threads, "http-threads", with_default("threads serving HTTP", http_threads))
      .add(max_connections, "max-connections", with_default("open HTTP connections at most; more are answered 503", max_connections))
      .add(max_in_flight, "max-in-flight", with_default("activations accepted and not ended at most; more get 429", max_in_flight))
      .add(store_queue, "store-queue", with_default("activation records waiting to be written at most; beyond it invokes get 503", store_queue))
      .add(max_body, "max-body", with_default("largest request body (MB); larger ones get 413", max_body))
      .add(drain_timeout, "drain-timeout", with_default("ms to let in-flight activations finish at shutdown", drain_timeout))
      .add(blocking_wait, "blocking-wait", with_default("ms a blocking invoke waits before answering 202", blocking_wait))
      .add(log_level, "log-level", with_default("debug, info, warn or error", log_level))
      .add(isolate_unsafe, "isolate-unsafe", with_default("allow isolate-mode \"unsafe\" (one shared context per worker; for measurements)", isolate_unsafe))
      .add(limit_concurrent, "limit-concurrent",
           with_default("activations in flight per namespace at most (0: no limit); whisk-admin limits set overrides it per namespace", limit_concurrent))
      .add(limit_per_minute, "limit-per-minute", with_default("invocations per minute per namespace at most, counted per controller (0: no limit)", limit_per_minute))
      .add(limit_fires_per_minute, "limit-fires-per-minute", with_default("trigger fires per minute per namespace at most, counted per controller (0: no limit)", limit_fires_per_minute));
}

std::string front_options::check() const {
  if (port < 0 || port > 65535)
    return "--port must be 0..65535";
  if (limit_concurrent < 0 || limit_per_minute < 0 || limit_fires_per_minute < 0)
    return "--limit-concurrent, --limit-per-minute and --limit-fires-per-minute must be 0 (no limit) or more";
  if (max_connections < 1 || max_in_flight < 1 || max_body < 1 || queue_budget < 1 || store_queue < 1)
    return "--max-connections, --max-in-flight, --store-queue, --max-body and --queue-budget must be at least 1";
  if (log_level != "debug" && log_level != "info" && log_level != "warn" && log_level != "error")
    return "--log-level must be debug, info, warn or error";
  return {};
}

void apply_log_level(const std::string& level) {
  if (level == "debug") set_log_level(log_level::debug);
  else if (level == "warn") set_log_level(log_level::warn);
  else if (level == "error") set_log_level(log_level::error);
}

int run_front(caf::actor_system& sys, const front_options& o, pool_actor pool, front_parts parts, const sigset_t& signals) {
  auto stop_pool = [&] {
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    pool = nullptr;
  };
  auto data_dir = fs::absolute(o.data_dir);
  auto private_dir = make_private_dir(data_dir);
  auto keys = private_dir ? load_node_secret(data_dir / "node-secret") : expected<key_hasher>(private_dir.err());
  if (!keys) {
    log_error("{}", keys.err().message);
    stop_pool();
    if (parts.stop_others)
      parts.stop_others();
    return 1;
  }
  auto db = open_store(o.store, data_dir, *keys);
  if (!db) {
    log_error("{}", db.err().message);
    stop_pool();
    if (parts.stop_others)
      parts.stop_others();
    return 1;
  }
  if (auto n = (*db)->recover_accepted(parts.owner); !n) {
    log_error("{}", n.err().message);
    stop_pool();
    if (parts.stop_others)
      parts.stop_others();
    return 1;
  } else if (*n > 0) {
    log_warn("{} activation(s) accepted before the last stop never ended: recorded as whisk errors", *n);
  }

  controller_config ctl_cfg;
  ctl_cfg.rest.max_blocking_wait_ms = o.blocking_wait;
  ctl_cfg.rest.allow_unsafe_isolates = o.isolate_unsafe;
  ctl_cfg.rest.default_limits = {o.limit_concurrent, o.limit_per_minute, o.limit_fires_per_minute};
  ctl_cfg.rest.keys = *keys;
  ctl_cfg.role = parts.role;
  http::server_config http_cfg;
  http_cfg.address = o.host;
  http_cfg.port = static_cast<std::uint16_t>(o.port);
  http_cfg.threads = static_cast<int>(std::max<std::int64_t>(1, o.http_threads));
  http_cfg.body_limit = static_cast<std::size_t>(o.max_body) << 20;
  http_cfg.max_connections = static_cast<std::size_t>(o.max_connections);
  ctl_cfg.max_in_flight = o.max_in_flight;
  ctl_cfg.max_pending_records = o.store_queue;
  ctl_cfg.queue_budget = std::chrono::milliseconds(o.queue_budget);
  controller_actor controller;
  controller_gate gate{parts.role};
  // GET /metrics needs a valid key of any namespace (it has no per-namespace figures); the
  // controller answers it before the REST layer's auth, so it is checked here.
  api::authenticator metrics_auth{**db, *keys, ctl_cfg.rest.auth_recheck_ms};
  http::server server{http_cfg, [&gate, &metrics_auth](http::request req, http::responder respond) {
                        if (api::is_metrics_request(req.method, req.target)) {
                          bool unavailable = false;
                          if (!metrics_auth.authenticate(req.authorization, &unavailable)) {
                            // (a key that cannot be checked while the store is down: 503, not 401)
                            respond(unavailable ? api::rest_api::error(503, "The store is not available right now: the key cannot be checked.")
                                                : api::rest_api::error(401, "The supplied authentication is invalid."));
                            return;
                          }
                        }
                        gate.forward(std::move(req), std::move(respond));
                      }};
  ctl_cfg.extra_metrics = [&server, more = std::move(parts.extra_metrics)](std::vector<metrics::sample>& out) {
    auto h = server.stats();
    out.push_back({"http_connections", "Open HTTP connections", metrics::kind::gauge, static_cast<double>(h.open_connections), {}});
    out.push_back({"http_connections_refused_total", "Connections answered 503 over --max-connections",
                   metrics::kind::counter, static_cast<double>(h.refused_connections), {}});
    if (more)
      more(out);
  };
  auto port = server.start();
  int rc = 0;
  if (!port) {
    log_error("{}", port.err().message);
    rc = 1;
  } else if (auto guest = bootstrap_guest(**db, *keys, data_dir / "wskprops", "http://127.0.0.1:" + std::to_string(*port));
             !guest) {
    log_error("{}", guest.err().message);
    rc = 1;
  } else {
    if (guest->new_key && !guest->created)
      log_warn("issued a new key for namespace '{}': it is in {} (the store keeps only its hash)", guest->name,
               (data_dir / "wskprops").string());
    ctl_cfg.rest.api_host = "http://127.0.0.1:" + std::to_string(*port);
    auto handles = spawn_controller(sys, **db, pool, ctl_cfg);
    controller = handles.controller;
    gate.open(handles);
    log_info("{} listening on http://{}:{} ({}data dir {})", parts.role, o.host, *port,
             parts.summary.empty() ? "" : parts.summary + ", ", data_dir.string());
    if (guest->name.empty())
      log_info("no namespace 'guest' in the store: {} is not written", (data_dir / "wskprops").string());
    else
      log_info("credentials for namespace '{}' are in {}", guest->name, (data_dir / "wskprops").string());
    int sig = 0;
    sigwait(&signals, &sig);
    log_info("received {}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    caf::scoped_actor self{sys};
    auto limit = caf::timespan{std::chrono::milliseconds(o.drain_timeout)};
    self->request(controller, limit + std::chrono::seconds(5), drain_atom::value, limit)
        .receive([](std::int64_t ended) { if (ended > 0) log_warn("ended {} unfinished activation(s) with a whisk error", ended); },
                 [](caf::error&) { log_warn("drain did not answer in time"); });
    gate.close(); // from here on requests are answered 503
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
  }
  stop_pool();
  controller = nullptr;
  if (parts.stop_others)
    parts.stop_others();
  sys.await_all_actors_done();
  // answers wait for their records: commit them while the server still sends (bounded: a
  // failing store must not hold the stop; its destructor makes a last try and reports)
  if (!(*db)->flush(std::chrono::milliseconds(o.drain_timeout))) {
    log_error("{} activation record(s) are not written yet: {}", (*db)->pending_writes(), (*db)->write_failure());
    rc = 1; // the exit status says that records may be lost (the store's last try is logged)
  }
  server.stop();
  return rc;
}

} // namespace whisk
