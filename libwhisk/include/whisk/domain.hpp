#pragma once
// Domain types with OpenWhisk's shapes and limits.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/expected.hpp"
#include "whisk/json.hpp"

namespace whisk {

struct action_limits {
  std::int64_t timeout_ms = 60000; // 100 ms .. 5 min
  std::int64_t memory_mb = 256;    // 128 .. 512 MB
  std::int64_t logs_mb = 10;       // 0 .. 10 MB
  std::int64_t concurrency = 1;    // 1 .. max_concurrency
  static constexpr std::int64_t min_timeout_ms = 100, max_timeout_ms = 300000;
  static constexpr std::int64_t min_memory_mb = 128, max_memory_mb = 512;
  static constexpr std::int64_t max_logs_mb = 10, max_concurrency = 500;
};

struct exec_spec {
  std::string kind; // "nodejs:20", "python:3", "native", "sequence", ...
  std::string code;
  std::vector<std::string> components; // a sequence's actions, fully qualified ("/ns/name", "/ns/pkg/name")
  std::string main = "main";
  bool binary = false;
};

// Actions in a package have the namespace "ns/pkg", as in OpenWhisk.
struct action {
  std::string ns;
  std::string name;
  std::string version = "0.0.1";
  exec_spec exec;
  json::value parameters = json::array{};  // [{"key":..,"value":..}]
  json::value annotations = json::array{};
  action_limits limits;
  bool publish = false;
  std::int64_t updated_ms = 0;

  std::string fully_qualified() const { return "/" + ns + "/" + name; }
  // Identifies the code a container was initialized with: name, version and update time.
  std::string revision_key() const;
};

// The value of annotation `key` in a [{"key":..,"value":..}] list, or null.
const json::value* find_annotation(const json::value& annotations, std::string_view key);
bool annotation_true(const json::value& annotations, std::string_view key);

// How a js:isolate action runs, from its annotations: "isolate-mode" is reuse (default),
// fresh or unsafe. In reuse mode a slot keeps one context across calls, as a warm container
// keeps its globals; "isolate-reuse-context": false asks for a new context per call instead.
struct isolate_options {
  std::string mode = "reuse";
  bool reuse_context = true; // reuse mode: the kept context (fresh and unsafe ignore it)
};
expected<isolate_options> isolate_options_of(const json::value& annotations);

// Known exec kinds; "nodejs:default" is an alias of the default node runtime.
bool is_known_kind(const std::string& kind);
// Sequences may name this many actions at most (nested sequences counted by their actions).
inline constexpr std::size_t max_sequence_length = 50;
std::string canonical_kind(const std::string& kind);
std::vector<std::string> known_kinds();
// Adds a kind at startup (a runtime manifest's), or an alias of a known kind when `alias_of`
// is given ("python:default" -> "python:3.11"). False when the kind exists or the alias
// names an unknown kind.
bool register_kind(const std::string& kind, const std::string& alias_of = {});

// Parses a PUT body into an action (namespace/name given by the path).
expected<action> action_from_json(const json::value& body, const std::string& ns, const std::string& name);
// Merges an update body into an existing action (overwrite semantics keep absent fields).
expected<action> action_update(const action& old, const json::value& body);
json::value to_json(const action& a, bool with_code = true);
json::value limits_to_json(const action_limits& l);
// Parameters as a JSON object (key -> value) for merging with invoke parameters.
json::value parameters_object(const json::value& key_value_list);
// A [{"key", "value"}] list as given (null or absent: []); bad_request naming `what` otherwise.
expected<json::value> parse_key_values(const json::value* v, const char* what);
// "1.2.3" -> "1.2.4" (anything else: "0.0.1"), as an update moves an entity's version.
std::string bump_version(const std::string& v);
bool is_valid_entity_name(const std::string& name);
bool is_valid_identifier(const std::string& name);

// How an activation ended, as OpenWhisk classifies it.
enum class activation_status : int { success = 0, application_error = 1, developer_error = 2, whisk_error = 3 };
const char* status_text(activation_status s);

struct activation {
  std::string ns;
  std::string name;
  std::string version;
  std::string subject;
  std::string activation_id;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  activation_status status = activation_status::success;
  json::value result = json::object{};
  std::vector<std::string> logs;
  std::string kind;
  action_limits limits;
  std::int64_t wait_ms = 0;
  std::int64_t init_ms = -1; // absent when the container was warm
  bool timeout = false;
  std::string mode;          // js:isolate: the isolate mode it ran in
  std::string path;          // "ns/pkg/name" of an action in a package (empty: ns/name)
  std::string cause;         // the sequence activation this one ran in (empty: none)
  std::int64_t duration_ms = -1; // a sequence's: its components' durations summed (-1: end - start)
  bool sequence = false;     // a sequence's record (its logs are its components' ids)
};

json::value to_json(const activation& a, bool with_logs = true, bool with_result = true);
// The name an activation is listed and filtered by: "pkg/name" for an action in a package.
inline std::string listed_name(const activation& a) {
  auto slash = a.path.find('/');
  return a.path.empty() || slash == std::string::npos ? a.name : a.path.substr(slash + 1);
}
expected<activation> activation_from_json(const json::value& doc);
json::value response_json(const activation& a);

std::string new_activation_id(); // 32 lowercase hex chars
bool is_activation_id(const std::string& s);
std::string random_hex(std::size_t chars);
std::int64_t now_ms();

// The messages OpenWhisk users know for developer errors.
std::string timeout_message(std::int64_t timeout_ms);
inline constexpr const char* oom_message = "The action exhausted its memory and was aborted.";
inline constexpr const char* not_dictionary_message = "The action did not return a dictionary.";

} // namespace whisk
