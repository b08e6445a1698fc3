// libFuzzer: what a runtime writes on fd 3 (the action loop's answer line, cut at the first
// '\n' as the process backend cuts it), classified as an /init and as a /run answer.
// Oracles besides the sanitizers: the classification follows OpenWhisk's rules, and the
// activation record made from it reads back from its stored document with the same status.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "whisk/policy/outcome.hpp"

using namespace whisk;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FINDING: %s\n%.2000s\n", what, detail.c_str());
  std::abort();
}

void record_reads_back(const policy::classified& c, const std::string& line) {
  activation a;
  a.ns = "guest";
  a.name = "answer";
  a.activation_id = "0123456789abcdef0123456789abcdef";
  a.start_ms = 1;
  a.end_ms = 2;
  a.status = c.status;
  a.result = c.result;
  a.logs = {line};
  auto doc = json::dump(to_json(a));
  auto parsed = json::parse(doc, json::max_wrapped_depth);
  if (!parsed)
    finding("an activation record does not parse back", parsed.err().message + "\n" + doc.substr(0, 1000));
  auto back = activation_from_json(*parsed);
  if (!back)
    finding("an activation record does not read back", back.err().message + "\n" + doc.substr(0, 1000));
  if (back->status != a.status || json::dump(back->result) != json::dump(a.result))
    finding("an activation record reads back changed", doc.substr(0, 1000));
  json::dump(response_json(a));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string line(in.substr(0, in.find('\n')));
  container::outcome out{container::outcome_kind::ok, line, {}, 0};

  auto run = policy::classify_run(out, 1000);
  auto* error = run.result.is_object() ? run.result.find("error") : nullptr;
  switch (run.status) {
    case activation_status::success:
      if (!run.result.is_object() || error)
        finding("a success whose result is not an object without 'error'", line.substr(0, 1000));
      break;
    case activation_status::application_error:
      if (!error)
        finding("an application error without 'error'", line.substr(0, 1000));
      break;
    case activation_status::developer_error:
      if (!error || !error->is_string())
        finding("a developer error without an error message", line.substr(0, 1000));
      break;
    case activation_status::whisk_error:
      finding("an answer classified as a whisk error", line.substr(0, 1000));
  }
  record_reads_back(run, line);

  auto init = policy::classify_init(out, 1000);
  if (init.status != activation_status::success && init.status != activation_status::developer_error)
    finding("an /init answer classified other than success or developer error", line.substr(0, 1000));
  record_reads_back(init, line);
  return 0;
}
