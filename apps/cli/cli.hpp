#pragma once
// The whisk CLI: wsk-like verbs over OpenWhisk's REST API. Each entity's verbs are a table
// of commands (flags, arity, help, a run function) that cli.cpp parses and dispatches;
// the run functions build OpenWhisk's request shapes and print wsk's answers.
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "whisk/json.hpp"

namespace whisk::cli {

// Exit codes. An API error exits with its HTTP status modulo 256, as wsk does (404 -> 148,
// 401 -> 145, 409 -> 153, 502 -> 246), so a script can tell them apart.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; // a local problem: a file, the properties
inline constexpr int exit_usage = 2;   // bad verbs, flags or arguments
inline constexpr int exit_network = 3; // the API host cannot be reached
inline constexpr int exit_accepted = 202; // a blocking invoke that outlived the wait: still running
int exit_for_status(int http_status);

struct flag {
  std::string name;       // long name without dashes
  char short_name = 0;    // 0: none
  int arity = 0;          // values taken: 0 (a switch), 1, or 2 (-p KEY VALUE)
  std::string value_help; // e.g. "KEY VALUE"
  std::string help;
};

struct parsed_args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values; // every value of every occurrence, in order

  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string value(const std::string& name, const std::string& fallback = {}) const {
    auto i = values.find(name);
    return i == values.end() || i->second.empty() ? fallback : i->second.back();
  }
};

// What every verb gets: where the API is and how to print.
struct context {
  context(std::ostream& out_, std::ostream& err_, std::string props) : props_path(std::move(props)), out(out_), err(err_) {}

  std::string apihost;
  std::string auth;
  std::string props_path;
  bool debug = false;
  std::ostream& out;
  std::ostream& err;

  // A client for the configured host into `into`; false (with the error printed) when
  // APIHOST or AUTH is missing or unusable.
  bool client(api_client& into, bool need_auth = true);

  // One API call. 2xx: `reply` holds the parsed body (null when empty) and 0 is returned.
  // Otherwise prints "error: Unable to <what>: <the API's error> (code <code>)" and returns
  // the exit code. `raw` (optional) receives the reply as it came.
  int call(const std::string& what, std::string_view method, const std::vector<std::string>& segments,
           const query_params& query, const json::value* body, json::value& reply, http_reply* raw = nullptr);

  // The caller's namespace name (GET /namespaces), to make names fully qualified;
  // "_" when it cannot be had.
  std::string default_namespace();

  int usage_error(const std::string& message);
  int failure(const std::string& message);

private:
  std::string resolved_ns_;
};

struct command {
  std::string entity;
  std::string verb;
  std::string args_help; // e.g. "ACTION_NAME [ACTION_FILE]"
  std::string summary;
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  std::vector<flag> flags;
  std::function<int(context&, const parsed_args&)> run;
};

std::vector<command> action_commands();
std::vector<command> activation_commands();
std::vector<command> package_commands();
std::vector<command> trigger_commands();
std::vector<command> rule_commands();
std::vector<command> namespace_commands();
std::vector<command> property_commands();

// Runs the CLI on argv: parses, dispatches, prints; returns the exit code.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// --- shared by the verbs ---

// A name as wsk reads it: NAME, PKG/NAME, /NS/NAME or /NS/PKG/NAME ("_" is the caller's).
struct entity_name {
  std::string ns = "_";
  std::string package; // empty: none
  std::string name;
  bool valid = true;

  // the REST path's segments after /api/v1: namespaces, NS, COLLECTION, [PKG,] NAME
  std::vector<std::string> path(const std::string& collection) const;
  // /NS/[PKG/]NAME as wsk prints it
  std::string qualified() const;
  // /NS/[PKG/]NAME with "_" replaced by `default_ns`
  std::string qualified(const std::string& default_ns) const;
};
entity_name parse_entity_name(const std::string& text);

// -p KEY VALUE pairs (VALUE as JSON when it parses, else a string) over -P FILE's object,
// as OpenWhisk's [{"key", "value"}] list; `file_flag`/`pair_flag` name the flags. False
// (with the error printed) when a file cannot be read or is not a JSON object.
bool key_values(context& ctx, const parsed_args& a, const std::string& pair_flag, const std::string& file_flag,
                json::array& into);
// The same pairs as one JSON object (invoke and fire bodies).
json::value as_object(const json::array& key_values);

// JSON as wsk shows it: indented by 4 spaces, members in their order.
std::string pretty(const json::value& v);

// "true"/"yes" -> true, "false"/"no" -> false; anything else is a usage error.
bool parse_bool(const std::string& text, bool& into);

// Reads a whole file; false with the error printed.
bool read_file(context& ctx, const std::string& path, std::string& into);

// The shared list layout: a header line, then one line per entity with its name padded.
void print_list(context& ctx, const std::string& header, const json::value& list,
                const std::function<std::string(const json::value&)>& extra);
// /NAMESPACE/NAME of a listed entity (namespace may hold NS/PKG).
std::string listed_name(const json::value& entity);

} // namespace whisk::cli
