#pragma once
// Errors are values: an error code a caller can branch on and a message a user can act on.
#include <string>
#include <utility>
#include <variant>

namespace whisk {

enum class errc {
  bad_request,       // 400
  unauthorized,      // 401
  forbidden,         // 403
  not_found,         // 404
  conflict,          // 409
  too_large,         // 413
  too_many_requests, // 429
  internal,          // 500
  unavailable,       // 503
};

struct error {
  errc code = errc::internal;
  std::string message;
};

int http_status(errc code);

template <class T>
class expected {
public:
  expected(T value) : v_(std::move(value)) {}
  expected(error err) : v_(std::move(err)) {}
  explicit operator bool() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const error& err() const { return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

} // namespace whisk
