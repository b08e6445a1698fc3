// A host of your own: whisk's container pool and proxies over the process backend (runtime
// processes in namespaces, a cgroup leaf each), driven by actor messages. No HTTP, no store:
// the host builds each run_msg itself and gets a run_result back.
//   whisk-example-host [N]   runs a nodejs action N times (default 3): the first run starts a
//                            container (cold), the others reuse it (warm). Needs root.
#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "whisk/actors/container_pool.hpp"
#include "whisk/container/process_backend.hpp"

using namespace whisk;

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 3;
  caf::actor_system_config cfg;
  add_message_types(cfg); // the same message types whisk's own binaries register
  caf::actor_system sys{cfg};

  // The backend owns the runtime processes: its destructor kills them and removes their
  // cgroups, so it is dropped only after the pool and its proxies are gone.
  container::process_config pc;
  // its cgroup directory, under this process's cgroup (one per host: a new backend removes
  // whatever an earlier one of the same name left behind)
  pc.tree_name = "whisk-example-host-" + std::to_string(getpid());
  pc.network = container::network_mode::none;    // loopback only: this action needs no network
  auto backend = std::make_shared<container::process_backend>(pc);

  pool_config pool_cfg;
  pool_cfg.user_memory_mb = 512;                 // room for two 256 MB containers
  pool_cfg.proxy.idle_timeout = std::chrono::minutes(1);
  // not paused between the runs below (a paused container counts as resumed, not warm; the
  // default grace of 50 ms can pass between two runs on a slow build)
  pool_cfg.proxy.pause_grace = std::chrono::seconds(10);
  auto pool = spawn_container_pool(sys, backend, pool_cfg);

  // What the REST front would read from the store: the action and its code.
  action_ref action;
  action.ns = "guest";
  action.name = "double";
  action.version = "0.0.1";
  action.revision = "guest/double@0.0.1"; // containers initialized with it are warm for it
  action.kind = "nodejs:20";
  action.code = "function main({n}) { console.log('doubling', n); return {n: 2 * n}; }";
  action.timeout_ms = 10000;

  int failures = 0;
  {
    caf::scoped_actor self{sys};
    for (int i = 1; i <= n; ++i) {
      run_msg m;
      m.action = action;
      m.activation_id = "activation-" + std::to_string(i);
      m.params_json = "{\"n\":" + std::to_string(i) + "}";
      // the pool places the run (warm container > stem cell > new container > evict > queue)
      self->request(pool, std::chrono::seconds(30), run_atom::value, m)
          .receive(
              [&](const run_result& r) {
                std::printf("%s: %s, status %d, result %s\n", r.activation_id.c_str(),
                            r.init_ms >= 0 ? "cold" : "warm", r.status, r.result_json.c_str());
                for (auto& line : r.logs)
                  std::printf("  log: %s\n", line.c_str());
                failures += r.status != 0;
              },
              [&](const caf::error& e) {
                std::printf("%s: %s\n", m.activation_id.c_str(), sys.render(e).c_str());
                ++failures;
              });
    }
    // the pool's counters: one container created, the other runs warm
    self->request(pool, std::chrono::seconds(5), stats_atom::value)
        .receive([](const pool_stats& s) { std::printf("created %lld, cold starts %lld, warm starts %lld\n",
                                                       static_cast<long long>(s.created),
                                                       static_cast<long long>(s.cold_starts),
                                                       static_cast<long long>(s.warm_starts)); },
                 [](const caf::error&) {});
    self->send_exit(pool, caf::exit_reason::user_shutdown); // its proxies go with it
  }
  sys.await_all_actors_done();
  backend.reset(); // no runtime process or cgroup is left behind
  return failures == 0 ? 0 : 1;
}
