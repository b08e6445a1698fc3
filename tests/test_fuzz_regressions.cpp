// Findings of the fuzz targets (tests/fuzz), kept as unit tests; their inputs are in the
// seed corpus as well.
#include <catch2/catch.hpp>

#include "whisk/api/rest_api.hpp"
#include "whisk/json.hpp"
#include "whisk/policy/outcome.hpp"

using namespace whisk;

TEST_CASE("json: bytes that are not UTF-8 are written as U+FFFD, so the document reads back") {
  // fuzz_action_answer: a runtime's answer with a stray byte became an activation record
  // that json::parse refused (the record vanished from GET and listings)
  // an overlong start, lone continuation bytes, bytes never in UTF-8, a surrogate, a cut sequence
  std::string bad = "bad\xe0\x96\x91\x91ut \xff\xc0\xaf \xed\xa0\x80 end\xe2\x82";
  auto doc = json::dump(json::object{{"error", bad}});
  auto back = json::parse(doc);
  REQUIRE(back);
  CHECK(json::get_string(*back, "error") ==
        "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdut \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\xef\xbf\xbd\xef\xbf\xbd");
  // well-formed text, every length of sequence, is written as it is
  std::string good = "a \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  CHECK(json::dump(json::value(good)) == "\"" + good + "\"");

  container::outcome out{container::outcome_kind::ok, "{\"error\":{\"message\":\"bad\xe0\x96\x91\x91ut\"}}", {}, 0};
  auto run = policy::classify_run(out, 1000);
  CHECK(run.status == activation_status::developer_error);
  activation a;
  a.activation_id = "0123456789abcdef0123456789abcdef";
  a.status = run.status;
  a.result = run.result;
  a.logs = {"stdout: \xff\xfe binary"};
  auto record = json::parse(json::dump(to_json(a)), json::max_wrapped_depth);
  REQUIRE(record);
  auto read = activation_from_json(*record);
  REQUIRE(read);
  CHECK(read->status == activation_status::developer_error);
}

TEST_CASE("json: -0 is written as 0, so a dump of a parsed dump is the same text") {
  // fuzz_api_json: "-0e98" parsed as -0.0, was written "-0" and read back as the integer 0
  auto v = json::parse("[-0e98, -0.0, 0.0, -1.5]");
  REQUIRE(v);
  auto once = json::dump(*v);
  CHECK(once == "[0,0,0,-1.5]");
  CHECK(json::dump(*json::parse(once)) == once);
}

TEST_CASE("rest: an error answer that quotes a path with bytes that are not UTF-8 is JSON") {
  // fuzz_http_request: GET /api/v1/namespaces/team%bD2a/... answered a 403 whose message
  // held the decoded byte 0xbd raw
  auto r = api::rest_api::error(403, "The supplied authentication is not authorized to access 'team\xbd" "2a'.");
  CHECK(json::parse(r.body));
}

TEST_CASE("json: a number out of int64's range read as an integer saturates") {
  // fuzz_api_json (UBSan): an update body with "limits":{"memory":12e184} cast the double
  // to int64, which is undefined behavior; now it saturates and the limit check refuses it
  CHECK(json::value(12e184).as_int() == INT64_MAX);
  CHECK(json::value(-12e184).as_int() == INT64_MIN);
  CHECK(json::value(9223372036854775808.0).as_int() == INT64_MAX);
  CHECK(json::value(-9223372036854775808.0).as_int() == INT64_MIN);
  CHECK(json::value(-2.9).as_int() == -2);
  auto body = json::parse(R"({"exec":{"kind":"python:3","code":"def main(a): return a"},"limits":{"memory":12e184}})");
  REQUIRE(body);
  auto a = action_from_json(*body, "guest", "x");
  REQUIRE(!a);
  CHECK(a.err().code == errc::bad_request);
}
