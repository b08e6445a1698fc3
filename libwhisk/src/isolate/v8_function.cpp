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
  ~engine() { iso->Dispose(); }
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  std::size_t heap_bytes() const {
    v8::HeapStatistics hs;
    iso->GetHeapStatistics(&hs);
    return hs.total_heap_size() + hs.external_memory();
  }

  // A new context with `console` wired to this engine; needs a HandleScope.
  v8::Local<v8::Context> new_context() {
    auto ctx = v8::Context::New(iso);
    v8::Context::Scope scope(ctx);
    auto self = v8::External::New(iso, this);
    auto console = v8::Object::New(iso);
    auto out = [](const v8::FunctionCallbackInfo<v8::Value>& i) { engine::console(i, "stdout"); };
    auto err = [](const v8::FunctionCallbackInfo<v8::Value>& i) { engine::console(i, "stderr"); };
    for (auto [name, fn] : {std::pair{"log", +out}, {"info", +out}, {"debug", +out}, {"warn", +err}, {"error", +err}})
      console->Set(ctx, str(iso, name), v8::Function::New(ctx, fn, self).ToLocalChecked()).Check();
    ctx->Global()->Set(ctx, str(iso, "console"), console).Check();
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

std::int64_t micros_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t).count();
}

// Runs user code (`body`) in `ctx` under the time limit, with console lines going to the
// result's logs, a returned Promise settled, and termination classified. `body` returns the
// value (empty when it threw) or sets out.status/out.output itself. With `stringify`, an ok
// value becomes out.output as JSON; `value`, when given, receives it. Needs the isolate,
// a HandleScope and `ctx` entered.
template <class Body>
call_result guarded(engine& e, v8::Local<v8::Context> ctx, std::int64_t timeout_ms, const char* error_prefix,
                    bool stringify, Body&& body, v8::Local<v8::Value>* value = nullptr) {
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
  if (returned && result->IsPromise()) {
    iso->PerformMicrotaskCheckpoint();
    auto promise = result.As<v8::Promise>();
    if (promise->State() == v8::Promise::kRejected) {
      out.status = call_status::threw;
      out.output = error_prefix + text(iso, promise->Result());
    } else if (promise->State() == v8::Promise::kPending) {
      out.status = call_status::threw;
      out.output = "The action's Promise did not settle (there are no timers in an isolate).";
    }
    result = promise->Result();
  }
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
  if (out.status != call_status::ok)
    return out;
  if (!returned) {
    out.status = call_status::threw;
    out.output = error_prefix + text(iso, trap.Exception());
    return out;
  }
  if (value)
    *value = result;
  if (!stringify)
    return out;
  if (result->IsUndefined() || result->IsNull()) {
    out.output = "{}";
    return out;
  }
  v8::Local<v8::String> json;
  if (!v8::JSON::Stringify(ctx, result).ToLocal(&json)) {
    out.status = call_status::threw;
    out.output = "The action result could not be serialized: " + text(iso, trap.Exception());
    return out;
  }
  out.output = text(iso, json);
  return out;
}

constexpr const char* init_prefix = "Initialization has failed due to: ";
constexpr const char* run_prefix = "An error has occurred: ";

// Runs the module-wrapped script in `ctx` and hands back its main function.
call_result instantiate(engine& e, v8::Local<v8::Context> ctx, v8::Local<v8::UnboundScript> script,
                        const std::string& main_name, std::int64_t timeout_ms, const char* prefix,
                        v8::Local<v8::Function>& fn) {
  v8::Local<v8::Value> made;
  auto r = guarded(
      e, ctx, timeout_ms, prefix, false, [&](call_result&) { return script->BindToCurrentContext()->Run(ctx); }, &made);
  if (r.status == call_status::ok && !made->IsFunction()) {
    r.status = call_status::threw;
    r.output = std::string(prefix) + "the action does not define a function '" + main_name + "'";
  }
  if (r.status == call_status::ok)
    fn = made.As<v8::Function>();
  return r;
}

// Compiles the module wrapper of `code` (no user code runs).
call_result compile_script(engine& e, const std::string& code, const std::string& main_name,
                           v8::Local<v8::UnboundScript>& script) {
  call_result r;
  if (!is_valid_identifier(main_name)) {
    r.status = call_status::threw;
    r.output = "'" + main_name + "' is not a valid function name";
    return r;
  }
  v8::TryCatch trap(e.iso);
  v8::ScriptCompiler::Source source(str(e.iso, module_source(code, main_name)));
  if (!v8::ScriptCompiler::CompileUnboundScript(e.iso, &source).ToLocal(&script)) {
    r.status = call_status::threw;
    r.output = init_prefix + text(e.iso, trap.Exception());
  }
  return r;
}

// Calls `fn` with the JSON parameters.
call_result call_main(engine& e, v8::Local<v8::Context> ctx, v8::Local<v8::Function> fn, const std::string& params_json,
                      std::int64_t timeout_ms) {
  return guarded(e, ctx, timeout_ms, run_prefix, true, [&](call_result&) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> arg;
    if (!v8::JSON::Parse(ctx, str(e.iso, params_json)).ToLocal(&arg))
      return {};
    return fn->Call(ctx, ctx->Global(), 1, &arg);
  });
}

// Compiles and instantiates in a new context of `e`: the first half of every mode.
call_result load_into(engine& e, v8::Local<v8::Context> ctx, const std::string& code, const std::string& main_name,
                      std::int64_t timeout_ms, v8::Local<v8::UnboundScript>& script, v8::Local<v8::Function>& fn) {
  auto r = compile_script(e, code, main_name, script);
  if (r.status != call_status::ok)
    return r;
  return instantiate(e, ctx, script, main_name, timeout_ms, init_prefix, fn);
}

// Calls `fn` after `made` (the loading step that began at `started`) within what is left of
// the time limit; the result carries the loading step's log lines first.
call_result call_after_load(engine& e, v8::Local<v8::Context> ctx, v8::Local<v8::Function> fn, const std::string& params_json,
                            std::int64_t timeout_ms, clock_type::time_point started, call_result made) {
  auto left = timeout_ms - micros_since(started) / 1000;
  auto r = call_main(e, ctx, fn, params_json, std::max<std::int64_t>(left, 1));
  if (r.status == call_status::timeout)
    r.output = timeout_message(timeout_ms);
  made.logs.insert(made.logs.end(), std::make_move_iterator(r.logs.begin()), std::make_move_iterator(r.logs.end()));
  r.logs = std::move(made.logs);
  return r;
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

// A throw-away isolate: loads the code and, when `params_json` is given, calls it once.
call_result in_new_isolate(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                           const std::string* params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes = -1) {
  auto started = clock_type::now();
  auto owned = std::make_unique<engine>(heap_limit_mb);
  owned->start_call(log_limit_bytes);
  struct dispose_later {
    std::unique_ptr<engine>& e;
    ~dispose_later() { reaper::instance().take(std::move(e)); }
  } later{owned}; // runs after the scopes below have been left
  auto& e = *owned;
  v8::Isolate::Scope isolate_scope(e.iso);
  v8::HandleScope handles(e.iso);
  auto ctx = e.new_context();
  v8::Context::Scope context_scope(ctx);
  v8::Local<v8::UnboundScript> script;
  v8::Local<v8::Function> fn;
  auto made = load_into(e, ctx, code, main_name, timeout_ms, script, fn);
  made.init_us = micros_since(started);
  if (made.status != call_status::ok || !params_json)
    return made;
  auto init_us = made.init_us;
  auto r = call_after_load(e, ctx, fn, *params_json, timeout_ms, started, std::move(made));
  r.init_us = init_us;
  return r;
}

} // namespace

// ---- v8_function (reuse mode) ----------------------------------------------------------

struct v8_function::state {
  explicit state(std::int64_t heap_limit_mb) : e(heap_limit_mb) {}
  engine e; // first: the handles below are released before the isolate goes
  std::string main_name;
  bool per_call = false;
  v8::Global<v8::UnboundScript> script;
  v8::Global<v8::Context> context; // the kept context (not per call)
  v8::Global<v8::Function> main;
  v8::Global<v8::Context> spare;   // per call: a new context made ahead, while the worker was idle
};

void v8_function::collect_garbage() {
  v8::Isolate::Scope isolate_scope(state_->e.iso);
  state_->e.iso->LowMemoryNotification();
}

bool v8_function::prepare() {
  auto& st = *state_;
  if (!st.per_call || !st.spare.IsEmpty() || st.e.broken)
    return false;
  v8::Isolate::Scope isolate_scope(st.e.iso);
  v8::HandleScope handles(st.e.iso);
  st.spare.Reset(st.e.iso, st.e.new_context());
  return true;
}

v8_function::v8_function(std::unique_ptr<state> s) : state_(std::move(s)) {}

v8_function::~v8_function() = default;

bool v8_function::usable() const { return !state_->e.broken; }

std::size_t v8_function::heap_bytes() const { return state_->e.heap_bytes(); }

expected<std::unique_ptr<v8_function>> v8_function::compile(const std::string& code, const std::string& main_name,
                                                            std::int64_t heap_limit_mb, bool context_per_call,
                                                            std::int64_t init_timeout_ms, call_status* why) {
  auto st = std::make_unique<state>(heap_limit_mb);
  st->main_name = main_name;
  st->per_call = context_per_call;
  auto* iso = st->e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = st->e.new_context();
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
    st->context.Reset(iso, ctx);
    st->main.Reset(iso, fn);
  }
  return std::unique_ptr<v8_function>(new v8_function(std::move(st)));
}

call_result v8_function::call(const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes) {
  auto& st = *state_;
  st.e.start_call(log_limit_bytes);
  auto* iso = st.e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  if (!st.per_call) {
    auto ctx = st.context.Get(iso);
    v8::Context::Scope context_scope(ctx);
    return call_main(st.e, ctx, st.main.Get(iso), params_json, timeout_ms);
  }
  // a context of its own: the top-level code runs again, inside the call's time limit
  auto started = clock_type::now();
  v8::Local<v8::Context> ctx;
  if (!st.spare.IsEmpty()) {
    ctx = st.spare.Get(iso);
    st.spare.Reset();
  } else {
    ctx = st.e.new_context();
  }
  v8::Context::Scope context_scope(ctx);
  v8::Local<v8::Function> fn;
  auto made = instantiate(st.e, ctx, st.script.Get(iso), st.main_name, timeout_ms, run_prefix, fn);
  if (made.status != call_status::ok)
    return made;
  return call_after_load(st.e, ctx, fn, params_json, timeout_ms, started, std::move(made));
}

// ---- fresh mode -------------------------------------------------------------------------

call_result check_compiles(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                           std::int64_t timeout_ms) {
  return in_new_isolate(code, main_name, heap_limit_mb, nullptr, timeout_ms);
}

call_result call_in_new_isolate(const std::string& code, const std::string& main_name, std::int64_t heap_limit_mb,
                                const std::string& params_json, std::int64_t timeout_ms, std::int64_t log_limit_bytes) {
  return in_new_isolate(code, main_name, heap_limit_mb, &params_json, timeout_ms, log_limit_bytes);
}

// ---- shared_context (unsafe mode) -------------------------------------------------------

struct shared_context::state {
  explicit state(std::int64_t heap_limit_mb) : e(heap_limit_mb) {}
  engine e;
  v8::Global<v8::Context> context;
  std::map<const void*, v8::Global<v8::Function>> functions;
};

shared_context::shared_context(std::int64_t heap_limit_mb) : state_(std::make_unique<state>(heap_limit_mb)) {
  auto* iso = state_->e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  state_->context.Reset(iso, state_->e.new_context());
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
  auto ctx = st.context.Get(iso);
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
  auto& st = *state_;
  st.e.start_call(log_limit_bytes);
  auto i = st.functions.find(key);
  if (i == st.functions.end()) {
    call_result r;
    r.status = call_status::threw;
    r.output = "The function is not loaded.";
    return r;
  }
  auto* iso = st.e.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = st.context.Get(iso);
  v8::Context::Scope context_scope(ctx);
  return call_main(st.e, ctx, i->second.Get(iso), params_json, timeout_ms);
}

} // namespace whisk::isolate
