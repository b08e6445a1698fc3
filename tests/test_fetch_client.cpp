// The HTTP client behind js:isolate fetch, without V8: its network policy and its limits,
// against a test server on 127.0.0.1 that the policy is told to allow.
#include <catch2/catch.hpp>
#include <future>

#include "test_http_server.hpp"
#include "whisk/isolate/fetch_client.hpp"

using namespace whisk::isolate;
using whisk::test::http_test_server;
using namespace std::chrono_literals;

namespace {

std::vector<net_range> loopback_allowed() { return *parse_net_ranges("127.0.0.1/32"); }

fetch_response fetch_now(fetch_client& c, const std::string& url, std::chrono::milliseconds limit = 5000ms,
                         const std::string& method = "GET", const std::string& body = "") {
  std::promise<fetch_response> p;
  auto f = p.get_future();
  fetch_request rq;
  rq.url = url;
  rq.method = method;
  rq.body = body;
  rq.headers = {{"X-From", "test"}};
  rq.deadline = std::chrono::steady_clock::now() + limit;
  c.start(std::move(rq), [&](fetch_response r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(limit + 5s) == std::future_status::ready); // the deadline bounds every request
  return f.get();
}

} // namespace

TEST_CASE("fetch policy: loopback private link-local and metadata addresses are refused unless allowed") {
  for (auto a : {"127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                 "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
                 "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "not an address"})
    CHECK_FALSE(address_permitted(a, {}));
  for (auto a : {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"})
    CHECK(address_permitted(a, {}));
  auto allowed = parse_net_ranges(" 127.0.0.1/32, 10.0.0.0/8 ");
  REQUIRE(allowed);
  CHECK(address_permitted("127.0.0.1", *allowed));
  CHECK(address_permitted("::ffff:127.0.0.1", *allowed));
  CHECK(address_permitted("10.200.0.1", *allowed));
  CHECK_FALSE(address_permitted("127.0.0.2", *allowed));
  CHECK_FALSE(address_permitted("169.254.169.254", *allowed));
  CHECK(!parse_net_ranges("127.0.0.1/33"));
  CHECK(!parse_net_ranges("localhost"));
  CHECK(parse_net_ranges("")->empty());
}

TEST_CASE("fetch client: a JSON answer with its status and headers and a POST body echoed") {
  http_test_server server;
  fetch_client c(loopback_allowed(), {});
  auto r = fetch_now(c, server.url("/json"));
  CHECK(r.error == "");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"hello":"world"})");
  auto echo = fetch_now(c, server.url("/echo?q=1#frag"), 5000ms, "POST", "payload");
  CHECK(echo.status == 200);
  CHECK_THAT(echo.body, Catch::Contains(R"("method":"POST","path":"/echo?q=1")"));
  CHECK_THAT(echo.body, Catch::Contains(R"("x-from":"test")"));
  CHECK_THAT(echo.body, Catch::Contains(R"("body":"payload")"));
  CHECK(std::find(echo.headers.begin(), echo.headers.end(), std::pair<std::string, std::string>{"x-test", "yes"}) !=
        echo.headers.end());
}

TEST_CASE("fetch client: loopback is refused under the default policy after resolving the name") {
  http_test_server server;
  fetch_client c({}, {});
  for (auto host : {"127.0.0.1", "localhost"}) {
    auto r = fetch_now(c, "http://" + std::string(host) + ":" + std::to_string(server.port()) + "/json");
    CHECK_THAT(r.error, Catch::Contains("refused by the network policy"));
  }
  CHECK(server.requests() == 0);
  CHECK_THAT(fetch_now(c, "http://169.254.169.254/latest/meta-data/").error, Catch::Contains("refused by the network policy"));
  CHECK_THAT(fetch_now(c, "file:///etc/passwd").error, Catch::Contains("not an http or https URL"));
}

TEST_CASE("fetch client: every redirect is checked against the policy again") {
  http_test_server server;
  fetch_client c(loopback_allowed(), {}); // 127.0.0.1 only: 127.0.0.2 is loopback like any other
  auto hop = fetch_now(c, server.url("/to/" + server.url("/json")));
  CHECK(hop.body == R"({"hello":"world"})");
  auto refused = fetch_now(c, server.url("/to/http://127.0.0.2:" + std::to_string(server.port()) + "/json"));
  CHECK_THAT(refused.error, Catch::Contains("127.0.0.2 (127.0.0.2) is refused by the network policy"));
  auto metadata = fetch_now(c, server.url("/to/http://169.254.169.254/latest/meta-data/"));
  CHECK_THAT(metadata.error, Catch::Contains("169.254.169.254 (169.254.169.254) is refused by the network policy"));
  CHECK(server.requests() == 4); // the three first hops and the one allowed second hop
}

TEST_CASE("fetch client: sizes redirects and a silent server are bounded") {
  http_test_server server;
  fetch_limits limits;
  limits.response_body_bytes = 1u << 20;
  limits.header_bytes = 16u << 10;
  limits.redirects = 5;
  limits.request_body_bytes = 1000;
  fetch_client c(loopback_allowed(), limits);
  CHECK(fetch_now(c, server.url("/big/1000000")).body.size() == 1000000);
  CHECK_THAT(fetch_now(c, server.url("/big/2000000")).error, Catch::Contains("response body exceeds 1048576 bytes"));
  CHECK_THAT(fetch_now(c, server.url("/endless")).error, Catch::Contains("response body exceeds"));
  CHECK_THAT(fetch_now(c, server.url("/huge-headers")).error, Catch::Contains("headers exceed 16384 bytes"));
  auto followed = fetch_now(c, server.url("/redirect/5"));
  CHECK(followed.body == R"({"redirects":"done"})");
  CHECK(followed.redirected);
  CHECK(followed.url == server.url("/redirect/0"));
  CHECK_THAT(fetch_now(c, server.url("/redirect/6")).error, Catch::Contains("more than 5 redirects"));
  CHECK_THAT(fetch_now(c, server.url("/loop")).error, Catch::Contains("more than 5 redirects"));
  CHECK_THAT(fetch_now(c, server.url("/echo"), 5000ms, "POST", std::string(1001, 'b')).error,
             Catch::Contains("request body exceeds 1000 bytes"));
  auto started = std::chrono::steady_clock::now();
  CHECK_THAT(fetch_now(c, server.url("/never"), 300ms).error, Catch::Contains("time limit"));
  CHECK_THAT(fetch_now(c, server.url("/trickle"), 300ms).error, Catch::Contains("time limit"));
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  for (int i = 0; i < 100 && server.abandoned() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(server.abandoned() >= 2); // the connections were closed, not left open
}

TEST_CASE("fetch client: a cancelled request ends at once and closes its connection") {
  http_test_server server;
  fetch_client c(loopback_allowed(), {});
  std::promise<fetch_response> p;
  fetch_request rq;
  rq.url = server.url("/never");
  rq.deadline = std::chrono::steady_clock::now() + 30s;
  auto op = c.start(rq, [&](fetch_response r) { p.set_value(std::move(r)); });
  for (int i = 0; i < 200 && server.open_connections() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  op->cancel();
  auto f = p.get_future();
  REQUIRE(f.wait_for(2s) == std::future_status::ready);
  CHECK_THAT(f.get().error, Catch::Contains("the call ended"));
  for (int i = 0; i < 200 && server.abandoned() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(server.abandoned() == 1);
  CHECK(c.in_flight() == 0);
}

TEST_CASE("fetch client: https verifies the server so a plain or unknown server fails the handshake") {
  http_test_server server;
  fetch_client c(loopback_allowed(), {});
  auto r = fetch_now(c, "https://127.0.0.1:" + std::to_string(server.port()) + "/json", 2000ms);
  CHECK(r.status == 0);
  CHECK(r.error != "");
}
