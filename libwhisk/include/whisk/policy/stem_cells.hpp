#pragma once
// The --stem-cells option: "kind:memoryMB:count" items separated by commas, or "none".
#include <string>
#include <vector>

#include "whisk/expected.hpp"
#include "whisk/policy/placement.hpp"

namespace whisk::policy {

expected<std::vector<stem_cell_config>> parse_stem_cells(const std::string& text);

} // namespace whisk::policy
