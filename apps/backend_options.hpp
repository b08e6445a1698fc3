#pragma once
// The container backend options and their assembly, shared by whisk-node and whisk-agent
// (the two roles that host containers).
#include <caf/all.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/container/container.hpp"
#include "whisk/container/runtime_manifest.hpp"
#include "whisk/metrics.hpp"
#include "whisk/policy/stem_cells.hpp"

namespace whisk {

struct backend_options {
  std::string backend = "process";
  std::string network = "isolated";
  std::int64_t isolate_workers = 0;
  std::int64_t isolate_cache = 64;
  std::int64_t isolate_cache_mb = 512;
  std::string isolate_fetch_allow; // CIDRs js:isolate fetch may reach despite the network policy
  std::string runtimes; // a runtime manifest (JSON): kinds served by the http backend

  void add_to(caf::config_option_set& options);
  std::string check() const; // "" when usable
  // The --runtimes manifest, read and its kinds registered on the first call (so it comes
  // before anything that checks kinds); null when there is none.
  expected<std::shared_ptr<const container::runtime_manifest>> load_runtimes() const;
  // --stem-cells `option` plus the manifest's stem cells (a kind in both: the option's).
  expected<std::vector<policy::stem_cell_config>> stem_cells(const std::string& option) const;

private:
  mutable std::optional<expected<std::shared_ptr<const container::runtime_manifest>>> loaded_;
};

struct hosted_backend {
  std::shared_ptr<container::backend> backend;
  std::optional<actor_timer> timer; // sim: stop it with the other actors
  std::function<void(std::vector<metrics::sample>&)> metrics;
};

// `tree_key` names the cgroup tree (one per data directory or agent, so that a restart
// finds what a crashed run left behind).
hosted_backend make_backend(caf::actor_system& sys, const backend_options& o, const std::string& tree_key,
                            bool allow_unsafe_isolates);

} // namespace whisk
