#include "runtime_exchange.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

#include "netns_socket.hpp"

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace whisk::container {

struct runtime_exchange::state {
  explicit state(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  boost::beast::flat_buffer buf;
  bhttp::request<bhttp::string_body> req;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
};

namespace {

// A socket of the runtime's namespace, adopted by Asio; an error says why not.
std::string open_in(runtime_exchange::state& s, int netns_fd) {
  auto fd = netns_entry(netns_fd).socket(SOCK_STREAM);
  if (!fd)
    return fd.err().message;
  boost::system::error_code ec;
  s.sock.assign(tcp::v4(), *fd, ec);
  if (ec) {
    ::close(*fd);
    return "socket: " + ec.message();
  }
  return {};
}

tcp::endpoint loopback(int port) { return {asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)}; }

} // namespace

std::shared_ptr<runtime_exchange> runtime_exchange::post(asio::io_context& io, int netns_fd, int port, std::string target,
                                                         std::string body, std::int64_t max_answer_bytes, answer_fn done) {
  auto ex = std::make_shared<runtime_exchange>();
  auto s = ex->s_ = std::make_shared<state>(io);
  if (auto why = open_in(*s, netns_fd); !why.empty()) {
    asio::post(io, [done = std::move(done), why] { done(why, {}); });
    return ex;
  }
  s->req = bhttp::request<bhttp::string_body>{bhttp::verb::post, target, 11};
  s->req.set(bhttp::field::host, fmt::format("127.0.0.1:{}", port));
  s->req.set(bhttp::field::content_type, "application/json");
  s->req.keep_alive(false);
  s->req.body() = std::move(body);
  s->req.prepare_payload();
  s->parser.emplace();
  s->parser->header_limit(64 * 1024);
  s->parser->body_limit(static_cast<std::uint64_t>(max_answer_bytes));
  s->sock.async_connect(loopback(port), [s, done = std::move(done)](boost::system::error_code ec) mutable {
    if (ec)
      return done("connecting to the runtime: " + ec.message(), {});
    bhttp::async_write(s->sock, s->req, [s, done = std::move(done)](boost::system::error_code wec, std::size_t) mutable {
      if (wec)
        return done("sending to the runtime: " + wec.message(), {});
      bhttp::async_read(s->sock, s->buf, *s->parser, [s, done = std::move(done)](boost::system::error_code rec, std::size_t) {
        boost::system::error_code ignored;
        s->sock.close(ignored);
        runtime_answer a;
        if (rec == bhttp::error::body_limit) {
          a.too_large = true;
        } else if (rec) {
          return done("reading the runtime's answer: " + rec.message(), {});
        } else {
          a.status = s->parser->get().result_int();
          a.body = std::move(s->parser->get().body());
        }
        done({}, std::move(a));
      });
    });
  });
  return ex;
}

std::shared_ptr<runtime_exchange> runtime_exchange::probe(asio::io_context& io, int netns_fd, int port, probe_fn done) {
  auto ex = std::make_shared<runtime_exchange>();
  auto s = ex->s_ = std::make_shared<state>(io);
  if (auto why = open_in(*s, netns_fd); !why.empty()) {
    asio::post(io, [done = std::move(done), why] { done(false, why); });
    return ex;
  }
  s->sock.async_connect(loopback(port), [s, done = std::move(done)](boost::system::error_code ec) {
    boost::system::error_code ignored;
    s->sock.close(ignored);
    done(!ec, {});
  });
  return ex;
}

void runtime_exchange::cancel() {
  boost::system::error_code ignored;
  if (s_)
    s_->sock.close(ignored);
}

} // namespace whisk::container
