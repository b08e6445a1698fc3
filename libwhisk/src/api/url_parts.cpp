// Request targets and query strings through Boost.URL, which is compiled into libwhisk here
// (programs that link libwhisk, the whisk CLI among them, use this copy).
#include <boost/url.hpp>
#include <boost/url/src.hpp>

#include "query.hpp"

namespace whisk::api {

namespace {

void add_params(const boost::urls::url_view& u, std::map<std::string, std::string>& out) {
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true; // HTML forms and most clients send spaces as '+'
  for (auto p : u.params(opts))
    out[std::string(p.key)] = p.has_value ? std::string(p.value) : std::string();
}

} // namespace

std::optional<target_parts> parse_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed)
    return std::nullopt;
  const auto& u = *parsed;
  target_parts out;
  for (auto seg : u.segments())
    if (!seg.empty())
      out.segments.push_back(std::string(seg));
  auto path = u.encoded_path();
  out.trailing_slash = path.size() > 1 && path.back() == '/';
  if (u.has_query()) {
    out.raw_query = std::string(u.encoded_query());
    add_params(u, out.query);
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  std::string target = "/?";
  target.append(q);
  if (auto parsed = boost::urls::parse_origin_form(target))
    add_params(*parsed, out);
  return out;
}

} // namespace whisk::api
