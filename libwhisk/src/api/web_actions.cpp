// Web actions: /api/v1/web/{namespace}/{package|default}/{action}.{json|http|html|text|svg}
// for actions annotated web-export. The request becomes parameters (__ow_method,
// __ow_headers, __ow_path, and the query and body merged, or raw with raw-http); the
// result becomes the HTTP answer that its extension names.
#include <fmt/format.h>

#include "query.hpp"
#include "whisk/api/rest_api.hpp"
#include "whisk/base64.hpp"
#include "whisk/log.hpp"

namespace whisk::api {

namespace {

constexpr const char* not_found_message = "The requested resource does not exist.";

bool is_text_type(std::string_view ct) {
  auto semi = ct.find(';');
  auto t = std::string(ct.substr(0, semi));
  for (auto& c : t)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t.empty() || t.rfind("text/", 0) == 0 || t == "application/json" || t == "application/xml" ||
         t == "application/javascript" || t == "application/x-www-form-urlencoded" || t == "image/svg+xml" ||
         (t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0) || (t.size() > 4 && t.compare(t.size() - 4, 4, "+xml") == 0);
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

http::response web_error(int status, std::string message, const std::string& activation_id = {}) {
  auto r = rest_api::error(status, std::move(message));
  if (!activation_id.empty())
    r.headers.emplace_back("x-openwhisk-activation-id", activation_id);
  return r;
}

std::string scalar_text(const json::value& v) {
  return v.is_string() ? v.as_string() : json::dump(v);
}

// A .http result: {statusCode, headers, body}; a string body of a binary content type is base64.
http::response http_answer(const json::value& result, const std::string& aid) {
  http::response out;
  out.headers.emplace_back("x-openwhisk-activation-id", aid);
  auto* status = result.find("statusCode");
  if (!status)
    status = result.find("code");
  auto* headers = result.find("headers");
  auto* body = result.find("body");
  if (status && (!status->is_number() || status->as_int() < 100 || status->as_int() > 599))
    return web_error(400, "The action did not produce a valid response: statusCode must be a number from 100 to 599.", aid);
  if (headers && !headers->is_object())
    return web_error(400, "The action did not produce a valid response: headers must be an object.", aid);
  out.status = status ? static_cast<int>(status->as_int()) : (body ? 200 : 204);
  std::string content_type;
  if (headers)
    for (auto& [k, v] : headers->as_object()) {
      if (v.is_object() || v.is_array())
        return web_error(400, fmt::format("The action did not produce a valid response: header '{}' is not a scalar.", k), aid);
      if (starts_with_ci(k, "content-type") && k.size() == 12)
        content_type = scalar_text(v);
      else
        out.headers.emplace_back(k, scalar_text(v));
    }
  if (!body || body->is_null()) {
    out.content_type = content_type.empty() ? "text/html; charset=utf-8" : content_type;
    return out;
  }
  if (body->is_object() || body->is_array()) {
    out.body = json::dump(*body);
    out.content_type = content_type.empty() ? "application/json" : content_type;
    return out;
  }
  out.content_type = content_type.empty() ? "text/html; charset=utf-8" : content_type;
  auto text = scalar_text(*body);
  if (!is_text_type(out.content_type)) {
    auto bytes = base64_decode(text);
    if (!bytes)
      return web_error(400, fmt::format("The action did not produce a valid response: a '{}' body must be base64.", out.content_type), aid);
    out.body = std::move(*bytes);
  } else {
    out.body = std::move(text);
  }
  return out;
}

} // namespace

// The answer a web action's activation gets, by extension (projection: the path after it).
http::response web_answer(const activation& a, const std::string& ext, const std::vector<std::string>& projection) {
  const auto& aid = a.activation_id;
  if (a.status == activation_status::application_error) {
    auto r = json_error_of(a);
    r.headers.emplace_back("x-openwhisk-activation-id", aid);
    return r;
  }
  if (a.status != activation_status::success)
    return web_error(502, "The action did not produce a valid response: " +
                              json::get_string(a.result, "error", status_text(a.status)), aid);
  if (ext == "http")
    return http_answer(a.result, aid);
  const json::value* v = &a.result;
  std::vector<std::string> path = projection;
  if (path.empty() && ext != "json")
    path.push_back(ext); // .text -> result.text, .html -> result.html, .svg -> result.svg
  for (auto& p : path) {
    v = v->find(p);
    if (!v)
      return web_error(404, fmt::format("The action result has no property '{}'.", p), aid);
  }
  http::response out;
  out.headers.emplace_back("x-openwhisk-activation-id", aid);
  if (ext == "json") {
    out.body = json::dump(*v);
    return out;
  }
  if (v->is_object() || v->is_array())
    return web_error(400, fmt::format("The action did not produce a valid response: a .{} answer must be text.", ext), aid);
  out.body = scalar_text(*v);
  out.content_type = ext == "html" ? "text/html; charset=utf-8" : ext == "svg" ? "image/svg+xml" : "text/plain; charset=utf-8";
  return out;
}

http::response json_error_of(const activation& a) {
  json::value body = a.result.is_object() ? a.result : json::value{json::object{{"error", a.result}}};
  if (!body.find("code"))
    body.set("code", a.activation_id);
  return rest_api::json_response(400, body);
}

void rest_api::web(const http::request& req, const std::vector<std::string>& parts, const std::string& raw_query,
                   const invoke_hook& invoke, const http::responder& respond) {
  // parts: api v1 web {ns} {pkg} {action.ext} [projection...]
  if (parts.size() < 6) {
    respond(error(404, not_found_message));
    return;
  }
  const auto& ns = parts[3];
  std::string pkg = parts[4] == "default" ? "" : parts[4];
  std::string name = parts[5], ext = "http";
  if (auto dot = name.rfind('.'); dot != std::string::npos) {
    auto e = name.substr(dot + 1);
    if (e == "json" || e == "http" || e == "html" || e == "text" || e == "svg") {
      ext = e;
      name.resize(dot);
    }
  }
  std::vector<std::string> rest(parts.begin() + 6, parts.end());
  if (!is_valid_entity_name(ns) || !is_valid_entity_name(name) || (!pkg.empty() && !is_valid_entity_name(pkg))) {
    respond(error(404, not_found_message));
    return;
  }
  // the owner's action, run as the owner (the caller needs no key unless the action asks for one)
  auto resolved = resolve(ns, ns, pkg, name);
  if (!resolved || !annotation_true((*resolved)->act->annotations, "web-export")) {
    if (!resolved && resolved.err().code == errc::unavailable)
      respond(error(503, resolved.err().message));
    else if (!resolved && resolved.err().code == errc::bad_request)
      respond(error(400, resolved.err().message));
    else
      respond(error(404, not_found_message));
    return;
  }
  auto& ra = *resolved;
  const auto& annotations = ra->act->annotations;
  caller_info owner{ns, "", ""};
  std::string user;
  if (auto* rwa = find_annotation(annotations, "require-whisk-auth"); rwa && !(rwa->is_bool() && !rwa->as_bool())) {
    if (rwa->is_bool() || (rwa->is_string() && rwa->as_string() == "true")) { // a valid key of any namespace
      bool unavailable = false;
      auto who = auth_.authenticate(req.authorization, &unavailable);
      if (!who) {
        respond(unavailable ? store_unavailable() : error(401, "The supplied authentication is invalid."));
        return;
      }
      user = who->name;
    } else { // a secret in the X-Require-Whisk-Auth header
      std::string presented;
      for (auto& [k, v] : req.headers)
        if (k == "x-require-whisk-auth")
          presented = v;
      if (presented.empty() || presented != scalar_text(*rwa)) {
        respond(error(401, "The supplied authentication is invalid."));
        return;
      }
    }
  }
  json::value params = json::object{};
  bool raw = annotation_true(annotations, "raw-http");
  if (raw) {
    params.set("__ow_query", raw_query);
    if (!req.body.empty())
      params.set("__ow_body", is_text_type(req.content_type) ? req.body : base64_encode(req.body));
  } else {
    for (auto& [k, v] : parse_query(raw_query))
      params.set(k, v);
    if (!req.body.empty()) {
      auto ct = req.content_type;
      if (starts_with_ci(ct, "application/json")) {
        auto body = json::parse(req.body);
        if (!body) {
          respond(error(400, "The request content was malformed:\n" + body.err().message));
          return;
        }
        if (body->is_object())
          for (auto& [k, v] : body->as_object())
            params.set(k, v);
        else
          params.set("__ow_body", req.body);
      } else if (starts_with_ci(ct, "application/x-www-form-urlencoded")) {
        for (auto& [k, v] : parse_query(req.body))
          params.set(k, v);
      } else {
        params.set("__ow_body", is_text_type(ct) ? req.body : base64_encode(req.body));
      }
    }
  }
  // final: what the action (or its package) defines, a request may not override
  if (annotation_true(annotations, "final"))
    for (auto& [k, v] : params.as_object())
      if (k.rfind("__ow_", 0) != 0 && ra->params.find(k)) {
        respond(error(400, "Request defines parameters that are not allowed (e.g., reserved properties)."));
        return;
      }
  std::string method = req.method;
  for (auto& c : method)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  params.set("__ow_method", method);
  json::value headers = json::object{};
  for (auto& [k, v] : req.headers)
    if (k != "authorization" && k != "x-require-whisk-auth")
      headers.set(k, v);
  params.set("__ow_headers", std::move(headers));
  std::string path;
  for (auto& p : rest)
    path += "/" + p;
  params.set("__ow_path", path);
  if (!user.empty())
    params.set("__ow_user", user);
  if (auto t = throttled(ns, false)) {
    respond(std::move(*t));
    return;
  }
  auto inv = make_invocation(std::move(ra), params, owner);
  inv.blocking = true;
  inv.wait_ms = cfg_.max_blocking_wait_ms;
  inv.api_key.clear(); // the owner's key is not known here (the store keeps its hash)
  inv.shape = [ext, projection = ext == "http" ? std::vector<std::string>{} : rest](const activation& a) {
    return web_answer(a, ext, projection);
  };
  invoke(std::move(inv), respond);
}

} // namespace whisk::api
