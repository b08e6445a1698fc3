#include "whisk/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <mutex>
#include <optional>
#include <sys/socket.h>
#include <pthread.h>
#include <thread>

#include "whisk/log.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace whisk::http {

std::string url_decode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (query && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

namespace {

std::string_view reason_json(int status) {
  switch (status) {
    case 413: return R"({"error":"The request content was too large.","code":"413"})";
    default: return R"({"error":"The request could not be read.","code":"400"})";
  }
}

// One connection, on a strand: read a request, hand it to the handler, and read on. The
// answer is written by the thread that gives it (the store's writer, after a commit): with
// the next read already waiting in the reactor, the session's thread wakes once per
// request instead of twice. Requests on one connection are answered in order: one read
// while another waits for its answer is held until that answer is written.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, const handler& h, std::size_t body_limit, std::atomic<std::int64_t>& open)
      : stream_(std::move(socket)), handler_(h), body_limit_(body_limit), open_(open) {
    ++open_;
  }
  ~session() { --open_; }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->arm_idle(self->idle_since_ + idle_limit); // (not shared yet: no lock needed)
      self->read();
    });
  }

  void close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->shut(); });
  }

private:
  // Closes the socket (on the strand); under mx_, so that no answer is being written to its
  // descriptor (a closed descriptor's number may belong to another connection a moment
  // later). Every close goes through here: the stream itself has no deadline of its own.
  void shut() {
    idle_timer_.cancel();
    std::lock_guard guard{mx_};
    if (closed_)
      return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Idle keep-alive connections (and requests that take that long to arrive) end after
  // idle_limit without an answer owed. One timer per session, on the strand, that looks at
  // idle_since_ when it fires: answers need not touch it (that would wake this thread).
  static constexpr auto idle_limit = std::chrono::minutes(5);
  void arm_idle(std::chrono::steady_clock::time_point at) {
    idle_timer_.expires_at(at);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return; // cancelled: the session is closing
      auto now = std::chrono::steady_clock::now();
      std::unique_lock lock{self->mx_};
      if (self->closed_)
        return;
      if (self->busy_ || now < self->idle_since_ + idle_limit) {
        auto next = self->busy_ ? now + idle_limit : self->idle_since_ + idle_limit;
        lock.unlock();
        self->arm_idle(next);
        return;
      }
      lock.unlock();
      self->shut();
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(body_limit_);
    parser_->header_limit(64 * 1024);
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      std::unique_lock lock{mx_};
      if (busy_ && ec == bhttp::error::end_of_stream) { // the peer is done sending: answer, then close
        close_after_ = true;
        return;
      }
      lock.unlock();
      shut();
      return;
    }
    if (ec) {
      int status = ec == bhttp::error::body_limit ? 413 : 400;
      std::unique_lock lock{mx_};
      if (busy_) { // answered after the answer in progress; the connection ends there
        held_error_ = status;
        return;
      }
      busy_ = true;
      lock.unlock();
      answer(error_response(status), last_version_, false);
      return;
    }
    auto& msg = parser_->get();
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();
    last_version_ = version_of(version);
    request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.authorization = std::string(msg[bhttp::field::authorization]);
    req.content_type = std::string(msg[bhttp::field::content_type]);
    if (req.target.rfind("/api/v1/web/", 0) == 0)
      for (auto& f : msg) {
        std::string name(f.name_string());
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.emplace_back(std::move(name), std::string(f.value()));
      }
    req.body = std::move(msg.body());
    req.received = std::chrono::steady_clock::now();
    {
      std::lock_guard guard{mx_};
      if (busy_) { // pipelined behind an answer not written yet: it waits for that one
        held_.emplace(held_request{std::move(req), version, keep_alive});
        return;
      }
      busy_ = true;
    }
    dispatch(std::move(req), version, keep_alive);
  }

  static unsigned version_of(unsigned v) { return v ? v : 11; }

  static response error_response(int status) {
    response r;
    r.status = status;
    r.body = std::string(reason_json(status));
    return r;
  }

  // Hands a request to the handler and reads the next one meanwhile (unless it is the last).
  void dispatch(request req, unsigned version, bool keep_alive) {
    auto self = shared_from_this();
    handler_(std::move(req), [self, version, keep_alive](response r) { self->answer(std::move(r), version, keep_alive); });
    if (keep_alive)
      read();
  }

  // From any thread, once per request: writes what the socket takes at once, the rest on the strand.
  void answer(response r, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version_of(version)};
    res.set(bhttp::field::server, "whisk");
    res.set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    auto text = std::make_shared<std::string>(serialize(res));
    std::size_t sent = 0;
    {
      std::lock_guard guard{mx_};
      if (closed_)
        return;
      int fd = stream_.socket().native_handle();
      while (sent < text->size()) {
        auto n = ::send(fd, text->data() + sent, text->size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
          sent += static_cast<std::size_t>(n);
        else if (n < 0 && errno == EINTR)
          continue;
        else
          break; // full (the strand writes the rest) or broken (the strand finds out)
      }
    }
    if (sent == text->size()) {
      written(keep_alive);
      return;
    }
    asio::post(stream_.get_executor(), [self = shared_from_this(), text, sent, keep_alive] {
      asio::async_write(self->stream_, asio::buffer(text->data() + sent, text->size() - sent),
                        [self, text, keep_alive](beast::error_code ec, std::size_t) { self->written(keep_alive && !ec); });
    });
  }

  static std::string serialize(bhttp::response<bhttp::string_body>& res) {
    std::string out;
    bhttp::serializer<false, bhttp::string_body> sr{res};
    beast::error_code ec;
    while (!sr.is_done() && !ec)
      sr.next(ec, [&](beast::error_code&, auto const& buffers) {
        for (auto b : beast::buffers_range_ref(buffers))
          out.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(beast::buffer_bytes(buffers));
      });
    return out;
  }

  // An answer is out: the connection ends, or what was read meanwhile goes next.
  void written(bool keep_alive) {
    std::unique_lock lock{mx_};
    if (keep_alive && held_error_) { // a request that could not be read came behind it
      int status = *held_error_;
      held_error_.reset();
      lock.unlock();
      answer(error_response(status), last_version_, false);
      return;
    }
    if (!keep_alive || close_after_) {
      lock.unlock();
      asio::post(stream_.get_executor(), [self = shared_from_this()] {
        std::lock_guard guard{self->mx_};
        if (self->closed_)
          return;
        beast::error_code ignored;
        // no read waits (none was started after this answer's request): the session, and
        // with it the socket, ends with its last reference once the idle timer lets go
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        self->idle_timer_.cancel();
      });
      return;
    }
    if (!held_) {
      busy_ = false;
      idle_since_ = std::chrono::steady_clock::now();
      return;
    }
    auto next = std::move(*held_);
    held_.reset();
    lock.unlock();
    asio::post(stream_.get_executor(), [self = shared_from_this(), next = std::move(next)]() mutable {
      {
        std::lock_guard guard{self->mx_};
        if (self->closed_)
          return;
      }
      self->dispatch(std::move(next.req), next.version, next.keep_alive);
    });
  }

  struct held_request {
    request req;
    unsigned version;
    bool keep_alive;
  };

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const handler& handler_;
  std::size_t body_limit_;
  std::atomic<std::int64_t>& open_;
  std::mutex mx_;       // guards what follows, and the socket's descriptor against its closing
  bool closed_ = false;
  bool busy_ = false;   // a request is with the handler and its answer not written yet
  bool close_after_ = false; // the peer finished sending (or sent garbage): close after the answer
  std::optional<held_request> held_;
  std::optional<int> held_error_; // 400 or 413 for what came behind the answer in progress
  unsigned last_version_ = 11;    // (on the strand) of the last request read whole
  std::chrono::steady_clock::time_point idle_since_ = std::chrono::steady_clock::now(); // the last answer out
  asio::steady_timer idle_timer_{stream_.get_executor()};
};

} // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  server_config cfg;
  handler h;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::mutex sessions_mx;
  std::vector<std::weak_ptr<session>> sessions;
  bool stopped = false;
  std::atomic<std::int64_t> open{0};
  std::atomic<std::int64_t> refused{0};

  // Over the bound: a short 503 and close, written without a session (a fresh socket's
  // send buffer takes these few bytes at once).
  void refuse(tcp::socket& socket) {
    ++refused;
    static const std::string body = R"({"error":"Too many connections: try again later.","code":"503"})";
    static const std::string text = "HTTP/1.1 503 Service Unavailable\r\nServer: whisk\r\nContent-Type: application/json\r\n"
                                    "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    beast::error_code ec;
    socket.non_blocking(true, ec);
    asio::write(socket, asio::buffer(text), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec)
        return; // closed
      if (static_cast<std::size_t>(self->open.load()) >= self->cfg.max_connections) {
        self->refuse(socket);
        self->accept();
        return;
      }
      socket.set_option(tcp::no_delay(true));
      auto s = std::make_shared<session>(std::move(socket), self->h, self->cfg.body_limit, self->open);
      {
        std::lock_guard guard{self->sessions_mx};
        std::erase_if(self->sessions, [](auto& w) { return w.expired(); });
        self->sessions.push_back(s);
      }
      s->start();
      self->accept();
    });
  }
};

server::server(server_config cfg, handler h) : impl_(std::make_shared<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->h = std::move(h);
}

server::~server() { stop(); }

expected<std::uint16_t> server::start() {
  auto& m = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(m.cfg.address, ec);
  if (ec)
    return make_error(errc::bad_request, "invalid listen address '" + m.cfg.address + "'");
  tcp::endpoint ep{address, m.cfg.port};
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::unavailable, "cannot listen on " + m.cfg.address + ":" + std::to_string(m.cfg.port) + ": " + ec.message());
  auto port = m.acceptor.local_endpoint().port();
  m.accept();
  for (int i = 0; i < std::max(1, m.cfg.threads); ++i)
    m.threads.emplace_back([self = impl_] {
      pthread_setname_np(pthread_self(), "whisk.http");
      self->io.run();
    });
  return port;
}

server_stats server::stats() const { return {impl_->open.load(), impl_->refused.load()}; }

void server::stop() {
  auto& m = *impl_;
  if (m.stopped)
    return;
  m.stopped = true;
  asio::post(m.io, [self = impl_] {
    beast::error_code ec;
    self->acceptor.close(ec);
    std::lock_guard guard{self->sessions_mx};
    for (auto& w : self->sessions)
      if (auto s = w.lock())
        s->close();
  });
  // Let the closes run, then stop the loop.
  asio::post(m.io, [self = impl_] { self->io.stop(); });
  for (auto& t : m.threads)
    if (t.joinable())
      t.join();
  m.threads.clear();
  // The loop stopped before the aborted accept and the closed sessions ran their handlers;
  // run them now, or they keep the server state alive through the io_context (a cycle).
  m.io.restart();
  while (m.io.poll() > 0) {
  }
}

} // namespace whisk::http
