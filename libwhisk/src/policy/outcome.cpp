#include "whisk/policy/outcome.hpp"

#include <fmt/format.h>
#include <optional>

namespace whisk::policy {

namespace {

classified developer_error(std::string message) {
  return {activation_status::developer_error, json::object{{"error", std::move(message)}}};
}

std::optional<classified> failure(const container::outcome& out, std::int64_t timeout_ms, const char* during) {
  using container::outcome_kind;
  switch (out.kind) {
    case outcome_kind::ok: return std::nullopt;
    case outcome_kind::timeout:
      return developer_error(std::string(during).empty()
                                 ? timeout_message(timeout_ms)
                                 : fmt::format("The action exceeded its time limits of {} milliseconds during initialization.", timeout_ms));
    case outcome_kind::oom: return developer_error(oom_message);
    case outcome_kind::exited:
      return developer_error(fmt::format("The action did not produce a valid response and exited unexpectedly ({}).", out.output));
    case outcome_kind::failed:
      return classified{activation_status::whisk_error, json::object{{"error", "Failed to run the action: " + out.output}}};
  }
  return std::nullopt;
}

} // namespace

classified classify_init(const container::outcome& out, std::int64_t timeout_ms) {
  if (auto f = failure(out, timeout_ms, "init"))
    return *f;
  auto answer = json::parse(out.output);
  if (answer && answer->is_object() && json::get_bool(*answer, "ok", false))
    return {};
  std::string why = out.output;
  if (answer && answer->find("error")) {
    auto& e = *answer->find("error");
    why = e.is_string() ? e.as_string() : json::dump(e);
  }
  return developer_error("Initialization has failed due to: " + why);
}

classified classify_run(const container::outcome& out, std::int64_t timeout_ms) {
  if (auto f = failure(out, timeout_ms, ""))
    return *f;
  auto answer = json::parse(out.output);
  if (!answer)
    return developer_error("The action did not produce a valid JSON response: " + out.output.substr(0, 200));
  if (!answer->is_object())
    return developer_error(not_dictionary_message);
  if (answer->find("error"))
    return {activation_status::application_error, std::move(*answer)};
  return {activation_status::success, std::move(*answer)};
}

} // namespace whisk::policy
