#include "backend_options.hpp"

#include "whisk/actors/front.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <future>

#include "whisk/container/http_backend.hpp"
#include "whisk/container/process_backend.hpp"
#include "whisk/container/routing_backend.hpp"
#include "whisk/container/sim_backend.hpp"
#ifdef WHISK_HAS_V8
#include "whisk/isolate/fetch_client.hpp"
#include "whisk/isolate/isolate_backend.hpp"
#endif

namespace whisk {

namespace {

#ifdef WHISK_HAS_V8
// The isolate backend, built on a thread of its own while the node starts: its
// construction (the fetch client's TLS context loads the system's CA bundle) took ~30 ms
// of the ~60 ms from exec to answering /ping, measured before. A call that comes before
// it is built waits for it.
class background_isolates final : public container::backend {
public:
  explicit background_isolates(isolate::isolate_config cfg)
      : built_(std::async(std::launch::async, [cfg] { return std::make_shared<isolate::isolate_backend>(cfg); }).share()) {}
  std::string name() const override { return "isolate"; }
  void create(const container::spec& s, create_done done) override { get().create(s, std::move(done)); }
  void init(container::container_id id, container::init_request req, op_done done) override {
    get().init(id, std::move(req), std::move(done));
  }
  void run(container::container_id id, container::run_request req, op_done done) override {
    get().run(id, std::move(req), std::move(done));
  }
  void suspend(container::container_id id, flag_done done) override { get().suspend(id, std::move(done)); }
  void resume(container::container_id id, flag_done done) override { get().resume(id, std::move(done)); }
  void destroy(container::container_id id, std::function<void()> done) override { get().destroy(id, std::move(done)); }
  // null while it is still being built (metrics then leave its figures out)
  const isolate::isolate_backend* ready() const {
    return built_.wait_for(std::chrono::seconds(0)) == std::future_status::ready ? built_.get().get() : nullptr;
  }

private:
  isolate::isolate_backend& get() const { return *built_.get(); }
  std::shared_future<std::shared_ptr<isolate::isolate_backend>> built_;
};

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
  add("isolate_waiting", "Calls parked on their timers and fetches", kind::gauge, s.waiting);
  add("isolate_blank", "Isolates made ahead in idle time, waiting for a fresh-mode call", kind::gauge, s.blank_isolates);
  add("isolate_fresh_made_ahead_total", "Fresh-mode calls that ran in an isolate made ahead", kind::counter,
      s.fresh_made_ahead);
}
#endif

} // namespace

void backend_options::add_to(caf::config_option_set& options) {
  caf::config_option_adder{options, "global"}
      .add(backend, "backend", with_default("container backend: process (runtime processes) or sim (simulated)", backend))
      .add(network, "network",
           with_default("network of action containers: isolated (own namespace, outbound through slirp4netns, no host "
                        "loopback), none (loopback only) or host (the host's network, loopback services included)",
                        network))
      .add(isolate_workers, "isolate-workers", with_default("threads running js:isolate actions (0: one per core)", isolate_workers))
      .add(isolate_cache, "isolate-cache", with_default("compiled isolates kept for reuse, all workers together", isolate_cache))
      .add(isolate_cache_mb, "isolate-cache-mb", with_default("heap (MB) of the kept isolates, all workers together", isolate_cache_mb))
      .add(isolate_fetch_allow, "isolate-fetch-allow",
           "comma-separated CIDRs that js:isolate fetch may reach although they are loopback, private or link-local")
      .add(runtimes, "runtimes",
           "runtime manifest (JSON): kinds whose runtimes serve OpenWhisk's /init and /run, their commands, "
           "files, environment, family defaults and stem cells (see README)");
}

expected<std::shared_ptr<const container::runtime_manifest>> backend_options::load_runtimes() const {
  if (loaded_)
    return *loaded_;
  if (runtimes.empty()) {
    loaded_ = std::shared_ptr<const container::runtime_manifest>{};
    return *loaded_;
  }
  auto m = container::load_runtime_manifest(runtimes);
  if (!m) {
    loaded_ = m.err();
    return *loaded_;
  }
  if (auto ok = container::register_manifest_kinds(*m); !ok) {
    loaded_ = ok.err();
    return *loaded_;
  }
  loaded_ = std::shared_ptr<const container::runtime_manifest>(std::make_shared<container::runtime_manifest>(std::move(*m)));
  return *loaded_;
}

expected<std::vector<policy::stem_cell_config>> backend_options::stem_cells(const std::string& option) const {
  auto manifest = load_runtimes();
  if (!manifest)
    return manifest.err();
  auto out = policy::parse_stem_cells(option);
  if (!out || !*manifest)
    return out;
  auto extra = policy::parse_stem_cells((*manifest)->stem_cells_option());
  if (!extra)
    return extra.err();
  for (auto& s : *extra)
    if (std::none_of(out->begin(), out->end(), [&](const policy::stem_cell_config& o) { return o.kind == s.kind; }))
      out->push_back(s);
  return out;
}

std::string backend_options::check() const {
  if (backend != "process" && backend != "sim")
    return "--backend must be process or sim";
  if (!container::parse_network_mode(network))
    return "--network must be isolated, none or host";
  if (isolate_workers < 0 || isolate_workers > 256 || isolate_cache < 1 || isolate_cache_mb < 16)
    return "--isolate-workers must be 0..256, --isolate-cache at least 1, --isolate-cache-mb at least 16";
#ifdef WHISK_HAS_V8
  if (auto ranges = isolate::parse_net_ranges(isolate_fetch_allow); !ranges)
    return "--isolate-fetch-allow: " + ranges.err().message;
#endif
  return {};
}

hosted_backend make_backend(caf::actor_system& sys, const backend_options& o, const std::string& tree_key,
                            [[maybe_unused]] bool allow_unsafe_isolates) {
  hosted_backend out;
  if (o.backend == "sim") {
    out.timer = make_actor_timer(sys);
    out.backend = std::make_shared<container::sim_backend>(container::sim_model{}, out.timer->fn);
    return out;
  }
  container::process_config pc;
  pc.tree_name = "whisk-" + std::to_string(std::hash<std::string>{}(tree_key) % 1000000007);
  pc.network = *container::parse_network_mode(o.network);
  out.backend = std::make_shared<container::process_backend>(pc);
  std::map<std::string, std::shared_ptr<container::backend>> by_kind;
  // the runtime manifest's kinds: runtimes serving /init and /run, in a cgroup tree of their own
  if (auto manifest = o.load_runtimes(); manifest && *manifest) {
    container::http_config hc;
    hc.tree_name = pc.tree_name + "-http";
    hc.network = pc.network;
    auto http = std::make_shared<container::http_backend>(**manifest, hc);
    for (auto& r : (*manifest)->runtimes)
      by_kind.emplace(r.kind, http);
  }
#ifdef WHISK_HAS_V8
  // js:isolate actions run in V8 isolates inside this process; the rest in runtime processes
  isolate::isolate_config ic;
  ic.workers = static_cast<int>(o.isolate_workers);
  ic.cache_isolates = o.isolate_cache;
  ic.cache_mb = o.isolate_cache_mb;
  ic.allow_unsafe = allow_unsafe_isolates;
  ic.fetch_allow = o.isolate_fetch_allow;
  auto isolates = std::make_shared<background_isolates>(ic);
  by_kind.emplace("js:isolate", isolates);
  out.metrics = [isolates](std::vector<metrics::sample>& m) {
    if (auto* b = isolates->ready())
      add_isolate_metrics(*b, m);
  };
#endif
  if (!by_kind.empty())
    out.backend = std::make_shared<container::routing_backend>(std::move(by_kind), out.backend);
  return out;
}

} // namespace whisk
