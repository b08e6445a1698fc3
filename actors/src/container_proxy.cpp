// container_proxy: one per container. States:
//   uninitialized -> starting -> started (stem cell) -> initializing -> ready <-> running
//   ready -> pausing -> paused -> resuming -> ready;  any -> removing (idle, failure, eviction)
#include "whisk/actors/container_proxy.hpp"

#include <deque>
#include <map>
#include <optional>

#include "whisk/credentials.hpp"
#include "whisk/domain.hpp"
#include "whisk/log.hpp"
#include "whisk/policy/outcome.hpp"

namespace whisk {

namespace {

enum class proxy_status { uninitialized, starting, started, initializing, ready, running, pausing, paused, resuming, removing };

const char* to_string(proxy_status s) {
  static constexpr const char* names[] = {"uninitialized", "starting", "started", "initializing", "ready",
                                          "running", "pausing", "paused", "resuming", "removing"};
  return names[static_cast<int>(s)];
}

enum timer_kind : std::int32_t { idle_check = 0 };

struct pending_run {
  run_msg msg;
  caf::typed_response_promise<run_result> rp;
  std::int64_t start_ms = 0;
  caf::actor_clock::time_point started{}; // the actor clock's start (the owner's keep-alive policy)
};

struct proxy_state {
  proxy_state() = default; // not an aggregate: CAF would try to build it from the self pointer
  static inline const char* name = "container_proxy";
  container_owner pool; // the pool or agent that spawned it
  std::uint64_t token = 0; // backend completions carry it: a remote peer cannot forge them
  std::uint64_t id = 0;
  std::shared_ptr<container::backend> backend;
  container::container_id cid = 0;
  bool has_container = false;
  std::string kind;
  std::int64_t memory_mb = 0;
  proxy_config cfg;
  proxy_status status = proxy_status::uninitialized;
  std::optional<action_ref> action;
  std::deque<pending_run> buffered;
  std::map<std::string, pending_run> running;
  std::int64_t init_ms = -1;            // handed to the first run after init
  std::vector<std::string> init_logs;
  // Idle timing without a timer per run: one pending check at a time, compared against
  // the time the container last became idle.
  caf::actor_clock::time_point idle_since{};
  caf::actor_clock::time_point next_check = caf::actor_clock::time_point::max(); // earliest pending check
  std::deque<std::string> kept_logs; // for the owner's GET /log: newest lines since the last read
  std::size_t kept_bytes = 0;
  std::optional<caf::typed_response_promise<bool>> operator_op; // a suspend / resume asked by the owner
  bool prewarm = false; // initialize once started, with no run waiting
  std::optional<caf::timespan> keep; // the owner's keep-alive for this idle period (else cfg.idle_timeout)
  bool failed = false; // a run failed the container: removed once the runs in flight are answered
};

using self_ptr = proxy_actor::stateful_pointer<proxy_state>;

void begin_remove(self_ptr self, const char* reason);
void drain(self_ptr self);

void keep_logs(self_ptr self, const std::vector<std::string>& lines) {
  auto& st = self->state;
  if (st.cfg.kept_log_lines == 0)
    return;
  for (auto& l : lines) {
    st.kept_logs.push_back(l);
    st.kept_bytes += l.size();
    while (st.kept_logs.size() > st.cfg.kept_log_lines || st.kept_bytes > st.cfg.kept_log_bytes) {
      st.kept_bytes -= st.kept_logs.front().size();
      st.kept_logs.pop_front();
    }
  }
}

bool from_owner(self_ptr self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender()) == self->state.pool.address();
}

void answer_operator(self_ptr self, bool ok) {
  if (self->state.operator_op) {
    self->state.operator_op->deliver(ok);
    self->state.operator_op.reset();
  }
}

void set_status(self_ptr self, proxy_status s) {
  log_debug("proxy {}: {} -> {}", self->state.id, to_string(self->state.status), to_string(s));
  self->state.status = s;
}

void report(self_ptr self, policy::slot_state s) {
  container_event ev{self->state.id, static_cast<std::int32_t>(s), {}};
  if (s == policy::slot_state::ready && self->state.action)
    ev.action_key = self->state.action->revision;
  self->send(self->state.pool, container_atom::value, std::move(ev));
}

// Backend completions arrive on backend threads: they only send a message to the proxy.
auto notify(self_ptr self, backend_op op, std::string activation_id = {}) {
  auto me = caf::actor_cast<proxy_actor>(self);
  return [me, op, aid = std::move(activation_id), token = self->state.token](container::outcome out) {
    backend_event ev;
    ev.op = static_cast<std::int32_t>(op);
    ev.token = token;
    ev.ok = out.kind == container::outcome_kind::ok;
    ev.activation_id = aid;
    ev.outcome = static_cast<std::int32_t>(out.kind);
    ev.output = std::move(out.output);
    ev.logs = std::move(out.logs);
    ev.duration_us = out.duration_us;
    ev.init_us = out.init_us;
    caf::anon_send(me, backend_atom::value, std::move(ev));
  };
}

auto notify_flag(self_ptr self, backend_op op) {
  auto me = caf::actor_cast<proxy_actor>(self);
  return [me, op, token = self->state.token](bool ok) {
    backend_event ev;
    ev.op = static_cast<std::int32_t>(op);
    ev.token = token;
    ev.ok = ok;
    caf::anon_send(me, backend_atom::value, std::move(ev));
  };
}

run_result failed_result(const run_msg& msg, activation_status status, std::string message) {
  run_result r;
  r.activation_id = msg.activation_id;
  r.status = static_cast<std::int32_t>(status);
  r.result_json = json::dump(json::object{{"error", std::move(message)}});
  r.start_ms = r.end_ms = now_ms();
  r.wait_ms = std::max<std::int64_t>(0, r.start_ms - msg.received_ms);
  return r;
}

run_result retry_result(const run_msg& msg) {
  run_result r;
  r.activation_id = msg.activation_id;
  r.retry = true;
  return r;
}

// A check already pending at or before the wanted time does the job; a later one (say, the
// idle timeout of a paused container that was resumed since) does not.
void schedule_idle_check(self_ptr self, caf::timespan after) {
  auto& st = self->state;
  auto when = self->clock().now() + after;
  if (st.next_check <= when)
    return;
  st.next_check = when;
  self->delayed_send(self, after, timer_atom::value, std::int32_t{idle_check}, std::uint64_t{0});
}

// How long an idle container stays: the owner's word for this idle period, or the
// configured idle timeout; none when the owner unloads it itself.
std::optional<caf::timespan> keep_for(const proxy_state& st) {
  if (st.keep)
    return st.keep->count() < 0 ? std::nullopt : st.keep;
  if (st.cfg.owner_unloads)
    return std::nullopt;
  return st.cfg.idle_timeout;
}

void on_idle_check(self_ptr self);

void became_idle(self_ptr self) {
  auto& st = self->state;
  st.idle_since = self->clock().now();
  on_idle_check(self);
}

// Removes after the keep-alive and pauses after the pause grace, both counted from the
// moment the container last became idle; reschedules itself for what is left.
void on_idle_check(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now >= st.next_check)
    st.next_check = caf::actor_clock::time_point::max(); // the earliest pending check is this one
  if (!st.running.empty() || !st.buffered.empty())
    return; // busy: the next became_idle schedules again
  if (st.status != proxy_status::ready && st.status != proxy_status::paused)
    return; // pausing or resuming: checked again when that is done
  auto idle_for = now - st.idle_since;
  auto keep = keep_for(st);
  if (keep && idle_for >= *keep) {
    begin_remove(self, "idle timeout");
    return;
  }
  if (st.status == proxy_status::ready && idle_for >= st.cfg.pause_grace) {
    set_status(self, proxy_status::pausing);
    st.backend->suspend(st.cid, notify_flag(self, backend_op::suspend));
    return;
  }
  auto next = st.status == proxy_status::ready ? st.cfg.pause_grace - idle_for : caf::timespan::max();
  if (keep)
    next = std::min(next, *keep - idle_for);
  if (next != caf::timespan::max())
    schedule_idle_check(self, next);
}

// The line the runtime reads for one activation, built without re-parsing the parameters.
std::string run_line(const run_msg& m, std::int64_t deadline_ms) {
  std::string out;
  out.reserve(m.params_json.size() + 2 * (m.action.ns.size() + m.action.name.size()) + m.action.version.size() +
              2 * m.activation_id.size() + m.api_key.size() + m.api_host.size() + 256);
  out += "{\"value\":";
  out += m.params_json.empty() ? "{}" : m.params_json;
  auto field = [&](const char* key, const std::string& v) {
    out += ",\"";
    out += key;
    out += "\":";
    json::write_string(out, v);
  };
  field("namespace", m.action.ns);
  field("action_name", "/" + m.action.ns + "/" + m.action.name);
  field("action_version", m.action.version);
  field("activation_id", m.activation_id);
  field("transaction_id", m.activation_id);
  field("deadline", std::to_string(deadline_ms));
  if (!m.api_key.empty()) {
    field("api_key", m.api_key);
    field("api_host", m.api_host);
  }
  out += "}";
  return out;
}

void dispatch(self_ptr self, pending_run pr) {
  auto& st = self->state;
  set_status(self, proxy_status::running);
  pr.start_ms = now_ms();
  pr.started = self->clock().now();
  auto& a = pr.msg.action;
  container::run_request req{run_line(pr.msg, pr.start_ms + a.timeout_ms), a.timeout_ms, a.log_limit_bytes};
  auto aid = pr.msg.activation_id;
  st.running.emplace(aid, std::move(pr));
  st.backend->run(st.cid, std::move(req), notify(self, backend_op::run, aid));
}

void begin_init(self_ptr self) {
  auto& st = self->state;
  set_status(self, proxy_status::initializing);
  auto& a = *st.action;
  container::init_request req{a.code.str(), a.main, a.binary, a.env_json, a.timeout_ms, a.log_limit_bytes, a.mode, a.reuse_context, a.concurrency};
  st.backend->init(st.cid, std::move(req), notify(self, backend_op::init));
}

void begin_resume(self_ptr self) {
  set_status(self, proxy_status::resuming);
  self->state.backend->resume(self->state.cid, notify_flag(self, backend_op::resume));
}

void accept(self_ptr self, pending_run pr) {
  auto& st = self->state;
  if (st.action && st.action->revision != pr.msg.action.revision) {
    pr.rp.deliver(retry_result(pr.msg)); // placed on a container of another action: place again
    return;
  }
  switch (st.status) {
    case proxy_status::uninitialized:
    case proxy_status::starting:
      st.action = pr.msg.action;
      st.buffered.push_back(std::move(pr));
      break;
    case proxy_status::started:
      st.action = pr.msg.action;
      st.buffered.push_back(std::move(pr));
      begin_init(self);
      break;
    case proxy_status::initializing:
    case proxy_status::pausing:
    case proxy_status::resuming:
      st.buffered.push_back(std::move(pr));
      break;
    case proxy_status::ready:
    case proxy_status::running:
      if (!st.failed && static_cast<std::int64_t>(st.running.size()) < st.action->concurrency)
        dispatch(self, std::move(pr));
      else
        st.buffered.push_back(std::move(pr));
      break;
    case proxy_status::paused:
      st.buffered.push_back(std::move(pr));
      begin_resume(self);
      break;
    case proxy_status::removing:
      pr.rp.deliver(retry_result(pr.msg));
      break;
  }
}

void drain(self_ptr self) {
  auto& st = self->state;
  while (!st.buffered.empty() && static_cast<std::int64_t>(st.running.size()) < st.action->concurrency) {
    auto pr = std::move(st.buffered.front());
    st.buffered.pop_front();
    dispatch(self, std::move(pr));
  }
  if (st.running.empty() && st.status != proxy_status::removing) {
    set_status(self, proxy_status::ready);
    became_idle(self);
  }
}

void on_created(self_ptr self, backend_event& ev) {
  auto& st = self->state;
  if (!ev.ok) {
    log_error("proxy {}: cannot start a {} container: {}", st.id, st.kind, ev.output);
    for (auto& pr : st.buffered)
      pr.rp.deliver(failed_result(pr.msg, activation_status::whisk_error, "Failed to start a container: " + ev.output));
    st.buffered.clear();
    if (st.status != proxy_status::removing) {
      set_status(self, proxy_status::removing);
      report(self, policy::slot_state::removing);
    }
    self->quit();
    return;
  }
  st.cid = ev.container;
  st.has_container = true;
  if (st.status == proxy_status::removing) { // evicted while starting
    st.backend->destroy(st.cid, [me = caf::actor_cast<proxy_actor>(self), token = st.token] {
      backend_event done;
      done.op = static_cast<std::int32_t>(backend_op::destroy);
      done.token = token;
      caf::anon_send(me, backend_atom::value, std::move(done));
    });
    return;
  }
  set_status(self, proxy_status::started);
  if (st.buffered.empty() && !st.prewarm) {
    report(self, policy::slot_state::stem);
    return;
  }
  begin_init(self);
}

void on_init(self_ptr self, backend_event& ev) {
  auto& st = self->state;
  container::outcome out{static_cast<container::outcome_kind>(ev.outcome), ev.output, ev.logs, ev.duration_us};
  auto verdict = policy::classify_init(out, st.action->timeout_ms);
  st.init_ms = ev.duration_us / 1000;
  st.init_logs = std::move(ev.logs);
  if (verdict.status != activation_status::success) {
    log_info("proxy {}: init of {} failed: {}", st.id, st.action->revision, json::dump(verdict.result));
    auto message = json::get_string(verdict.result, "error");
    for (auto& pr : st.buffered) {
      auto r = failed_result(pr.msg, verdict.status, message);
      r.logs = st.init_logs;
      r.init_ms = st.init_ms;
      r.timed_out = out.kind == container::outcome_kind::timeout;
      pr.rp.deliver(std::move(r));
    }
    st.buffered.clear();
    begin_remove(self, "init failed");
    return;
  }
  if (st.prewarm) { // started ahead of a run: that run is warm (nothing of the init is handed to it)
    st.prewarm = false;
    st.init_ms = -1;
    st.init_logs.clear();
  }
  report(self, policy::slot_state::ready); // bound to its action from now on
  drain(self);
}

void on_run(self_ptr self, backend_event& ev) {
  auto& st = self->state;
  auto i = st.running.find(ev.activation_id);
  if (i == st.running.end())
    return;
  auto pr = std::move(i->second);
  st.running.erase(i);
  container::outcome out{static_cast<container::outcome_kind>(ev.outcome), std::move(ev.output), {}, ev.duration_us};
  auto verdict = policy::classify_run(out, pr.msg.action.timeout_ms);
  run_result r;
  r.activation_id = pr.msg.activation_id;
  r.status = static_cast<std::int32_t>(verdict.status);
  r.result_json = json::dump(verdict.result);
  r.start_ms = pr.start_ms;
  r.end_ms = std::max(now_ms(), pr.start_ms);
  r.wait_ms = std::max<std::int64_t>(0, pr.start_ms - pr.msg.received_ms);
  r.timed_out = out.kind == container::outcome_kind::timeout;
  if (st.init_ms >= 0) { // the first run after init carries the init time and logs
    r.init_ms = st.init_ms;
    r.logs = std::move(st.init_logs);
    st.init_ms = -1;
    st.init_logs.clear();
  }
  if (ev.init_us >= 0) // the backend prepared a cold runtime for this run (an isolate on a new worker)
    r.init_ms = std::max<std::int64_t>(r.init_ms, 0) + ev.init_us / 1000;
  r.logs.insert(r.logs.end(), std::make_move_iterator(ev.logs.begin()), std::make_move_iterator(ev.logs.end()));
  keep_logs(self, r.logs);
  if (st.cfg.report_runs) {
    auto o = r.timed_out ? run_outcome::timeout
                         : r.status == static_cast<std::int32_t>(activation_status::whisk_error) ? run_outcome::system_error
                                                                                                 : run_outcome::fine;
    bool idle = st.running.empty() && st.buffered.empty();
    auto started = std::chrono::duration_cast<std::chrono::milliseconds>(pr.started.time_since_epoch()).count();
    self->send(st.pool, container_atom::value,
               container_event{st.id, static_cast<std::int32_t>(idle ? policy::slot_state::ready : policy::slot_state::busy),
                               {}, static_cast<std::int32_t>(o), started, r.init_ms >= 0});
  }
  pr.rp.deliver(std::move(r));
  // With concurrency > 1 the backend answers the other runs in flight itself (the process
  // backend at once, each with its own logs): they end before the container goes.
  st.failed = st.failed || out.kind != container::outcome_kind::ok;
  if (st.failed) {
    if (st.running.empty())
      begin_remove(self, "the container failed during a run");
    return;
  }
  drain(self);
}

void on_suspended(self_ptr self, bool ok) {
  auto& st = self->state;
  if (st.status != proxy_status::pausing)
    return;
  answer_operator(self, ok);
  if (ok) {
    set_status(self, proxy_status::paused);
    report(self, policy::slot_state::paused);
    if (!st.buffered.empty())
      begin_resume(self);
    else
      on_idle_check(self); // the keep-alive goes on counting
    return;
  }
  log_warn("proxy {}: pause failed; the container stays running", st.id);
  drain(self);
}

void on_resumed(self_ptr self, bool ok) {
  if (self->state.status != proxy_status::resuming)
    return;
  answer_operator(self, ok);
  if (!ok) {
    begin_remove(self, "resume failed");
    return;
  }
  report(self, policy::slot_state::ready);
  drain(self);
}

void begin_remove(self_ptr self, const char* reason) {
  auto& st = self->state;
  if (st.status == proxy_status::removing)
    return;
  log_debug("proxy {}: removing container ({})", st.id, reason);
  bool was_starting = st.status == proxy_status::starting || st.status == proxy_status::uninitialized;
  set_status(self, proxy_status::removing);
  report(self, policy::slot_state::removing);
  for (auto& [aid, pr] : st.running)
    pr.rp.deliver(failed_result(pr.msg, activation_status::whisk_error, std::string("The container was removed while the activation ran: ") + reason));
  st.running.clear();
  for (auto& pr : st.buffered)
    pr.rp.deliver(retry_result(pr.msg));
  st.buffered.clear();
  if (!st.has_container) {
    if (!was_starting)
      self->quit();
    return; // still starting: destroyed when the start completes
  }
  st.backend->destroy(st.cid, [me = caf::actor_cast<proxy_actor>(self), token = st.token] {
    backend_event done;
    done.op = static_cast<std::int32_t>(backend_op::destroy);
    done.token = token;
    caf::anon_send(me, backend_atom::value, std::move(done));
  });
}

proxy_actor::behavior_type container_proxy(self_ptr self, container_owner pool, std::uint64_t id,
                                           std::shared_ptr<container::backend> backend, std::string kind,
                                           std::int64_t memory_mb, proxy_config cfg) {
  auto& st = self->state;
  st.pool = std::move(pool);
  random_bytes(&st.token, sizeof st.token);
  st.id = id;
  st.backend = std::move(backend);
  st.kind = std::move(kind);
  st.memory_mb = memory_mb;
  st.cfg = cfg;
  set_status(self, proxy_status::starting);
  auto me = caf::actor_cast<proxy_actor>(self);
  st.backend->create(container::spec{st.kind, st.memory_mb}, [me, token = st.token](expected<container::container_id> r) {
    backend_event ev;
    ev.op = static_cast<std::int32_t>(backend_op::create);
    ev.token = token;
    ev.ok = static_cast<bool>(r);
    if (r)
      ev.container = *r;
    else
      ev.output = r.err().message;
    caf::anon_send(me, backend_atom::value, std::move(ev));
  });
  return {
      [self](run_atom, run_msg& msg) -> caf::typed_response_promise<run_result> {
        auto rp = self->make_response_promise<run_result>();
        // a run may come from another node: its limits are checked, not trusted
        auto& a = msg.action;
        if (msg.activation_id.empty() || msg.activation_id.size() > 128 || a.revision.empty() || a.timeout_ms < 1 ||
            a.timeout_ms > 24 * 3600 * 1000 || a.concurrency < 1 || a.concurrency > 1000 || a.log_limit_bytes < 0 ||
            a.log_limit_bytes > (std::int64_t{1} << 30) || a.memory_mb > self->state.memory_mb) {
          rp.deliver(failed_result(msg, activation_status::whisk_error, "The run was refused: its limits are out of range."));
          return rp;
        }
        accept(self, pending_run{std::move(msg), rp, 0});
        return rp;
      },
      [self](remove_atom) { begin_remove(self, "removed by the pool"); },
      [self](keep_atom, std::int64_t keep_ms) {
        if (!from_owner(self))
          return;
        self->state.keep = std::chrono::milliseconds(keep_ms < 0 ? -1 : keep_ms);
        on_idle_check(self); // (an idle container: removed now if that time is up, else checked then)
      },
      [self](prewarm_atom, action_ref& a) {
        auto& st = self->state;
        // only the owner, only a container that has not been bound to an action yet
        if (!from_owner(self) || st.action || a.revision.empty() || a.memory_mb > st.memory_mb)
          return;
        st.action = std::move(a);
        st.prewarm = true;
        if (st.status == proxy_status::started)
          begin_init(self);
      },
      [self](suspend_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_owner(self) || st.operator_op)
          return false;
        if (st.status == proxy_status::paused)
          return true;
        if (st.status != proxy_status::ready || !st.running.empty() || !st.buffered.empty())
          return false; // only an idle container is paused (a busy one pauses itself when idle)
        st.operator_op = self->make_response_promise<bool>();
        set_status(self, proxy_status::pausing);
        st.backend->suspend(st.cid, notify_flag(self, backend_op::suspend));
        return *st.operator_op;
      },
      [self](resume_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_owner(self) || st.operator_op)
          return false;
        if (st.status != proxy_status::paused)
          return st.status == proxy_status::ready || st.status == proxy_status::running;
        st.operator_op = self->make_response_promise<bool>();
        begin_resume(self);
        return *st.operator_op;
      },
      [self](log_atom) -> std::vector<std::string> {
        if (!from_owner(self))
          return {};
        std::vector<std::string> out(std::make_move_iterator(self->state.kept_logs.begin()),
                                     std::make_move_iterator(self->state.kept_logs.end()));
        self->state.kept_logs.clear();
        self->state.kept_bytes = 0;
        return out;
      },
      [self](backend_atom, backend_event& ev) {
        if (ev.token != self->state.token) {
          log_warn("proxy {}: dropped a backend event that did not come from its backend", self->state.id);
          return;
        }
        switch (static_cast<backend_op>(ev.op)) {
          case backend_op::create: on_created(self, ev); break;
          case backend_op::init: on_init(self, ev); break;
          case backend_op::run: on_run(self, ev); break;
          case backend_op::suspend: on_suspended(self, ev.ok); break;
          case backend_op::resume: on_resumed(self, ev.ok); break;
          case backend_op::destroy: self->quit(); break;
        }
      },
      [self](timer_atom, std::int32_t, std::uint64_t) {
        if (self->current_sender().get() == self->ctrl()) // its own delayed message, nobody else's
          on_idle_check(self);
      },
  };
}

} // namespace

proxy_actor spawn_container_proxy(caf::local_actor* parent, container_owner pool, std::uint64_t id,
                                  std::shared_ptr<container::backend> backend, std::string kind,
                                  std::int64_t memory_mb, proxy_config cfg) {
  return parent->spawn<caf::linked>(container_proxy, std::move(pool), id, std::move(backend), std::move(kind),
                                    memory_mb, cfg);
}

} // namespace whisk
