#include "whisk/isolate/v8_function.hpp"

#include <libplatform/libplatform.h>
#include <mutex>
#include <v8.h>

namespace whisk::isolate {

namespace {

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

v8::Local<v8::String> str(v8::Isolate* iso, const std::string& s) {
  return v8::String::NewFromUtf8(iso, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocalChecked();
}

std::string text(v8::Isolate* iso, v8::Local<v8::Value> v) {
  v8::String::Utf8Value utf8(iso, v);
  return *utf8 ? std::string(*utf8, static_cast<std::size_t>(utf8.length())) : std::string("(unprintable)");
}

} // namespace

struct v8_function::state {
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator{v8::ArrayBuffer::Allocator::NewDefaultAllocator()};
  v8::Isolate* iso = nullptr;
  v8::Global<v8::Context> context;
  v8::Global<v8::Function> main;

  ~state() {
    main.Reset();
    context.Reset();
    if (iso)
      iso->Dispose();
  }
};

v8_function::v8_function(std::unique_ptr<state> s) : state_(std::move(s)) {}

v8_function::~v8_function() = default;

expected<std::unique_ptr<v8_function>> v8_function::compile(const std::string& code, const std::string& main_name) {
  ensure_v8();
  auto st = std::make_unique<state>();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = st->allocator.get();
  st->iso = v8::Isolate::New(params);
  auto* iso = st->iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = v8::Context::New(iso);
  v8::Context::Scope context_scope(ctx);
  v8::TryCatch trap(iso);
  v8::Local<v8::Script> script;
  if (!v8::Script::Compile(ctx, str(iso, code)).ToLocal(&script) || script->Run(ctx).IsEmpty())
    return make_error(errc::bad_request, "Initialization has failed due to: " + text(iso, trap.Exception()));
  v8::Local<v8::Value> fn;
  if (!ctx->Global()->Get(ctx, str(iso, main_name)).ToLocal(&fn) || !fn->IsFunction())
    return make_error(errc::bad_request, "the action does not define a function '" + main_name + "'");
  st->context.Reset(iso, ctx);
  st->main.Reset(iso, fn.As<v8::Function>());
  return std::unique_ptr<v8_function>(new v8_function(std::move(st)));
}

expected<std::string> v8_function::call(const std::string& params_json) {
  auto* iso = state_->iso;
  v8::Isolate::Scope isolate_scope(iso);
  v8::HandleScope handles(iso);
  auto ctx = state_->context.Get(iso);
  v8::Context::Scope context_scope(ctx);
  v8::TryCatch trap(iso);
  v8::Local<v8::Value> arg;
  if (!v8::JSON::Parse(ctx, str(iso, params_json)).ToLocal(&arg))
    return make_error(errc::bad_request, "the parameters are not valid JSON");
  v8::Local<v8::Value> result;
  if (!state_->main.Get(iso)->Call(ctx, ctx->Global(), 1, &arg).ToLocal(&result))
    return make_error(errc::bad_request, "An error has occurred: " + text(iso, trap.Exception()));
  if (result->IsPromise()) {
    auto promise = result.As<v8::Promise>();
    iso->PerformMicrotaskCheckpoint();
    if (promise->State() == v8::Promise::kRejected)
      return make_error(errc::bad_request, "An error has occurred: " + text(iso, promise->Result()));
    if (promise->State() == v8::Promise::kPending)
      return make_error(errc::bad_request, "the returned Promise did not settle");
    result = promise->Result();
  }
  if (result->IsUndefined() || result->IsNull())
    return std::string("{}");
  v8::Local<v8::String> json;
  if (!v8::JSON::Stringify(ctx, result).ToLocal(&json))
    return make_error(errc::bad_request, "The action result could not be serialized: " + text(iso, trap.Exception()));
  return text(iso, json);
}

} // namespace whisk::isolate
