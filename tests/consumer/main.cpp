// The consumer test's program: one run through the pool on the sim backend (whisk::actors)
// and one placement decision by the policy function (whisk::core).
#include <caf/all.hpp>
#include <cstdio>

#include "whisk/actors/actor_timer.hpp"
#include "whisk/actors/container_pool.hpp"
#include "whisk/container/sim_backend.hpp"
#include "whisk/policy/placement.hpp"

int main() {
  caf::actor_system_config cfg;
  whisk::add_message_types(cfg);
  caf::actor_system sys{cfg};

  auto timer = whisk::make_actor_timer(sys);
  auto backend = std::make_shared<whisk::container::sim_backend>(whisk::container::sim_model{}, timer.fn);
  auto pool = whisk::spawn_container_pool(sys, backend, whisk::pool_config{});

  whisk::run_msg msg;
  msg.action = {"guest", "echo", "0.0.1", "guest/echo@1", "nodejs:20", "sim"};
  msg.activation_id = "a1";
  msg.params_json = R"({"hello":"consumer"})";
  int status = 1;
  caf::scoped_actor self{sys};
  self->request(pool, std::chrono::seconds(10), whisk::run_atom::value, msg)
      .receive([&](const whisk::run_result& r) { std::printf("result %s\n", r.result_json.c_str()); status = r.status; },
               [&](const caf::error& e) { std::printf("error %s\n", sys.render(e).c_str()); });

  auto p = whisk::policy::schedule({}, {"guest/echo@1", "nodejs:20", 256, 1}, 1024);
  std::printf("an empty pool places by %s\n", p.kind == whisk::policy::placement_kind::create ? "create" : "something else");

  self->send_exit(pool, caf::exit_reason::user_shutdown);
  self->send_exit(timer.handle, caf::exit_reason::user_shutdown);
  return status;
}
