#pragma once
// Groundwork for containerless functions: one JavaScript function compiled in its own V8
// isolate and called with JSON in and out. (The isolate backend, its modes, limits and
// worker threads build on this.) V8 headers stay out of this header.
#include <memory>
#include <string>

#include "whisk/expected.hpp"

namespace whisk::isolate {

class v8_function {
public:
  // Compiles `code` in a fresh isolate and context and looks up the function `main_name`.
  static expected<std::unique_ptr<v8_function>> compile(const std::string& code, const std::string& main_name = "main");
  ~v8_function();
  // Calls the function with a JSON object; a returned Promise is settled by running the
  // microtasks. The result is the JSON text of the value; a throw or rejection is an error.
  expected<std::string> call(const std::string& params_json);

  struct state;

private:
  explicit v8_function(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

} // namespace whisk::isolate
