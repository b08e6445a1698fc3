// The consumer test's pkg-config check: libwhisk alone, compiled with `pkg-config whisk`.
#include <cstdio>

#include "whisk/json.hpp"

int main() {
  auto v = whisk::json::parse(R"({"linked":"by pkg-config"})");
  std::printf("%s\n", v ? whisk::json::dump(*v).c_str() : "parse failed");
  return v ? 0 : 1;
}
