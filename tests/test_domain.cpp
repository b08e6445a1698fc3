#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <thread>

#include "whisk/base64.hpp"
#include "whisk/container/container.hpp"
#include "whisk/credentials.hpp"
#include "whisk/domain.hpp"
#include "whisk/policy/outcome.hpp"

using namespace whisk;

TEST_CASE("domain: an action from a PUT body, with defaults and OpenWhisk's limits") {
  auto body = json::parse(R"({"exec":{"kind":"nodejs:default","code":"function main(){}"},"parameters":[{"key":"a","value":1}]})");
  auto a = action_from_json(*body, "guest", "hello");
  REQUIRE(a);
  CHECK(a->exec.kind == "nodejs:20");
  CHECK(a->limits.timeout_ms == 60000);
  CHECK(a->limits.memory_mb == 256);
  CHECK(a->limits.logs_mb == 10);
  CHECK(a->limits.concurrency == 1);
  CHECK(json::dump(parameters_object(a->parameters)) == R"({"a":1})");
  auto j = to_json(*a);
  CHECK(json::get_string(j, "version") == "0.0.1");
  auto update = action_update(*a, *json::parse(R"({"limits":{"timeout":1000}})"));
  REQUIRE(update);
  CHECK(update->version == "0.0.2");
  CHECK(update->limits.timeout_ms == 1000);
  CHECK(update->exec.code == "function main(){}");
}

TEST_CASE("domain: bad actions are rejected with a message naming the problem") {
  auto check = [](const char* body, const char* needle) {
    auto a = action_from_json(*json::parse(body), "guest", "x");
    REQUIRE(!a);
    CHECK(a.err().code == errc::bad_request);
    CHECK_THAT(a.err().message, Catch::Contains(needle));
  };
  check(R"({"exec":{"kind":"cobol","code":"x"}})", "not supported");
  check(R"({"exec":{"kind":"nodejs:20"}})", "exec.code");
  check(R"({"exec":{"kind":"nodejs:20","code":"x"},"limits":{"timeout":50}})", "timeout limit 50");
  check(R"({"exec":{"kind":"nodejs:20","code":"x"},"limits":{"memory":1024}})", "memory limit 1024");
  check(R"({"exec":{"kind":"nodejs:20","code":"x"},"limits":{"logs":11}})", "logs limit 11");
  check(R"({"exec":{"kind":"nodejs:20","code":"x","main":"no-t valid"}})", "exec.main");
  check(R"({"exec":{"kind":"nodejs:20","code":"x"},"parameters":{"a":1}})", "parameters");
  check(R"([1,2])", "object");
}

TEST_CASE("domain: activation ids are 32 hex chars, unique, and ordered by time") {
  auto a = new_activation_id();
  CHECK(is_activation_id(a));
  CHECK(a != new_activation_id());
  CHECK(!is_activation_id("xyz"));
  auto before = std::stoull(a.substr(0, 12), nullptr, 16);
  CHECK(before <= static_cast<std::uint64_t>(now_ms()));
  CHECK(static_cast<std::uint64_t>(now_ms()) - before < 1000);
  std::set<std::string> many;
  for (int i = 0; i < 10000; ++i)
    many.insert(new_activation_id());
  CHECK(many.size() == 10000);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(new_activation_id().substr(0, 12) > a.substr(0, 12)); // a later id sorts after
}

TEST_CASE("domain: an activation record round-trips through its JSON") {
  activation a;
  a.ns = "guest";
  a.name = "hello";
  a.version = "0.0.3";
  a.subject = "guest";
  a.activation_id = new_activation_id();
  a.start_ms = 1000;
  a.end_ms = 1042;
  a.status = activation_status::application_error;
  a.result = json::object{{"error", "boom"}};
  a.logs = {"line 1", "line 2"};
  a.kind = "python:3";
  a.wait_ms = 3;
  a.init_ms = 17;
  auto j = to_json(a);
  CHECK(json::get_int(j, "duration", 0) == 42);
  CHECK(json::get_string(*j.find("response"), "status") == "application error");
  auto back = activation_from_json(*json::parse(json::dump(j)));
  REQUIRE(back);
  CHECK(back->status == activation_status::application_error);
  CHECK(back->logs == a.logs);
  CHECK(back->init_ms == 17);
  CHECK(back->wait_ms == 3);
  CHECK(back->kind == "python:3");
  CHECK(json::dump(back->result) == R"({"error":"boom"})");
}

TEST_CASE("outcome: answers are classified as OpenWhisk does") {
  using container::outcome;
  using container::outcome_kind;
  using policy::classify_run;
  CHECK(classify_run(outcome{outcome_kind::ok, R"({"a":1})", {}, 0}, 1000).status == activation_status::success);
  CHECK(classify_run(outcome{outcome_kind::ok, R"({"error":"x"})", {}, 0}, 1000).status == activation_status::application_error);
  auto not_dict = classify_run(outcome{outcome_kind::ok, "[1]", {}, 0}, 1000);
  CHECK(not_dict.status == activation_status::developer_error);
  CHECK(json::get_string(not_dict.result, "error") == not_dictionary_message);
  auto t = classify_run(outcome{outcome_kind::timeout, "", {}, 0}, 1234);
  CHECK(t.status == activation_status::developer_error);
  CHECK(json::get_string(t.result, "error") == "The action exceeded its time limits of 1234 milliseconds.");
  CHECK(json::get_string(classify_run(outcome{outcome_kind::oom, "", {}, 0}, 1).result, "error") == oom_message);
  CHECK(classify_run(outcome{outcome_kind::exited, "status 1", {}, 0}, 1).status == activation_status::developer_error);
  CHECK(classify_run(outcome{outcome_kind::failed, "gone", {}, 0}, 1).status == activation_status::whisk_error);
  auto init = policy::classify_init(outcome{outcome_kind::ok, R"({"error":"SyntaxError"})", {}, 0}, 1000);
  CHECK(init.status == activation_status::developer_error);
  CHECK(json::get_string(init.result, "error") == "Initialization has failed due to: SyntaxError");
  CHECK(policy::classify_init(outcome{outcome_kind::ok, R"({"ok":true})", {}, 0}, 1).status == activation_status::success);
}

#include "whisk/container/routing_backend.hpp"
#include "whisk/container/sim_backend.hpp"

TEST_CASE("routing backend: the kind picks the backend and later operations follow the container") {
  using namespace whisk::container;
  auto now = [](std::chrono::milliseconds, std::function<void()> fn) { fn(); }; // completes at once
  auto processes = std::make_shared<sim_backend>(sim_model{}, now);
  auto isolates = std::make_shared<sim_backend>(sim_model{}, now);
  routing_backend r{{{"js:isolate", isolates}}, processes};
  container_id a = 0, b = 0;
  r.create(spec{"nodejs:20", 256}, [&](expected<container_id> id) { a = *id; });
  r.create(spec{"js:isolate", 128}, [&](expected<container_id> id) { b = *id; });
  REQUIRE(a != 0);
  REQUIRE(b != 0);
  CHECK(a != b); // the router's ids are its own, although both backends start at 1
  CHECK(processes->counters().created == 1);
  CHECK(isolates->counters().created == 1);
  outcome out;
  r.init(b, init_request{"echo", "main", false, "{}", 1000, 1024, "", false}, [&](outcome o) { out = o; });
  r.run(b, run_request{R"({"value":{"k":1}})", 1000, 1024}, [&](outcome o) { out = o; });
  CHECK(out.output == R"({"k":1})");
  CHECK(isolates->counters().runs == 1);
  CHECK(processes->counters().runs == 0);
  bool destroyed = false;
  r.destroy(b, [&] { destroyed = true; });
  CHECK(destroyed);
  CHECK(isolates->counters().alive == 0);
  r.run(b, run_request{"{}", 1000, 1024}, [&](outcome o) { out = o; });
  CHECK(out.kind == outcome_kind::failed);
}

#include "whisk/metrics.hpp"

TEST_CASE("metrics: samples of one name become one Prometheus family with its type and labels") {
  using whisk::metrics::kind;
  std::vector<whisk::metrics::sample> s{
      {"starts_total", "Runs by start", kind::counter, 3, {{"start", "warm"}}},
      {"containers", "Containers", kind::gauge, 2, {}},
      {"starts_total", "ignored: the first help wins", kind::counter, 1, {{"start", "cold"}}},
  };
  auto text = whisk::metrics::render(s);
  CHECK_THAT(text, Catch::Contains("# HELP whisk_starts_total Runs by start\n# TYPE whisk_starts_total counter\n"));
  CHECK_THAT(text, Catch::Contains("whisk_starts_total{start=\"warm\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("whisk_starts_total{start=\"cold\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE whisk_containers gauge\nwhisk_containers 2\n"));
  CHECK_THAT(text, !Catch::Contains("ignored"));
}

TEST_CASE("domain: a runtime's answer nested too deep is a developer error, never a crash") {
  container::outcome out;
  out.kind = container::outcome_kind::ok;
  out.output = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto c = policy::classify_run(out, 1000);
  CHECK(c.status == activation_status::developer_error);
  out.output = "{\"a\":" + std::string(json::max_depth - 1, '[') + std::string(json::max_depth - 1, ']') + "}";
  CHECK(policy::classify_run(out, 1000).status == activation_status::success);
}

TEST_CASE("domain: a PUT body with 200,000 nested brackets in parameters is a bad request") {
  auto body = json::parse(R"({"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"p","value":)" +
                          std::string(200000, '[') + std::string(200000, ']') + "}]}");
  REQUIRE(!body);
  CHECK(http_status(body.err().code) == 400);
}

TEST_CASE("domain: binary code must be base64 at PUT") {
  auto put = [](const std::string& code) {
    return action_from_json(*json::parse(R"({"exec":{"kind":"native","binary":true,"code":")" + code + "\"}}"), "guest", "b");
  };
  CHECK(put("IyEvYmluL3NoCmVjaG8gaGkK")); // "#!/bin/sh\necho hi\n"
  CHECK(put("IyEvYmluL3No\\nCmVjaG8gaGkK")); // line-wrapped
  for (auto bad : {"not base64!", "IyEvYmluL3NoCmVjaG8gaGkK=", "IyE", "IyE*", "$$$$", "  "}) {
    INFO(bad);
    auto a = put(bad);
    REQUIRE(!a);
    CHECK(a.err().code == errc::bad_request);
    CHECK_THAT(a.err().message, Catch::Contains("base64"));
  }
  CHECK(base64_decode("aGk=") == std::optional<std::string>("hi"));
  CHECK(!base64_decode("aGk"));   // padding is required
  CHECK(!base64_decode("aG-k"));  // not the URL-safe alphabet
}

TEST_CASE("credentials: uuids and keys are random, independent and well formed") {
  auto hex = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  };
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto uuid = new_uuid();
    auto key = new_key();
    REQUIRE(uuid.size() == 36);
    for (std::size_t dash : {8, 13, 18, 23})
      REQUIRE(uuid[dash] == '-');
    auto digits = uuid;
    digits.erase(std::remove(digits.begin(), digits.end(), '-'), digits.end());
    REQUIRE(digits.size() == 32);
    REQUIRE(hex(digits));
    REQUIRE(uuid[14] == '4');                                   // version 4
    REQUIRE(std::string("89ab").find(uuid[19]) != std::string::npos); // RFC 4122 variant
    REQUIRE(key.size() == 64);
    REQUIRE(hex(key));
    // independent draws: no shared run of the uuid's random digits in the key
    REQUIRE(key.find(digits.substr(0, 8)) == std::string::npos);
    REQUIRE(key.find(digits.substr(20, 12)) == std::string::npos);
    REQUIRE(seen.insert(uuid).second);
    REQUIRE(seen.insert(key).second);
  }
}

TEST_CASE("credentials: keyed hashes depend on key and node secret, and comparison needs equal sizes") {
  std::array<unsigned char, key_hasher::secret_bytes> a{}, b{};
  b[0] = 1;
  key_hasher ha{a}, hb{b};
  auto key = new_key();
  CHECK(ha.hash(key).size() == 64);
  CHECK(ha.hash(key) == ha.hash(key));
  CHECK(ha.hash(key) != hb.hash(key));
  CHECK(ha.hash(key) != ha.hash(key + "x"));
  CHECK(ha.hash(key).find(key) == std::string::npos);
  CHECK(ha.verify(key, ha.hash(key)));
  CHECK(!hb.verify(key, ha.hash(key)));
  CHECK(equal_secrets("abc", "abc"));
  CHECK(!equal_secrets("abc", "abd"));
  CHECK(!equal_secrets("abc", "abcd"));
  CHECK(!equal_secrets("", "a"));
}

namespace {
struct scratch_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("whisk-cred-test-" + new_uuid());
  ~scratch_dir() { std::filesystem::remove_all(path); }
};
unsigned mode_of(const std::filesystem::path& p) {
  struct stat st{};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}
} // namespace

TEST_CASE("credentials: the data dir is 0700, the node secret and wskprops 0600") {
  scratch_dir d;
  auto dir = d.path / "data";
  REQUIRE(make_private_dir(dir));
  CHECK(mode_of(dir) == 0700);
  ::chmod(dir.c_str(), 0755);
  REQUIRE(make_private_dir(dir)); // an existing dir is narrowed too
  CHECK(mode_of(dir) == 0700);

  auto secret = dir / "node-secret";
  auto first = load_node_secret(secret);
  REQUIRE(first);
  CHECK(mode_of(secret) == 0600);
  CHECK(std::filesystem::file_size(secret) == key_hasher::secret_bytes);
  auto again = load_node_secret(secret);
  REQUIRE(again);
  CHECK(first->hash("k") == again->hash("k")); // the same secret on the next start
  scratch_dir other;
  REQUIRE(make_private_dir(other.path));
  auto elsewhere = load_node_secret(other.path / "node-secret");
  REQUIRE(elsewhere);
  CHECK(first->hash("k") != elsewhere->hash("k")); // another node, another secret
  std::filesystem::resize_file(secret, 8);
  CHECK(!load_node_secret(secret)); // a damaged secret is an error, never silently replaced

  auto props = dir / "wskprops";
  REQUIRE(write_wskprops(props, {"http://127.0.0.1:1", "u", "k"}));
  CHECK(mode_of(props) == 0600);
  auto read = read_wskprops(props);
  REQUIRE(read);
  CHECK(read->api_host == "http://127.0.0.1:1");
  CHECK(read->auth() == "u:k");
  CHECK(!std::filesystem::exists(dir / "wskprops.tmp"));
}
