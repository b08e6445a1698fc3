#include "whisk/actors/controller.hpp"

#include <atomic>
#include <map>
#include <optional>

#include "run_results.hpp"
#include "whisk/log.hpp"

namespace whisk {

struct rest_state {
  rest_state(store& s, const api::rest_config& cfg) : rest(s, cfg) {}
  // Held by the REST worker while it handles a request (it may wait on the store); an HTTP
  // thread only tries it, and hands the request to the worker when it is taken.
  std::mutex mx;
  api::rest_api rest;
  std::atomic<std::int64_t> on_http_thread{0}; // requests handle_cached() answered or invoked on an HTTP thread
};

namespace {

using deadline_map = std::multimap<caf::actor_clock::time_point, std::string>;

struct flight {
  api::invocation inv;
  std::string mode;                      // js:isolate: the isolate mode the run was sent with
  std::optional<http::responder> waiter; // set while a blocking caller waits
  std::optional<deadline_map::iterator> deadline;
  std::string sequence;                  // a component's run: the key of its sequence run
  std::int64_t duration_ms = -1;         // a sequence: its components' durations summed
};

// One sequence (possibly nested) being run: the innermost sequence is on top. Components
// run one at a time, each result the next one's parameters; the first error ends them all.
struct sequence_frame {
  std::shared_ptr<const api::resolved_action> node;
  std::string activation_id;
  std::string cause; // the enclosing sequence's activation (empty: the top one)
  std::size_t next = 0;
  json::value params;
  std::vector<std::string> ids; // its components' activations: its logs
  std::int64_t start_ms = 0, end_ms = 0, duration_ms = 0;
  activation_status status = activation_status::success;
  json::value result = json::object{};
};

struct sequence_run {
  std::string subject, api_key;
  std::vector<sequence_frame> stack;
};

struct controller_state {
  controller_state() = default; // not an aggregate (see proxy_state)
  static inline const char* name = "controller";
  store* db = nullptr;
  pool_actor pool;
  controller_config cfg;
  std::map<std::string, flight> in_flight;
  std::map<std::string, sequence_run> sequences; // by the top sequence's activation id
  std::map<std::string, std::int64_t> running;     // invocations in flight by namespace (components not counted)
  deadline_map deadlines;    // blocking waits by the time they run out
  // the earliest sweep timer set; an earlier deadline sets another (a late timer only sweeps early)
  std::optional<caf::actor_clock::time_point> sweep_at;
  bool draining = false;
  std::optional<caf::typed_response_promise<std::int64_t>> drained;
  std::int64_t ended_by_drain = 0;
  std::int64_t refused_in_flight = 0; // invokes answered 429 at the in-flight bound
  // invokes answered 429: they waited out the budget before the REST worker took them
  std::shared_ptr<std::atomic<std::int64_t>> shed_on_arrival;
  std::shared_ptr<rest_state> api; // (for its count of invokes taken on HTTP threads)
};

using self_ptr = controller_actor::stateful_pointer<controller_state>;

action_ref ref_of(const std::shared_ptr<const action>& shared, const std::string& api_host) {
  const action& a = *shared;
  action_ref r;
  r.ns = a.ns;
  r.name = a.name;
  r.version = a.version;
  r.revision = a.revision_key();
  r.kind = a.exec.kind;
  r.code = shared_text(std::shared_ptr<const std::string>(shared, &a.exec.code)); // no copy of the code
  r.main = a.exec.main;
  r.binary = a.exec.binary;
  r.timeout_ms = a.limits.timeout_ms;
  r.memory_mb = a.limits.memory_mb;
  r.log_limit_bytes = a.limits.logs_mb * 1024 * 1024;
  r.concurrency = a.limits.concurrency;
  r.env_json = json::dump(json::object{{"__OW_API_HOST", api_host}});
  if (a.exec.kind == "js:isolate") {
    auto o = isolate_options_of(a.annotations);
    r.mode = o ? o->mode : "reuse";
    r.reuse_context = o && o->reuse_context;
  }
  return r;
}

activation record_of(const api::invocation& inv, const std::string& mode, const run_result& r) {
  activation a;
  a.ns = inv.subject.empty() ? inv.act->ns : inv.subject; // listed under the caller's namespace
  a.name = inv.act->name;
  if (inv.act->ns != a.ns) // an action in a package (or another namespace's published one)
    a.path = inv.act->ns + "/" + inv.act->name;
  a.cause = inv.cause;
  a.version = inv.act->version;
  a.subject = inv.subject;
  a.activation_id = inv.activation_id;
  a.start_ms = r.start_ms ? r.start_ms : inv.received_ms;
  a.end_ms = std::max(r.end_ms, a.start_ms);
  a.status = static_cast<activation_status>(std::clamp(r.status, 0, 3));
  auto result = json::parse(r.result_json);
  a.result = result ? std::move(*result) : json::value{json::object{{"error", "The result could not be read."}}};
  a.logs = r.logs;
  a.kind = inv.act->exec.kind;
  a.mode = mode;
  a.limits = inv.act->limits;
  a.wait_ms = r.wait_ms;
  a.init_ms = r.init_ms;
  a.timeout = r.timed_out;
  return a;
}

void component_done(self_ptr self, const std::string& key, const activation& a);

void check_drained(self_ptr self) {
  auto& st = self->state;
  if (st.drained && st.in_flight.empty()) {
    st.drained->deliver(st.ended_by_drain);
    st.drained.reset();
  }
}

void finish(self_ptr self, std::string activation_id, run_result r) {
  auto& st = self->state;
  auto i = st.in_flight.find(activation_id);
  log_debug("controller: activation {} answered (in flight: {})", activation_id, i != st.in_flight.end());
  if (i == st.in_flight.end())
    return; // already ended (drain deadline)
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  if (f.deadline)
    st.deadlines.erase(*f.deadline);
  if (f.sequence.empty())
    if (auto n = st.running.find(f.inv.subject); n != st.running.end() && --n->second <= 0)
      st.running.erase(n);
  if (r.rejected && f.waiter) {
    auto why = json::parse(r.result_json); // the pool says why: a full queue or a run that waited too long
    auto text = why ? json::get_string(*why, "error", "Too many requests.") : std::string("Too many requests.");
    (*f.waiter)(api::rest_api::error(429, text + " Try again later."));
    check_drained(self);
    return; // nothing ran: no activation record, as for any throttled request
  }
  auto a = record_of(f.inv, f.mode, r);
  log_debug("activation {} of {} ended: {}", a.activation_id, f.inv.act->fully_qualified(), status_text(a.status));
  if (f.inv.sequence) {
    a.sequence = true;
    a.duration_ms = f.duration_ms;
    a.kind = "sequence";
  }
  if (!f.sequence.empty()) { // a component: its sequence goes on (or stops at an error)
    auto record = a;
    st.db->add_activation(std::move(a));
    component_done(self, f.sequence, record);
    check_drained(self);
    return;
  }
  store::on_committed answer;
  if (f.waiter) // the answer leaves once the record is committed: no answered activation is lost
    answer = [respond = std::move(*f.waiter), res = api::rest_api::answer_of(f.inv, a)]() mutable {
      respond(std::move(res));
    };
  st.db->add_activation(std::move(a), std::move(answer));
  check_drained(self);
}

// Answers 202 once the activation's stand-in record is committed: if the node stops before
// the run ends, the next start records it as a whisk error instead of losing it.
void answer_accepted(self_ptr self, const flight& f, http::responder respond) {
  auto aid = f.inv.activation_id;
  auto stand_in = record_of(f.inv, f.mode, whisk_error(aid, self->state.cfg.role + " stopped before the activation completed."));
  stand_in.start_ms = stand_in.end_ms = f.inv.received_ms;
  self->state.db->add_accepted(std::move(stand_in), [respond = std::move(respond), aid] { respond(api::rest_api::accepted(aid)); });
}

void schedule_sweep(self_ptr self) {
  auto& st = self->state;
  if (st.deadlines.empty())
    return;
  auto first = st.deadlines.begin()->first;
  if (st.sweep_at && *st.sweep_at <= first)
    return;
  st.sweep_at = first;
  auto wait = std::max<caf::timespan>(first - self->clock().now(), caf::timespan{0});
  self->delayed_send(self, wait, timer_atom::value, std::string("sweep"));
}

// Blocking callers whose wait ran out get 202 with the activation id; the record comes later.
void sweep(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.sweep_at && *st.sweep_at <= now)
    st.sweep_at.reset(); // the earliest timer has fired (this one, or one before it)
  while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
    auto aid = st.deadlines.begin()->second;
    st.deadlines.erase(st.deadlines.begin());
    auto i = st.in_flight.find(aid);
    if (i == st.in_flight.end())
      continue;
    i->second.deadline.reset();
    if (i->second.waiter) {
      answer_accepted(self, i->second, std::move(*i->second.waiter));
      i->second.waiter.reset();
    }
  }
  schedule_sweep(self);
}

// Sends one action's run to the pool; its flight ends in finish().
void send_run(self_ptr self, flight f) {
  auto& st = self->state;
  run_msg msg;
  msg.action = ref_of(f.inv.act, st.cfg.rest.api_host);
  // Another namespace calling a published action gets containers (and js:isolate kept
  // contexts) of its own: what one namespace's runs leave in globals or /tmp is never seen
  // by another's.
  if (!f.inv.subject.empty() && f.inv.subject != msg.action.ns)
    msg.action.revision += " for " + f.inv.subject;
  msg.activation_id = f.inv.activation_id;
  msg.params_json = f.inv.params_json;
  msg.subject = f.inv.subject;
  msg.received_ms = f.inv.received_ms;
  msg.api_key = f.inv.api_key;
  msg.api_host = st.cfg.rest.api_host;
  f.mode = msg.action.mode;
  auto aid = f.inv.activation_id;
  st.in_flight.emplace(aid, std::move(f));
  // The pool (or balancer) answers every run: its proxies enforce the action's limit, and the
  // runs of a proxy that dies are ended there (a pool that is gone answers at once with an
  // error). No timeout here: CAF 0.17 never cancels a request's timeout when the answer
  // comes, so each one would hold an entry in the actor clock for its whole length (minutes
  // per run: hundreds of MB under sustained load).
  self->request(st.pool, caf::infinite, run_atom::value, std::move(msg))
      .then([self, aid](run_result& r) { finish(self, aid, std::move(r)); },
            [self, aid](caf::error& err) {
              finish(self, aid, whisk_error(aid, "The container pool failed: " + self->system().render(err)));
            });
}

json::value merged(const json::value& defaults, const json::value& over) {
  json::value out = defaults.is_object() ? defaults : json::value{json::object{}};
  if (over.is_object())
    for (auto& [k, v] : over.as_object())
      out.set(k, v);
  return out;
}

// Runs the next component of the innermost sequence of run `key`, entering nested
// sequences and ending those whose components are done, until a run is sent or the top
// sequence ends (a loop over the frames: no recursion on how deep sequences nest).
void advance(self_ptr self, const std::string& key) {
  auto& st = self->state;
  for (;;) {
    auto it = st.sequences.find(key);
    if (it == st.sequences.end())
      return;
    auto& run = it->second;
    auto& top = run.stack.back();
    if (top.next < top.node->components.size()) {
      auto comp = top.node->components[top.next++];
      auto params = merged(comp->params, top.params);
      if (comp->act->exec.kind == "sequence") {
        sequence_frame child;
        child.node = comp;
        child.activation_id = new_activation_id();
        child.cause = top.activation_id;
        child.params = std::move(params);
        child.start_ms = child.end_ms = now_ms();
        top.ids.push_back(child.activation_id);
        run.stack.push_back(std::move(child));
        continue;
      }
      api::invocation inv;
      inv.act = comp->act;
      inv.params_json = json::dump(params);
      inv.subject = run.subject;
      if (annotation_true(inv.act->annotations, "provide-api-key"))
        inv.api_key = run.api_key;
      inv.activation_id = new_activation_id();
      inv.cause = top.activation_id;
      inv.received_ms = now_ms();
      top.ids.push_back(inv.activation_id);
      if (st.draining) { // no new runs: the sequence ends here
        top.status = activation_status::whisk_error;
        top.result = json::object{{"error", st.cfg.role + " stopped before the sequence completed."}};
        top.next = top.node->components.size();
        top.ids.pop_back();
        continue;
      }
      flight f{std::move(inv), {}, std::nullopt, std::nullopt, key, -1};
      send_run(self, std::move(f));
      return;
    }
    // this sequence is done: its record, then the enclosing one goes on with its result
    sequence_frame done = std::move(top);
    run.stack.pop_back();
    if (run.stack.empty()) {
      auto subject = run.subject;
      st.sequences.erase(it);
      auto f = st.in_flight.find(key);
      if (f == st.in_flight.end())
        return; // ended already (the drain deadline)
      f->second.duration_ms = done.duration_ms;
      run_result r;
      r.activation_id = key;
      r.status = static_cast<std::int32_t>(done.status);
      r.result_json = json::dump(done.result);
      r.logs = std::move(done.ids);
      r.start_ms = done.start_ms;
      r.end_ms = std::max(done.end_ms, done.start_ms);
      finish(self, key, std::move(r));
      return;
    }
    auto& parent = run.stack.back();
    activation a;
    a.ns = run.subject;
    a.name = done.node->act->name;
    if (done.node->act->ns != a.ns)
      a.path = done.node->path();
    a.version = done.node->act->version;
    a.subject = run.subject;
    a.activation_id = done.activation_id;
    a.start_ms = done.start_ms;
    a.end_ms = std::max(done.end_ms, done.start_ms);
    a.status = done.status;
    a.result = done.result;
    a.logs = std::move(done.ids);
    a.kind = "sequence";
    a.limits = done.node->act->limits;
    a.cause = done.cause;
    a.duration_ms = done.duration_ms;
    a.sequence = true;
    parent.duration_ms += done.duration_ms;
    parent.end_ms = a.end_ms;
    parent.result = done.result;
    if (done.status != activation_status::success) {
      parent.status = done.status;
      parent.next = parent.node->components.size();
    } else {
      parent.params = std::move(done.result);
    }
    st.db->add_activation(std::move(a));
  }
}

void component_done(self_ptr self, const std::string& key, const activation& a) {
  auto& st = self->state;
  auto it = st.sequences.find(key);
  if (it == st.sequences.end())
    return;
  auto& top = it->second.stack.back();
  top.duration_ms += std::max<std::int64_t>(0, a.end_ms - a.start_ms);
  top.end_ms = std::max(top.end_ms, a.end_ms);
  top.result = a.result;
  if (a.status != activation_status::success) {
    top.status = a.status;
    top.next = top.node->components.size();
  } else {
    top.params = a.result;
  }
  advance(self, key);
}

// A sequence's own flight waits (blocking caller, drain) like an action's; its components
// run one by one as flights of their own.
void start_sequence(self_ptr self, flight f) {
  auto& st = self->state;
  auto key = f.inv.activation_id;
  sequence_run run;
  run.subject = f.inv.subject;
  run.api_key = f.inv.api_key;
  sequence_frame top;
  top.node = f.inv.sequence;
  top.activation_id = key;
  auto params = json::parse(f.inv.params_json, json::max_wrapped_depth);
  top.params = params ? std::move(*params) : json::value{json::object{}};
  top.start_ms = top.end_ms = now_ms();
  run.stack.push_back(std::move(top));
  st.in_flight.emplace(key, std::move(f));
  st.sequences.emplace(key, std::move(run));
  advance(self, key);
}

void invoke(self_ptr self, api::invocation inv, http::responder respond) {
  auto& st = self->state;
  if (st.draining) {
    respond(api::rest_api::error(503, st.cfg.role + " is shutting down."));
    return;
  }
  if (st.db->pending_writes() >= st.cfg.max_pending_records) {
    respond(api::rest_api::error(503, "The activation store cannot write (" + st.db->write_failure() +
                                          ") and holds as many records as it may. Try again later."));
    return;
  }
  if (static_cast<std::int64_t>(st.in_flight.size()) >= st.cfg.max_in_flight) {
    ++st.refused_in_flight;
    respond(api::rest_api::error(
        429, fmt::format("Too many requests: {} activations are in flight on this node. Try again later.", st.in_flight.size())));
    return;
  }
  if (inv.concurrent_limit > 0) {
    auto n = st.running.find(inv.subject);
    if (n != st.running.end() && n->second >= inv.concurrent_limit) {
      respond(api::rest_api::error(429, fmt::format("Too many concurrent requests in flight (count: {}, allowed: {}).",
                                                    n->second, inv.concurrent_limit)));
      return;
    }
  }
  ++st.running[inv.subject];
  flight f{std::move(inv), {}, std::nullopt, std::nullopt, {}, -1};
  auto aid = f.inv.activation_id;
  if (f.inv.blocking) {
    f.waiter = std::move(respond);
    auto when = self->clock().now() + std::chrono::milliseconds(f.inv.wait_ms);
    f.deadline = st.deadlines.emplace(when, aid);
    schedule_sweep(self);
  } else {
    answer_accepted(self, f, std::move(respond));
  }
  if (f.inv.sequence)
    start_sequence(self, std::move(f));
  else
    send_run(self, std::move(f));
}

// GET /metrics: the pool's counters and whatever the node adds, in Prometheus' text format.
void answer_metrics(self_ptr self, http::responder respond) {
  self->request(self->state.pool, std::chrono::seconds(5), stats_atom::value)
      .then(
          [self, respond](const pool_stats& p) {
            using metrics::kind;
            std::vector<metrics::sample> out;
            auto gauge = [&](const char* name, const char* help, std::int64_t v) {
              out.push_back({name, help, kind::gauge, static_cast<double>(v), {}});
            };
            auto counter = [&](const char* name, const char* help, std::int64_t v) {
              out.push_back({name, help, kind::counter, static_cast<double>(v), {}});
            };
            gauge("containers", "Containers of the pool (stem cells included)", p.containers);
            gauge("stem_cells", "Prewarmed containers not bound to an action", p.stem_cells);
            gauge("containers_busy", "Containers running an activation", p.busy);
            gauge("containers_paused", "Containers paused", p.paused);
            gauge("runs_queued", "Runs waiting for a container", p.queued);
            gauge("memory_in_use_mb", "Memory reserved by containers (MB)", p.memory_in_use_mb);
            gauge("user_memory_mb", "Memory for all containers of the node (MB)", p.user_memory_mb);
            gauge("activations_in_flight", "Activations accepted and not yet finished",
                  static_cast<std::int64_t>(self->state.in_flight.size()));
            gauge("store_pending_writes", "Activation records not yet written (queued or kept for a retry)",
                  self->state.db->pending_writes());
            gauge("store_failing", "1 while the store cannot write activation records", !self->state.db->write_failure().empty());
            auto w = self->state.db->write_stats();
            counter("store_commits_total", "Group commits of activation records (answers wait for theirs)", w.commits);
            counter("store_records_written_total", "Activation records and stand-ins committed", w.records);
            out.push_back({"store_commit_seconds_total", "Time spent writing and committing activation records",
                           kind::counter, static_cast<double>(w.commit_us) / 1e6, {}});
            gauge("activations_in_flight_limit", "Bound on activations in flight (--max-in-flight)",
                  self->state.cfg.max_in_flight);
            counter("activations_refused_in_flight_total", "Invokes answered 429 at the in-flight bound",
                    self->state.refused_in_flight);
            counter("containers_created_total", "Containers created", p.created);
            counter("containers_removed_total", "Containers removed", p.removed);
            counter("containers_evicted_total", "Containers evicted to make room", p.evicted);
            counter("containers_expired_total", "Idle containers unloaded when the keep-alive policy's time ran out",
                    p.expired);
            counter("containers_prewarmed_total", "Containers started ahead of a function's next run by the keep-alive policy",
                    p.prewarms);
            out.push_back({"containers_idle_mb_seconds_total", "Memory of idle warm containers over time (MB x s)",
                           kind::counter, static_cast<double>(p.idle_mb_ms) / 1e3, {}});
            counter("runs_rejected_total", "Runs refused with 429 (queue full or queueing budget out)", p.rejected);
            counter("runs_shed_total", "Runs refused after waiting out the queueing budget", p.shed);
            counter("invokes_shed_total", "Invokes refused: they waited out the queueing budget before the controller",
                    self->state.shed_on_arrival->load());
            counter("rest_on_http_thread_total", "Invokes (or their refusals) handled from the REST caches on an HTTP thread, not the REST worker",
                    self->state.api ? self->state.api->on_http_thread.load() : 0);
            counter("container_proxy_failures_total", "Container proxies that died; their runs ended as whisk errors",
                    p.proxy_failures);
            for (auto [how, n] : {std::pair{"warm", p.warm_starts}, {"resumed", p.resumes},
                                  {"stem_cell", p.stem_cell_starts}, {"cold", p.cold_starts}})
              out.push_back({"starts_total", "Runs by how their container was found", kind::counter,
                             static_cast<double>(n), {{"start", how}}});
            if (self->state.cfg.extra_metrics)
              self->state.cfg.extra_metrics(out);
            http::response r{200, metrics::render(out), "text/plain; version=0.0.4", {}};
            respond(std::move(r));
          },
          [self, respond](caf::error& err) {
            respond(api::rest_api::error(503, "The container pool did not answer: " + self->system().render(err)));
          });
}

// The REST calls, on a thread of their own: authentication, entity reads and writes and
// activation listings may wait on the store here without stopping the controller.
caf::behavior rest_worker(caf::event_based_actor* self, std::shared_ptr<rest_state> api, controller_config cfg,
                          controller_actor ctl, std::shared_ptr<std::atomic<std::int64_t>> shed) {
  return {
      [=](http_atom, http_exchange& ex) {
        if (ex.req.method == "POST" && ex.req.received != std::chrono::steady_clock::time_point{} &&
            std::chrono::steady_clock::now() - ex.req.received > cfg.queue_budget &&
            ex.req.target.find("/actions/") != std::string::npos) {
          ++*shed;
          ex.respond(api::rest_api::error(
              429, fmt::format("Too many requests: the node could not take the invoke within its queueing budget of {} ms. "
                               "Try again later.", cfg.queue_budget.count())));
          return;
        }
        auto hook = [self, ctl](api::invocation inv, http::responder respond) {
          self->send(ctl, invoke_atom::value, local_invocation{std::move(inv), std::move(respond)});
        };
        std::lock_guard guard{api->mx};
        api->rest.handle(ex.req, ex.respond, hook);
      },
  };
}

controller_actor::behavior_type controller(self_ptr self, store* db, pool_actor pool, controller_config cfg,
                                           std::shared_ptr<std::atomic<std::int64_t>> shed, std::shared_ptr<rest_state> api) {
  auto& st = self->state;
  st.api = std::move(api);
  st.db = db;
  st.pool = std::move(pool);
  st.cfg = std::move(cfg);
  st.shed_on_arrival = std::move(shed);
  return {
      [self](http_atom, http_exchange& ex) { answer_metrics(self, std::move(ex.respond)); },
      [self](invoke_atom, local_invocation& li) { invoke(self, std::move(li.inv), std::move(li.respond)); },
      [self](timer_atom, const std::string& aid) {
        auto& st = self->state;
        if (aid == "drain-deadline") { // what is still running is ended with a whisk error record
          std::vector<std::string> ids;
          for (auto& [id, f] : st.in_flight)
            ids.push_back(id);
          for (auto& id : ids) {
            ++st.ended_by_drain;
            finish(self, id, whisk_error(id, st.cfg.role + " shut down before the activation completed."));
          }
          return;
        }
        if (aid == "sweep")
          sweep(self);
      },
      [self](drain_atom, caf::timespan limit) -> caf::typed_response_promise<std::int64_t> {
        auto& st = self->state;
        st.draining = true;
        auto rp = self->make_response_promise<std::int64_t>();
        st.drained = rp;
        log_info("controller: draining {} in-flight activation(s)", st.in_flight.size());
        self->delayed_send(self, limit, timer_atom::value, std::string("drain-deadline"));
        check_drained(self);
        return rp;
      },
  };
}

} // namespace

void controller_gate::open(const controller_handles& h) {
  std::lock_guard guard{mx_};
  controller_ = h.controller;
  rest_ = h.rest;
  api_ = h.api;
}

void controller_gate::close() {
  std::lock_guard guard{mx_};
  controller_ = nullptr;
  rest_ = nullptr;
  api_ = nullptr;
}

void controller_gate::forward(http::request req, http::responder respond) const {
  controller_actor c;
  caf::actor r;
  std::shared_ptr<rest_state> shared;
  {
    std::lock_guard guard{mx_};
    c = controller_;
    r = rest_;
    shared = api_;
  }
  if (!r) {
    respond(api::rest_api::error(503, role_ + " is starting or stopping. Try again later."));
    return;
  }
  // The warm path: an invoke whose key and action the caches hold goes from this thread to
  // the controller, without the REST worker's thread (one hand-off less); whatever needs the
  // store, or finds the worker busy, goes through the worker as before.
  if (shared && req.method == "POST" && req.target.find("/actions/") != std::string::npos &&
      req.target.rfind("/api/v1/web/", 0) != 0) {
    std::unique_lock lock{shared->mx, std::try_to_lock};
    auto hook = [c](api::invocation inv, http::responder respond) {
      caf::anon_send(c, invoke_atom::value, local_invocation{std::move(inv), std::move(respond)});
    };
    if (lock.owns_lock() && shared->rest.handle_cached(req, respond, hook)) {
      shared->on_http_thread.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // the metrics need no store: the controller answers them even while the store is slow
  if (api::is_metrics_request(req.method, req.target))
    caf::anon_send(c, http_atom::value, http_exchange{std::move(req), std::move(respond)});
  else
    caf::anon_send(r, http_atom::value, http_exchange{std::move(req), std::move(respond)});
}

controller_handles spawn_controller(caf::actor_system& sys, store& s, pool_actor pool, controller_config cfg) {
  auto shed = std::make_shared<std::atomic<std::int64_t>>(0);
  auto api = std::make_shared<rest_state>(s, cfg.rest);
  auto c = sys.spawn(controller, &s, std::move(pool), cfg, shed, api);
  auto rest = sys.spawn<caf::detached>(rest_worker, api, std::move(cfg), c, shed);
  c->attach_functor([rest](const caf::error&) { caf::anon_send_exit(rest, caf::exit_reason::user_shutdown); }); // ends with it
  return {c, rest, api};
}

} // namespace whisk
