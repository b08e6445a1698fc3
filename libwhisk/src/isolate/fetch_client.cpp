#include "whisk/isolate/fetch_client.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <fmt/format.h>
#include <optional>
#include <thread>

namespace whisk::isolate {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// ---- the network policy ------------------------------------------------------------------

namespace {

std::optional<asio::ip::address> to_address(const std::string& text) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(text, ec);
  if (ec)
    return std::nullopt;
  return a;
}

std::vector<std::uint8_t> bytes_of(const asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = a.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

bool in_range(const std::vector<std::uint8_t>& a, const net_range& r) {
  if (a.size() != r.bytes.size())
    return false;
  int bits = r.prefix;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (r.bytes[i] & mask))
      return false;
  }
  return true;
}

net_range range(const char* cidr) {
  auto slash = std::string(cidr).find('/');
  auto a = to_address(std::string(cidr).substr(0, slash));
  return {bytes_of(*a), std::stoi(std::string(cidr).substr(slash + 1))};
}

// What containers cannot reach either: the host, its link (metadata services) and private nets.
const std::vector<net_range>& refused_ranges() {
  static const std::vector<net_range> r = [] {
    std::vector<net_range> v;
    for (auto c : {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                   "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                   "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
                   "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "2002::/16", "fc00::/7",
                   "fe80::/10", "fec0::/10", "ff00::/8"})
      v.push_back(range(c));
    return v;
  }();
  return r;
}

} // namespace

expected<std::vector<net_range>> parse_net_ranges(const std::string& text) {
  std::vector<net_range> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    auto item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? text.size() + 1 : comma + 1;
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.erase(0, 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.pop_back();
    if (item.empty())
      continue;
    auto slash = item.find('/');
    auto a = to_address(item.substr(0, slash));
    if (!a)
      return make_error(errc::bad_request, fmt::format("'{}' is not an address or CIDR range", item));
    net_range r{bytes_of(*a), a->is_v4() ? 32 : 128};
    if (slash != std::string::npos) {
      auto p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > r.prefix)
        return make_error(errc::bad_request, fmt::format("'{}' has no valid prefix length", item));
      r.prefix = std::stoi(p);
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool address_permitted(const std::string& address, const std::vector<net_range>& allowed) {
  auto a = to_address(address);
  if (!a)
    return false;
  if (a->is_v6() && a->to_v6().is_v4_mapped()) // ::ffff:127.0.0.1 is 127.0.0.1
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a->to_v6());
  auto b = bytes_of(*a);
  for (auto& r : allowed)
    if (in_range(b, r))
      return true;
  for (auto& r : refused_ranges())
    if (in_range(b, r))
      return false;
  return true;
}

// ---- the client ----------------------------------------------------------------------------

namespace {

struct url_parts {
  bool tls = false;
  std::string host, port, target;
};

// http(s)://[user@]host[:port][/path][?query][#fragment]; the fragment is not sent.
std::optional<url_parts> split_url(const std::string& url) {
  url_parts u;
  std::size_t rest;
  auto lower = url.substr(0, 8);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("http://", 0) == 0)
    rest = 7;
  else if (lower.rfind("https://", 0) == 0)
    u.tls = true, rest = 8;
  else
    return std::nullopt;
  auto end = url.find_first_of("/?#", rest);
  auto authority = url.substr(rest, end == std::string::npos ? std::string::npos : end - rest);
  if (auto at = authority.rfind('@'); at != std::string::npos)
    authority.erase(0, at + 1);
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos)
      return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      u.port = authority.substr(close + 2);
  } else {
    auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos)
      u.port = authority.substr(colon + 1);
  }
  if (u.host.empty() || u.port.find_first_not_of("0123456789") != std::string::npos || u.port.size() > 5)
    return std::nullopt;
  if (u.port.empty())
    u.port = u.tls ? "443" : "80";
  u.target = end == std::string::npos ? "/" : url.substr(end);
  if (auto hash = u.target.find('#'); hash != std::string::npos)
    u.target.erase(hash);
  if (u.target.empty() || u.target[0] != '/')
    u.target.insert(0, "/");
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return std::nullopt; // no request smuggling through the target
  return u;
}

// A Location resolved against the URL it answered: absolute, scheme-relative, path-absolute
// or relative to the current path.
std::string resolve_location(const std::string& base, const std::string& loc) {
  if (loc.find("://") != std::string::npos && loc.find("://") < loc.find_first_of("/?#"))
    return loc;
  auto scheme_end = base.find("://");
  if (loc.rfind("//", 0) == 0)
    return base.substr(0, scheme_end + 1) + loc;
  auto path_start = base.find_first_of("/?#", scheme_end + 3);
  auto origin = base.substr(0, path_start);
  if (!loc.empty() && loc[0] == '/')
    return origin + loc;
  auto path = path_start == std::string::npos ? std::string("/") : base.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  return origin + path.substr(0, path.rfind('/') + 1) + loc;
}

bool is_token(const std::string& s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f || std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  return true;
}

bool is_field_value(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  return true;
}

} // namespace

struct fetch_client::impl {
  asio::ssl::context tls{asio::ssl::context::tls_client}; // before io: it outlives the operations
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::vector<net_range> allowed;
  fetch_limits limits;
  std::atomic<std::int64_t> in_flight{0};
  std::thread thread;

  impl(std::vector<net_range> a, fetch_limits l) : allowed(std::move(a)), limits(l) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    thread = std::thread([this] { io.run(); });
  }
};

namespace {

// One request and its redirects. Everything of it runs on the client's I/O thread.
struct operation final : fetch_operation, std::enable_shared_from_this<operation> {
  fetch_client::impl& c;
  fetch_request req;
  std::function<void(fetch_response)> done;
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  std::string aborted; // why it was ended early

  operation(fetch_client::impl& c, fetch_request r, std::function<void(fetch_response)> d)
      : c(c), req(std::move(r)), done(std::move(d)), resolver(c.io), socket(c.io), timer(c.io) {}

  void cancel() override {
    asio::post(c.io, [self = shared_from_this()] { self->abort("the call ended"); });
  }

  void abort(const char* why) {
    if (aborted.empty())
      aborted = why;
    boost::system::error_code ec;
    resolver.cancel();
    socket.close(ec);
    timer.cancel();
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    fetch_response r;
    try {
      r = co_await follow();
    } catch (const boost::system::system_error& e) {
      r = {};
      if (!aborted.empty())
        r.error = "fetch failed: " + aborted;
      else if (e.code() == http::error::body_limit)
        r.error = fmt::format("fetch failed: the response body exceeds {} bytes", c.limits.response_body_bytes);
      else if (e.code() == http::error::header_limit)
        r.error = fmt::format("fetch failed: the response headers exceed {} bytes", c.limits.header_bytes);
      else
        r.error = "fetch failed: " + e.code().message();
    } catch (const std::exception& e) {
      r = {};
      r.error = std::string("fetch failed: ") + e.what();
    }
    boost::system::error_code ec;
    socket.close(ec);
    timer.cancel();
    c.in_flight -= 1;
    done(std::move(r));
  }

  asio::awaitable<fetch_response> follow() {
    auto url = req.url;
    bool redirected = false;
    for (int hop = 0;; ++hop) {
      auto r = co_await once(url);
      r.url = url;
      r.redirected = redirected;
      bool redirect = r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307 || r.status == 308;
      auto location = std::find_if(r.headers.begin(), r.headers.end(), [](auto& h) { return h.first == "location"; });
      if (!redirect || location == r.headers.end() || req.redirect == "manual")
        co_return r;
      if (req.redirect == "error")
        throw std::runtime_error("redirect refused (redirect: 'error')");
      if (hop >= c.limits.redirects)
        throw std::runtime_error(fmt::format("more than {} redirects", c.limits.redirects));
      url = resolve_location(url, location->second);
      redirected = true;
      if (r.status == 303 || ((r.status == 301 || r.status == 302) && req.method == "POST")) {
        req.method = req.method == "HEAD" ? "HEAD" : "GET";
        req.body.clear();
        std::erase_if(req.headers, [](auto& h) {
          auto n = h.first;
          for (auto& ch : n)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          return n == "content-type" || n == "content-length";
        });
      }
      boost::system::error_code ec;
      socket.close(ec);
      socket = tcp::socket(c.io);
    }
  }

  // One request to `url`: resolve, check every address, connect, (TLS,) write, read.
  asio::awaitable<fetch_response> once(const std::string& url) {
    auto u = split_url(url);
    if (!u)
      throw std::runtime_error("'" + url + "' is not an http or https URL");
    auto results = co_await resolver.async_resolve(u->host, u->port, asio::use_awaitable);
    std::vector<tcp::endpoint> permitted;
    std::string refused;
    for (auto& e : results) {
      if (address_permitted(e.endpoint().address().to_string(), c.allowed))
        permitted.push_back(e.endpoint());
      else if (refused.empty())
        refused = e.endpoint().address().to_string();
    }
    if (permitted.empty())
      throw std::runtime_error(fmt::format("{} ({}) is refused by the network policy", u->host,
                                           refused.empty() ? "no address" : refused));
    co_await asio::async_connect(socket, permitted, asio::use_awaitable);

    http::request<http::string_body> rq{http::string_to_verb(req.method), u->target, 11};
    if (rq.method() == http::verb::unknown)
      rq.method_string(req.method);
    std::size_t header_bytes = 0;
    bool has_ua = false;
    for (auto& [k, v] : req.headers) {
      header_bytes += k.size() + v.size() + 4;
      auto n = k;
      for (auto& ch : n)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (n == "host" || n == "content-length" || n == "transfer-encoding" || n == "connection")
        continue; // the client frames the request itself
      has_ua = has_ua || n == "user-agent";
      rq.set(k, v);
    }
    if (header_bytes > c.limits.header_bytes)
      throw std::runtime_error(fmt::format("the request headers exceed {} bytes", c.limits.header_bytes));
    bool default_port = u->port == (u->tls ? "443" : "80");
    auto host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
    rq.set(http::field::host, default_port ? host : host + ":" + u->port);
    rq.set(http::field::connection, "close");
    if (!has_ua)
      rq.set(http::field::user_agent, "whisk-isolate");
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      rq.body() = req.body;
      rq.prepare_payload();
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(c.limits.header_bytes));
    parser.body_limit(c.limits.response_body_bytes);
    if (req.method == "HEAD")
      parser.skip(true);
    boost::beast::flat_buffer buffer;
    if (u->tls) {
      asio::ssl::stream<tcp::socket&> tls(socket, c.tls);
      if (!SSL_set_tlsext_host_name(tls.native_handle(), u->host.c_str()))
        throw std::runtime_error("TLS: cannot set the server name");
      tls.set_verify_callback(asio::ssl::host_name_verification(u->host));
      co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      co_await http::async_write(tls, rq, asio::use_awaitable);
      co_await http::async_read(tls, buffer, parser, asio::use_awaitable);
    } else {
      co_await http::async_write(socket, rq, asio::use_awaitable);
      co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
    }
    auto& rs = parser.get();
    fetch_response out;
    out.status = static_cast<int>(rs.result_int());
    out.status_text = std::string(rs.reason());
    for (auto& f : rs) {
      auto n = std::string(f.name_string());
      for (auto& ch : n)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.headers.emplace_back(std::move(n), std::string(f.value()));
    }
    out.body = std::move(rs.body());
    co_return out;
  }
};

} // namespace

fetch_client::fetch_client(std::vector<net_range> allowed, fetch_limits limits)
    : limits_(limits), impl_(std::make_unique<impl>(std::move(allowed), limits)) {}

fetch_client::~fetch_client() {
  impl_->work.reset();
  impl_->io.stop(); // operations still in flight are dropped with the io_context
  impl_->thread.join();
}

std::int64_t fetch_client::in_flight() const { return impl_->in_flight; }

std::shared_ptr<fetch_operation> fetch_client::start(fetch_request req, std::function<void(fetch_response)> done) {
  auto fail = [&](std::string why) -> std::shared_ptr<fetch_operation> {
    fetch_response r;
    r.error = "fetch failed: " + why;
    asio::post(impl_->io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    return nullptr;
  };
  if (!is_token(req.method))
    return fail("'" + req.method + "' is not a valid method");
  for (auto& [k, v] : req.headers)
    if (!is_token(k) || !is_field_value(v))
      return fail("'" + k + "' is not a valid header");
  if (req.body.size() > limits_.request_body_bytes)
    return fail(fmt::format("the request body exceeds {} bytes", limits_.request_body_bytes));
  auto op = std::make_shared<operation>(*impl_, std::move(req), std::move(done));
  impl_->in_flight += 1;
  asio::post(impl_->io, [op] {
    op->timer.expires_at(op->req.deadline);
    op->timer.async_wait([op](boost::system::error_code ec) {
      if (!ec)
        op->abort("the call's time limit was reached");
    });
    asio::co_spawn(op->c.io, op->run(), asio::detached);
  });
  return op;
}

} // namespace whisk::isolate
