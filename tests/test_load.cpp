// whisk-load: histogram accuracy, weighted draw, open-loop schedule, config errors, and
// the engine against a server this test starts on 127.0.0.1.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "engine.hpp"
#include "histogram.hpp"
#include "plan.hpp"
#include "report.hpp"
#include "whisk/http/server.hpp"

using namespace whisk;
using namespace whisk::load;

TEST_CASE("load: histogram percentiles stay within 1% of a sorted reference") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.5); // ~60 us median, long tail, in ns
  histogram h;
  std::vector<std::uint64_t> ref;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    h.record(v);
    ref.push_back(v);
  }
  std::sort(ref.begin(), ref.end());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(ref.size()))));
    double expected = static_cast<double>(ref[rank - 1]);
    double got = static_cast<double>(h.percentile(q));
    INFO("q=" << q << " expected " << expected << " got " << got);
    CHECK(std::abs(got - expected) <= 0.01 * expected + 1);
  }
  CHECK(h.max() == ref.back());
  CHECK(h.min() == ref.front());
  CHECK(h.count() == ref.size());
}

TEST_CASE("load: histogram buckets cover every value exactly once") {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 255ull, 256ull, 1000ull, 123456789ull, ~0ull >> 1}) {
    auto i = histogram::index_of(v);
    CHECK(histogram::lowest_in(i) <= v);
    CHECK(histogram::highest_in(i) >= v);
    CHECK(static_cast<double>(histogram::highest_in(i) - histogram::lowest_in(i)) <= std::max(0.0, static_cast<double>(v) / 128.0));
  }
  histogram a, b;
  a.record(10);
  b.record(1000, 3);
  a.merge(b);
  CHECK(a.count() == 4);
  CHECK(a.percentile(0.5) >= 992);
}

TEST_CASE("load: the weighted draw follows the weights and never picks weight 0") {
  weighted_draw d({1, 0, 3});
  std::vector<int> n(3);
  for (int i = 0; i < 100000; ++i)
    ++n[d.next()];
  CHECK(n[1] == 0);
  CHECK(std::abs(n[2] / static_cast<double>(n[0]) - 3.0) < 0.1);
  CHECK(d.pick(0.0) == 0);
  CHECK(d.pick(0.2499) == 0);
  CHECK(d.pick(0.2501) == 2);
}

TEST_CASE("load: the open-loop schedule spreads sends evenly at the total rate") {
  open_loop_schedule s{1000, 4}; // 1000 req/s over 4 connections
  std::vector<std::int64_t> times;
  for (int c = 0; c < 4; ++c)
    for (std::uint64_t k = 0; k < 250; ++k)
      times.push_back(s.intended(c, k).count());
  std::sort(times.begin(), times.end());
  CHECK(times.front() == 0);
  CHECK(times.back() == 999'000'000); // 1000 sends in one second, the last at 999 ms
  for (std::size_t i = 1; i < times.size(); ++i)
    CHECK(times[i] - times[i - 1] == 1'000'000);
}

TEST_CASE("load: bad configs are rejected with the field named") {
  auto err = [](const char* text) {
    auto p = parse_plan(text);
    REQUIRE(!p);
    return p.err().message;
  };
  CHECK_THAT(err("{"), Catch::StartsWith("config:"));
  CHECK_THAT(err(R"({"targets":[]})"), Catch::StartsWith("targets:"));
  CHECK_THAT(err(R"({"targets":[{"method":"GET"}]})"), Catch::StartsWith("targets[0].url:"));
  CHECK_THAT(err(R"({"targets":[{"url":"ftp://x/"}]})"), Catch::StartsWith("targets[0].url:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/"},{"url":"http://127.0.0.1:1/","weight":"x"}]})"), Catch::StartsWith("targets[1].weight:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/","method":"BREW"}]})"), Catch::StartsWith("targets[0].method:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/","auth":"nocolon"}]})"), Catch::StartsWith("targets[0].auth:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/"}],"connections":0})"), Catch::StartsWith("connections:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/","weight":0}]})"), Catch::StartsWith("targets:"));
  CHECK_THAT(err(R"({"targets":[{"url":"http://127.0.0.1:1/"}],"duration":5,"warmup":5})"), Catch::StartsWith("warmup:"));
  auto ok = parse_plan(R"({"targets":[{"url":"http://127.0.0.1:8080/a?b=1","method":"POST","body":{"x":1},"auth":"u:p"}]})");
  REQUIRE(ok);
  auto& bytes = ok->targets[0].request_bytes;
  CHECK_THAT(bytes, Catch::StartsWith("POST /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  CHECK_THAT(bytes, Catch::Contains("Authorization: Basic dTpw\r\n"));
  CHECK_THAT(bytes, Catch::EndsWith("Content-Length: 7\r\n\r\n{\"x\":1}"));
}

TEST_CASE("load: the engine counts every response of a real server, per target and status") {
  http::server server{http::server_config{"127.0.0.1", 0, 1, 1 << 20}, [](http::request req, http::responder respond) {
                        http::response r;
                        r.status = req.target == "/missing" ? 404 : 200;
                        r.body = "{}";
                        respond(std::move(r));
                      }};
  auto port = server.start();
  REQUIRE(port);
  auto base = "http://127.0.0.1:" + std::to_string(*port);
  auto p = parse_plan(R"({"targets":[{"url":")" + base + R"(/ok","weight":3},{"url":")" + base +
                      R"(/missing","weight":1}],"connections":4,"threads":2,"requests":2000,"duration":0})");
  REQUIRE(p);
  progress live;
  auto r = run_plan(*p, live);
  CHECK(r.completed == 2000);
  CHECK(r.statuses[200] + r.statuses[404] == 2000);
  CHECK(r.targets[0].completed == r.statuses[200]);
  CHECK(r.statuses[200] > r.statuses[404]); // weight 3 : 1
  CHECK(r.all_ns.count() == 2000);
  CHECK(r.connect_errors + r.read_errors + r.timeouts == 0);
  CHECK_THAT(json_report(*p, r), Catch::Contains("\"requests\":2000"));
  CHECK_THAT(svg_plot(*p, r), Catch::StartsWith("<svg"));
  server.stop();
}

TEST_CASE("load: a refused connection ends the run with a report, not a hang") {
  // a port nothing listens on: bind one, note it, close it
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto p = parse_plan(R"({"targets":[{"url":"http://127.0.0.1:)" + std::to_string(ntohs(addr.sin_port)) + R"(/"}],"connections":2,"duration":30})");
  REQUIRE(p);
  progress live;
  auto started = std::chrono::steady_clock::now();
  auto r = run_plan(*p, live);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(r.server_unreachable);
  CHECK(r.connect_errors > 0);
  CHECK(r.completed == 0);
  CHECK_THAT(text_report(*p, r), Catch::Contains("did not answer"));
}

TEST_CASE("load: ${NAME} in a config comes from the environment, and an unset one is an error") {
  ::setenv("WHISK_LOAD_TEST_HOST", "http://127.0.0.1:9", 1);
  auto p = parse_plan(R"({"targets":[{"url":"${WHISK_LOAD_TEST_HOST}/x"}]})");
  REQUIRE(p);
  CHECK(p->targets[0].port == 9);
  auto bad = parse_plan(R"({"targets":[{"url":"${WHISK_LOAD_TEST_UNSET_VARIABLE}/x"}]})");
  REQUIRE(!bad);
  CHECK_THAT(bad.err().message, Catch::Contains("WHISK_LOAD_TEST_UNSET_VARIABLE is not set"));
}
