// container_pool: places runs by policy::schedule, keeps stem cells, evicts, and buffers
// what cannot be placed in a bounded FIFO that is retried whenever a container frees.
#include "whisk/actors/container_pool.hpp"

#include <deque>
#include <map>

#include "run_results.hpp"
#include "whisk/actors/container_proxy.hpp"
#include "whisk/domain.hpp"
#include "whisk/log.hpp"

namespace whisk {

namespace {

struct pool_entry {
  proxy_actor proxy;
  policy::container_info info;
  // runs sent to the proxy and not yet answered: ended here if the proxy dies first
  std::map<std::string, caf::typed_response_promise<run_result>> running;
};

struct queued_run {
  run_msg msg;
  caf::typed_response_promise<run_result> rp;
  caf::actor_clock::time_point since; // when it was queued: it may wait queue_budget at most
};

struct pool_state {
  pool_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "container_pool";
  pool_config cfg;
  std::shared_ptr<container::backend> backend;
  std::map<std::uint64_t, pool_entry> entries;
  std::deque<queued_run> queue;
  std::uint64_t next_id = 1;
  std::uint64_t use_seq = 0;
  bool shed_check_pending = false;
  pool_stats stats;

  std::vector<policy::container_info> view() const {
    std::vector<policy::container_info> out;
    out.reserve(entries.size());
    for (auto& [id, e] : entries)
      out.push_back(e.info);
    return out;
  }
};

using self_ptr = pool_actor::stateful_pointer<pool_state>;

void process_queue(self_ptr self);

policy::run_need need_of(const run_msg& m) {
  return {m.action.revision, m.action.kind, m.action.memory_mb, m.action.concurrency};
}

std::uint64_t spawn_proxy(self_ptr self, const std::string& kind, std::int64_t memory_mb) {
  auto& st = self->state;
  auto id = st.next_id++;
  auto proxy = spawn_container_proxy(self, caf::actor_cast<pool_actor>(self), id, st.backend, kind, memory_mb, st.cfg.proxy);
  policy::container_info info;
  info.id = id;
  info.state = policy::slot_state::starting;
  info.kind = kind;
  info.memory_mb = memory_mb;
  info.last_used = ++st.use_seq;
  st.entries.emplace(id, pool_entry{std::move(proxy), std::move(info), {}});
  ++st.stats.created;
  return id;
}

void refill_stem_cells(self_ptr self) {
  auto& st = self->state;
  if (!st.queue.empty()) // waiting runs come first
    return;
  for (auto& s : policy::missing_stem_cells(st.view(), st.cfg.stem_cells, st.cfg.user_memory_mb)) {
    auto id = spawn_proxy(self, s.kind, s.memory_mb);
    log_debug("pool: starting stem cell {} ({}, {} MB)", id, s.kind, s.memory_mb);
  }
}

void finished(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto i = st.entries.find(id);
  if (i == st.entries.end())
    return;
  auto& info = i->second.info;
  if (info.active > 0)
    --info.active;
  // a run answered: a cold-started container is initialized by now
  if (info.active == 0 && (info.state == policy::slot_state::busy || info.state == policy::slot_state::starting))
    info.state = policy::slot_state::ready;
  info.last_used = ++st.use_seq;
}

// Removes a run from its container's list; false if it was already ended.
bool take_running(self_ptr self, std::uint64_t id, const std::string& aid) {
  auto i = self->state.entries.find(id);
  return i != self->state.entries.end() && i->second.running.erase(aid) > 0;
}

void dispatch(self_ptr self, std::uint64_t id, run_msg msg, caf::typed_response_promise<run_result> rp) {
  auto& st = self->state;
  auto& e = st.entries.at(id);
  e.info.active += 1;
  if (e.info.state != policy::slot_state::starting)
    e.info.state = policy::slot_state::busy;
  e.info.action_key = msg.action.revision;
  e.info.concurrency = msg.action.concurrency;
  e.info.last_used = ++st.use_seq;
  auto retry_copy = msg; // placed again if the container goes away before the run starts
  auto aid = msg.activation_id;
  e.running.emplace(aid, rp);
  // The proxy enforces the action's limit; a proxy that dies is seen through the link
  // (proxy_died), which ends its runs; the finite wait is the last resort.
  auto limit = run_answer_limit(msg.action);
  self->request(e.proxy, limit, run_atom::value, std::move(msg))
      .then(
          [self, id, rp, retry_copy, aid](run_result& r) mutable {
            log_debug("pool: container {} answered {} (status {})", id, r.activation_id, r.status);
            if (!take_running(self, id, aid))
              return; // already ended when the proxy died
            finished(self, id);
            if (r.retry) {
              self->state.queue.push_front(queued_run{std::move(retry_copy), rp, self->clock().now()});
            } else {
              rp.deliver(std::move(r));
            }
            process_queue(self);
            // Replace a used stem cell only now: starting a runtime next to the first
            // run's init would slow that very start.
            refill_stem_cells(self);
          },
          [self, id, rp, retry_copy, aid](caf::error& err) mutable {
            if (!take_running(self, id, aid))
              return;
            finished(self, id);
            rp.deliver(whisk_error(retry_copy.activation_id, "The container proxy failed: " + self->system().render(err), false));
            process_queue(self);
          });
}

// Places one run if the policy finds a place for it now.
// The promise is taken by value: a handler must never return a moved-from promise.
bool try_place(self_ptr self, run_msg& msg, caf::typed_response_promise<run_result> rp) {
  auto& st = self->state;
  auto p = policy::schedule(st.view(), need_of(msg), st.cfg.user_memory_mb);
  switch (p.kind) {
    case policy::placement_kind::warm:
      ++st.stats.warm_starts;
      break;
    case policy::placement_kind::resume:
      ++st.stats.resumes;
      break;
    case policy::placement_kind::stem_cell:
      ++st.stats.stem_cell_starts;
      break;
    case policy::placement_kind::evict_and_create:
      for (auto victim : p.victims) {
        auto& e = st.entries.at(victim);
        e.info.state = policy::slot_state::removing;
        self->send(e.proxy, remove_atom::value);
        ++st.stats.evicted;
        log_debug("pool: evicting container {} ({})", victim, e.info.action_key);
      }
      [[fallthrough]];
    case policy::placement_kind::create:
      ++st.stats.cold_starts;
      p.id = spawn_proxy(self, msg.action.kind, msg.action.memory_mb);
      break;
    case policy::placement_kind::wait:
      return false;
  }
  dispatch(self, p.id, std::move(msg), std::move(rp));
  return true;
}

// Refuses the runs at the head of the queue that have waited out the queueing budget, and
// sets the next check for the new head (one timer at a time: only the head can expire first).
void shed_expired(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  while (!st.queue.empty() && now - st.queue.front().since >= st.cfg.queue_budget) {
    auto& head = st.queue.front();
    ++st.stats.shed;
    ++st.stats.rejected;
    head.rp.deliver(whisk_error(head.msg.activation_id, fmt::format("Too many requests: the run could not start within the node's "
                                                       "queueing budget of {} ms.",
                                                       std::chrono::duration_cast<std::chrono::milliseconds>(st.cfg.queue_budget).count()),
                                 true));
    st.queue.pop_front();
  }
  if (!st.queue.empty() && !st.shed_check_pending) {
    st.shed_check_pending = true;
    self->delayed_send(self, st.queue.front().since + st.cfg.queue_budget - now, timer_atom::value);
  }
}

void process_queue(self_ptr self) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    auto& head = st.queue.front();
    if (!try_place(self, head.msg, head.rp))
      break;
    st.queue.pop_front();
  }
}

void forget(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  if (st.entries.erase(id) > 0)
    ++st.stats.removed;
  process_queue(self);
  refill_stem_cells(self);
}

// A proxy that ended while it still held its container (a bug, a fault): its runs end with
// whisk errors, its memory is free again, and the pool goes on.
void proxy_died(self_ptr self, std::uint64_t id, const caf::error& reason) {
  auto& st = self->state;
  auto i = st.entries.find(id);
  if (i == st.entries.end())
    return;
  auto reason_text = self->system().render(reason);
  log_warn("pool: container proxy {} ({}) died: {}; {} run(s) end with a whisk error", id, i->second.info.action_key,
           reason_text, i->second.running.size());
  for (auto& [aid, rp] : i->second.running) {
    run_result r;
    r.activation_id = aid;
    r.status = static_cast<std::int32_t>(activation_status::whisk_error);
    r.result_json = json::dump(json::object{{"error", "The container of the activation failed: " + reason_text}});
    r.start_ms = r.end_ms = now_ms();
    rp.deliver(std::move(r));
  }
  st.entries.erase(i);
  ++st.stats.removed;
  ++st.stats.proxy_failures;
  process_queue(self);
  refill_stem_cells(self);
}

pool_actor::behavior_type container_pool(self_ptr self, std::shared_ptr<container::backend> backend, pool_config cfg) {
  self->state.backend = std::move(backend);
  self->state.cfg = std::move(cfg);
  self->state.stats.user_memory_mb = self->state.cfg.user_memory_mb;
  // Proxies are linked to the pool so that they end with it; the end of a proxy must not
  // end the pool, so exits from proxies are handled here and only others end the pool.
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [id, e] : self->state.entries)
      if (e.proxy.address() == m.source) {
        if (m.reason == caf::exit_reason::normal && e.running.empty())
          forget(self, id); // its exit overtook its "removing" event
        else
          proxy_died(self, id, m.reason);
        return;
      }
    if (m.reason != caf::exit_reason::normal)
      self->quit(m.reason);
  });
  refill_stem_cells(self);
  return {
      [self](run_atom, run_msg& msg) -> caf::typed_response_promise<run_result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<run_result>();
        if (msg.action.memory_mb > st.cfg.user_memory_mb) {
          rp.deliver(whisk_error(msg.activation_id, fmt::format("The action needs {} MB but the node has {} MB for actions.",
                                                   msg.action.memory_mb, st.cfg.user_memory_mb), false));
          return rp;
        }
        // Strict FIFO: once something waits, newcomers queue behind it.
        if (st.queue.empty() && try_place(self, msg, rp))
          return rp;
        if (static_cast<std::int64_t>(st.queue.size()) >= st.cfg.max_queue) {
          ++st.stats.rejected;
          rp.deliver(whisk_error(msg.activation_id, "Too many requests: the node's run queue is full.", true));
          return rp;
        }
        st.queue.push_back(queued_run{std::move(msg), rp, self->clock().now()});
        shed_expired(self); // arms the check when this run is the head
        return rp;
      },
      [self](timer_atom) {
        self->state.shed_check_pending = false;
        shed_expired(self);
      },
      [self](container_atom, container_event& ev) {
        auto& st = self->state;
        auto i = st.entries.find(ev.id);
        if (i == st.entries.end())
          return;
        auto& info = i->second.info;
        switch (static_cast<policy::slot_state>(ev.state)) {
          case policy::slot_state::stem:
            if (info.action_key.empty())
              info.state = policy::slot_state::stem;
            process_queue(self);
            break;
          case policy::slot_state::paused:
            if (info.active == 0)
              info.state = policy::slot_state::paused;
            break;
          case policy::slot_state::removing:
            forget(self, ev.id);
            break;
          default:
            break;
        }
      },
      [self](stats_atom) -> pool_stats {
        auto& st = self->state;
        pool_stats s = st.stats;
        s.containers = static_cast<std::int64_t>(st.entries.size());
        for (auto& [id, e] : st.entries) {
          if (e.info.active > 0 && e.info.state == policy::slot_state::starting) {
            ++s.busy; // a cold start carries its first run: it is running an activation
            continue;
          }
          switch (e.info.state) {
            case policy::slot_state::stem: ++s.stem_cells; break;
            case policy::slot_state::starting: ++s.starting; break;
            case policy::slot_state::busy: ++s.busy; break;
            case policy::slot_state::ready: ++s.ready; break;
            case policy::slot_state::paused: ++s.paused; break;
            case policy::slot_state::removing: break;
          }
        }
        s.queued = static_cast<std::int64_t>(st.queue.size());
        s.memory_in_use_mb = policy::memory_in_use(st.view());
        return s;
      },
  };
}

} // namespace

pool_actor spawn_container_pool(caf::actor_system& sys, std::shared_ptr<container::backend> backend, pool_config cfg) {
  return sys.spawn(container_pool, std::move(backend), std::move(cfg));
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<action_ref>("action_ref");
  cfg.add_message_type<run_msg>("run_msg");
  cfg.add_message_type<run_result>("run_result");
  cfg.add_message_type<backend_event>("backend_event");
  cfg.add_message_type<container_event>("container_event");
  cfg.add_message_type<pool_stats>("pool_stats");
  // the cluster's conversations
  cfg.add_message_type<container_ref>("container_ref");
  cfg.add_message_type<container_descriptor>("container_descriptor");
  cfg.add_message_type<container_spec>("container_spec");
  cfg.add_message_type<container_requisition>("container_requisition");
  cfg.add_message_type<container_allocation>("container_allocation");
  cfg.add_message_type<container_allocation_rejection>("container_allocation_rejection");
  cfg.add_message_type<allocation_answer>("allocation_answer");
  cfg.add_message_type<lease_report>("lease_report");
  cfg.add_message_type<peer_hello>("peer_hello");
  cfg.add_message_type<agent_heartbeat>("agent_heartbeat");
  cfg.add_message_type<agent_status>("agent_status");
  cfg.add_message_type<proxy_actor>("proxy_actor");
  cfg.add_message_type<agent_actor>("agent_actor");
}

} // namespace whisk
