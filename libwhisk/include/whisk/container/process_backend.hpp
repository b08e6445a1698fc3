#pragma once
// Runtime processes on this host, isolated with namespaces and a cgroup leaf each.
#include <memory>
#include <optional>
#include <string>

#include "whisk/container/cgroup.hpp"
#include "whisk/container/container.hpp"

namespace whisk::container {

// The network a runtime gets. isolated: its own namespace with outbound access through
// slirp4netns (no route to the host's loopback); none: its own namespace, loopback only;
// host: the host's network, loopback services included (an explicit opt-in).
enum class network_mode { isolated, none, host };

std::optional<network_mode> parse_network_mode(const std::string& name);
const char* to_string(network_mode mode);

struct process_config {
  std::string tree_name = "whisk";  // cgroup directory under this process's cgroup
  network_mode network = network_mode::isolated;
  std::int64_t pids_max = 256;
  std::int64_t tmp_size_mb = 64;
  int uid = 65534;                  // nobody
  int gid = 65534;                  // nogroup
  std::int64_t start_timeout_ms = 20000;
  // false: a runtime's exit is found by polling waitpid, as when pidfd_open is refused (tests)
  bool exit_by_pidfd = true;
};

class process_backend final : public backend {
public:
  explicit process_backend(process_config cfg);
  ~process_backend() override;  // kills every runtime and removes every leaf
  std::string name() const override { return "process"; }
  void create(const spec& s, create_done done) override;
  void init(container_id id, init_request req, op_done done) override;
  void run(container_id id, run_request req, op_done done) override;
  void suspend(container_id id, flag_done done) override;
  void resume(container_id id, flag_done done) override;
  void destroy(container_id id, std::function<void()> done) override;

  const cgroup_tree& cgroups() const;
  // The leaf of a live container (for operators and tests); empty when unknown.
  std::string freeze_dir(container_id id) const;
  int leftovers_removed() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace whisk::container
