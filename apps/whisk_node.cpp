// whisk-node: the single-node platform. Composition only: parse the configuration, open
// the store, pick the container backend, spawn pool and controller, serve HTTP, and on
// SIGTERM/SIGINT drain, destroy every container and flush the store.
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/actors/container_pool.hpp"
#include "whisk/actors/controller.hpp"
#include "whisk/api/authenticator.hpp"
#include "whisk/container/process_backend.hpp"
#include "whisk/container/routing_backend.hpp"
#ifdef WHISK_HAS_V8
#include "whisk/isolate/isolate_backend.hpp"
#endif
#include "whisk/container/sim_backend.hpp"
#include "whisk/credentials.hpp"
#include "whisk/log.hpp"
#include "whisk/policy/stem_cells.hpp"
#include "whisk/store/store.hpp"

using namespace whisk;
namespace fs = std::filesystem;

namespace {

struct node_config : caf::actor_system_config {
  std::int64_t port = 3233;
  std::string host = "127.0.0.1";
  std::string data_dir = "whisk-data";
  std::string backend = "process";
  std::string network = "isolated";
  std::int64_t user_memory = 2048;
  std::int64_t max_queue = 1000;
  std::int64_t queue_budget = 100;
  std::int64_t pause_grace = 50;
  std::int64_t idle_timeout = 600000;
  std::string stem_cells = "nodejs:20:256:1";
  std::int64_t http_threads = 1;
  std::int64_t max_connections = 1024;
  std::int64_t max_in_flight = 10000;
  std::int64_t store_queue = 100000;
  std::int64_t max_body = 50;
  std::int64_t drain_timeout = 10000;
  std::int64_t blocking_wait = 60000;
  std::string log_level = "info";
  std::int64_t isolate_workers = 0;
  std::int64_t isolate_cache = 64;
  std::int64_t isolate_cache_mb = 512;
  bool isolate_unsafe = false;

  template <class T>
  static std::string with_default(const char* text, const T& value) {
    if constexpr (std::is_same_v<T, std::string>)
      return fmt::format("{} (default: '{}')", text, value);
    else
      return fmt::format("{} (default: {})", text, value);
  }

  node_config() {
    opt_group{custom_options_, "global"}
        .add(port, "port", with_default("HTTP port of the REST API (0: any free port)", port))
        .add(host, "host", with_default("address the REST API listens on", host))
        .add(data_dir, "data-dir", with_default("directory of the store (whisk.db) and of wskprops", data_dir))
        .add(backend, "backend", with_default("container backend: process (runtime processes) or sim (simulated)", backend))
        .add(network, "network",
             with_default("network of action containers: isolated (own namespace, outbound through slirp4netns, no host "
                          "loopback), none (loopback only) or host (the host's network, loopback services included)",
                          network))
        .add(user_memory, "user-memory", with_default("memory (MB) for all containers of the node", user_memory))
        .add(max_queue, "max-queue", with_default("runs that may wait for a container before 429s", max_queue))
        .add(queue_budget, "queue-budget", with_default("ms an invoke may wait (for the controller, then for a container) before it is refused with 429", queue_budget))
        .add(pause_grace, "pause-grace", with_default("ms an idle container stays unpaused", pause_grace))
        .add(idle_timeout, "idle-timeout", with_default("ms an idle container lives before it is removed", idle_timeout))
        .add(stem_cells, "stem-cells", with_default("prewarmed containers, kind:memoryMB:count separated by commas, or none", stem_cells))
        .add(http_threads, "http-threads", with_default("threads serving HTTP", http_threads))
        .add(max_connections, "max-connections", with_default("open HTTP connections at most; more are answered 503", max_connections))
        .add(max_in_flight, "max-in-flight", with_default("activations accepted and not ended at most; more get 429", max_in_flight))
        .add(store_queue, "store-queue", with_default("activation records waiting to be written at most; beyond it invokes get 503", store_queue))
        .add(max_body, "max-body", with_default("largest request body (MB); larger ones get 413", max_body))
        .add(drain_timeout, "drain-timeout", with_default("ms to let in-flight activations finish at shutdown", drain_timeout))
        .add(blocking_wait, "blocking-wait", with_default("ms a blocking invoke waits before answering 202", blocking_wait))
        .add(log_level, "log-level", with_default("debug, info, warn or error", log_level))
        .add(isolate_workers, "isolate-workers", with_default("threads running js:isolate actions (0: one per core)", isolate_workers))
        .add(isolate_cache, "isolate-cache", with_default("compiled isolates kept for reuse, all workers together", isolate_cache))
        .add(isolate_cache_mb, "isolate-cache-mb", with_default("heap (MB) of the kept isolates, all workers together", isolate_cache_mb))
        .add(isolate_unsafe, "isolate-unsafe", with_default("allow isolate-mode \"unsafe\" (one shared context per worker; for measurements)", isolate_unsafe));
    whisk::add_message_types(*this);
    // Measured on 2 cores: one worker, and no 50 us sleep-polling phase between aggressive
    // polling and sleeping on a condition variable, serve invokes best (override freely).
    set("scheduler.max-threads", 1);
    set("work-stealing.moderate-poll-attempts", 0);
  }
};

#ifdef WHISK_HAS_V8
void add_isolate_metrics(const isolate::isolate_backend& b, std::vector<metrics::sample>& out) {
  using metrics::kind;
  auto s = b.stats();
  auto add = [&](const char* name, const char* help, kind k, std::int64_t v) {
    out.push_back({name, help, k, static_cast<double>(v), {}});
  };
  add("isolate_workers", "Threads running js:isolate actions", kind::gauge, s.workers);
  add("isolate_cached", "Compiled isolates kept for reuse", kind::gauge, s.cached_isolates);
  add("isolate_cached_heap_bytes", "Heap held by the kept isolates", kind::gauge, s.cached_heap_bytes);
  add("isolate_cache_limit", "Bound on kept isolates", kind::gauge, b.config().cache_isolates);
  add("isolate_cache_limit_bytes", "Bound on the heap of kept isolates", kind::gauge, b.config().cache_mb << 20);
  add("isolate_cache_hits_total", "Calls that found their compiled isolate", kind::counter, s.cache_hits);
  add("isolate_cache_misses_total", "Isolates created and compiled for the cache", kind::counter, s.cache_misses);
  add("isolate_cache_evictions_total", "Kept isolates evicted, least recently used first", kind::counter, s.cache_evictions);
  add("isolate_calls_total", "Calls into isolates", kind::counter, s.calls);
  add("isolate_fresh_total", "Isolates made for one call (fresh mode)", kind::counter, s.fresh_isolates);
  add("isolate_unsafe_contexts", "Shared contexts (unsafe mode)", kind::gauge, s.unsafe_contexts);
  add("isolate_timeouts_total", "Calls ended at their time limit", kind::counter, s.timeouts);
  add("isolate_out_of_memory_total", "Calls ended at their heap limit", kind::counter, s.out_of_memory);
  add("isolate_collections_total", "Full garbage collections of cached isolates", kind::counter, s.collections);
  add("isolate_queued", "Calls waiting for a worker", kind::gauge, s.queued);
}
#endif

int run_node(caf::actor_system& sys, const node_config& cfg, const sigset_t& signals) {
  if (cfg.log_level == "debug") set_log_level(log_level::debug);
  else if (cfg.log_level == "warn") set_log_level(log_level::warn);
  else if (cfg.log_level == "error") set_log_level(log_level::error);
  auto stems = policy::parse_stem_cells(cfg.stem_cells);
  if (!stems) {
    log_error("{}", stems.err().message);
    return 2;
  }
  if (cfg.port < 0 || cfg.port > 65535 || (cfg.backend != "process" && cfg.backend != "sim") ||
      !container::parse_network_mode(cfg.network) || cfg.user_memory <= 0 || cfg.max_queue < 0) {
    log_error("invalid option: check --port, --backend, --network, --user-memory and --max-queue (see --help)");
    return 2;
  }
  if (cfg.max_connections < 1 || cfg.max_in_flight < 1 || cfg.max_body < 1 || cfg.queue_budget < 1 || cfg.store_queue < 1) {
    log_error("invalid option: --max-connections, --max-in-flight, --store-queue, --max-body and --queue-budget must be at least 1");
    return 2;
  }
  if (cfg.isolate_workers < 0 || cfg.isolate_workers > 256 || cfg.isolate_cache < 1 || cfg.isolate_cache_mb < 16) {
    log_error("invalid option: --isolate-workers must be 0..256, --isolate-cache at least 1, --isolate-cache-mb at least 16");
    return 2;
  }
  auto data_dir = fs::absolute(cfg.data_dir);
  auto private_dir = make_private_dir(data_dir);
  if (!private_dir) {
    log_error("{}", private_dir.err().message);
    return 1;
  }
  auto keys = load_node_secret(data_dir / "node-secret");
  if (!keys) {
    log_error("{}", keys.err().message);
    return 1;
  }
  auto db = open_sqlite_store((data_dir / "whisk.db").string(), &*keys);
  if (!db) {
    log_error("{}", db.err().message);
    return 1;
  }

  if (auto n = (*db)->recover_accepted(); !n) {
    log_error("{}", n.err().message);
    return 1;
  } else if (*n > 0) {
    log_warn("{} activation(s) accepted before the last stop never ended: recorded as whisk errors", *n);
  }

  std::shared_ptr<container::backend> backend;
  std::optional<actor_timer> timer;
#ifdef WHISK_HAS_V8
  std::shared_ptr<isolate::isolate_backend> isolates;
#endif
  if (cfg.backend == "sim") {
    timer = make_actor_timer(sys);
    backend = std::make_shared<container::sim_backend>(container::sim_model{}, timer->fn);
  } else {
    container::process_config pc;
    // One cgroup tree per data directory: a restart finds what a crashed run left behind.
    pc.tree_name = "whisk-" + std::to_string(std::hash<std::string>{}(data_dir.string()) % 1000000007);
    pc.network = *container::parse_network_mode(cfg.network);
    backend = std::make_shared<container::process_backend>(pc);
#ifdef WHISK_HAS_V8
    // js:isolate actions run in V8 isolates inside this process; the rest in runtime processes
    isolate::isolate_config ic;
    ic.workers = static_cast<int>(cfg.isolate_workers);
    ic.cache_isolates = cfg.isolate_cache;
    ic.cache_mb = cfg.isolate_cache_mb;
    ic.allow_unsafe = cfg.isolate_unsafe;
    isolates = std::make_shared<isolate::isolate_backend>(ic);
    backend = std::make_shared<container::routing_backend>(
        std::map<std::string, std::shared_ptr<container::backend>>{{"js:isolate", isolates}}, backend);
#endif
  }

  pool_config pool_cfg;
  pool_cfg.user_memory_mb = cfg.user_memory;
  pool_cfg.max_queue = cfg.max_queue;
  pool_cfg.queue_budget = std::chrono::milliseconds(cfg.queue_budget);
  pool_cfg.stem_cells = *stems;
  pool_cfg.proxy.pause_grace = std::chrono::milliseconds(cfg.pause_grace);
  pool_cfg.proxy.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout);
  auto pool = spawn_container_pool(sys, backend, pool_cfg);

  controller_config ctl_cfg;
  ctl_cfg.rest.max_blocking_wait_ms = cfg.blocking_wait;
  ctl_cfg.rest.allow_unsafe_isolates = cfg.isolate_unsafe;
  ctl_cfg.rest.keys = *keys;
#ifdef WHISK_HAS_V8
  if (isolates)
    ctl_cfg.extra_metrics = [isolates](std::vector<metrics::sample>& out) { add_isolate_metrics(*isolates, out); };
#endif
  // The port is known after binding; the controller learns the API host from a placeholder fixed below.
  http::server_config http_cfg;
  http_cfg.address = cfg.host;
  http_cfg.port = static_cast<std::uint16_t>(cfg.port);
  http_cfg.threads = static_cast<int>(std::max<std::int64_t>(1, cfg.http_threads));
  http_cfg.body_limit = static_cast<std::size_t>(cfg.max_body) << 20;
  http_cfg.max_connections = static_cast<std::size_t>(cfg.max_connections);
  ctl_cfg.max_in_flight = cfg.max_in_flight;
  ctl_cfg.max_pending_records = cfg.store_queue;
  ctl_cfg.queue_budget = std::chrono::milliseconds(cfg.queue_budget);
  controller_actor controller;
  controller_gate gate;
  // GET /metrics needs a valid key of any namespace (it has no per-namespace figures); the
  // controller answers it before the REST layer's auth, so it is checked here.
  api::authenticator metrics_auth{**db, *keys, ctl_cfg.rest.auth_recheck_ms};
  http::server server{http_cfg, [&gate, &metrics_auth](http::request req, http::responder respond) {
                        if (api::is_metrics_request(req.method, req.target) && !metrics_auth.authenticate(req.authorization)) {
                          respond(api::rest_api::error(401, "The supplied authentication is invalid."));
                          return;
                        }
                        gate.forward(std::move(req), std::move(respond));
                      }};
  ctl_cfg.extra_metrics = [&server, more = std::move(ctl_cfg.extra_metrics)](std::vector<metrics::sample>& out) {
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
    controller = spawn_controller(sys, **db, pool, ctl_cfg);
    gate.open(controller);
    log_info("whisk-node listening on http://{}:{} (backend {}, data dir {}, user memory {} MB)", cfg.host, *port,
             backend->name(), data_dir.string(), cfg.user_memory);
    if (guest->name.empty())
      log_info("no namespace 'guest' in the store: {} is not written", (data_dir / "wskprops").string());
    else
      log_info("credentials for namespace '{}' are in {}", guest->name, (data_dir / "wskprops").string());
    int sig = 0;
    sigwait(&signals, &sig);
    log_info("received {}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    caf::scoped_actor self{sys};
    auto limit = caf::timespan{std::chrono::milliseconds(cfg.drain_timeout)};
    self->request(controller, limit + std::chrono::seconds(5), drain_atom::value, limit)
        .receive([](std::int64_t ended) { if (ended > 0) log_warn("ended {} unfinished activation(s) with a whisk error", ended); },
                 [](caf::error&) { log_warn("drain did not answer in time"); });
    gate.close(); // from here on requests are answered 503
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  if (timer)
    caf::anon_send_exit(timer->handle, caf::exit_reason::user_shutdown);
  controller = nullptr;
  pool = nullptr;
  sys.await_all_actors_done();
  // answers wait for their records: commit them while the server still sends (bounded: a
  // failing store must not hold the stop; its destructor makes a last try and reports)
  if (!(*db)->flush(std::chrono::milliseconds(cfg.drain_timeout))) {
    log_error("{} activation record(s) are not written yet: {}", (*db)->pending_writes(), (*db)->write_failure());
    rc = 1; // the exit status says that records may be lost (the store's last try is logged)
  }
  server.stop();
  backend.reset(); // kills every runtime process and removes the cgroups
  log_info("whisk-node stopped");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  // Signals are taken by sigwait in main: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  node_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "whisk-node: " << caf::to_string(err) << " (see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  caf::actor_system sys{cfg};
  return run_node(sys, cfg, signals);
}
