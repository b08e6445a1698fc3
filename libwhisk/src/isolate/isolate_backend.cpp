#include "whisk/isolate/isolate_backend.hpp"

#include <algorithm>
#include <list>
#include <unordered_map>

#include "whisk/isolate/v8_function.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"

namespace whisk::isolate {

using container::outcome;
using container::outcome_kind;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::int64_t unsafe_heap_mb = 512;
// Heap growth past an isolate's live size that triggers a full collection: after a call,
// and (smaller) when the worker is idle.
constexpr std::size_t garbage_limit = 16u << 20, idle_garbage_limit = 4u << 20;
// A call queued behind a busy worker waits for it unless that worker's call has run this long.
constexpr auto steal_after = std::chrono::microseconds(200);
// Fresh mode: isolates each worker makes ahead while idle, for each of the heap sizes its
// fresh calls used last (a blank isolate holds ~1.5 MB).
constexpr std::size_t blanks_per_size = 2, blank_sizes = 2;

enum class mode { reuse, fresh, unsafe };

std::int64_t micros_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t).count();
}

} // namespace

struct isolate_backend::code {
  std::string source, main;
  std::int64_t memory_mb = 256;
  mode how = mode::reuse;
  bool reuse_context = false;
  std::string label; // for logs: a short identity
  // fresh mode: the code compiled once (at init), for every fresh isolate to start from
  mutable std::mutex compiled_mx;
  mutable compiled_code compiled;
  compiled_code compiled_form() const {
    std::lock_guard guard{compiled_mx};
    return compiled;
  }
};

// The isolates of one worker thread. Only that thread touches them.
struct isolate_backend::worker {
  struct entry {
    std::shared_ptr<const code> fn; // keeps the key alive
    std::unique_ptr<v8_function> compiled;
    std::size_t heap = 0;
    std::size_t baseline = 0; // heap after compiling or after the last full collection
    std::list<const code*>::iterator recent;
  };

  using finish_fn = std::function<void(call_result)>;
  // A call waiting for its timers and fetches, with what it needs once it ends.
  struct parked_call {
    std::unique_ptr<running_call> call;
    std::shared_ptr<const code> fn;
    finish_fn finish;
  };

  worker(int index, counters& c, std::int64_t max_count, std::int64_t max_bytes, std::shared_ptr<fetch_client> net,
         std::function<void(std::uint64_t)> wake)
      : index(index), c(c), max_count(max_count), max_bytes(max_bytes), net(std::move(net)), wake(std::move(wake)) {}

  ~worker() {
    for (auto& [size, ready] : blanks)
      c.blanks -= static_cast<std::int64_t>(ready.size());
    c.waiting -= static_cast<std::int64_t>(parked.size());
    parked.clear(); // (their isolates are used by this thread only: they end here)
    c.cached -= static_cast<std::int64_t>(cache.size());
    c.heap -= static_cast<std::int64_t>(bytes);
    if (shared)
      c.unsafe -= 1;
  }

  int index;
  counters& c;
  std::int64_t max_count, max_bytes;
  std::unordered_map<const code*, entry> cache;
  std::list<const code*> recent; // most recently used first
  std::size_t bytes = 0;
  std::unique_ptr<shared_context> shared;
  std::map<const code*, std::shared_ptr<const code>> shared_codes; // keeps the shared context's keys alive
  std::vector<const code*> spare_wanted; // isolates that used up their prepared context
  std::map<std::int64_t, std::vector<std::unique_ptr<blank_isolate>>> blanks; // fresh mode, by heap size
  std::deque<std::int64_t> recent_fresh_sizes; // most recent first, at most blank_sizes
  std::shared_ptr<fetch_client> net;
  std::function<void(std::uint64_t)> wake; // resumes a parked call on this worker (from any thread)
  std::map<std::uint64_t, parked_call> parked;
  std::uint64_t next_parked = 0;

  // Resumes the parked calls whose time has come (a timer, an answer, the deadline).
  void run_due() {
    auto now = clock_type::now();
    for (auto i = parked.begin(); i != parked.end();) {
      auto next = std::next(i);
      if (i->second.call->wake_at() <= now)
        resume(i->first);
      i = next;
    }
  }

  clock_type::time_point next_wake() const {
    auto t = clock_type::time_point::max();
    for (auto& [id, p] : parked)
      t = std::min(t, p.call->wake_at());
    return t;
  }

  void resume(std::uint64_t id) {
    auto i = parked.find(id);
    if (i == parked.end())
      return;
    i->second.call->resume();
    if (!i->second.call->finished())
      return;
    auto p = std::move(i->second);
    parked.erase(i);
    c.waiting -= 1;
    ended(std::move(p));
  }

  void ended(parked_call p) {
    auto r = p.call->take();
    p.call.reset();
    if (p.fn->how == mode::reuse) {
      after_call(p.fn.get());
      if (!p.fn->reuse_context && std::find(spare_wanted.begin(), spare_wanted.end(), p.fn.get()) == spare_wanted.end())
        spare_wanted.push_back(p.fn.get()); // at most once each: a saturated worker never gets to them
    }
    p.finish(std::move(r));
  }

  // Idle time: collect the garbage of an isolate that will likely be called again, then
  // make its next context; then make isolates ahead for fresh calls.
  bool idle_work() {
    while (!spare_wanted.empty()) {
      auto key = spare_wanted.back();
      spare_wanted.pop_back();
      auto i = cache.find(key);
      if (i == cache.end())
        continue;
      bool did = tidy(i->second, idle_garbage_limit);
      if (i->second.compiled->prepare() || did)
        return true;
    }
    for (auto size : recent_fresh_sizes)
      if (auto& ready = blanks[size]; ready.size() < blanks_per_size) {
        ready.push_back(std::make_unique<blank_isolate>(size));
        c.blanks += 1;
        return true;
      }
    return false;
  }

  bool has_idle_work() const {
    if (!spare_wanted.empty())
      return true;
    for (auto size : recent_fresh_sizes)
      if (auto i = blanks.find(size); i == blanks.end() || i->second.size() < blanks_per_size)
        return true;
    return false;
  }

  // A fresh call's isolate, if one of its size was made ahead; remembers the size for the
  // next idle time (the blanks of a size no longer among the recent ones go).
  std::unique_ptr<blank_isolate> made_ahead(std::int64_t size) {
    auto at = std::find(recent_fresh_sizes.begin(), recent_fresh_sizes.end(), size);
    if (at != recent_fresh_sizes.end())
      recent_fresh_sizes.erase(at);
    recent_fresh_sizes.push_front(size);
    if (recent_fresh_sizes.size() > blank_sizes) {
      if (auto old = blanks.find(recent_fresh_sizes.back()); old != blanks.end()) {
        c.blanks -= static_cast<std::int64_t>(old->second.size());
        blanks.erase(old);
      }
      recent_fresh_sizes.pop_back();
    }
    auto& ready = blanks[size];
    if (ready.empty())
      return nullptr;
    auto b = std::move(ready.back());
    ready.pop_back();
    c.blanks -= 1;
    c.fresh_ahead += 1;
    return b;
  }

  // The cached isolate of `fn`, compiled now if it is not there (r.init_us says so).
  v8_function* cached(const std::shared_ptr<const code>& fn, std::int64_t timeout_ms, call_result& r) {
    auto i = cache.find(fn.get());
    if (i != cache.end()) {
      c.hits += 1;
      recent.splice(recent.begin(), recent, i->second.recent);
      return i->second.compiled.get();
    }
    c.misses += 1;
    auto started = clock_type::now();
    call_status why = call_status::ok;
    auto compiled = v8_function::compile(fn->source, fn->main, fn->memory_mb, !fn->reuse_context, timeout_ms, &why);
    r.init_us = micros_since(started);
    if (!compiled) {
      r.status = why;
      r.output = compiled.err().message;
      return nullptr;
    }
    recent.push_front(fn.get());
    auto& e = cache[fn.get()];
    e.fn = fn;
    e.compiled = std::move(*compiled);
    e.recent = recent.begin();
    c.cached += 1;
    account(e);
    e.baseline = e.heap;
    trim(fn.get());
    return e.compiled.get();
  }

  // Drops the cached isolate of `key`, if any (its slot is gone and nothing else uses it).
  void forget(const code* key) {
    if (auto i = cache.find(key); i != cache.end())
      drop(i);
  }

  // Re-reads an entry's heap after a call; drops it when its isolate can no longer be used.
  void after_call(const code* key) {
    auto i = cache.find(key);
    if (i == cache.end())
      return;
    if (!i->second.compiled->usable()) {
      drop(i);
      return;
    }
    account(i->second);
    tidy(i->second, garbage_limit);
    trim(key);
  }

  // Contexts of past calls stay on the heap until a full collection, which V8 puts off
  // until the heap is large (100 MB and more): collect once an isolate has grown `slack`
  // past its live size (after compiling or after the last collection), so that the cache's
  // heap figure means live memory. An action that keeps much state in a kept context moves
  // its own baseline up. Measured: a collection every 20 new contexts adds ~15% to each.
  bool tidy(entry& e, std::size_t slack) {
    if (e.heap <= e.baseline + slack)
      return false;
    e.compiled->collect_garbage();
    c.collections += 1;
    account(e);
    e.baseline = e.heap;
    return true;
  }

  void account(entry& e) {
    auto now = e.compiled->heap_bytes();
    c.heap += static_cast<std::int64_t>(now) - static_cast<std::int64_t>(e.heap);
    bytes = bytes + now - e.heap;
    e.heap = now;
  }

  void drop(std::unordered_map<const code*, entry>::iterator i) {
    bytes -= i->second.heap;
    c.heap -= static_cast<std::int64_t>(i->second.heap);
    c.cached -= 1;
    recent.erase(i->second.recent);
    cache.erase(i);
  }

  // Evicts least recently used isolates (never `keep`) until the cache is within its bounds.
  void trim(const code* keep) {
    while ((static_cast<std::int64_t>(cache.size()) > max_count || static_cast<std::int64_t>(bytes) > max_bytes) &&
           !recent.empty() && recent.back() != keep) {
      auto i = cache.find(recent.back());
      auto label = i->second.fn->label;
      drop(i);
      auto n = ++c.evictions;
      if (n == 1 || n % 1000 == 0)
        log_info("isolate worker {}: cache full ({} isolates, {} MB of heap; bounds {} and {} MB per worker): "
                 "evicted {} ({} evictions so far)",
                 index, cache.size(), bytes >> 20, max_count, max_bytes >> 20, label, n);
      else
        log_debug("isolate worker {}: evicted {}", index, label);
    }
  }

  shared_context& shared_for() {
    if (shared && (!shared->usable() || static_cast<std::int64_t>(shared->functions()) >= max_count)) {
      log_info("isolate worker {}: {} the shared context", index, shared->usable() ? "renewing a full" : "replacing a broken");
      shared.reset();
      shared_codes.clear();
      c.unsafe -= 1;
    }
    if (!shared) {
      shared = std::make_unique<shared_context>(unsafe_heap_mb);
      c.unsafe += 1;
    }
    return *shared;
  }

  call_result load_shared(const std::shared_ptr<const code>& fn, std::int64_t timeout_ms) {
    auto& ctx = shared_for();
    if (ctx.loaded(fn.get()))
      return {};
    auto r = ctx.load(fn.get(), fn->source, fn->main, timeout_ms);
    if (r.status == call_status::ok)
      shared_codes[fn.get()] = fn;
    return r;
  }

  // Prepares `fn` on this worker as its mode says (the init of a slot).
  call_result prepare(const std::shared_ptr<const code>& fn, std::int64_t timeout_ms) {
    call_result r;
    switch (fn->how) {
      case mode::reuse: cached(fn, timeout_ms, r); break;
      case mode::fresh: {
        compiled_code made;
        r = check_compiles(fn->source, fn->main, fn->memory_mb, timeout_ms, &made);
        if (made) {
          std::lock_guard guard{fn->compiled_mx};
          fn->compiled = std::move(made);
        }
        break;
      }
      case mode::unsafe: r = load_shared(fn, timeout_ms); break;
    }
    return r;
  }

  // Starts a call; `finish` gets its result when it ends, now or after it was parked here.
  void call(const std::shared_ptr<const code>& fn, const std::string& params, std::int64_t timeout_ms,
            std::int64_t log_limit_bytes, finish_fn finish) {
    c.calls += 1;
    auto id = ++next_parked;
    call_options opts;
    opts.timeout_ms = timeout_ms;
    opts.log_limit_bytes = log_limit_bytes;
    opts.net = net;
    opts.wake = [wake = wake, id] { wake(id); };
    auto started = clock_type::now();
    auto left = [&] { return std::max<std::int64_t>(1, timeout_ms - micros_since(started) / 1000); };
    std::unique_ptr<running_call> run;
    std::int64_t init_us = -1;
    switch (fn->how) {
      case mode::reuse: {
        call_result prep;
        auto* f = cached(fn, timeout_ms, prep);
        if (!f)
          return finish(std::move(prep));
        init_us = prep.init_us; // (a timeout's message is worded by the proxy from the action's limit)
        opts.timeout_ms = left();
        run = f->start(params, std::move(opts));
        break;
      }
      case mode::fresh:
        c.fresh += 1;
        run = start_in_new_isolate(fn->source, fn->main, fn->memory_mb, params, std::move(opts), made_ahead(fn->memory_mb),
                                   fn->compiled_form());
        break;
      case mode::unsafe: {
        auto prep = load_shared(fn, timeout_ms);
        if (prep.status != call_status::ok)
          return finish(std::move(prep));
        init_us = prep.init_us;
        opts.timeout_ms = left();
        run = shared->start(fn.get(), params, std::move(opts));
        break;
      }
    }
    parked_call p{std::move(run), fn, [finish = std::move(finish), init_us](call_result r) {
                    if (init_us >= 0)
                      r.init_us = init_us;
                    finish(std::move(r));
                  }};
    if (p.call->finished())
      return ended(std::move(p));
    c.waiting += 1;
    parked.emplace(id, std::move(p));
  }
};

isolate_backend::isolate_backend(isolate_config cfg) : cfg_(cfg) {
  if (cfg_.workers <= 0)
    cfg_.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cfg_.cache_isolates = std::max<std::int64_t>(cfg_.cache_isolates, cfg_.workers);
  cfg_.cache_mb = std::max<std::int64_t>(cfg_.cache_mb, 1);
  auto allowed = parse_net_ranges(cfg_.fetch_allow);
  if (!allowed)
    log_error("isolate backend: --isolate-fetch-allow: {}; fetch reaches no address the network policy refuses",
              allowed.err().message);
  net_ = std::make_shared<fetch_client>(allowed ? *allowed : std::vector<net_range>{}, cfg_.fetch);
  for (int i = 0; i < cfg_.workers; ++i)
    queues_.push_back(std::make_unique<queue>());
  for (int i = 0; i < cfg_.workers; ++i)
    threads_.emplace_back([this, i] { work(i); });
  log_info("isolate backend: {} worker thread(s), cache of {} isolates / {} MB, unsafe mode {}, fetch may also reach "
           "[{}]",
           cfg_.workers, cfg_.cache_isolates, cfg_.cache_mb, cfg_.allow_unsafe ? "allowed" : "refused", cfg_.fetch_allow);
}

isolate_backend::~isolate_backend() {
  {
    std::lock_guard guard{mx_};
    stopping_ = true;
    for (auto& q : queues_)
      q->wake.notify_one();
  }
  for (auto& t : threads_)
    t.join();
}

isolate_stats isolate_backend::stats() const {
  isolate_stats s;
  s.workers = cfg_.workers;
  s.cached_isolates = counters_.cached;
  s.cached_heap_bytes = counters_.heap;
  s.cache_hits = counters_.hits;
  s.cache_misses = counters_.misses;
  s.cache_evictions = counters_.evictions;
  s.calls = counters_.calls;
  s.fresh_isolates = counters_.fresh;
  s.unsafe_contexts = counters_.unsafe;
  s.timeouts = counters_.timeouts;
  s.out_of_memory = counters_.ooms;
  s.collections = counters_.collections;
  s.waiting = counters_.waiting;
  s.fresh_made_ahead = counters_.fresh_ahead;
  s.blank_isolates = counters_.blanks;
  std::lock_guard guard{mx_};
  for (auto& q : queues_)
    s.queued += static_cast<std::int64_t>(q->tasks.size());
  return s;
}

void isolate_backend::post(int home, task t) {
  std::lock_guard guard{mx_};
  auto& q = *queues_[static_cast<std::size_t>(home)];
  bool stealable = t.stealable;
  q.tasks.push_back(std::move(t));
  if (q.idle) {
    q.idle = false;
    q.wake.notify_one();
    return;
  }
  if (!stealable || clock_type::now() - q.busy_since < steal_after)
    return;
  for (auto& other : queues_) // the home worker is busy with a long call: wake an idle one to take it
    if (other->idle) {
      other->idle = false;
      other->wake.notify_one();
      return;
    }
}

void isolate_backend::work(int index) {
  auto per_worker = [&](std::int64_t total) { return std::max<std::int64_t>(1, (total + cfg_.workers - 1) / cfg_.workers); };
  auto wake = [this, index](std::uint64_t id) { post(index, task{[id](worker& w) { w.resume(id); }, false}); };
  worker w(index, counters_, per_worker(cfg_.cache_isolates), per_worker(cfg_.cache_mb) << 20, net_, wake);
  auto& own = *queues_[static_cast<std::size_t>(index)];
  // the next task: our own first, else the oldest stealable one of another worker
  auto take = [&](task& t) {
    if (!own.tasks.empty()) {
      t = std::move(own.tasks.front());
      own.tasks.pop_front();
      return true;
    }
    for (auto& q : queues_)
      for (auto i = q->tasks.begin(); i != q->tasks.end(); ++i)
        if (i->stealable) {
          t = std::move(*i);
          q->tasks.erase(i);
          return true;
        }
    return false;
  };
  for (;;) {
    w.run_due(); // parked calls whose timer, answer or deadline has come
    auto next_wake = w.next_wake();
    task t;
    bool got = false;
    {
      std::unique_lock lock{mx_};
      while (!(got = take(t))) {
        if (stopping_)
          return; // the worker's isolates (and parked calls) are disposed here, on the thread that used them
        if (clock_type::now() >= next_wake)
          break;
        if (w.has_idle_work()) {
          lock.unlock();
          w.idle_work();
          lock.lock();
          continue;
        }
        own.idle = true;
        bool others_busy = std::any_of(queues_.begin(), queues_.end(), [](auto& q) { return !q->idle; });
        auto until = others_busy ? std::min(next_wake, clock_type::now() + std::chrono::milliseconds(1)) : next_wake;
        if (until == clock_type::time_point::max())
          own.wake.wait(lock);
        else
          own.wake.wait_until(lock, until); // they may get calls this worker could take
        own.idle = false;
      }
      if (got)
        own.busy_since = clock_type::now();
    }
    if (got)
      t.fn(w);
  }
}

std::shared_ptr<const isolate_backend::code> isolate_backend::intern(const container::init_request& req,
                                                                     std::int64_t memory_mb) {
  auto c = std::make_shared<code>();
  c->source = req.code;
  c->main = req.main;
  c->memory_mb = memory_mb;
  c->how = req.mode == "fresh" ? mode::fresh : req.mode == "unsafe" ? mode::unsafe : mode::reuse;
  c->reuse_context = req.reuse_context;
  auto hash = std::hash<std::string>{}(req.code);
  c->label = fmt::format("code {:016x}/{} ({} MB, {}{})", hash, req.main, memory_mb,
                         req.mode.empty() ? "reuse" : req.mode, req.reuse_context ? ", kept context" : "");
  if (c->reuse_context)
    return c; // a kept context is the slot's own state, as a container's memory is
  // slots of the same code share cached isolates; collisions of the hash just do not share
  auto& known = codes_[c->label];
  if (auto old = known.lock(); old && old->source == c->source)
    return old;
  known = c;
  for (auto i = codes_.begin(); i != codes_.end();) // forget codes no slot or cache holds
    i = i->second.expired() ? codes_.erase(i) : std::next(i);
  return c;
}

namespace {

outcome to_outcome(call_result r, bool init) {
  outcome out;
  out.logs = std::move(r.logs);
  out.init_us = r.init_us;
  switch (r.status) {
    case call_status::ok:
      out.kind = outcome_kind::ok;
      out.output = init ? R"({"ok":true})" : std::move(r.output);
      break;
    // a throw answers {"error": ...}, as the nodejs runtime does
    case call_status::threw: {
      out.kind = outcome_kind::ok;
      // the proxy words init failures itself
      std::string_view prefix = "Initialization has failed due to: ";
      std::string_view message = r.output;
      if (init && message.substr(0, prefix.size()) == prefix)
        message.remove_prefix(prefix.size());
      out.output = json::dump(json::object{{"error", std::string(message)}});
      break;
    }
    case call_status::timeout: out.kind = outcome_kind::timeout; break;
    case call_status::oom: out.kind = outcome_kind::oom; break;
  }
  return out;
}

} // namespace

void isolate_backend::create(const container::spec& s, create_done done) {
  container::container_id id;
  {
    std::lock_guard guard{mx_};
    id = next_id_++;
    auto& sl = slots_[id];
    sl.memory_mb = s.memory_mb;
    auto fewest = std::min_element(queues_.begin(), queues_.end(), [](auto& a, auto& b) { return a->slots < b->slots; });
    sl.home = static_cast<int>(fewest - queues_.begin());
    (*fewest)->slots += 1;
  }
  done(id);
}

void isolate_backend::init(container::container_id id, container::init_request req, op_done done) {
  std::shared_ptr<const code> fn;
  int home = 0;
  {
    std::lock_guard guard{mx_};
    auto i = slots_.find(id);
    if (i == slots_.end()) {
      done(outcome{outcome_kind::failed, "no such container", {}, 0});
      return;
    }
    home = i->second.home;
    if (req.mode == "unsafe" && !cfg_.allow_unsafe) {
      done(outcome{outcome_kind::ok,
                   json::dump(json::object{{"error", "Initialization has failed due to: isolate-mode 'unsafe' is not "
                                                     "allowed on this node."}}),
                   {},
                   0});
      return;
    }
    fn = intern(req, i->second.memory_mb);
    i->second.fn = fn;
  }
  auto prepare = [this, id, fn, timeout = req.timeout_ms, done = std::move(done)](worker& w) {
    auto started = clock_type::now();
    auto r = w.prepare(fn, timeout);
    bool ok = r.status == call_status::ok;
    auto out = to_outcome(std::move(r), true);
    out.init_us = -1;
    out.duration_us = micros_since(started);
    if (!ok) {
      std::lock_guard guard{mx_};
      if (auto i = slots_.find(id); i != slots_.end() && i->second.fn == fn)
        i->second.fn.reset();
    }
    done(std::move(out));
  };
  post(home, task{std::move(prepare), false}); // compiles on the home worker, where the calls go
}

void isolate_backend::run(container::container_id id, container::run_request req, op_done done) {
  std::shared_ptr<const code> fn;
  int home = 0;
  {
    std::lock_guard guard{mx_};
    auto i = slots_.find(id);
    if (i != slots_.end()) {
      fn = i->second.fn;
      home = i->second.home;
    }
  }
  if (!fn) {
    done(outcome{outcome_kind::failed, "no such container", {}, 0});
    return;
  }
  bool stealable = !(fn->how == mode::reuse && fn->reuse_context);
  auto call = [this, fn, req = std::move(req), done = std::move(done)](worker& w) mutable {
    auto msg = json::parse(req.message_json, json::max_wrapped_depth);
    const json::value* value = msg ? msg->find("value") : nullptr;
    auto started = clock_type::now();
    w.call(fn, value ? json::dump(*value) : "{}", req.timeout_ms, req.log_limit_bytes,
           [this, started, done = std::move(done)](call_result r) {
             if (r.status == call_status::timeout)
               counters_.timeouts += 1;
             if (r.status == call_status::oom)
               counters_.ooms += 1;
             auto out = to_outcome(std::move(r), false);
             out.duration_us = micros_since(started);
             done(std::move(out));
           });
  };
  post(home, task{std::move(call), stealable});
}

void isolate_backend::suspend(container::container_id, flag_done done) { done(true); }

void isolate_backend::resume(container::container_id, flag_done done) { done(true); }

void isolate_backend::destroy(container::container_id id, std::function<void()> done) {
  std::shared_ptr<const code> own_isolate;
  int home = 0;
  {
    std::lock_guard guard{mx_};
    if (auto i = slots_.find(id); i != slots_.end()) {
      home = i->second.home;
      queues_[static_cast<std::size_t>(home)]->slots -= 1;
      if (i->second.fn && i->second.fn->reuse_context)
        own_isolate = i->second.fn; // a kept context belongs to this slot alone
      slots_.erase(i);
    }
  }
  if (own_isolate)
    post(home, task{[fn = std::move(own_isolate)](worker& w) { w.forget(fn.get()); }, false});
  done();
}

} // namespace whisk::isolate
