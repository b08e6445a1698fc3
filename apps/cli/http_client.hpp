#pragma once
// The whisk CLI's HTTP side: where the API is (APIHOST), and one synchronous request at a
// time to it with Basic auth. Beast and Boost.URL stay inside http_client.cpp.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::cli {

// APIHOST as whisk-node writes it (http://127.0.0.1:3233) or as wsk users write it
// (a bare host[:port], taken as http here: this client speaks plain HTTP only).
struct api_host {
  std::string host;
  std::string port;
  std::string base_path; // a prefix before /api/v1, usually empty
};
expected<api_host> parse_api_host(std::string_view text);

struct http_reply {
  int status = 0;
  std::string body;
};

using query_params = std::vector<std::pair<std::string, std::string>>;

// Base64 (standard, padded) of `bytes`: Basic credentials and binary action code.
std::string base64_encode(std::string_view bytes);

class api_client {
public:
  api_client(api_host host, std::string auth, bool debug) : host_(std::move(host)), auth_(std::move(auth)), debug_(debug) {}

  // METHOD base/api/v1/<segments...>?<query>; each segment is percent-encoded on its own,
  // so a name never changes the path's shape. A transport failure (no connection, a
  // timeout, a broken answer) is an `unavailable` error; any HTTP status is a reply.
  expected<http_reply> call(std::string_view method, const std::vector<std::string>& segments,
                            const query_params& query = {}, std::string_view body = {},
                            std::chrono::seconds timeout = std::chrono::seconds(130)) const;

  // The request target call() would send (for --debug and the tests of the encoding).
  std::string target(const std::vector<std::string>& segments, const query_params& query) const;

private:
  api_host host_;
  std::string auth_;
  bool debug_;
};

} // namespace whisk::cli
