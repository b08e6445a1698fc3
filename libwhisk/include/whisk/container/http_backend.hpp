#pragma once
// Runtimes that serve OpenWhisk's runtime protocol (POST /init, POST /run on a port), run as
// process containers: the sandbox, cgroup leaf and limits of the process backend, each in its
// own network namespace. whisk reaches the port on that namespace's loopback through a
// socket made inside it, so no host port is used and two containers never clash.
#include <memory>
#include <string>

#include "whisk/container/container.hpp"
#include "whisk/container/process_backend.hpp"
#include "whisk/container/runtime_manifest.hpp"

namespace whisk::container {

struct http_config {
  std::string tree_name = "whisk-http";  // cgroup directory under this process's cgroup
  // isolated: outbound access through slirp4netns; none (and host): loopback only. A runtime
  // always gets its own namespace: its port must not be the host's.
  network_mode network = network_mode::isolated;
  std::int64_t pids_max = 256;
  std::int64_t tmp_size_mb = 64;
  int uid = 65534;
  int gid = 65534;
  std::int64_t start_timeout_ms = 20000;    // until the port accepts connections
  std::int64_t log_wait_ms = 2000;          // after a /run answer, for the runtime's sentinel lines
  std::int64_t max_response_bytes = 16 << 20;
};

class http_backend final : public backend {
public:
  http_backend(runtime_manifest manifest, http_config cfg);
  ~http_backend() override;  // kills every runtime and removes every leaf
  std::string name() const override { return "http"; }
  void create(const spec& s, create_done done) override;
  void init(container_id id, init_request req, op_done done) override;
  void run(container_id id, run_request req, op_done done) override;
  void suspend(container_id id, flag_done done) override;
  void resume(container_id id, flag_done done) override;
  void destroy(container_id id, std::function<void()> done) override;

  const runtime_manifest& manifest() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace whisk::container
