#include "whisk/policy/stem_cells.hpp"

#include <charconv>
#include <sstream>

#include "whisk/domain.hpp"

namespace whisk::policy {

namespace {

// The whole field must be a decimal number: "256MB" or "x" is an error, not 0.
bool whole_number(const std::string& s, std::int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

} // namespace

expected<std::vector<stem_cell_config>> parse_stem_cells(const std::string& text) {
  std::vector<stem_cell_config> out;
  if (text == "none")
    return out;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty())
      continue;
    // the kind may itself contain ':' (nodejs:20): the last two fields are memory and count
    auto last = item.rfind(':');
    auto mid = last == std::string::npos || last == 0 ? std::string::npos : item.rfind(':', last - 1);
    if (mid == std::string::npos || mid == 0)
      return make_error(errc::bad_request, "--stem-cells: '" + item + "' is not kind:memoryMB:count");
    stem_cell_config s;
    s.kind = canonical_kind(item.substr(0, mid));
    if (!is_known_kind(s.kind))
      return make_error(errc::bad_request, "--stem-cells: '" + item + "' names an unknown kind");
    if (!whole_number(item.substr(mid + 1, last - mid - 1), s.memory_mb) || s.memory_mb < action_limits::min_memory_mb ||
        s.memory_mb > action_limits::max_memory_mb)
      return make_error(errc::bad_request, "--stem-cells: '" + item + "' needs a memory (MB) between " +
                                               std::to_string(action_limits::min_memory_mb) + " and " +
                                               std::to_string(action_limits::max_memory_mb));
    if (!whole_number(item.substr(last + 1), s.count) || s.count < 0)
      return make_error(errc::bad_request, "--stem-cells: '" + item + "' needs a count of 0 or more");
    out.push_back(s);
  }
  return out;
}

} // namespace whisk::policy
