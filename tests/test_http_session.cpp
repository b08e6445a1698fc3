// The HTTP server's sessions: answers written by the thread that gives them, requests on one
// connection answered in order, large answers whole, half-closed peers still answered.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "whisk/http/server.hpp"

using namespace whisk;

namespace {

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_text(int fd, const std::string& s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size())); }

// Reads until `done(text)` holds, the peer closed, or 10 s passed.
template <class Done>
std::string read_until(int fd, Done done, bool* closed = nullptr) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[65536];
  while (!done(got) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed)
        *closed = true;
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}
auto has(std::string needle) {
  return [needle](const std::string& t) { return t.find(needle) != std::string::npos; };
}
auto never = [](const std::string&) { return false; }; // until the peer closes
auto bytes(std::size_t n) {
  return [n](const std::string& t) { return t.size() >= n; };
}

// The server answers /slow/N from another thread after N ms, /big with 8 MB from another
// thread, anything else at once on the session's thread.
struct fixture {
  std::mutex mx; // threads: added on the server's thread, joined on the test's
  std::vector<std::thread> threads;
  http::server server{http::server_config{"127.0.0.1", 0, 1, 1 << 20}, [this](http::request req, http::responder respond) {
                        if (req.target.rfind("/slow/", 0) == 0) {
                          int ms = std::stoi(req.target.substr(6));
                          std::lock_guard guard{mx};
                          threads.emplace_back([respond, ms, target = req.target] {
                            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                            respond(http::response{200, target, "text/plain", {}});
                          });
                        } else if (req.target == "/big") {
                          std::lock_guard guard{mx};
                          threads.emplace_back([respond] { respond(http::response{200, std::string(8 << 20, 'x'), "text/plain", {}}); });
                        } else {
                          respond(http::response{200, req.target, "text/plain", {}});
                        }
                      }};
  std::uint16_t port = 0;
  fixture() {
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  ~fixture() {
    { // (every request of a test was answered before it ends: no thread is added meanwhile)
      std::lock_guard guard{mx};
      for (auto& t : threads)
        t.join();
    }
    server.stop();
  }
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

} // namespace

TEST_CASE("http: pipelined requests are answered in order even when the first answer comes last") {
  fixture f;
  int fd = connect_to(f.port);
  send_text(fd, get("/slow/100") + get("/fast") + get("/slow/1"));
  auto text = read_until(fd, [](const std::string& t) {
    std::size_t n = 0;
    for (auto at = t.find("HTTP/1.1 200"); at != std::string::npos; at = t.find("HTTP/1.1 200", at + 1))
      ++n;
    return n == 3 && t.size() >= t.rfind("\r\n\r\n") + 4 + 7; // the third body ("/slow/1") whole
  });
  auto a = text.find("/slow/100"), b = text.find("/fast"), c = text.rfind("/slow/1");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
  // and the connection serves on afterwards
  send_text(fd, get("/again"));
  CHECK(has("/again")(read_until(fd, has("/again"))));
  ::close(fd);
}

TEST_CASE("http: an 8 MB answer given on another thread arrives whole") {
  fixture f;
  int fd = connect_to(f.port);
  send_text(fd, get("/big"));
  // headers plus 8 MB of body
  auto text = read_until(fd, bytes((8u << 20) + 60));
  auto body_at = text.find("\r\n\r\n");
  REQUIRE(body_at != std::string::npos);
  text += read_until(fd, bytes((8u << 20) + body_at + 4 - text.size()));
  CHECK(text.size() - body_at - 4 == (8u << 20));
  CHECK(text.find("Content-Length: 8388608") != std::string::npos);
  send_text(fd, get("/after"));
  CHECK(has("/after")(read_until(fd, has("/after"))));
  ::close(fd);
}

TEST_CASE("http: a peer that stopped sending still gets its answer and then the connection ends") {
  fixture f;
  int fd = connect_to(f.port);
  send_text(fd, get("/slow/50"));
  ::shutdown(fd, SHUT_WR);
  bool closed = false;
  auto text = read_until(fd, never, &closed);
  CHECK(text.find("HTTP/1.1 200") == 0);
  CHECK(text.find("/slow/50") != std::string::npos);
  CHECK(closed);
  ::close(fd);
}

TEST_CASE("http: Connection close is answered and the server closes") {
  fixture f;
  int fd = connect_to(f.port);
  send_text(fd, get("/slow/20", "Connection: close\r\n"));
  bool closed = false;
  auto text = read_until(fd, never, &closed);
  CHECK(text.find("/slow/20") != std::string::npos);
  CHECK(text.find("Connection: close") != std::string::npos);
  CHECK(closed);
  ::close(fd);
}

TEST_CASE("http: an answer for a peer that is gone is dropped and others are served") {
  fixture f;
  int gone = connect_to(f.port);
  send_text(gone, get("/slow/80"));
  ::close(gone);
  int fd = connect_to(f.port);
  std::this_thread::sleep_for(std::chrono::milliseconds(150)); // the answer to the closed one was given meanwhile
  send_text(fd, get("/alive"));
  CHECK(has("/alive")(read_until(fd, has("/alive"))));
  ::close(fd);
}

TEST_CASE("http: a request that cannot be read behind an answer in progress gets its 413 after that answer") {
  fixture f; // body limit 1 MB
  int fd = connect_to(f.port);
  std::string big(2 << 20, 'b');
  send_text(fd, get("/slow/100") + "POST /big-body HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n");
  ::send(fd, big.data(), big.size(), MSG_NOSIGNAL); // (the server may stop reading it: a short send is fine)
  bool closed = false;
  auto text = read_until(fd, never, &closed);
  auto first = text.find("/slow/100"), error = text.find("HTTP/1.1 413");
  CHECK(first != std::string::npos);
  CHECK(error != std::string::npos);
  CHECK(first < error);
  CHECK(closed);
  ::close(fd);
}

TEST_CASE("http: a Connection close answer ends the session so that its connection is no longer counted") {
  fixture f;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_to(f.port);
    send_text(fd, get("/x", "Connection: close\r\n"));
    bool closed = false;
    read_until(fd, never, &closed);
    CHECK(closed);
    ::close(fd);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (f.server.stats().open_connections > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(f.server.stats().open_connections == 0);
}
