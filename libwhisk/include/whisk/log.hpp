#pragma once
// A readable log on stderr: one line per event, UTC timestamp, level, message.
// (Debian's CAF is built with its own logging compiled out.)
#include <fmt/format.h>
#include <string_view>

namespace whisk {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(log_level level);
bool log_enabled(log_level level);
void log_line(log_level level, std::string_view message);

template <class... Ts>
void log_info(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (log_enabled(log_level::info))
    log_line(log_level::info, fmt::format(f, std::forward<Ts>(xs)...));
}
template <class... Ts>
void log_warn(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (log_enabled(log_level::warn))
    log_line(log_level::warn, fmt::format(f, std::forward<Ts>(xs)...));
}
template <class... Ts>
void log_error(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (log_enabled(log_level::error))
    log_line(log_level::error, fmt::format(f, std::forward<Ts>(xs)...));
}
template <class... Ts>
void log_debug(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (log_enabled(log_level::debug))
    log_line(log_level::debug, fmt::format(f, std::forward<Ts>(xs)...));
}

} // namespace whisk
