// The host API of js:isolate functions (see host_api.hpp for the whole surface): the native
// trampolines, then the per-call event loop; web_api_js.hpp has the JS that builds the Web
// API on the trampolines. They are reached only through the `native` object handed to that
// JS, which keeps it in a closure: user code sees the Web API, never the trampolines.
#include "host_api.hpp"
#include "web_api_js.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <climits>
#include <string>
#include <sys/random.h>

namespace whisk::isolate {

namespace {

// The context's own Uint8Array constructor, kept where user code cannot replace it.
constexpr int uint8_array_slot = 5;

v8::Local<v8::String> v8_text(v8::Isolate* iso, std::string_view s) {
  return v8::String::NewFromUtf8(iso, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocalChecked();
}

std::string utf8(v8::Isolate* iso, v8::Local<v8::Value> v) {
  v8::String::Utf8Value u(iso, v);
  return *u ? std::string(*u, static_cast<std::size_t>(u.length())) : std::string();
}

void throw_type_error(v8::Isolate* iso, std::string_view message) {
  iso->ThrowException(v8::Exception::TypeError(v8_text(iso, message)));
}

void throw_range_error(v8::Isolate* iso, std::string_view message) {
  iso->ThrowException(v8::Exception::RangeError(v8_text(iso, message)));
}

// A new Uint8Array of `n` bytes made by the context's constructor: past the isolate's memory
// it throws like any allocation in JS (V8's C++ ArrayBuffer::New would end the process).
v8::MaybeLocal<v8::Uint8Array> new_bytes(v8::Local<v8::Context> ctx, std::size_t n) {
  auto* iso = ctx->GetIsolate();
  auto ctor = ctx->GetEmbedderData(uint8_array_slot);
  if (!ctor->IsFunction() || n > static_cast<std::size_t>(INT32_MAX)) {
    throw_range_error(iso, "the data is too large");
    return {};
  }
  v8::Local<v8::Value> len = v8::Number::New(iso, static_cast<double>(n));
  v8::Local<v8::Object> made;
  if (!ctor.As<v8::Function>()->NewInstance(ctx, 1, &len).ToLocal(&made))
    return {};
  if (!made->IsUint8Array() || made.As<v8::Uint8Array>()->ByteLength() != n) {
    throw_type_error(iso, "Uint8Array did not make an array");
    return {};
  }
  return made.As<v8::Uint8Array>();
}

std::uint8_t* data_of(v8::Local<v8::ArrayBufferView> view) {
  auto store = view->Buffer()->GetBackingStore();
  return store->Data() ? static_cast<std::uint8_t*>(store->Data()) + view->ByteOffset() : nullptr;
}

bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    auto c = p[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (!len || i + len > n || (len == 2 && c < 0xc2))
      return false;
    std::uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += len;
  }
  return true;
}

// ---- the trampolines -------------------------------------------------------------------

call_loop* loop_of(const v8::FunctionCallbackInfo<v8::Value>& info, const char* what) {
  auto* l = call_loop::current(info.GetIsolate());
  if (!l)
    throw_type_error(info.GetIsolate(), std::string(what) + " is only available while the action runs, not at initialization");
  return l;
}

// timer(callback, ms, repeat, args) -> id
void native_timer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  auto* l = loop_of(info, info[2]->IsTrue() ? "setInterval" : "setTimeout");
  if (!l)
    return;
  if (!info[0]->IsFunction())
    return throw_type_error(iso, "the timer's callback must be a function");
  double ms = 0;
  if (!info[1]->IsUndefined() && !info[1]->NumberValue(ctx).To(&ms))
    return;
  ms = ms >= 0 ? std::min(ms, 2147483647.0) : 0; // NaN too: as browsers do
  std::vector<v8::Local<v8::Value>> args;
  if (info[3]->IsArray()) {
    auto a = info[3].As<v8::Array>();
    for (std::uint32_t i = 0; i < a->Length(); ++i) {
      v8::Local<v8::Value> v;
      if (!a->Get(ctx, i).ToLocal(&v))
        return;
      args.push_back(v);
    }
  }
  std::string error;
  auto id = l->add_timer(info[0].As<v8::Function>(), static_cast<std::int64_t>(ms), info[2]->IsTrue(), std::move(args), error);
  if (!error.empty())
    return throw_range_error(iso, error);
  info.GetReturnValue().Set(id);
}

// clearTimer(id)
void native_clear_timer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* l = call_loop::current(info.GetIsolate());
  if (l && info[0]->IsUint32())
    l->clear_timer(info[0].As<v8::Uint32>()->Value());
}

// fetch(method, url, [[name, value]...], body (Uint8Array or null), redirect) -> Promise of
// {status, statusText, headers, url, redirected, body}
void native_fetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  auto* l = loop_of(info, "fetch");
  if (!l)
    return;
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(ctx).ToLocal(&resolver))
    return;
  fetch_request rq;
  rq.method = utf8(iso, info[0]);
  rq.url = utf8(iso, info[1]);
  rq.redirect = utf8(iso, info[4]);
  if (info[2]->IsArray()) {
    auto a = info[2].As<v8::Array>();
    for (std::uint32_t i = 0; i < a->Length(); ++i) {
      v8::Local<v8::Value> pair, k, v;
      if (!a->Get(ctx, i).ToLocal(&pair) || !pair->IsArray() || !pair.As<v8::Array>()->Get(ctx, 0).ToLocal(&k) ||
          !pair.As<v8::Array>()->Get(ctx, 1).ToLocal(&v))
        return;
      rq.headers.emplace_back(utf8(iso, k), utf8(iso, v));
    }
  }
  if (info[3]->IsArrayBufferView()) {
    auto view = info[3].As<v8::ArrayBufferView>();
    rq.body.resize(view->ByteLength());
    view->CopyContents(rq.body.data(), rq.body.size());
  }
  std::string error;
  if (!l->add_fetch(std::move(rq), resolver, error))
    resolver->Reject(ctx, v8::Exception::TypeError(v8_text(iso, error))).Check();
  info.GetReturnValue().Set(resolver->GetPromise());
}

// utf8Encode(string) -> Uint8Array
void native_utf8_encode(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  v8::Local<v8::String> s;
  if (!info[0]->ToString(ctx).ToLocal(&s))
    return;
  auto n = static_cast<std::size_t>(s->Utf8Length(iso));
  v8::Local<v8::Uint8Array> bytes;
  if (!new_bytes(ctx, n).ToLocal(&bytes))
    return;
  if (n)
    s->WriteUtf8(iso, reinterpret_cast<char*>(data_of(bytes)), static_cast<int>(n), nullptr,
                 v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  info.GetReturnValue().Set(bytes);
}

// utf8Decode(view, fatal) -> string; malformed sequences become U+FFFD unless fatal
void native_utf8_decode(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  if (!info[0]->IsArrayBufferView())
    return throw_type_error(iso, "decode: the input must be an ArrayBuffer or a view of one");
  auto view = info[0].As<v8::ArrayBufferView>();
  auto n = view->ByteLength();
  auto* p = data_of(view);
  if (!p || n == 0)
    return info.GetReturnValue().SetEmptyString();
  if (info[1]->IsTrue() && !valid_utf8(p, n))
    return throw_type_error(iso, "decode: the data is not valid UTF-8");
  v8::Local<v8::String> s;
  if (n > static_cast<std::size_t>(INT32_MAX) ||
      !v8::String::NewFromUtf8(iso, reinterpret_cast<const char*>(p), v8::NewStringType::kNormal, static_cast<int>(n)).ToLocal(&s))
    return throw_range_error(iso, "decode: the text is too long for a string");
  info.GetReturnValue().Set(s);
}

// randomFill(integer typed array) -> the array, filled from the OS CSPRNG
void native_random_fill(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  auto v = info[0];
  if (!(v->IsInt8Array() || v->IsUint8Array() || v->IsUint8ClampedArray() || v->IsInt16Array() || v->IsUint16Array() ||
        v->IsInt32Array() || v->IsUint32Array() || v->IsBigInt64Array() || v->IsBigUint64Array()))
    return throw_type_error(iso, "getRandomValues: the argument must be an integer TypedArray");
  auto view = v.As<v8::ArrayBufferView>();
  auto n = view->ByteLength();
  if (n > 65536)
    return throw_range_error(iso, "getRandomValues: QuotaExceededError: at most 65536 bytes at a time");
  auto* p = data_of(view);
  for (std::size_t done = 0; p && done < n;) {
    auto got = ::getrandom(p + done, n - done, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return throw_type_error(iso, "getRandomValues: the system's random source failed");
    done += static_cast<std::size_t>(got);
  }
  info.GetReturnValue().Set(v);
}

// clone(value) -> a deep copy through V8's serializer (what postMessage uses)
void native_clone(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* iso = info.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  v8::ValueSerializer out(iso);
  out.WriteHeader();
  bool written = false;
  if (!out.WriteValue(ctx, info[0]).To(&written) || !written)
    return; // threw: a function, a symbol, a host object... (DataCloneError)
  auto [data, size] = out.Release();
  struct freed {
    std::uint8_t* p;
    ~freed() { std::free(p); }
  } hold{data};
  v8::ValueDeserializer in(iso, data, size);
  bool header = false;
  v8::Local<v8::Value> copy;
  if (!in.ReadHeader(ctx).To(&header) || !header || !in.ReadValue(ctx).ToLocal(&copy))
    return;
  info.GetReturnValue().Set(copy);
}



} // namespace

// ---- the event loop of a call ----------------------------------------------------------

void call_inbox::post(std::uint64_t id, fetch_response r) {
  std::function<void()> w;
  {
    std::lock_guard guard{mx};
    done.emplace_back(id, std::move(r));
    w = wake;
  }
  cv.notify_all();
  if (w)
    w();
}

call_loop::call_loop(v8::Isolate* iso, std::shared_ptr<fetch_client> net, clock_type::time_point deadline,
                     std::function<void()> wake)
    : iso_(iso), net_(std::move(net)), deadline_(deadline), inbox_(std::make_shared<call_inbox>()) {
  inbox_->wake = std::move(wake);
}

call_loop::~call_loop() { cancel(); }

constexpr int current_loop_slot = 1; // the isolate's data slot that points at the running call's loop

call_loop::running::running(call_loop& l) : l_(l), before_(l.iso_->GetData(current_loop_slot)) {
  l.iso_->SetData(current_loop_slot, &l);
}

call_loop::running::~running() { l_.iso_->SetData(current_loop_slot, before_); }

call_loop* call_loop::current(v8::Isolate* iso) { return static_cast<call_loop*>(iso->GetData(current_loop_slot)); }

void call_loop::cancel() {
  for (auto& [id, f] : fetches_)
    if (f.op)
      f.op->cancel();
  fetches_.clear();
  timers_.clear();
  due_.clear();
  std::lock_guard guard{inbox_->mx};
  inbox_->wake = nullptr; // completions still on their way find nobody to wake
  inbox_->done.clear();
}

std::uint32_t call_loop::add_timer(v8::Local<v8::Function> fn, std::int64_t ms, bool repeat,
                                   std::vector<v8::Local<v8::Value>> args, std::string& error) {
  if (static_cast<int>(timers_.size()) >= max_timers_per_call) {
    error = "too many timers: a call may have at most " + std::to_string(max_timers_per_call) + " pending";
    return 0;
  }
  auto id = ++next_timer_;
  if (id == 0)
    id = ++next_timer_;
  timer t;
  t.fn.Reset(iso_, fn);
  for (auto& a : args)
    t.args.emplace_back(iso_, a);
  if (repeat)
    t.interval_ms = std::max<std::int64_t>(ms, 1); // an interval of 0 would never let the call's Promise settle
  auto due = clock_type::now() + std::chrono::milliseconds(ms);
  timers_.emplace(std::pair{due, id}, std::move(t));
  due_[id] = due;
  return id;
}

void call_loop::clear_timer(std::uint32_t id) {
  auto i = due_.find(id);
  if (i == due_.end())
    return;
  timers_.erase({i->second, id});
  due_.erase(i);
}

bool call_loop::add_fetch(fetch_request req, v8::Local<v8::Promise::Resolver> resolver, std::string& error) {
  if (!net_) {
    error = "fetch failed: this host gives isolates no network";
    return false;
  }
  if (static_cast<int>(fetches_.size()) >= net_->limits().concurrent) {
    error = "fetch failed: a call may have at most " + std::to_string(net_->limits().concurrent) + " requests in flight";
    return false;
  }
  auto id = ++next_fetch_;
  auto& f = fetches_[id];
  f.resolver.Reset(iso_, resolver);
  req.deadline = deadline_;
  f.op = net_->start(std::move(req), [inbox = inbox_, id](fetch_response r) { inbox->post(id, std::move(r)); });
  return true;
}

void call_loop::settle(v8::Local<v8::Context> ctx, fetch& f, fetch_response r) {
  auto resolver = f.resolver.Get(iso_);
  if (!r.error.empty()) {
    resolver->Reject(ctx, v8::Exception::TypeError(v8_text(iso_, r.error))).FromMaybe(false);
    return;
  }
  v8::Local<v8::Uint8Array> body;
  if (!new_bytes(ctx, r.body.size()).ToLocal(&body))
    return; // past the isolate's memory: the call ends as out of memory
  if (!r.body.empty())
    std::memcpy(data_of(body), r.body.data(), r.body.size());
  auto headers = v8::Array::New(iso_, static_cast<int>(r.headers.size()));
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    v8::Local<v8::Value> pair[] = {v8_text(iso_, r.headers[i].first), v8_text(iso_, r.headers[i].second)};
    headers->Set(ctx, static_cast<std::uint32_t>(i), v8::Array::New(iso_, pair, 2)).FromMaybe(false);
  }
  auto out = v8::Object::New(iso_);
  out->Set(ctx, v8_text(iso_, "status"), v8::Integer::New(iso_, r.status)).FromMaybe(false);
  out->Set(ctx, v8_text(iso_, "statusText"), v8_text(iso_, r.status_text)).FromMaybe(false);
  out->Set(ctx, v8_text(iso_, "headers"), headers).FromMaybe(false);
  out->Set(ctx, v8_text(iso_, "url"), v8_text(iso_, r.url)).FromMaybe(false);
  out->Set(ctx, v8_text(iso_, "redirected"), v8::Boolean::New(iso_, r.redirected)).FromMaybe(false);
  out->Set(ctx, v8_text(iso_, "body"), body).FromMaybe(false);
  resolver->Resolve(ctx, out).FromMaybe(false);
}

void call_loop::run_due(v8::Local<v8::Context> ctx) {
  auto microtasks = [&] {
    if (auto* q = ctx->GetMicrotaskQueue())
      q->PerformCheckpoint(iso_);
    else
      iso_->PerformMicrotaskCheckpoint();
  };
  int budget = callbacks_per_slice;
  cut_short_ = false;
  std::vector<std::pair<std::uint64_t, fetch_response>> arrived;
  {
    std::lock_guard guard{inbox_->mx};
    arrived.swap(inbox_->done);
  }
  for (auto& [id, r] : arrived) {
    auto i = fetches_.find(id);
    if (i == fetches_.end())
      continue;
    auto f = std::move(i->second);
    fetches_.erase(i);
    settle(ctx, f, std::move(r));
    microtasks();
    if (iso_->IsExecutionTerminating())
      return;
    --budget;
  }
  auto now = clock_type::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    if (budget-- <= 0) {
      cut_short_ = true;
      return;
    }
    auto node = timers_.extract(timers_.begin());
    auto id = node.key().second;
    auto& t = node.mapped();
    auto fn = t.fn.Get(iso_);
    std::vector<v8::Local<v8::Value>> args;
    for (auto& a : t.args)
      args.push_back(a.Get(iso_));
    if (t.interval_ms >= 0) { // rescheduled before it runs, so that it may clear itself
      node.key().first = now + std::chrono::milliseconds(t.interval_ms);
      due_[id] = node.key().first;
      timers_.insert(std::move(node));
    } else {
      due_.erase(id);
    }
    v8::TryCatch trap(iso_); // a throwing timer callback does not end the call (as in browsers)
    fn->Call(ctx, ctx->Global(), static_cast<int>(args.size()), args.data()).IsEmpty();
    if (trap.HasTerminated() || iso_->IsExecutionTerminating()) {
      trap.ReThrow();
      return;
    }
    microtasks();
    if (iso_->IsExecutionTerminating())
      return;
  }
}

clock_type::time_point call_loop::next_due() const {
  {
    std::lock_guard guard{inbox_->mx};
    if (!inbox_->done.empty())
      return clock_type::time_point::min();
  }
  if (cut_short_)
    return clock_type::time_point::min();
  return timers_.empty() ? clock_type::time_point::max() : timers_.begin()->first.first;
}

bool call_loop::waiting() const { return !timers_.empty() || !fetches_.empty(); }

void call_loop::wait(clock_type::time_point until) {
  std::unique_lock lock{inbox_->mx};
  inbox_->cv.wait_until(lock, until, [&] { return !inbox_->done.empty(); });
}

// ---- installing it ---------------------------------------------------------------------------

namespace {

// Compiling the prelude costs ~0.8 ms in each new isolate (measured); V8's code cache of it,
// made once per process after its first run (so that its classes are compiled too), cuts
// that. Immutable once made.
struct prelude_code_cache {
  std::mutex mx;
  std::vector<std::uint8_t> bytes;
  static prelude_code_cache& instance() {
    static auto* c = new prelude_code_cache; // never destroyed: isolates may be made at exit
    return *c;
  }
};

v8::Local<v8::UnboundScript> compile_prelude(v8::Isolate* iso) {
  auto& cache = prelude_code_cache::instance();
  std::vector<std::uint8_t> bytes;
  {
    std::lock_guard guard{cache.mx};
    bytes = cache.bytes;
  }
  if (!bytes.empty()) {
    auto* data = new v8::ScriptCompiler::CachedData(bytes.data(), static_cast<int>(bytes.size()));
    v8::ScriptCompiler::Source source(v8_text(iso, prelude_source), data); // owns `data`
    v8::Local<v8::UnboundScript> script;
    if (v8::ScriptCompiler::CompileUnboundScript(iso, &source, v8::ScriptCompiler::kConsumeCodeCache).ToLocal(&script))
      return script;
  }
  v8::ScriptCompiler::Source source(v8_text(iso, prelude_source));
  return v8::ScriptCompiler::CompileUnboundScript(iso, &source).ToLocalChecked();
}

void keep_code_cache(v8::Local<v8::UnboundScript> script) {
  auto& cache = prelude_code_cache::instance();
  {
    std::lock_guard guard{cache.mx};
    if (!cache.bytes.empty())
      return;
  }
  std::unique_ptr<v8::ScriptCompiler::CachedData> made(v8::ScriptCompiler::CreateCodeCache(script));
  if (!made || made->length <= 0)
    return;
  std::lock_guard guard{cache.mx};
  if (cache.bytes.empty())
    cache.bytes.assign(made->data, made->data + made->length);
}

} // namespace

void install_host_api(v8::Local<v8::Context> ctx, v8::Global<v8::UnboundScript>& prelude) {
  auto* iso = ctx->GetIsolate();
  v8::Local<v8::Value> u8;
  if (ctx->Global()->Get(ctx, v8_text(iso, "Uint8Array")).ToLocal(&u8))
    ctx->SetEmbedderData(uint8_array_slot, u8);
  auto native = v8::Object::New(iso);
  std::pair<const char*, v8::FunctionCallback> fns[] = {
      {"timer", native_timer},           {"clearTimer", native_clear_timer}, {"fetch", native_fetch},
      {"utf8Encode", native_utf8_encode}, {"utf8Decode", native_utf8_decode}, {"randomFill", native_random_fill},
      {"clone", native_clone}};
  for (auto [name, fn] : fns)
    native->Set(ctx, v8_text(iso, name), v8::Function::New(ctx, fn).ToLocalChecked()).Check();
  bool first = prelude.IsEmpty();
  if (first)
    prelude.Reset(iso, compile_prelude(iso));
  auto made = prelude.Get(iso)->BindToCurrentContext()->Run(ctx).ToLocalChecked();
  v8::Local<v8::Value> args[] = {native, ctx->Global()};
  made.As<v8::Function>()->Call(ctx, ctx->Global(), 2, args).ToLocalChecked();
  if (first)
    keep_code_cache(prelude.Get(iso));
}

} // namespace whisk::isolate
