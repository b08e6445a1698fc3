// libFuzzer: bytes as they arrive on a connection -> Beast's request parser (with the
// session's header limit) -> whisk's request, built as the HTTP session builds it ->
// rest_api::handle over a real SQLite store (in tmpfs) holding two tenants, with an invoke
// hook that records calls. Up to 4 pipelined requests per input.
// Oracles besides the sanitizers: every request is answered exactly once with a known
// status and a JSON body; without a valid key only /ping and /api/v1 answer 2xx; with one,
// no answer names another namespace or carries the other tenant's secret, and every
// invocation is of the caller's own action.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "whisk/api/rest_api.hpp"
#include "whisk/base64.hpp"
#include "whisk/log.hpp"
#include "whisk/store/store.hpp"

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using namespace whisk;

namespace {

struct tenant {
  std::string ns, uuid, key;
};

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FINDING: %s\n%.2000s\n", what, detail.c_str());
  std::abort();
}

struct world {
  // Fixed credentials: the seed corpus carries their Authorization headers.
  std::vector<tenant> tenants{{"team-a", "11111111-1111-4111-8111-111111111111", std::string(64, 'a')},
                              {"team-b", "22222222-2222-4222-8222-222222222222", std::string(64, 'b')}};
  std::string secret_of_b = random_hex(32); // unknowable to the fuzzer: only team-b's data holds it
  std::string activation_of_b = "0123456789abcdef0123456789abcdef";
  fs::path dir;
  std::unique_ptr<store> db;
  std::unique_ptr<api::rest_api> api;

  world() {
    set_log_level(log_level::error);
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = base / ("whisk-fuzz-http-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::array<unsigned char, key_hasher::secret_bytes> secret;
    secret.fill(7);
    key_hasher keys{secret};
    auto s = open_sqlite_store((dir / "whisk.db").string());
    if (!s)
      finding("cannot open the store", s.err().message);
    db = std::move(*s);
    for (auto& t : tenants)
      db->put_namespace({t.ns, t.uuid, keys.hash(t.key)});
    auto doc = json::parse(R"({"exec":{"kind":"nodejs:20","code":"// )" + secret_of_b + R"("}})");
    db->put_action(*action_from_json(*doc, "team-b", "hello"));
    activation a;
    a.ns = "team-b";
    a.name = "hello";
    a.activation_id = activation_of_b;
    a.start_ms = 1000;
    a.logs = {"log " + secret_of_b};
    a.result = json::object{{"secret", secret_of_b}};
    db->add_activation(a);
    db->flush();
    api::rest_config cfg;
    cfg.keys = keys;
    api = std::make_unique<api::rest_api>(*db, cfg);
  }
  ~world() {
    api.reset();
    db.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // The tenant whose exact credentials the header carries, if any.
  const tenant* caller_of(const std::string& authorization) const {
    constexpr std::string_view scheme = "Basic ";
    if (authorization.compare(0, scheme.size(), scheme) != 0)
      return nullptr;
    auto decoded = base64_decode(std::string_view(authorization).substr(scheme.size()));
    for (auto& t : tenants)
      if (decoded && *decoded == t.uuid + ":" + t.key)
        return &t;
    return nullptr;
  }
};

world& the_world() {
  static world w;
  return w;
}

// Whether `text` holds `secret`, found without memcmp or a string search: libFuzzer's hooks
// on those (and its traced comparisons) hand the compared bytes to the fuzzer, which then
// plants the secret in its own namespace and reads it back (it did within 60 s). A rolling
// hash compares integers that say nothing of the secret; bytes are compared only on a match.
__attribute__((no_sanitize("coverage"))) bool holds_secret(std::string_view text, std::string_view secret) {
  const std::size_t n = secret.size();
  if (n == 0 || text.size() < n)
    return false;
  constexpr std::uint64_t base = 1099511628211ull;
  std::uint64_t target = 0, h = 0, top = 1; // top: base^(n-1)
  for (std::size_t i = 0; i < n; ++i) {
    target = target * base + static_cast<unsigned char>(secret[i]);
    h = h * base + static_cast<unsigned char>(text[i]);
    if (i > 0)
      top *= base;
  }
  for (std::size_t i = 0;; ++i) {
    if (h == target) {
      bool same = true;
      for (std::size_t k = 0; k < n; ++k)
        same &= text[i + k] == secret[k];
      if (same)
        return true;
    }
    if (i + n >= text.size())
      return false;
    h = (h - static_cast<unsigned char>(text[i]) * top) * base + static_cast<unsigned char>(text[i + n]);
  }
}

std::string root_of(const std::string& ns) { return ns.substr(0, ns.find('/')); }

bool known_status(int s) {
  for (int k : {200, 202, 204, 400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503})
    if (s == k)
      return true;
  return false;
}

void check_answer(const world& w, const http::request& req, const tenant* caller, const http::response& r) {
  auto context = req.method + " " + req.target + "\n" + r.body.substr(0, 1000);
  if (!known_status(r.status))
    finding("unexpected status", std::to_string(r.status) + " " + context);
  if (r.status == 204 && r.body.empty())
    return; // a trigger fired without an active rule
  auto body = json::parse(r.body, json::max_wrapped_depth);
  if (!body)
    finding("an answer that is not JSON", context);
  if (!caller) {
    bool public_doc = body->is_object() && (body->find("api_paths") || json::get_string(*body, "status") == "ok");
    if (r.status < 300 && !public_doc)
      finding("a 2xx without a valid key", context);
    return;
  }
  if (caller->ns != "team-b" && holds_secret(r.body, w.secret_of_b))
    finding("another tenant's secret in an answer", context);
  // (an entity in a package names "ns/pkg"; no package of team-b is published)
  auto check_ns = [&](const json::value& v) {
    if (v.is_object())
      if (auto* ns = v.find("namespace"); ns && ns->is_string() && root_of(ns->as_string()) != caller->ns)
        finding("an answer names another namespace", context);
  };
  check_ns(*body);
  if (body->is_array())
    for (auto& e : body->as_array())
      check_ns(e);
}

// As the HTTP session builds a request from Beast's message.
http::request from_message(bhttp::request<bhttp::string_body>& msg) {
  http::request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.authorization = std::string(msg[bhttp::field::authorization]);
  req.content_type = std::string(msg[bhttp::field::content_type]);
  req.body = std::move(msg.body());
  return req;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = the_world();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int n = 0; n < 4 && !rest.empty(); ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(1 << 20);
    parser.eager(true);
    beast::error_code ec;
    while (!rest.empty() && !parser.is_done()) {
      auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec || used == 0)
        break;
    }
    if (!parser.is_done())
      return 0; // the session answers 400 (or waits for more): nothing reaches the router
    auto req = from_message(parser.get());
    const tenant* caller = w.caller_of(req.authorization);
    // A trigger fire answers once its record is committed, from the store's thread: the
    // answer is shared, and waited for (bounded) after a flush.
    struct answered {
      std::mutex mx;
      int count = 0;
      http::response r;
    };
    auto got = std::make_shared<answered>();
    w.api->handle(
        req,
        [got](http::response r) {
          std::lock_guard guard{got->mx};
          ++got->count;
          got->r = std::move(r);
        },
        [&](api::invocation inv, http::responder respond) {
          if (!caller || inv.subject != caller->ns || !inv.act || root_of(inv.act->ns) != caller->ns)
            finding("an invocation of another namespace's action", req.target);
          if (!json::parse(inv.params_json))
            finding("invoke parameters that do not parse back", inv.params_json.substr(0, 1000));
          activation a;
          a.ns = inv.act->ns;
          a.name = inv.act->name;
          a.subject = inv.subject;
          a.activation_id = inv.activation_id;
          a.start_ms = inv.received_ms;
          a.end_ms = inv.received_ms + 1;
          w.db->add_activation(a);
          respond(inv.blocking ? api::rest_api::invoke_response(a, inv.result_only) : api::rest_api::accepted(a.activation_id));
        });
    auto count = [&] {
      std::lock_guard guard{got->mx};
      return got->count;
    };
    if (count() == 0) {
      w.db->flush();
      for (int i = 0; i < 200 && count() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (count() != 1)
      finding("a request answered other than once", req.method + " " + req.target + ": " + std::to_string(count()));
    std::lock_guard guard{got->mx};
    check_answer(w, req, caller, got->r);
  }
  return 0;
}
