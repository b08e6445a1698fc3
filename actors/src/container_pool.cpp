// container_pool: places runs by policy::schedule, keeps stem cells, evicts, and buffers
// what cannot be placed in a bounded FIFO that is retried whenever a container frees. Its
// keep-alive policy decides how long idle containers stay, what is started ahead of a
// function's next run (pre-warm) and which idle containers go first under memory pressure;
// the pool reports arrivals, idle containers and removals to it, in its own clock.
#include "whisk/actors/container_pool.hpp"

#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "run_results.hpp"
#include "whisk/actors/container_proxy.hpp"
#include "whisk/domain.hpp"
#include "whisk/log.hpp"

namespace whisk {

namespace {

using clock_point = caf::actor_clock::time_point;

// the pool's timers: (timer_atom, kind, payload)
enum pool_timer : std::int32_t { queue_check = 0, unload_check = 1, prewarm_due = 2 };

struct pool_entry {
  proxy_actor proxy;
  policy::container_info info;
  // runs sent to the proxy and not yet answered: ended here if the proxy dies first
  std::map<std::string, caf::typed_response_promise<run_result>> running;
  std::string app;                 // the policy's unit: the action's namespace
  std::shared_ptr<const action_ref> action; // the action it is bound to (set once: a pre-warm starts another of it)
  clock_point bound_at{};          // since when it has been starting for its action (its cold start)
  bool cold_start_measured = false;
  bool counted_idle = false;       // its memory is in the pool's idle total
  policy::millis idle_since_ms = 0;
  clock_point unload_at = clock_point::max(); // its keep-alive ends then (if still idle)
  clock_point check_at = clock_point::max();  // the earliest unload check pending (one at a time, not one per run)
  bool prewarmed = false;          // started ahead of a run by the policy
  policy::millis prewarm_keep_ms = 0; // ... and waits this long for its first run
  policy::removal_cause cause = policy::removal_cause::failed; // what it is being removed for
};

// a pre-warm the policy asked for, due at a timer
struct prewarm_plan {
  std::shared_ptr<const action_ref> action;
  std::string app;
  policy::millis keep_ms = 0;
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
  // the same entries by the action they are bound to, and those bound to none (stem cells,
  // starts not yet bound): a placement looks at these, not at the whole pool
  std::unordered_map<std::string, std::set<std::uint64_t>> by_action;
  std::set<std::uint64_t> unbound;
  std::deque<queued_run> queue;
  std::uint64_t next_id = 1;
  std::uint64_t use_seq = 0;
  bool shed_check_pending = false;
  pool_stats stats;
  std::shared_ptr<policy::keep_alive_policy> keep_alive;
  policy::string_map<policy::millis> cold_start_ms; // per action revision: its last measured cold start
  std::map<std::uint64_t, prewarm_plan> prewarm_plans;
  std::uint64_t next_plan = 1;
  std::int64_t idle_mb = 0;  // memory of idle warm containers now
  clock_point idle_mark{};   // idle_mb has been what it is since then
  double idle_mb_ns = 0;     // its integral up to idle_mark

  policy::pool_view view() const {
    policy::pool_view out;
    out.reserve(entries.size());
    for (auto& [id, e] : entries)
      out.push_back(&e.info);
    return out;
  }

  // What a placement for `action_key` can use: its containers and the unbound ones.
  policy::pool_view candidates(const std::string& action_key) const {
    policy::pool_view out;
    if (auto i = by_action.find(action_key); i != by_action.end())
      for (auto id : i->second)
        out.push_back(&entries.at(id).info);
    for (auto id : unbound)
      out.push_back(&entries.at(id).info);
    return out;
  }

  void bind(std::uint64_t id, const std::string& action_key) {
    unbound.erase(id);
    by_action[action_key].insert(id);
  }

  void unindex(std::uint64_t id, const std::string& action_key) {
    unbound.erase(id);
    if (auto i = by_action.find(action_key); i != by_action.end()) {
      i->second.erase(id);
      if (i->second.empty())
        by_action.erase(i);
    }
  }
};

using self_ptr = pool_actor::stateful_pointer<pool_state>;

void process_queue(self_ptr self);

policy::millis now_ms_of(self_ptr self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now().time_since_epoch()).count();
}

// A function as the keep-alive policy sees it, with its last measured cold start.
policy::function_ref ref_of(self_ptr self, std::string_view key, std::string_view app, std::int64_t memory_mb) {
  policy::function_ref fn{key, app, memory_mb, 0};
  if (auto i = self->state.cold_start_ms.find(key); i != self->state.cold_start_ms.end())
    fn.cold_start_ms = i->second;
  return fn;
}

policy::function_ref ref_of(self_ptr self, const pool_entry& e) {
  return ref_of(self, e.info.action_key, e.app, e.info.memory_mb);
}

// --- idle memory over time: every change of an entry's idleness goes through recount ---

void accrue(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.idle_mark != clock_point{})
    st.idle_mb_ns += static_cast<double>(st.idle_mb) * static_cast<double>((now - st.idle_mark).count());
  st.idle_mark = now;
}

bool is_idle(const pool_entry& e) {
  return !e.info.action_key.empty() && e.info.active == 0 &&
         (e.info.state == policy::slot_state::ready || e.info.state == policy::slot_state::paused);
}

void recount(self_ptr self, pool_entry& e, bool gone = false) {
  bool idle = !gone && is_idle(e);
  if (idle == e.counted_idle)
    return;
  accrue(self);
  self->state.idle_mb += idle ? e.info.memory_mb : -e.info.memory_mb;
  e.counted_idle = idle;
}

// A check pending at or before the unload time does the job (it re-arms for what is left).
void schedule_unload_check(self_ptr self, std::uint64_t id, pool_entry& e) {
  if (e.check_at <= e.unload_at)
    return;
  e.check_at = e.unload_at;
  self->delayed_send(self, e.unload_at - self->clock().now(), timer_atom::value, std::int32_t{unload_check}, id);
}

void arm_unload(self_ptr self, std::uint64_t id, pool_entry& e, policy::millis keep_ms) {
  if (keep_ms == policy::keep_forever) {
    e.unload_at = clock_point::max();
    return;
  }
  e.unload_at = self->clock().now() + std::chrono::milliseconds(keep_ms);
  schedule_unload_check(self, id, e);
}

void unload(self_ptr self, std::uint64_t id, pool_entry& e, policy::removal_cause cause) {
  log_debug("pool: removing container {} ({}): {}", id, e.info.action_key,
            cause == policy::removal_cause::evicted ? "evicted for memory" : "its keep-alive ran out");
  e.info.state = policy::slot_state::removing;
  e.cause = cause;
  recount(self, e);
  self->send(e.proxy, remove_atom::value);
}

// A container of an action went idle: what the policy says happens to it.
void went_idle(self_ptr self, std::uint64_t id, pool_entry& e) {
  auto& st = self->state;
  auto now = now_ms_of(self);
  auto fn = ref_of(self, e);
  e.idle_since_ms = now;
  st.keep_alive->on_idle(id, fn, now);
  auto d = st.keep_alive->keep_alive(id, fn, now);
  if (d.prewarm && e.action) {
    auto plan = st.next_plan++;
    st.prewarm_plans.emplace(plan, prewarm_plan{e.action, e.app, std::max<policy::millis>(0, d.prewarm->end_ms - d.prewarm->start_ms)});
    self->delayed_send(self, std::chrono::milliseconds(std::max<policy::millis>(0, d.prewarm->start_ms)), timer_atom::value,
                       std::int32_t{prewarm_due}, plan);
  }
  if (d.keep_ms <= 0) {
    ++st.stats.expired;
    unload(self, id, e, policy::removal_cause::expired);
    return;
  }
  arm_unload(self, id, e, d.keep_ms);
}

void on_unload_check(self_ptr self, std::uint64_t id) {
  auto i = self->state.entries.find(id);
  if (i == self->state.entries.end())
    return;
  auto& e = i->second;
  auto now = self->clock().now();
  if (now >= e.check_at)
    e.check_at = clock_point::max(); // the earliest pending check is this one
  if (!is_idle(e))
    return; // busy again: its next idle moment arms again
  if (now < e.unload_at) {
    if (e.unload_at != clock_point::max())
      schedule_unload_check(self, id, e); // idle since a later moment: check again then
    return;
  }
  ++self->state.stats.expired;
  unload(self, id, i->second, policy::removal_cause::expired);
}

// Idle containers in the policy's terms, and its choice among them.
std::vector<std::uint64_t> policy_victims(self_ptr self, std::int64_t need_mb, std::int64_t free_mb) {
  auto& st = self->state;
  std::vector<policy::idle_container> idle;
  for (auto& [id, e] : st.entries)
    if (is_idle(e))
      idle.push_back({id, e.info.action_key, e.app, e.info.memory_mb, e.idle_since_ms});
  return st.keep_alive->eviction_order(idle, need_mb - free_mb, now_ms_of(self));
}

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
  pool_entry e;
  e.proxy = std::move(proxy);
  e.info = std::move(info);
  e.bound_at = self->clock().now();
  st.entries.emplace(id, std::move(e));
  st.unbound.insert(id);
  ++st.stats.created;
  return id;
}

void refill_stem_cells(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.stem_cells.empty() || !st.queue.empty()) // none wanted; waiting runs come first
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
  bool now_idle = info.active == 0 && (info.state == policy::slot_state::busy || info.state == policy::slot_state::starting);
  if (now_idle)
    info.state = policy::slot_state::ready;
  info.last_used = ++st.use_seq;
  recount(self, i->second);
  if (now_idle && !info.action_key.empty())
    went_idle(self, id, i->second);
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
  if (e.info.action_key.empty() || !e.action) { // bound to its action now (a new container or a stem cell)
    if (e.info.state == policy::slot_state::busy)
      e.bound_at = self->clock().now(); // a stem cell: its cold start is the init alone
    e.action = std::make_shared<const action_ref>(msg.action);
    e.app = msg.action.ns;
  }
  recount(self, e);
  if (e.info.action_key.empty())
    st.bind(id, msg.action.revision);
  e.info.action_key = msg.action.revision;
  e.info.concurrency = msg.action.concurrency;
  e.info.last_used = ++st.use_seq;
  auto retry_copy = msg; // placed again if the container goes away before the run starts
  auto aid = msg.activation_id;
  e.running.emplace(aid, rp);
  // The proxy enforces the action's limit; a proxy that dies is seen through the link
  // (proxy_died), which ends its runs. No timeout here (see the controller's request: CAF
  // 0.17 keeps every request timeout in its clock until it fires, answered or not).
  self->request(e.proxy, caf::infinite, run_atom::value, std::move(msg))
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
  auto pick = [self](const policy::pool_view&, std::int64_t need_mb, std::int64_t free_mb) {
    return policy_victims(self, need_mb, free_mb);
  };
  auto free_mb = [self] { return self->state.cfg.user_memory_mb - policy::memory_in_use(self->state.view()); };
  auto p = policy::place(st.candidates(msg.action.revision), need_of(msg), st.cfg.user_memory_mb, free_mb, pick);
  if (p.kind != policy::placement_kind::wait) {
    bool warm = p.kind == policy::placement_kind::warm || p.kind == policy::placement_kind::resume;
    auto fn = ref_of(self, msg.action.revision, msg.action.ns, msg.action.memory_mb);
    st.keep_alive->on_arrival(fn, now_ms_of(self), warm ? policy::start_kind::warm : policy::start_kind::cold);
  }
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
        unload(self, victim, e, policy::removal_cause::evicted);
        ++st.stats.evicted;
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
    self->delayed_send(self, st.queue.front().since + st.cfg.queue_budget - now, timer_atom::value, std::int32_t{queue_check},
                       std::uint64_t{0});
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

// An entry leaves the pool: its memory is no longer idle, and the policy hears of it.
void drop(self_ptr self, std::map<std::uint64_t, pool_entry>::iterator i) {
  auto& e = i->second;
  recount(self, e, true);
  if (!e.info.action_key.empty())
    self->state.keep_alive->on_removed(i->first, ref_of(self, e), now_ms_of(self), e.cause);
  self->state.unindex(i->first, e.info.action_key);
  self->state.entries.erase(i);
  ++self->state.stats.removed;
}

// A pre-warm falls due: start the function's container unless it has one, or memory is short
// (a pre-warm never evicts).
void on_prewarm_due(self_ptr self, std::uint64_t plan_id) {
  auto& st = self->state;
  auto pi = st.prewarm_plans.find(plan_id);
  if (pi == st.prewarm_plans.end())
    return;
  auto plan = std::move(pi->second);
  st.prewarm_plans.erase(pi);
  auto& a = *plan.action;
  if (auto i = st.by_action.find(a.revision); i != st.by_action.end())
    for (auto id : i->second)
      if (st.entries.at(id).info.state != policy::slot_state::removing)
        return;
  if (a.memory_mb > st.cfg.user_memory_mb - policy::memory_in_use(st.view()))
    return;
  auto id = spawn_proxy(self, a.kind, a.memory_mb);
  auto& e = st.entries.at(id);
  e.info.action_key = a.revision;
  st.bind(id, a.revision);
  e.info.concurrency = a.concurrency;
  e.action = plan.action;
  e.app = plan.app;
  e.prewarmed = true;
  e.prewarm_keep_ms = plan.keep_ms;
  ++st.stats.prewarms;
  log_debug("pool: pre-warming container {} for {}", id, a.revision);
  self->send(e.proxy, prewarm_atom::value, a);
}

void forget(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  if (auto i = st.entries.find(id); i != st.entries.end())
    drop(self, i);
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
  i->second.cause = policy::removal_cause::failed;
  drop(self, i);
  ++st.stats.proxy_failures;
  process_queue(self);
  refill_stem_cells(self);
}

pool_actor::behavior_type container_pool(self_ptr self, std::shared_ptr<container::backend> backend, pool_config cfg) {
  self->state.backend = std::move(backend);
  self->state.cfg = std::move(cfg);
  self->state.keep_alive = self->state.cfg.keep_alive;
  if (!self->state.keep_alive) {
    auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(self->state.cfg.proxy.idle_timeout).count();
    self->state.keep_alive = std::make_shared<policy::fixed_keep_alive>(keep);
  }
  self->state.cfg.proxy.owner_unloads = true; // the policy unloads, not the proxies' own timers
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
      [self](timer_atom, std::int32_t kind, std::uint64_t payload) {
        if (self->current_sender().get() != self->ctrl())
          return; // its own delayed messages only
        switch (kind) {
          case queue_check:
            self->state.shed_check_pending = false;
            shed_expired(self);
            break;
          case unload_check: on_unload_check(self, payload); break;
          case prewarm_due: on_prewarm_due(self, payload); break;
          default: break;
        }
      },
      [self](container_atom, container_event& ev) {
        auto& st = self->state;
        auto i = st.entries.find(ev.id);
        if (i == st.entries.end())
          return;
        auto& e = i->second;
        auto& info = e.info;
        switch (static_cast<policy::slot_state>(ev.state)) {
          case policy::slot_state::ready:
            // initialized for its action: the cold start is measured; a pre-warmed container
            // with no run yet waits for one as long as its pre-warm window says
            if (!e.cold_start_measured && !ev.action_key.empty() && ev.action_key == info.action_key) {
              e.cold_start_measured = true;
              st.cold_start_ms[info.action_key] =
                  std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - e.bound_at).count();
            }
            if (e.prewarmed && info.state == policy::slot_state::starting && info.active == 0) {
              info.state = policy::slot_state::ready;
              e.idle_since_ms = now_ms_of(self);
              recount(self, e);
              if (e.prewarm_keep_ms <= 0) {
                ++st.stats.expired;
                unload(self, ev.id, e, policy::removal_cause::expired);
              } else {
                arm_unload(self, ev.id, e, e.prewarm_keep_ms);
              }
              process_queue(self);
            }
            break;
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
        accrue(self);
        pool_stats s = st.stats;
        s.idle_mb_ms = static_cast<std::int64_t>(st.idle_mb_ns / 1e6);
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
