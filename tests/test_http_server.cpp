#include "test_http_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace whisk::test {

namespace {

bool send_all(int fd, const std::string& s) {
  std::size_t at = 0;
  while (at < s.size()) {
    auto n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

std::string response(int status, const std::string& reason, const std::string& body,
                     const std::string& extra_headers = "", const std::string& type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      continue;
    out += c;
  }
  return out;
}

// Waits until the peer closes (or the server stops); true when the peer went first.
bool wait_for_close(int fd, const std::atomic<bool>& stopping) {
  char buf[256];
  while (!stopping) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return true;
    }
  }
  return false;
}

} // namespace

http_test_server::http_test_server() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 256) != 0)
    throw std::runtime_error("test server: cannot listen");
  socklen_t len = sizeof a;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0)
        continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      std::lock_guard guard{mx_};
      fds_.push_back(fd);
      open_ += 1;
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

http_test_server::~http_test_server() { stop(); }

std::string http_test_server::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void http_test_server::stop() {
  if (stopping_.exchange(true))
    return;
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard guard{mx_};
    for (int fd : fds_)
      ::shutdown(fd, SHUT_RDWR);
    threads = std::move(threads_);
  }
  for (auto& t : threads)
    t.join();
  ::close(listener_);
}

void http_test_server::serve(int fd) {
  std::string in;
  char buf[4096];
  std::size_t end = std::string::npos;
  while ((end = in.find("\r\n\r\n")) == std::string::npos && in.size() < (1u << 20)) {
    pollfd p{fd, POLLIN, 0};
    if (stopping_)
      break;
    if (::poll(&p, 1, 20) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  if (end != std::string::npos) {
    requests_ += 1;
    auto head = in.substr(0, end);
    auto body = in.substr(end + 4);
    std::size_t length = 0;
    std::string headers_json;
    std::size_t line = head.find("\r\n");
    auto request_line = head.substr(0, line);
    while (line != std::string::npos) {
      auto next = head.find("\r\n", line + 2);
      auto h = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
      auto colon = h.find(':');
      if (colon != std::string::npos) {
        auto name = h.substr(0, colon);
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto value = h.substr(colon + 1);
        while (!value.empty() && value[0] == ' ')
          value.erase(0, 1);
        if (name == "content-length")
          length = std::stoul(value);
        headers_json += (headers_json.empty() ? "\"" : ",\"") + json_escape(name) + "\":\"" + json_escape(value) + "\"";
      }
      line = next;
    }
    while (body.size() < length && !stopping_) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      body.append(buf, static_cast<std::size_t>(n));
    }
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    auto method = request_line.substr(0, sp1);
    auto path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto arg = [&](const std::string& prefix) { return std::stol(path.substr(prefix.size())); };
    if (path == "/json") {
      send_all(fd, response(200, "OK", R"({"hello":"world"})"));
    } else if (path.rfind("/echo", 0) == 0) {
      send_all(fd, response(200, "OK",
                            "{\"method\":\"" + method + "\",\"path\":\"" + json_escape(path) + "\",\"headers\":{" +
                                headers_json + "},\"body\":\"" + json_escape(body) + "\"}",
                            "X-Test: yes\r\n"));
    } else if (path.rfind("/slow/", 0) == 0) {
      auto ms = arg("/slow/");
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
      while (!stopping_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      send_all(fd, response(200, "OK", "{\"slept\":" + std::to_string(ms) + "}"));
    } else if (path.rfind("/redirect/", 0) == 0) {
      auto n = arg("/redirect/");
      if (n <= 0)
        send_all(fd, response(200, "OK", R"({"redirects":"done"})"));
      else
        send_all(fd, response(302, "Found", "", "Location: /redirect/" + std::to_string(n - 1) + "\r\n"));
    } else if (path.rfind("/to/", 0) == 0) {
      send_all(fd, response(302, "Found", "", "Location: " + path.substr(4) + "\r\n"));
    } else if (path == "/loop") {
      send_all(fd, response(302, "Found", "", "Location: /loop\r\n"));
    } else if (path.rfind("/big/", 0) == 0) {
      send_all(fd, response(200, "OK", std::string(static_cast<std::size_t>(arg("/big/")), 'x'), "", "text/plain"));
    } else if (path == "/huge-headers") {
      send_all(fd, response(200, "OK", "{}", "X-Huge: " + std::string(1u << 20, 'h') + "\r\n"));
    } else if (path == "/never") {
      if (wait_for_close(fd, stopping_))
        abandoned_ += 1;
    } else if (path == "/endless" || path == "/trickle") {
      bool trickle = path == "/trickle";
      std::string chunk = trickle ? "1\r\nx\r\n" : "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
      bool ok = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
      while (ok && !stopping_) {
        ok = send_all(fd, chunk);
        if (trickle)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!ok)
        abandoned_ += 1;
    } else {
      send_all(fd, response(404, "Not Found", R"({"error":"no such path"})"));
    }
  }
  {
    std::lock_guard guard{mx_};
    std::erase(fds_, fd);
    ::close(fd);
  }
  open_ -= 1;
}

} // namespace whisk::test
