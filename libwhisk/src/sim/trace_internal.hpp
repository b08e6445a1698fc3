#pragma once
// What the trace loaders share.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "whisk/sim/trace.hpp"

namespace whisk::sim::detail {

// The percentiles the 2019 durations file publishes, as probabilities.
inline constexpr std::array<double, 7> published_probabilities{0.0, 0.01, 0.25, 0.50, 0.75, 0.99, 1.0};

// Which of `ids` to keep (load_options::max_functions, 0 = all): the `max` smallest
// (FNV-1a 64 of the id, then the id).
std::vector<bool> choose_functions(const std::vector<std::string>& ids, std::size_t max);

// The app's memory shared among its functions, rounded up, at least 1 MB.
std::int64_t memory_per_function(double app_memory_mb, std::size_t app_functions);

// errc::too_large when `total` arrivals are more than the options allow.
std::optional<error> check_arrivals(std::uint64_t total, const load_options& options, const std::string& what);

// Sorts the arrivals into their documented order.
void sort_arrivals(std::vector<arrival>& arrivals);

} // namespace whisk::sim::detail
