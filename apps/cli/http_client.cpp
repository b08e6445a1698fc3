#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
// GCC 12 with the sanitizers warns of an uninitialized optional inside Beast's response
// parser (content_length_unchecked), a false positive in a header that is not ours
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <boost/url.hpp>
#include <fmt/format.h>
#include <iostream>
#include <sodium.h>

namespace whisk::cli {

namespace beast = boost::beast;
namespace urls = boost::urls;
using tcp = boost::asio::ip::tcp;

expected<api_host> parse_api_host(std::string_view text) {
  std::string with_scheme(text);
  if (with_scheme.find("://") == std::string::npos)
    with_scheme = "http://" + with_scheme;
  auto parsed = urls::parse_uri(with_scheme);
  if (!parsed)
    return make_error(errc::bad_request, fmt::format("The API host '{}' is not a valid URL.", text));
  auto& u = *parsed;
  if (u.scheme_id() == urls::scheme::https)
    return make_error(errc::bad_request,
                      fmt::format("The API host '{}' uses https, which this client does not speak; use http://.", text));
  if (u.scheme_id() != urls::scheme::http)
    return make_error(errc::bad_request, fmt::format("The API host '{}' is not an http:// URL.", text));
  if (u.host().empty())
    return make_error(errc::bad_request, fmt::format("The API host '{}' names no host.", text));
  api_host h;
  // an IPv6 literal is written [::1] in a URL; the resolver wants it bare
  h.host = u.host_type() == urls::host_type::ipv6 ? u.host_ipv6_address().to_string() : std::string(u.host());
  h.port = u.has_port() ? std::string(u.port()) : "80";
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  h.base_path = path;
  return h;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1); // the terminating NUL
  return out;
}

std::string api_client::target(const std::vector<std::string>& segments, const query_params& query) const {
  urls::url u;
  u.set_encoded_path(host_.base_path + "/api/v1");
  for (auto& s : segments)
    u.segments().push_back(s);
  for (auto& [k, v] : query)
    u.params().append({k, v});
  return std::string(u.encoded_target());
}

expected<http_reply> api_client::call(std::string_view method, const std::vector<std::string>& segments,
                                      const query_params& query, std::string_view body,
                                      std::chrono::seconds timeout) const {
  auto where = fmt::format("{}:{}", host_.host, host_.port);
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host_.host, host_.port);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(endpoints);

    beast::http::request<beast::http::string_body> req;
    req.method(beast::http::string_to_verb(method));
    req.target(target(segments, query));
    req.version(11);
    req.set(beast::http::field::host, where);
    req.set(beast::http::field::user_agent, "whisk-cli");
    req.set(beast::http::field::accept, "application/json");
    if (!auth_.empty())
      req.set(beast::http::field::authorization, "Basic " + base64_encode(auth_));
    if (!body.empty()) {
      req.set(beast::http::field::content_type, "application/json");
      req.body() = std::string(body);
    }
    req.prepare_payload();
    if (debug_)
      std::cerr << "REQUEST: " << method << " http://" << where << req.target() << "\n"
                << (body.empty() ? "" : "Body: ") << body << (body.empty() ? "" : "\n");

    // a blocking invoke may take as long as the action's timeout: the caller picks the bound
    stream.expires_after(timeout);
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    beast::http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    http_reply reply;
    reply.status = static_cast<int>(parser.get().result_int());
    reply.body = std::move(parser.get().body());
    if (debug_)
      std::cerr << "RESPONSE: " << reply.status << "\n" << reply.body << "\n";
    return reply;
  } catch (const beast::system_error& e) {
    if (e.code() == beast::error::timeout)
      return make_error(errc::unavailable, fmt::format("No answer from {} within {} s.", where, timeout.count()));
    return make_error(errc::unavailable, fmt::format("Cannot reach the API host {}: {}.", where, e.code().message()));
  }
}

} // namespace whisk::cli
