#include "whisk/isolate/v8_function.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <condition_variable>
#include <libplatform/libplatform.h>
#include <map>
#include <mutex>
#include <thread>
#include <v8.h>

#include "bounded_allocator.hpp"
#include "host_api.hpp"
#include "whisk/container/container.hpp"
#include "whisk/domain.hpp"

namespace whisk::isolate {

namespace {

using clock_type = std::chrono::steady_clock;

// V8 is initialized once per process and stays up until exit.
void ensure_v8() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Measured here: the built-in snapshot's checksum costs ~0.2 ms of every new isolate.
    v8::V8::SetFlagsFromString("--no-verify-snapshot-checksum");
    // Never destroyed: isolates may still be disposed by the reaper while the process exits.
    static v8::Platform* platform = v8::platform::NewDefaultPlatform().release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
  });
}

// One thread terminates calls that run past their deadline (TerminateExecution is the one
// V8 call that is safe from another thread).
class watchdog {
public:
  static watchdog& instance() {
    static auto* w = new watchdog; // never destroyed: calls may still be armed at exit
    return *w;
  }
  std::uint64_t arm(v8::Isolate* iso, clock_type::time_point deadline) {
    std::lock_guard guard{mx_};
    auto id = ++next_;
    armed_[id] = {iso, deadline, false};
    if (deadline < sleeping_until_) // the thread would wake too late: tell it (most calls need no wake-up)
      cv_.notify_one();
    return id;
  }
  // Returns true if the deadline fired.
  bool disarm(std::uint64_t id) {
    std::lock_guard guard{mx_};
    auto i = armed_.find(id);
    bool fired = i != armed_.end() && i->second.fired;
    if (i != armed_.end())
      armed_.erase(i);
    return fired;
  }

private:
  struct entry {
    v8::Isolate* iso;
    clock_type::time_point deadline;
    bool fired;
  };
  watchdog() {
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    std::unique_lock lock{mx_};
    for (;;) {
      auto next = clock_type::time_point::max();
      auto now = clock_type::now();
      for (auto& [id, e] : armed_) {
        if (e.fired)
          continue;
        if (e.deadline <= now) {
          e.fired = true;
          e.iso->TerminateExecution();
        } else {
          next = std::min(next, e.deadline);
        }
      }
      sleeping_until_ = next;
      if (next == clock_type::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, next);
      sleeping_until_ = clock_type::time_point::min(); // awake: it will look at every entry
    }
  }
  std::mutex mx_;
  std::condition_variable cv_;
  std::map<std::uint64_t, entry> armed_;
  std::uint64_t next_ = 0;
  clock_type::time_point sleeping_until_ = clock_type::time_point::min();
};

v8::Local<v8::String> str(v8::Isolate* iso, const std::string& s) {
  return v8::String::NewFromUtf8(iso, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocalChecked();
}

std::string text(v8::Isolate* iso, v8::Local<v8::Value> v) {
  v8::String::Utf8Value utf8(iso, v);
  return *utf8 ? std::string(*utf8, static_cast<std::size_t>(utf8.length())) : std::string("(unprintable)");
}

// Wraps the action like a module: top-level names stay private to it, and `main` may be a
// declared function, exports.main or module.exports.
std::string module_source(const std::string& code, const std::string& name) {
  return "(function() { const module = {exports: {}};\n"
         "const f = (function(exports, module) {\n" +
         code + "\n;return typeof " + name + " === 'function' ? " + name + " : undefined;\n})(module.exports, module);\n" +
         "if (typeof f === 'function') return f;\n" +
         "if (module.exports && typeof module.exports." + name + " === 'function') return module.exports." + name + ";\n" +
         "if (typeof module.exports === 'function') return module.exports;\n" +
         "return undefined; })()";
}


// A context and the queue its Promise jobs go to: one queue per context, so that a call's
// jobs run in its own turns only, and die with it. The queue outlives the handle.
struct owned_context {
  std::unique_ptr<v8::MicrotaskQueue> queue;
  v8::Global<v8::Context> ctx;
  bool empty() const { return ctx.IsEmpty(); }
};

// An isolate with a bounded heap (and bounded ArrayBuffers), console capture bounded by the
// call's log limit, and a way out near the heap limit. The owner keeps it on one thread at a time.
struct engine {
  std::atomic<bool> oom{false};
  std::unique_ptr<bounded_allocator> allocator;
  v8::Isolate* iso = nullptr;
  std::vector<std::string>* logs = nullptr; // the running call's log lines
  std::size_t log_limit = SIZE_MAX;         // bytes of console output the running call may write
  std::size_t log_bytes = 0;
  bool broken = false; // hit its heap limit: not used again
  v8::Global<v8::UnboundScript> prelude; // the host API's JS, compiled once per isolate

  explicit engine(std::int64_t heap_limit_mb)
      : allocator(std::make_unique<bounded_allocator>(static_cast<std::size_t>(heap_limit_mb) << 20, oom)) {
    ensure_v8();
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator.get();
    params.constraints.ConfigureDefaultsFromHeapSize(0, static_cast<std::size_t>(heap_limit_mb) << 20);
    iso = v8::Isolate::New(params);
    allocator->iso = iso;
    iso->AddNearHeapLimitCallback(&engine::near_heap_limit, this);
  }
  ~engine() {
    prelude.Reset();
    iso->Dispose();
  }
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  std::size_t heap_bytes() const {
    v8::HeapStatistics hs;
    iso->GetHeapStatistics(&hs);
    return hs.total_heap_size() + hs.external_memory();
  }

  // A new context with `console` wired to this engine and the host API; needs a HandleScope.
  v8::Local<v8::Context> new_context(owned_context& into) {
    into.queue = v8::MicrotaskQueue::New(iso, v8::MicrotasksPolicy::kExplicit);
    auto ctx = v8::Context::New(iso, nullptr, {}, {}, {}, into.queue.get());
    into.ctx.Reset(iso, ctx);
    v8::Context::Scope scope(ctx);
    auto self = v8::External::New(iso, this);
    auto console = v8::Object::New(iso);
    auto out = [](const v8::FunctionCallbackInfo<v8::Value>& i) { engine::console(i, "stdout"); };
    auto err = [](const v8::FunctionCallbackInfo<v8::Value>& i) { engine::console(i, "stderr"); };
    for (auto [name, fn] : {std::pair{"log", +out}, {"info", +out}, {"debug", +out}, {"warn", +err}, {"error", +err}})
      console->Set(ctx, str(iso, name), v8::Function::New(ctx, fn, self).ToLocalChecked()).Check();
    ctx->Global()->Set(ctx, str(iso, "console"), console).Check();
    install_host_api(ctx, prelude);
    return ctx;
  }

  static void console(const v8::FunctionCallbackInfo<v8::Value>& info, const char* stream) {
    auto* e = static_cast<engine*>(info.Data().As<v8::External>()->Value());
    if (!e->logs)
      return;
    auto* iso = info.GetIsolate();
    auto ctx = iso->GetCurrentContext();
    std::string line;
    for (int i = 0; i < info.Length(); ++i) {
      if (i)
        line += ' ';
      v8::Local<v8::String> json;
      if (info[i]->IsObject() && !info[i]->IsFunction() && v8::JSON::Stringify(ctx, info[i]).ToLocal(&json))
        line += text(iso, json);
      else
        line += text(iso, info[i]);
    }
    if (e->log_bytes > e->log_limit)
      return; // cut already
    e->log_bytes += line.size();
    if (e->log_bytes > e->log_limit) {
      e->logs->push_back(container::format_log_line(
          "stderr", fmt::format("Logs were truncated because the total bytes size exceeds the limit of {} bytes.", e->log_limit)));
      return;
    }
    e->logs->push_back(container::format_log_line(stream, line));
  }

  // A call starts: its console output counts from zero against its limit.
  void start_call(std::int64_t log_limit_bytes) {
    log_limit = log_limit_bytes < 0 ? SIZE_MAX : static_cast<std::size_t>(log_limit_bytes);
    log_bytes = 0;
  }

  // Near the heap limit: stop the call and give V8 room to unwind instead of aborting.
  static std::size_t near_heap_limit(void* data, std::size_t current, std::size_t) {
    auto* e = static_cast<engine*>(data);
    e->oom = true;
    e->iso->TerminateExecution();
    return current + (32u << 20);
  }
};

void run_microtasks(v8::Isolate* iso, v8::Local<v8::Context> ctx) {
  if (auto* q = ctx->GetMicrotaskQueue())
    q->PerformCheckpoint(iso);
  else
    iso->PerformMicrotaskCheckpoint();
}

std::int64_t micros_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t).count();
}

// Runs code that settles at once (the top level at init) in `ctx` under the time limit,
// with console lines going to the result's logs and termination classified. `body`
// returns the value (empty when it threw). `value`, when given, receives it. Needs the
// isolate, a HandleScope and `ctx` entered.
template <class Body>
call_result guarded(engine& e, v8::Local<v8::Context> ctx, std::int64_t timeout_ms, const char* error_prefix, Body&& body,
                    v8::Local<v8::Value>* value = nullptr) {
  call_result out;
  auto* iso = e.iso;
  if (e.broken) {
    out.status = call_status::oom;
    out.output = oom_message;
    return out;
  }
  v8::TryCatch trap(iso);
  e.logs = &out.logs;
  auto token = watchdog::instance().arm(iso, clock_type::now() + std::chrono::milliseconds(timeout_ms));
  v8::Local<v8::Value> result;
  bool returned = body(out).ToLocal(&result);
  if (returned)
    run_microtasks(iso, ctx);
  bool fired = watchdog::instance().disarm(token);
  e.logs = nullptr;
  if (e.oom || trap.HasTerminated() || fired) {
    iso->CancelTerminateExecution();
    if (e.oom) {
      e.broken = true;
      out.status = call_status::oom;
      out.output = oom_message;
    } else {
      out.status = call_status::timeout;
      out.output = timeout_message(timeout_ms);
    }
    return out;
  }
  if (!returned) {
    out.status = call_status::threw;
    out.output = error_prefix + text(iso, trap.Exception());
    return out;
  }
  if (value)
    *value = result;
  return out;
}

constexpr const char* init_prefix = "Initialization has failed due to: ";
constexpr const char* run_prefix = "An error has occurred: ";

// Runs the module-wrapped script in `ctx` and hands back its main function (at init).
call_result instantiate(engine& e, v8::Local<v8::Context> ctx, v8::Local<v8::UnboundScript> script,
                        const std::string& main_name, std::int64_t timeout_ms, const char* prefix,
                        v8::Local<v8::Function>& fn) {
  v8::Local<v8::Value> made;
  auto r = guarded(
      e, ctx, timeout_ms, prefix, [&](call_result&) { return script->BindToCurrentContext()->Run(ctx); }, &made);
  if (r.status == call_status::ok && !made->IsFunction()) {
    r.status = call_status::threw;
    r.output = std::string(prefix) + "the action does not define a function '" + main_name + "'";
  }
  if (r.status == call_status::ok)
    fn = made.As<v8::Function>();
  return r;
}

// Compiles the module wrapper of `code` (no user code runs), from `cache` when given (V8
// checks that it was made from this source by this V8 and compiles the source if not).
call_result compile_script(engine& e, const std::string& code, const std::string& main_name,
                           v8::Local<v8::UnboundScript>& script, const compiled_code& cache = nullptr) {
  call_result r;
  if (!is_valid_identifier(main_name)) {
    r.status = call_status::threw;
    r.output = "'" + main_name + "' is not a valid function name";
    return r;
  }
  v8::TryCatch trap(e.iso);
  auto* cached = cache ? new v8::ScriptCompiler::CachedData(reinterpret_cast<const std::uint8_t*>(cache->data()),
                                                            static_cast<int>(cache->size()))
                       : nullptr; // (owned by `source`, which does not own the bytes)
  v8::ScriptCompiler::Source source(str(e.iso, module_source(code, main_name)), cached);
  auto options = cached ? v8::ScriptCompiler::kConsumeCodeCache : v8::ScriptCompiler::kNoCompileOptions;
  if (!v8::ScriptCompiler::CompileUnboundScript(e.iso, &source, options).ToLocal(&script)) {
    r.status = call_status::threw;
    r.output = init_prefix + text(e.iso, trap.Exception());
  }
  return r;
}

// Compiles and instantiates in a new context of `e`: the first half of every mode.
call_result load_into(engine& e, v8::Local<v8::Context> ctx, const std::string& code, const std::string& main_name,
                      std::int64_t timeout_ms, v8::Local<v8::UnboundScript>& script, v8::Local<v8::Function>& fn) {
  auto r = compile_script(e, code, main_name, script);
  if (r.status != call_status::ok)
    return r;
  return instantiate(e, ctx, script, main_name, timeout_ms, init_prefix, fn);
}

// Disposes isolates off the calling thread (~0.6 ms each here), so that a fresh-mode call
// answers as soon as its result is known.
class reaper {
public:
  static reaper& instance() {
    static auto* r = new reaper; // never destroyed: like the watchdog
    return *r;
  }
  void take(std::unique_ptr<engine> e) {
    {
      std::lock_guard guard{mx_};
      doomed_.push_back(std::move(e));
    }
    cv_.notify_one();
  }

private:
  reaper() {
    std::thread([this] { loop(); }).detach();
    // The process must not end while an isolate is half disposed.
    std::atexit([] { instance().drain(); });
  }
  void loop() {
    std::unique_lock lock{mx_};
    for (;;) {
      cv_.wait(lock, [&] { return !doomed_.empty(); });
      auto batch = std::move(doomed_);
      doomed_.clear();
      disposing_ = true;
      lock.unlock();
      batch.clear();
      lock.lock();
      disposing_ = false;
      idle_cv_.notify_all();
    }
  }
  void drain() {
    std::unique_lock lock{mx_};
    idle_cv_.wait(lock, [&] { return doomed_.empty() && !disposing_; });
  }
  std::mutex mx_;
  std::condition_variable cv_, idle_cv_;
  std::vector<std::unique_ptr<engine>> doomed_;
  bool disposing_ = false;
};

} // namespace

// ---- a call and its turns ------------------------------------------------------------------

struct running_call::state {
  std::shared_ptr<void> keep;  // the owner of the engine (a function's or a shared context's state)
  std::unique_ptr<engine> own; // fresh mode: the call's own isolate
  engine* e = nullptr;
  owned_context own_ctx;                  // a context of this call alone, else empty
  v8::Global<v8::Context> ctx;            // the context it runs in
  v8::Global<v8::UnboundScript> script;   // run first in ctx (a context per call), else empty
  std::string main_name;
  v8::Global<v8::Function> main;          // called when there is no script to run first
  std::string params;
  v8::Global<v8::Promise> promise;
  std::unique_ptr<call_loop> loop;
  call_result out;
  std::size_t log_limit = SIZE_MAX, log_bytes = 0;
  clock_type::time_point deadline;
  std::int64_t timeout_ms = 0;
  bool finished = false;
  bool started = false;

  ~state() {
    loop.reset(); // cancels its fetches; its handles go before the isolate
    promise.Reset();
    main.Reset();
    script.Reset();
    ctx.Reset();
    own_ctx.ctx.Reset();
    own_ctx.queue.reset();
    if (own)
      reaper::instance().take(std::move(own));
  }

  void finish(call_status status, std::string output) {
    out.status = status;
    out.output = std::move(output);
    finished = true;
    if (loop)
      loop->cancel();
  }

  // The first turn: (the top level in its own context, then) main with the parameters.
  bool first_step(v8::Local<v8::Context> c, v8::Local<v8::Value>& result, const char*& prefix) {
    auto* iso = e->iso;
    v8::Local<v8::Function> fn;
    if (!script.IsEmpty()) {
      v8::Local<v8::Value> made;
      if (!script.Get(iso)->BindToCurrentContext()->Run(c).ToLocal(&made))
        return false;
      if (!made->IsFunction()) {
        prefix = nullptr;
        result = str(iso, std::string(run_prefix) + "the action does not define a function '" + main_name + "'");
        return false;
      }
      fn = made.As<v8::Function>();
    } else {
      fn = main.Get(iso);
    }
    v8::Local<v8::Value> arg;
    if (!v8::JSON::Parse(c, str(iso, params)).ToLocal(&arg))
      return false;
    return fn->Call(c, c->Global(), 1, &arg).ToLocal(&result);
  }

  // One turn on this thread: the first step or the loop's due work, then the Promise's state
  // decides whether the call is over (and its result is made inside the turn, under the deadline).
  void turn() {
    if (finished)
      return;
    if (e->broken)
      return finish(call_status::oom, oom_message);
    if (clock_type::now() >= deadline)
      return finish(call_status::timeout, timeout_message(timeout_ms));
    auto* iso = e->iso;
    v8::Isolate::Scope isolate_scope(iso);
    v8::HandleScope handles(iso);
    auto c = ctx.Get(iso);
    v8::Context::Scope context_scope(c);
    v8::TryCatch trap(iso);
    e->logs = &out.logs;
    e->log_limit = log_limit;
    e->log_bytes = log_bytes;
    call_loop::running running(*loop);
    auto token = watchdog::instance().arm(iso, deadline);
    bool threw = false;
    const char* prefix = run_prefix;
    v8::Local<v8::Value> value, message;
    bool settled = false;
    if (!started) {
      started = true;
      v8::Local<v8::Value> result;
      if (!first_step(c, result, prefix)) {
        threw = true;
        message = result;
      } else if (result->IsPromise()) {
        promise.Reset(iso, result.As<v8::Promise>());
      } else {
        value = result;
        settled = true;
      }
    } else {
      loop->run_due(c);
    }
    if (!threw)
      run_microtasks(iso, c);
    std::string output;
    call_status status = call_status::ok;
    bool done = true;
    if (!threw && !settled && !trap.HasTerminated()) {
      auto p = promise.Get(iso);
      if (p->State() == v8::Promise::kRejected) {
        status = call_status::threw;
        output = run_prefix + text(iso, p->Result());
      } else if (p->State() == v8::Promise::kFulfilled) {
        value = p->Result();
      } else if (loop->waiting() || loop->next_due() != clock_type::time_point::max()) {
        done = false; // waits for its timers and fetches
      } else {
        status = call_status::threw;
        output = "The action's Promise did not settle: nothing it waits for is pending (no timer, no fetch).";
      }
    }
    if (threw && !trap.HasTerminated()) {
      status = call_status::threw;
      output = prefix ? prefix + text(iso, trap.Exception()) : text(iso, message);
    } else if (done && status == call_status::ok && !trap.HasTerminated()) {
      output = stringify(c, value, status, trap);
    }
    bool fired = watchdog::instance().disarm(token);
    log_bytes = e->log_bytes;
    e->logs = nullptr;
    if (e->oom || trap.HasTerminated() || fired || iso->IsExecutionTerminating()) {
      iso->CancelTerminateExecution();
      if (e->oom) {
        e->broken = true;
        return finish(call_status::oom, oom_message);
      }
      return finish(call_status::timeout, timeout_message(timeout_ms));
    }
    if (done)
      finish(status, std::move(output));
  }

  std::string stringify(v8::Local<v8::Context> c, v8::Local<v8::Value> value, call_status& status, v8::TryCatch& trap) {
    auto* iso = e->iso;
    if (value.IsEmpty() || value->IsUndefined() || value->IsNull())
      return "{}";
    v8::Local<v8::String> json;
    if (!v8::JSON::Stringify(c, value).ToLocal(&json)) {
      status = call_status::threw;
      return "The action result could not be serialized: " + text(iso, trap.Exception());
    }
    return text(iso, json);
  }
};

running_call::running_call(std::unique_ptr<state> s) : s_(std::move(s)) {}
running_call::~running_call() = default;
bool running_call::finished() const { return s_->finished; }

call_result running_call::take() { return std::move(s_->out); }

clock_type::time_point running_call::wake_at() const {
  if (s_->finished || !s_->started)
    return clock_type::time_point::min();
  return std::min(s_->loop->next_due(), s_->deadline);
}

void running_call::resume() {
  if (s_->finished)
    return;
  if (!s_->started || clock_type::now() >= wake_at())
    s_->turn();
}

void running_call::wait() {
  auto until = wake_at();
  if (until > clock_type::now())
    s_->loop->wait(until);
}

call_result run_to_end(std::unique_ptr<running_call> c) {
  while (!c->finished()) {
    c->wait();
    c->resume();
  }
  return c->take();
}

namespace {

// A call that ends before it starts (a failed compile, a missing function).
std::unique_ptr<running_call> ended(call_result r) {
  auto s = std::make_unique<running_call::state>();
  s->out = std::move(r);
  s->finished = true;
  return std::make_unique<running_call>(std::move(s));
}

// A call of `e` in `ctx` (script first when given, else `main`), started now: its first turn runs.
std::unique_ptr<running_call> begin(engine& e, v8::Local<v8::Context> ctx, const std::string& params, call_options& opts,
                                    clock_type::time_point started, std::unique_ptr<running_call::state> s) {
  s->e = &e;
  s->ctx.Reset(e.iso, ctx);
  s->params = params;
  s->timeout_ms = opts.timeout_ms;
  s->deadline = started + std::chrono::milliseconds(std::max<std::int64_t>(opts.timeout_ms, 1));
  s->log_limit = opts.log_limit_bytes < 0 ? SIZE_MAX : static_cast<std::size_t>(opts.log_limit_bytes);
  s->loop = std::make_unique<call_loop>(e.iso, std::move(opts.net), s->deadline, std::move(opts.wake));
  auto c = std::make_unique<running_call>(std::move(s));
  c->resume();
  return c;
}

} // namespace


// ---- v8_function (reuse mode) ----------------------------------------------------------

struct v8_function::state {
  explicit state(std::int64_t heap_limit_mb) : e(heap_limit_mb) {}
  ~state() {
    script.Reset();
    context.ctx.Reset();
    main.Reset();
    spare.ctx.Reset();
  }
  engine e; // first: the handles below are released before the isolate goes
  std::string main_name;
  bool per_call = false;
  v8::Global<v8::UnboundScript> script;
  owned_context context;           // the kept context (not per call)
  v8::Global<v8::Function> main;
  owned_context spare;             // per call: a new context made ahead, while the worker was idle
};

void v8_function::collect_garbage() {
  v8::Isolate::Scope isolate_scope(state_->e.iso);
  state_->e.iso->LowMemoryNotification();
}

bool v8_function::prepare() {
  auto& st = *state_;
  if (!st.per_call || !st.spare.empty() || st.e.broken)
    return false;
  v8::Isolate::Scope isolate_scope(st.e.iso);
  v8::HandleScope handles(st.e.iso);
  st.e.new_context(st.spare);
  return true;
}

v8_function::v8_function(std::shared_ptr<state> s) : state_(std::move(s)) {}

v8_function::~v8_function() = default;

bool v8_function::usable() const { return !state_->e.broken; }

std::size_t v8_function::heap_bytes() const { return state_->e.heap_bytes(); }

expected<std::unique_ptr<v8_function>> v8_function::compile(const std::string& code, const std::string& main_name,
                                                            std::int64_t heap_limit_mb, bool context_per_call,
                                                            std::int64_t init_timeout_ms, call_status* why) {
  auto st = std::make_shared<state>(heap_limit_mb);
  st->main_name = main_name;
  st->per_call = context_per_call;
  auto* iso = st->e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  owned_context made;
  auto ctx = st->e.new_context(made);
  v8::Context::Scope context_scope(ctx);
  v8::Local<v8::UnboundScript> script;
  v8::Local<v8::Function> fn;
  auto r = load_into(st->e, ctx, code, main_name, init_timeout_ms, script, fn);
  if (why)
    *why = r.status;
  if (r.status != call_status::ok)
    return make_error(errc::bad_request, r.output);
  st->script.Reset(iso, script);
  if (!context_per_call) {
    st->context = std::move(made);
    st->main.Reset(iso, fn);
  } else {
    made.ctx.Reset();
  }
  return std::unique_ptr<v8_function>(new v8_function(std::move(st)));
}

call_result v8_function::call(const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes,
                              std::shared_ptr<fetch_client> net) {
  call_options opts;
  opts.timeout_ms = timeout_ms;
  opts.log_limit_bytes = log_limit_bytes;
  opts.net = std::move(net);
  return run_to_end(start(params_json, std::move(opts)));
}

std::unique_ptr<running_call> v8_function::start(const std::string& params_json, call_options opts) {
  auto started = clock_type::now();
  auto& st = *state_;
  auto* iso = st.e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto s = std::make_unique<running_call::state>();
  s->keep = state_;
  s->main_name = st.main_name;
  if (!st.per_call) {
    s->main.Reset(iso, st.main.Get(iso));
    return begin(st.e, st.context.ctx.Get(iso), params_json, opts, started, std::move(s));
  }
  // a context of its own: the top-level code runs again, inside the call's time limit
  if (!st.spare.empty())
    s->own_ctx = std::move(st.spare);
  else
    st.e.new_context(s->own_ctx);
  s->script.Reset(iso, st.script.Get(iso));
  auto ctx = s->own_ctx.ctx.Get(iso);
  return begin(st.e, ctx, params_json, opts, started, std::move(s));
}

// ---- fresh mode -------------------------------------------------------------------------

call_result check_compiles(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                           std::int64_t timeout_ms, compiled_code* made_code) {
  auto started = clock_type::now();
  auto e = std::make_unique<engine>(heap_limit_mb);
  call_result r;
  {
    v8::Isolate::Scope isolate_scope(e->iso);
    v8::HandleScope handles(e->iso);
    owned_context made;
    auto ctx = e->new_context(made);
    v8::Context::Scope context_scope(ctx);
    v8::Local<v8::UnboundScript> script;
    v8::Local<v8::Function> fn;
    r = load_into(*e, ctx, code, main_name, timeout_ms, script, fn);
    if (made_code && r.status == call_status::ok) {
      // made after the top level ran, so that it holds the functions that compiled: code
      // (bytecode) only, none of the values the top level made
      std::unique_ptr<v8::ScriptCompiler::CachedData> data(v8::ScriptCompiler::CreateCodeCache(script));
      if (data && data->length > 0)
        *made_code = std::make_shared<const std::string>(reinterpret_cast<const char*>(data->data),
                                                         static_cast<std::size_t>(data->length));
    }
    made.ctx.Reset();
  }
  r.init_us = micros_since(started);
  reaper::instance().take(std::move(e));
  return r;
}

struct blank_isolate::state {
  std::unique_ptr<engine> e;
  owned_context ctx;
  ~state() {
    ctx.ctx.Reset();
    ctx.queue.reset();
    if (e)
      reaper::instance().take(std::move(e));
  }
};

blank_isolate::blank_isolate(std::int64_t heap_limit_mb) : heap_limit_mb_(heap_limit_mb), s_(std::make_unique<state>()) {
  s_->e = std::make_unique<engine>(heap_limit_mb);
  auto* iso = s_->e->iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  s_->e->new_context(s_->ctx); // the host's own code only: console and the host API
}

blank_isolate::~blank_isolate() = default;

std::unique_ptr<blank_isolate::state> blank_isolate::take() { return std::move(s_); }

std::unique_ptr<running_call> start_in_new_isolate(const std::string& code, const std::string& main_name,
                                                   std::int64_t heap_limit_mb, const std::string& params_json,
                                                   call_options opts, std::unique_ptr<blank_isolate> made_ahead,
                                                   compiled_code cache) {
  auto started = clock_type::now();
  auto s = std::make_unique<running_call::state>();
  std::unique_ptr<blank_isolate::state> blank;
  if (made_ahead && made_ahead->heap_limit_mb() == heap_limit_mb)
    blank = made_ahead->take();
  made_ahead.reset();
  if (blank && blank->e) {
    s->own = std::move(blank->e);
    s->own_ctx = std::move(blank->ctx);
  } else {
    s->own = std::make_unique<engine>(heap_limit_mb);
  }
  blank.reset();
  auto& e = *s->own;
  call_result made;
  {
    v8::Isolate::Scope isolate_scope(e.iso);
    v8::HandleScope handles(e.iso);
    auto ctx = s->own_ctx.empty() ? e.new_context(s->own_ctx) : s->own_ctx.ctx.Get(e.iso);
    v8::Context::Scope context_scope(ctx);
    v8::Local<v8::UnboundScript> script;
    made = compile_script(e, code, main_name, script, cache);
    made.init_us = micros_since(started);
    if (made.status == call_status::ok) {
      s->script.Reset(e.iso, script);
      s->main_name = main_name;
      s->out.init_us = made.init_us;
      return begin(e, ctx, params_json, opts, started, std::move(s));
    }
  }
  s.reset(); // (its isolate goes to the reaper once no scope of it is open)
  return ended(std::move(made));
}

call_result call_in_new_isolate(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                                const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes) {
  call_options opts;
  opts.timeout_ms = timeout_ms;
  opts.log_limit_bytes = log_limit_bytes;
  return run_to_end(start_in_new_isolate(code, main_name, heap_limit_mb, params_json, std::move(opts)));
}

// ---- shared_context (unsafe mode) -------------------------------------------------------

struct shared_context::state {
  explicit state(std::int64_t heap_limit_mb) : e(heap_limit_mb) {}
  ~state() {
    functions.clear();
    context.ctx.Reset();
  }
  engine e;
  owned_context context;
  std::map<const void*, v8::Global<v8::Function>> functions;
};

shared_context::shared_context(std::int64_t heap_limit_mb) : state_(std::make_shared<state>(heap_limit_mb)) {
  auto* iso = state_->e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  state_->e.new_context(state_->context);
}

shared_context::~shared_context() = default;

bool shared_context::usable() const { return !state_->e.broken; }
std::size_t shared_context::heap_bytes() const { return state_->e.heap_bytes(); }
std::size_t shared_context::functions() const { return state_->functions.size(); }
bool shared_context::loaded(const void* key) const { return state_->functions.count(key) > 0; }
void shared_context::forget(const void* key) { state_->functions.erase(key); }

call_result shared_context::load(const void* key, const std::string& code, const std::string& main_name,
                                 std::int64_t timeout_ms) {
  if (loaded(key))
    return {};
  auto started = clock_type::now();
  auto& st = *state_;
  auto* iso = st.e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = st.context.ctx.Get(iso);
  v8::Context::Scope context_scope(ctx);
  v8::Local<v8::UnboundScript> script;
  v8::Local<v8::Function> fn;
  auto r = load_into(st.e, ctx, code, main_name, timeout_ms, script, fn);
  if (r.status == call_status::ok)
    st.functions[key].Reset(iso, fn);
  r.init_us = micros_since(started);
  return r;
}

call_result shared_context::call(const void* key, const std::string& params_json, std::int64_t timeout_ms,
                                 std::int64_t log_limit_bytes) {
  call_options opts;
  opts.timeout_ms = timeout_ms;
  opts.log_limit_bytes = log_limit_bytes;
  return run_to_end(start(key, params_json, std::move(opts)));
}

std::unique_ptr<running_call> shared_context::start(const void* key, const std::string& params_json, call_options opts) {
  auto started = clock_type::now();
  auto& st = *state_;
  auto i = st.functions.find(key);
  if (i == st.functions.end()) {
    call_result r;
    r.status = call_status::threw;
    r.output = "The function is not loaded.";
    return ended(std::move(r));
  }
  auto* iso = st.e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto s = std::make_unique<running_call::state>();
  s->keep = state_;
  s->main.Reset(iso, i->second.Get(iso));
  return begin(st.e, st.context.ctx.Get(iso), params_json, opts, started, std::move(s));
}

} // namespace whisk::isolate
