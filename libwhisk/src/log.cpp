#include "whisk/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace whisk {

namespace {
std::atomic<int> min_level{static_cast<int>(log_level::info)};
}

void set_log_level(log_level level) { min_level = static_cast<int>(level); }

bool log_enabled(log_level level) { return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed); }

void log_line(log_level level, std::string_view message) {
  static constexpr const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line keeps concurrent lines whole.
  std::fprintf(stderr, "%s.%03dZ %-5s %.*s\n", stamp, static_cast<int>(ms), names[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

} // namespace whisk
