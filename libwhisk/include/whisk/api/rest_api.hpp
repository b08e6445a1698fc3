#pragma once
// OpenWhisk's /api/v1 over the store: routing, Basic auth, actions, activations. It runs
// on one thread (the controller's); invocations leave through the invoke hook. Each
// namespace is a tenant: a key opens its own namespace only (403 for another's path, and
// every lookup below is by the caller's namespace, so another's ids answer 404).
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "whisk/api/authenticator.hpp"
#include "whisk/credentials.hpp"
#include "whisk/domain.hpp"
#include "whisk/http/server.hpp"
#include "whisk/store/store.hpp"

namespace whisk::api {

// An action as a run needs it: its default parameters merged (package < binding < action),
// and for a sequence its components, each resolved in turn (a tree, at most
// max_sequence_length actions in all).
struct resolved_action {
  std::shared_ptr<const action> act; // never null
  json::value params = json::object{};
  std::vector<std::shared_ptr<const resolved_action>> components; // a sequence's
  std::string path() const { return act->ns + "/" + act->name; } // "ns/name" or "ns/pkg/name"
};

struct invocation {
  std::shared_ptr<const action> act; // never null
  std::shared_ptr<const resolved_action> sequence; // set when act is a sequence
  std::string cause; // the sequence activation this run belongs to (empty: none)
  std::string params_json; // action parameters merged with the request's
  std::string subject;     // the caller's namespace
  std::string api_key;     // "uuid:key", passed on when the action asks for it
  std::string activation_id;
  bool blocking = false;
  bool result_only = false;
  std::int64_t wait_ms = 60000;
  std::int64_t received_ms = 0;
  // a blocking answer other than the activation record (web actions); empty: the record
  std::function<http::response(const activation&)> shape;
  std::int64_t concurrent_limit = 0; // the namespace's concurrentInvocations (0: none); the controller counts
};

// A namespace's throttles, OpenWhisk's names in JSON; 0: no limit.
struct namespace_limits {
  std::int64_t concurrent_invocations = 0;
  std::int64_t invocations_per_minute = 0;
  std::int64_t fires_per_minute = 0;
};
// {"concurrentInvocations", "invocationsPerMinute", "firesPerMinute"}: numbers >= 0, others refused.
expected<namespace_limits> limits_from_json(const json::value& doc);
json::value to_json(const namespace_limits& l);
// The limits a namespace has: its own (whisk-admin limits set; a stored document) over the node's defaults.
namespace_limits merged_limits(const std::optional<json::value>& own_doc, const namespace_limits& defaults);
namespace_limits limits_of(store& s, const std::string& ns, const namespace_limits& defaults);

using invoke_hook = std::function<void(invocation, http::responder)>;

struct rest_config {
  std::string api_host = "http://127.0.0.1:3233";
  std::optional<key_hasher> keys;  // hashes presented keys for the store's comparison; none: every key is refused
  // a verified key is trusted at most this long before the store is asked again; a key an
  // operator changed (the store's credentials version moved) is checked again at once
  std::int64_t auth_recheck_ms = 1000;
  std::int64_t max_blocking_wait_ms = 60000;
  bool allow_unsafe_isolates = false; // js:isolate actions may use isolate-mode "unsafe"
  namespace_limits default_limits;    // for namespaces without limits of their own
};

class rest_api {
public:
  rest_api(store& s, rest_config cfg);
  void handle(const http::request& req, const http::responder& respond, const invoke_hook& invoke);
  // handle() for a thread that must not wait on the store (an HTTP thread): false, with
  // nothing answered, counted or invoked, when the answer needs a store read the caches
  // cannot replace (then handle() it where waiting is fine).
  bool handle_cached(const http::request& req, const http::responder& respond, const invoke_hook& invoke);

  static http::response error(int status, std::string message);
  static http::response json_response(int status, const json::value& body);
  static http::response accepted(const std::string& activation_id);
  // The answer to a finished blocking invoke: 200, 502 (application/developer), 500 (whisk).
  static http::response invoke_response(const activation& a, bool result_only);
  // The answer of an invocation: its shape if it has one, else invoke_response.
  static http::response answer_of(const invocation& inv, const activation& a);

private:
  struct route;
  std::shared_ptr<const action> find_action(const std::string& ns, const std::string& name); // null: none
  std::optional<json::value> find_entity(const std::string& collection, const std::string& ns, const std::string& name);
  // The action `name` in namespace `ns` (package `pkg`, may be empty or a binding) as
  // `caller` may run it; a sequence with its components. not_found, forbidden, bad_request.
  // With `expand`, a sequence's components are resolved too (bounded: max_sequence_length).
  expected<std::shared_ptr<const resolved_action>> resolve(const std::string& caller, const std::string& ns,
                                                           const std::string& pkg, const std::string& name,
                                                           bool expand = true);
  // "/ns/name" or "/ns/pkg/name"
  expected<std::shared_ptr<const resolved_action>> resolve_path(const std::string& caller, const std::string& qualified,
                                                                bool expand = true);
  // Starts an invocation of `r` with `params` (merged over its defaults) through `invoke`.
  invocation make_invocation(std::shared_ptr<const resolved_action> r, const json::value& body_params,
                             const caller_info& caller);
  http::response store_unavailable() const; // 503 naming why the store cannot be read
  http::response missing() const;           // 404, or 503 while the store cannot be read
  http::response actions(const route& r, const http::request& req, const caller_info& caller,
                         const http::responder& respond, const invoke_hook& invoke, bool& answered);
  http::response activations(const route& r, const caller_info& caller);
  http::response listing(const char* collection, const route& r); // ?limit (30, at most 200), ?skip
  http::response packages(const route& r, const http::request& req, const caller_info& caller);
  http::response triggers(const route& r, const http::request& req, const caller_info& caller,
                          const http::responder& respond, const invoke_hook& invoke, bool& answered);
  http::response rules(const route& r, const http::request& req, const caller_info& caller);
  // 429 when `ns` went over a per-minute limit (counted here: per controller); else none.
  std::optional<http::response> throttled(const std::string& ns, bool fire);
  void web(const http::request& req, const std::vector<std::string>& parts, const std::string& raw_query,
           const invoke_hook& invoke, const http::responder& respond);

  struct store_needed {}; // thrown under cached_only_ where a read would go to the store
  void need_store() const {
    if (cached_only_)
      throw store_needed{};
  }

  store& store_;
  rest_config cfg_;
  bool cached_only_ = false; // in handle_cached()
  authenticator auth_; // the invoke path compares a remembered key, it does not hash
  std::map<std::string, std::shared_ptr<const action>> action_cache_; // "ns/name" -> action (null: known absent)
  std::map<std::string, std::optional<json::value>> entity_cache_; // "collection/ns/name" -> document (none: absent)
  struct minute_count {
    std::int64_t minute = 0, count = 0;
  };
  std::map<std::string, minute_count> invokes_, fires_; // by namespace, in the current minute
  std::int64_t entities_version_ = -1; // the store's entities version the cache was filled under
};

// A web action's answer for extension `ext` (json, http, html, text, svg), the result
// projected along `projection` (json, html, text, svg).
http::response web_answer(const activation& a, const std::string& ext, const std::vector<std::string>& projection);
// An application error as a web action answers it: 400 with the result's error.
http::response json_error_of(const activation& a);

} // namespace whisk::api
