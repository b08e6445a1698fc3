// whisk activation list|get|logs|result|poll
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <ostream>
#include <set>
#include <thread>

#include "cli.hpp"

namespace whisk::cli {

namespace {

const flag last_flag{"last", 'l', 0, "", "the most recent activation instead of an ID"};

std::string annotation(const json::value& record, const std::string& key) {
  if (auto* an = record.find("annotations"); an && an->is_array())
    for (auto& kv : an->as_array())
      if (json::get_string(kv, "key") == key)
        if (auto* v = kv.find("value"))
          return v->is_string() ? v->as_string() : json::dump(*v);
  return {};
}

bool has_annotation(const json::value& record, const std::string& key) {
  if (auto* an = record.find("annotations"); an && an->is_array())
    for (auto& kv : an->as_array())
      if (json::get_string(kv, "key") == key)
        return true;
  return false;
}

std::string status_word(const json::value& record) {
  auto* r = record.find("response");
  auto status = r ? json::get_string(*r, "status") : std::string{};
  if (status == "application error")
    return "app error";
  if (status == "action developer error")
    return "dev error";
  if (status == "whisk internal error")
    return "sys error";
  return status.empty() ? "?" : status;
}

std::string datetime(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The ID argument, or with --last the newest activation's
bool activation_id(context& ctx, const parsed_args& a, std::string& id, int& rc) {
  if (!a.positional.empty()) {
    if (a.has("last")) {
      rc = ctx.usage_error("give an activation ID or --last, not both");
      return false;
    }
    id = a.positional[0];
    return true;
  }
  if (!a.has("last")) {
    rc = ctx.usage_error("give an activation ID or --last");
    return false;
  }
  json::value list;
  if ((rc = ctx.call("get the last activation", "GET", {"namespaces", "_", "activations"}, {{"limit", "1"}}, nullptr, list)))
    return false;
  if (!list.is_array() || list.as_array().empty()) {
    rc = ctx.failure("There are no activations yet.");
    return false;
  }
  id = json::get_string(list.as_array()[0], "activationId");
  return true;
}

std::string strip(const std::string& line) {
  // "2026-11-30T05:40:01.123Z stdout: the message" -> "the message"
  auto first = line.find(' ');
  if (first == std::string::npos)
    return line;
  auto second = line.find(' ', first + 1);
  auto stream = line.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  if (second == std::string::npos || (stream != "stdout:" && stream != "stderr:"))
    return line;
  return line.substr(second + 1);
}

bool number_flag(context& ctx, const parsed_args& a, const std::string& name, query_params& q) {
  if (!a.has(name))
    return true;
  auto text = a.value(name);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    ctx.err << "error: --" << name << " needs a whole number, not '" << text << "'.\n";
    return false;
  }
  q.emplace_back(name, text);
  return true;
}

int list(context& ctx, const parsed_args& a) {
  query_params q;
  for (const char* f : {"limit", "skip", "since", "upto"})
    if (!number_flag(ctx, a, f, q))
      return exit_usage;
  if (!a.positional.empty())
    q.emplace_back("name", a.positional[0]);
  bool full = a.has("full");
  if (full)
    q.emplace_back("docs", "true");
  json::value reply;
  if (int rc = ctx.call("list activations", "GET", {"namespaces", "_", "activations"}, q, nullptr, reply))
    return rc;
  if (full) {
    ctx.out << pretty(reply) << "\n";
    return exit_ok;
  }
  ctx.out << fmt::format("{:<19} {:<32} {:<10} {:<5} {:<10} {:<9} {}\n", "Datetime", "Activation ID", "Kind", "Start",
                         "Duration", "Status", "Entity");
  if (reply.is_array())
    for (auto& r : reply.as_array())
      ctx.out << fmt::format("{:<19} {:<32} {:<10} {:<5} {:<10} {:<9} {}/{}:{}\n", datetime(json::get_int(r, "start", 0)),
                             json::get_string(r, "activationId"), annotation(r, "kind"),
                             has_annotation(r, "initTime") ? "cold" : "warm",
                             fmt::format("{}ms", json::get_int(r, "duration", 0)), status_word(r),
                             json::get_string(r, "namespace"), json::get_string(r, "name"),
                             json::get_string(r, "version"));
  return exit_ok;
}

int get(context& ctx, const parsed_args& a) {
  std::string id;
  int rc = exit_ok;
  if (!activation_id(ctx, a, id, rc))
    return rc;
  json::value reply;
  if ((rc = ctx.call(fmt::format("get activation '{}'", id), "GET", {"namespaces", "_", "activations", id}, {}, nullptr, reply)))
    return rc;
  ctx.out << "ok: got activation " << id << "\n" << pretty(reply) << "\n";
  return exit_ok;
}

int logs(context& ctx, const parsed_args& a) {
  std::string id;
  int rc = exit_ok;
  if (!activation_id(ctx, a, id, rc))
    return rc;
  json::value reply;
  if ((rc = ctx.call(fmt::format("get the logs of activation '{}'", id), "GET",
                     {"namespaces", "_", "activations", id, "logs"}, {}, nullptr, reply)))
    return rc;
  if (auto* lines = reply.find("logs"); lines && lines->is_array())
    for (auto& l : lines->as_array())
      if (l.is_string())
        ctx.out << (a.has("strip") ? strip(l.as_string()) : l.as_string()) << "\n";
  return exit_ok;
}

int result(context& ctx, const parsed_args& a) {
  std::string id;
  int rc = exit_ok;
  if (!activation_id(ctx, a, id, rc))
    return rc;
  json::value reply;
  if ((rc = ctx.call(fmt::format("get the result of activation '{}'", id), "GET",
                     {"namespaces", "_", "activations", id, "result"}, {}, nullptr, reply)))
    return rc;
  auto* r = reply.find("result");
  ctx.out << pretty(r ? *r : json::value(json::object{})) << "\n";
  return exit_ok;
}

// Prints the logs of each activation that appears, until --exit seconds have passed.
int poll(context& ctx, const parsed_args& a) {
  using namespace std::chrono;
  auto seconds_flag = [&](const char* name, std::int64_t& into) {
    auto text = a.value(name, "0");
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9)
      return false;
    into = std::stoll(text);
    return true;
  };
  std::int64_t exit_after = 0, since_seconds = 0;
  if (!seconds_flag("exit", exit_after) || !seconds_flag("since-seconds", since_seconds))
    return ctx.usage_error("--exit and --since-seconds need a whole number of seconds");
  auto now_ms = [] { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); };
  std::int64_t since = now_ms() - since_seconds * 1000;
  auto deadline = steady_clock::now() + seconds(exit_after);
  ctx.out << "Enter Ctrl-c to exit.\nPolling for activation logs\n" << std::flush;
  std::set<std::string> seen;
  for (;;) {
    query_params q{{"docs", "true"}, {"limit", "200"}, {"since", std::to_string(since)}};
    if (!a.positional.empty())
      q.emplace_back("name", a.positional[0]);
    json::value reply;
    if (int rc = ctx.call("poll activations", "GET", {"namespaces", "_", "activations"}, q, nullptr, reply))
      return rc;
    if (reply.is_array()) {
      auto& records = reply.as_array();
      for (auto r = records.rbegin(); r != records.rend(); ++r) { // oldest first
        auto id = json::get_string(*r, "activationId");
        if (!seen.insert(id).second)
          continue;
        ctx.out << "\nActivation: '" << json::get_string(*r, "name") << "' (" << id << ")\n";
        auto* lines = r->find("logs");
        ctx.out << pretty(lines ? *lines : json::value(json::array{})) << "\n" << std::flush;
      }
    }
    if (exit_after > 0 && steady_clock::now() >= deadline)
      return exit_ok;
    std::this_thread::sleep_for(milliseconds(500));
  }
}

} // namespace

std::vector<command> activation_commands() {
  return {
      {"activation", "list", "[ACTION_NAME]", "list activations (newest first)", 0, 1,
       {{"limit", 'l', 1, "N", "at most N activations (default 30)"},
        {"skip", 's', 1, "N", "skip the newest N"},
        {"since", 0, 1, "MS", "only those started at or after this time (ms since the epoch)"},
        {"upto", 0, 1, "MS", "only those started before this time (ms since the epoch)"},
        {"full", 'f', 0, "", "print the full records as JSON"}},
       list},
      {"activation", "get", "[ACTIVATION_ID]", "get an activation record", 0, 1, {last_flag}, get},
      {"activation", "logs", "[ACTIVATION_ID]", "print an activation's log lines", 0, 1,
       {last_flag, {"strip", 'r', 0, "", "only the messages, without time and stream"}}, logs},
      {"activation", "result", "[ACTIVATION_ID]", "print an activation's result", 0, 1, {last_flag}, result},
      {"activation", "poll", "[ACTION_NAME]", "print the logs of new activations as they come", 0, 1,
       {{"exit", 'e', 1, "SECONDS", "stop after SECONDS (default: never)"},
        {"since-seconds", 0, 1, "SECONDS", "start from activations up to SECONDS old"}},
       poll},
  };
}

} // namespace whisk::cli
