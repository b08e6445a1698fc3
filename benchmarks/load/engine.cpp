#include "engine.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace whisk::load {

namespace {

using clock_type = std::chrono::steady_clock;
using ns = std::chrono::nanoseconds;

struct endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

enum class conn_state { closed, connecting, waiting, sending, receiving };

struct connection {
  int fd = -1;
  int global_index = 0;
  conn_state state = conn_state::closed;
  std::size_t target = 0;
  std::size_t sent = 0;
  std::string in;
  std::size_t header_end = 0; // 0: headers not complete yet
  std::int64_t content_length = -1;
  bool chunked = false;
  bool close_after = false;
  bool head = false;
  int status = 0;
  clock_type::time_point start;      // latency is measured from here (intended time in open loop)
  clock_type::time_point deadline;
  clock_type::time_point reconnect_at;
  std::uint64_t k = 0;               // open loop: this connection's request number
};

struct shared_state {
  const plan* p;
  std::vector<endpoint> endpoints;   // per target
  clock_type::time_point begin, warm, end;
  std::atomic<std::uint64_t> issued{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> successes{0};
};

bool iequals_prefix(std::string_view line, std::string_view key) {
  if (line.size() < key.size())
    return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(key[i])))
      return false;
  return true;
}

// Parses what arrived; returns true when one whole response is in `c.in`, with `used` bytes.
bool response_complete(connection& c, std::size_t& used) {
  if (c.header_end == 0) {
    auto pos = c.in.find("\r\n\r\n");
    if (pos == std::string::npos)
      return false;
    c.header_end = pos + 4;
    std::string_view head(c.in.data(), pos);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
      c.status = -1;
      used = c.in.size();
      return true;
    }
    c.status = std::atoi(head.data() + 9);
    std::size_t line_start = head.find("\r\n");
    while (line_start != std::string_view::npos && line_start < head.size()) {
      auto next = head.find("\r\n", line_start + 2);
      auto line = head.substr(line_start + 2, (next == std::string_view::npos ? head.size() : next) - line_start - 2);
      if (iequals_prefix(line, "content-length:"))
        c.content_length = std::atoll(line.data() + 15);
      else if (iequals_prefix(line, "transfer-encoding:") && line.find("chunked") != std::string_view::npos)
        c.chunked = true;
      else if (iequals_prefix(line, "connection:") && line.find("close") != std::string_view::npos)
        c.close_after = true;
      line_start = next;
    }
  }
  if (c.head || c.status == 204 || c.status == 304 || (c.status >= 100 && c.status < 200)) {
    used = c.header_end;
    return true;
  }
  if (c.chunked) {
    std::size_t pos = c.header_end;
    for (;;) {
      auto eol = c.in.find("\r\n", pos);
      if (eol == std::string::npos)
        return false;
      auto size = std::strtoull(c.in.c_str() + pos, nullptr, 16);
      if (size == 0) {
        auto end = c.in.find("\r\n\r\n", eol);
        if (end == std::string::npos && c.in.compare(eol, 4, "\r\n\r\n") != 0)
          return false;
        used = (end == std::string::npos ? eol : end) + 4;
        return used <= c.in.size();
      }
      pos = eol + 2 + size + 2;
      if (pos > c.in.size())
        return false;
    }
  }
  if (c.content_length >= 0) {
    if (c.in.size() < c.header_end + static_cast<std::size_t>(c.content_length))
      return false;
    used = c.header_end + static_cast<std::size_t>(c.content_length);
    return true;
  }
  return false; // body until close: completed when the peer closes
}

class worker {
public:
  worker(shared_state& s, progress& live, int first_index, int count)
      : s_(s), live_(live), draw_(weights(*s.p), 0x5eed + static_cast<std::uint64_t>(first_index)) {
    conns_.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
      conns_[static_cast<std::size_t>(i)].global_index = first_index + i;
    result_.targets.resize(s.p->targets.size());
    if (s.p->rate > 0)
      schedule_ = open_loop_schedule{s.p->rate, s.p->connections};
  }

  run_result run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    auto now = clock_type::now();
    for (auto& c : conns_)
      open(c, now);
    std::vector<epoll_event> events(256);
    while (!s_.stop.load(std::memory_order_relaxed)) {
      now = clock_type::now();
      if (now >= s_.end && s_.p->duration_s > 0)
        break;
      int timeout_ms = housekeeping(now);
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
      now = clock_type::now();
      for (int i = 0; i < n; ++i) {
        auto& c = conns_[events[i].data.u32];
        on_event(c, events[i].events, now);
      }
    }
    for (auto& c : conns_)
      if (c.fd >= 0)
        ::close(c.fd);
    ::close(ep_);
    return std::move(result_);
  }

private:
  static std::vector<double> weights(const plan& p) {
    std::vector<double> w;
    for (auto& t : p.targets)
      w.push_back(t.weight);
    return w;
  }

  void open(connection& c, clock_type::time_point now) {
    c.target = draw_.next();
    auto& ep = s_.endpoints[c.target];
    c.fd = ::socket(ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.state = conn_state::connecting;
    c.deadline = now + std::chrono::duration_cast<ns>(std::chrono::duration<double>(s_.p->timeout_s));
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    if (rc != 0 && errno != EINPROGRESS)
      fail(c, now, true);
  }

  void fail(connection& c, clock_type::time_point now, bool connect_error) {
    if (connect_error)
      ++result_.connect_errors;
    else
      ++result_.read_errors;
    live_.errors.fetch_add(1, std::memory_order_relaxed);
    close(c);
    c.reconnect_at = now + std::chrono::milliseconds(10); // no busy loop against a dead server
  }

  void close(connection& c) {
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.state = conn_state::closed;
    c.in.clear();
  }

  void want_write(connection& c, bool on) {
    epoll_event ev{};
    ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Sends the next request now, or parks the connection until its intended time.
  void next(connection& c, clock_type::time_point now, bool writable_registered) {
    if (s_.p->requests > 0 && s_.issued.load(std::memory_order_relaxed) >= s_.p->requests) {
      c.state = conn_state::waiting;
      c.reconnect_at = clock_type::time_point::max();
      if (writable_registered)
        want_write(c, false);
      return;
    }
    clock_type::time_point start = now;
    if (schedule_) {
      start = s_.begin + schedule_->intended(c.global_index, c.k);
      if (start > now) {
        c.state = conn_state::waiting;
        c.reconnect_at = start;
        if (writable_registered)
          want_write(c, false);
        return;
      }
      ++c.k;
    }
    if (s_.p->requests > 0 && s_.issued.fetch_add(1, std::memory_order_relaxed) >= s_.p->requests)
      return;
    c.target = draw_.next();
    c.start = start;
    c.deadline = now + std::chrono::duration_cast<ns>(std::chrono::duration<double>(s_.p->timeout_s));
    c.sent = 0;
    c.header_end = 0;
    c.content_length = -1;
    c.chunked = c.close_after = false;
    c.head = s_.p->targets[c.target].method == "HEAD";
    c.state = conn_state::sending;
    write_some(c, now, writable_registered);
  }

  void write_some(connection& c, clock_type::time_point now, bool writable_registered) {
    auto& bytes = s_.p->targets[c.target].request_bytes;
    while (c.sent < bytes.size()) {
      auto n = ::send(c.fd, bytes.data() + c.sent, bytes.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) {
          if (!writable_registered)
            want_write(c, true);
          return;
        }
        fail(c, now, false);
        return;
      }
      c.sent += static_cast<std::size_t>(n);
    }
    c.state = conn_state::receiving;
    if (writable_registered)
      want_write(c, false);
  }

  void on_event(connection& c, std::uint32_t events, clock_type::time_point now) {
    if (c.fd < 0)
      return;
    if (c.state == conn_state::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        fail(c, now, true);
        return;
      }
      if (events & EPOLLOUT) {
        next(c, now, true);
        if (c.state == conn_state::sending || c.state == conn_state::receiving || c.state == conn_state::waiting)
          return;
      }
      return;
    }
    if ((events & EPOLLOUT) && c.state == conn_state::sending)
      write_some(c, now, true);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
      read_some(c, now);
  }

  void read_some(connection& c, clock_type::time_point now) {
    char buf[65536];
    for (;;) {
      auto n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buf)
          break;
        continue;
      }
      if (n < 0 && errno == EAGAIN)
        break;
      // closed by the peer: a body "until close" is complete, anything else is an error
      if (n == 0 && c.state == conn_state::receiving && c.header_end && c.content_length < 0 && !c.chunked) {
        finish(c, now, c.in.size());
        close(c);
        c.reconnect_at = now;
        return;
      }
      fail(c, now, false);
      return;
    }
    std::size_t used = 0;
    if (c.state == conn_state::receiving && response_complete(c, used)) {
      finish(c, now, used);
      bool must_close = c.close_after || c.status < 0;
      c.in.erase(0, used);
      if (must_close) {
        close(c);
        c.reconnect_at = now;
        return;
      }
      next(c, now, false);
    }
  }

  void finish(connection& c, clock_type::time_point now, std::size_t) {
    s_.successes.fetch_add(1, std::memory_order_relaxed);
    live_.completed.fetch_add(1, std::memory_order_relaxed);
    if (c.start < s_.warm)
      return; // warm-up: not recorded
    auto latency = static_cast<std::uint64_t>(std::chrono::duration_cast<ns>(now - c.start).count());
    auto& t = result_.targets[c.target];
    t.latency_ns.record(latency);
    if (c.status >= 200 && c.status < 300)
      t.accepted_ns.record(latency);
    ++t.statuses[c.status];
    ++t.completed;
    ++result_.completed;
  }

  // Reconnects, starts parked requests, expires timeouts; returns the epoll timeout (ms).
  int housekeeping(clock_type::time_point now) {
    auto soonest = now + std::chrono::milliseconds(100);
    for (auto& c : conns_) {
      switch (c.state) {
        case conn_state::closed:
          if (now >= c.reconnect_at)
            open(c, now);
          else
            soonest = std::min(soonest, c.reconnect_at);
          break;
        case conn_state::waiting:
          if (now >= c.reconnect_at)
            next(c, now, false);
          else
            soonest = std::min(soonest, c.reconnect_at);
          break;
        default:
          if (now >= c.deadline) {
            ++result_.timeouts;
            live_.errors.fetch_add(1, std::memory_order_relaxed);
            close(c);
            c.reconnect_at = now;
          } else {
            soonest = std::min(soonest, c.deadline);
          }
      }
    }
    if (s_.p->duration_s > 0)
      soonest = std::min(soonest, s_.end);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now).count();
    return static_cast<int>(std::max<std::int64_t>(0, wait));
  }

  shared_state& s_;
  progress& live_;
  weighted_draw draw_;
  std::optional<open_loop_schedule> schedule_;
  std::vector<connection> conns_;
  run_result result_;
  int ep_ = -1;
};

expected<endpoint> resolve(const target& t) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string host = t.host;
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  if (::getaddrinfo(host.c_str(), std::to_string(t.port).c_str(), &hints, &res) != 0 || !res)
    return make_error(errc::bad_request, "cannot resolve " + t.host);
  endpoint e;
  std::memcpy(&e.addr, res->ai_addr, res->ai_addrlen);
  e.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return e;
}

} // namespace

run_result run_plan(const plan& p, progress& live) {
  shared_state s;
  s.p = &p;
  run_result out;
  out.targets.resize(p.targets.size());
  for (auto& t : p.targets) {
    auto e = resolve(t);
    if (!e) {
      out.stop_reason = e.err().message;
      out.server_unreachable = true;
      return out;
    }
    s.endpoints.push_back(*e);
  }
  auto to_ns = [](double seconds) { return std::chrono::duration_cast<ns>(std::chrono::duration<double>(seconds)); };
  s.begin = clock_type::now();
  s.warm = s.begin + to_ns(p.warmup_s);
  s.end = p.duration_s > 0 ? s.begin + to_ns(p.duration_s) : clock_type::time_point::max();

  std::vector<run_result> parts(static_cast<std::size_t>(p.threads));
  std::vector<std::thread> threads;
  int per = p.connections / p.threads, extra = p.connections % p.threads, first = 0;
  for (int i = 0; i < p.threads; ++i) {
    int count = per + (i < extra ? 1 : 0);
    threads.emplace_back([&, i, first, count] { parts[static_cast<std::size_t>(i)] = worker(s, live, first, count).run(); });
    first += count;
  }
  // A server that never answers ends the run early, with a report.
  auto deadline_no_answer = s.begin + std::chrono::seconds(3);
  while (!s.stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = clock_type::now();
    if (now >= s.end) break;
    if (p.requests > 0 && live.completed.load() >= p.requests) { out.stop_reason = "request count reached"; s.stop = true; }
    if (s.successes.load() == 0 && live.errors.load() > 0 && now >= deadline_no_answer) {
      out.server_unreachable = true;
      out.stop_reason = "no answer from the server within 3 s";
      s.stop = true;
    }
  }
  s.stop = true;
  for (auto& t : threads)
    t.join();
  auto stopped = clock_type::now();
  for (auto& part : parts) {
    for (std::size_t i = 0; i < part.targets.size(); ++i) {
      out.targets[i].latency_ns.merge(part.targets[i].latency_ns);
      out.targets[i].completed += part.targets[i].completed;
      for (auto& [code, n] : part.targets[i].statuses) {
        out.targets[i].statuses[code] += n;
        out.statuses[code] += n;
      }
      out.all_ns.merge(part.targets[i].latency_ns);
      out.accepted_ns.merge(part.targets[i].accepted_ns);
    }
    out.completed += part.completed;
    out.connect_errors += part.connect_errors;
    out.read_errors += part.read_errors;
    out.timeouts += part.timeouts;
  }
  out.measured_s = std::chrono::duration<double>(stopped - std::max(s.warm, s.begin)).count();
  if (out.stop_reason.empty())
    out.stop_reason = "duration reached";
  return out;
}

} // namespace whisk::load
