#include "whisk/isolate/v8_function.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <libplatform/libplatform.h>
#include <map>
#include <mutex>
#include <thread>
#include <v8.h>

#include "whisk/container/container.hpp"
#include "whisk/domain.hpp"

namespace whisk::isolate {

namespace {

using clock_type = std::chrono::steady_clock;

// V8 is initialized once per process and stays up until exit.
void ensure_v8() {
  static std::once_flag once;
  static std::unique_ptr<v8::Platform> platform;
  std::call_once(once, [] {
    platform = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(platform.get());
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
      if (next == clock_type::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, next);
    }
  }
  std::mutex mx_;
  std::condition_variable cv_;
  std::map<std::uint64_t, entry> armed_;
  std::uint64_t next_ = 0;
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

} // namespace

struct v8_function::state {
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator{v8::ArrayBuffer::Allocator::NewDefaultAllocator()};
  v8::Isolate* iso = nullptr;
  v8::Global<v8::Context> context;
  v8::Global<v8::Function> main;
  std::vector<std::string>* logs = nullptr; // the running call's log lines
  std::atomic<bool> oom{false};
  bool broken = false;

  ~state() {
    main.Reset();
    context.Reset();
    if (iso)
      iso->Dispose();
  }

  static void console(const v8::FunctionCallbackInfo<v8::Value>& info, const char* stream) {
    auto* st = static_cast<state*>(info.Data().As<v8::External>()->Value());
    if (!st->logs)
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
    st->logs->push_back(container::format_log_line(stream, line));
  }

  // Near the heap limit: stop the call and give V8 room to unwind instead of aborting.
  static std::size_t near_heap_limit(void* data, std::size_t current, std::size_t) {
    auto* st = static_cast<state*>(data);
    st->oom = true;
    st->iso->TerminateExecution();
    return current + (32u << 20);
  }
};

v8_function::v8_function(std::unique_ptr<state> s) : state_(std::move(s)) {}

v8_function::~v8_function() = default;

bool v8_function::usable() const { return !state_->broken; }

expected<std::unique_ptr<v8_function>> v8_function::compile(const std::string& code, const std::string& main_name,
                                                            std::int64_t heap_limit_mb) {
  if (!is_valid_identifier(main_name))
    return make_error(errc::bad_request, "'" + main_name + "' is not a valid function name");
  ensure_v8();
  auto st = std::make_unique<state>();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = st->allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, static_cast<std::size_t>(heap_limit_mb) << 20);
  st->iso = v8::Isolate::New(params);
  auto* iso = st->iso;
  iso->AddNearHeapLimitCallback(&state::near_heap_limit, st.get());
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = v8::Context::New(iso);
  v8::Context::Scope context_scope(ctx);
  auto self = v8::External::New(iso, st.get());
  auto console = v8::Object::New(iso);
  auto out = [](const v8::FunctionCallbackInfo<v8::Value>& i) { state::console(i, "stdout"); };
  auto err = [](const v8::FunctionCallbackInfo<v8::Value>& i) { state::console(i, "stderr"); };
  for (auto [name, fn] : {std::pair{"log", +out}, {"info", +out}, {"debug", +out}, {"warn", +err}, {"error", +err}})
    console->Set(ctx, str(iso, name), v8::Function::New(ctx, fn, self).ToLocalChecked()).Check();
  ctx->Global()->Set(ctx, str(iso, "console"), console).Check();
  v8::TryCatch trap(iso);
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> fn;
  if (!v8::Script::Compile(ctx, str(iso, module_source(code, main_name))).ToLocal(&script) || !script->Run(ctx).ToLocal(&fn))
    return make_error(errc::bad_request, "Initialization has failed due to: " + text(iso, trap.Exception()));
  if (!fn->IsFunction())
    return make_error(errc::bad_request, "Initialization has failed due to: the action does not define a function '" + main_name + "'");
  st->context.Reset(iso, ctx);
  st->main.Reset(iso, fn.As<v8::Function>());
  return std::unique_ptr<v8_function>(new v8_function(std::move(st)));
}

call_result v8_function::call(const std::string& params_json, std::int64_t timeout_ms) {
  call_result out;
  auto& st = *state_;
  if (st.broken) {
    out.status = call_status::oom;
    out.output = oom_message;
    return out;
  }
  auto* iso = st.iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = st.context.Get(iso);
  v8::Context::Scope context_scope(ctx);
  v8::TryCatch trap(iso);
  st.logs = &out.logs;
  auto token = watchdog::instance().arm(iso, clock_type::now() + std::chrono::milliseconds(timeout_ms));
  v8::Local<v8::Value> arg, result;
  bool called = false;
  if (v8::JSON::Parse(ctx, str(iso, params_json)).ToLocal(&arg) &&
      st.main.Get(iso)->Call(ctx, ctx->Global(), 1, &arg).ToLocal(&result)) {
    called = true;
    if (result->IsPromise()) {
      iso->PerformMicrotaskCheckpoint();
      auto promise = result.As<v8::Promise>();
      if (promise->State() == v8::Promise::kRejected) {
        out.status = call_status::threw;
        out.output = "An error has occurred: " + text(iso, promise->Result());
      } else if (promise->State() == v8::Promise::kPending) {
        out.status = call_status::threw;
        out.output = "The action's Promise did not settle (there are no timers in an isolate).";
      }
      result = promise->Result();
    }
  }
  bool fired = watchdog::instance().disarm(token);
  st.logs = nullptr;
  if (st.oom || trap.HasTerminated() || fired) {
    iso->CancelTerminateExecution();
    if (st.oom) {
      st.broken = true; // an isolate that hit its heap limit is not used again
      out.status = call_status::oom;
      out.output = oom_message;
    } else {
      out.status = call_status::timeout;
      out.output = timeout_message(timeout_ms);
    }
    return out;
  }
  if (!called) {
    out.status = call_status::threw;
    out.output = "An error has occurred: " + text(iso, trap.Exception());
    return out;
  }
  if (out.status != call_status::ok)
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

} // namespace whisk::isolate
