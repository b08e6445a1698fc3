#pragma once
// Several backends behind one: a container's kind picks its backend at create; every later
// operation goes to the backend that made it. Lets one pool mix runtime processes and
// isolates (the pool accounts both in the same memory).
#include <map>
#include <mutex>
#include <optional>

#include "whisk/container/container.hpp"

namespace whisk::container {

class routing_backend final : public backend {
public:
  // `by_kind`: exact kinds routed to a backend; everything else goes to `fallback`.
  routing_backend(std::map<std::string, std::shared_ptr<backend>> by_kind, std::shared_ptr<backend> fallback);
  std::string name() const override;
  void create(const spec& s, create_done done) override;
  void init(container_id id, init_request req, op_done done) override;
  void run(container_id id, run_request req, op_done done) override;
  void suspend(container_id id, flag_done done) override;
  void resume(container_id id, flag_done done) override;
  void destroy(container_id id, std::function<void()> done) override;

private:
  struct route {
    backend* target;
    container_id inner;
  };
  std::optional<route> find(container_id id);

  std::map<std::string, std::shared_ptr<backend>> by_kind_;
  std::shared_ptr<backend> fallback_;
  std::mutex mx_;
  std::map<container_id, route> routes_;
  container_id next_id_ = 1;
};

} // namespace whisk::container
