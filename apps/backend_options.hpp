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
#include "whisk/metrics.hpp"

namespace whisk {

struct backend_options {
  std::string backend = "process";
  std::string network = "isolated";
  std::int64_t isolate_workers = 0;
  std::int64_t isolate_cache = 64;
  std::int64_t isolate_cache_mb = 512;
  std::string isolate_fetch_allow; // CIDRs js:isolate fetch may reach despite the network policy

  void add_to(caf::config_option_set& options);
  std::string check() const; // "" when usable
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
