#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace whisk::load {

namespace {
constexpr std::size_t bucket_count = (64 - histogram::sub_bits + 1) * histogram::sub_count;
}

histogram::histogram() : counts_(bucket_count, 0) {}

std::size_t histogram::index_of(std::uint64_t v) {
  if (v < sub_count)
    return static_cast<std::size_t>(v);
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - sub_bits;
  return static_cast<std::size_t>(shift + 1) * sub_count + static_cast<std::size_t>((v >> shift) - sub_count);
}

std::uint64_t histogram::lowest_in(std::size_t index) {
  if (index < sub_count)
    return index;
  auto shift = index / sub_count - 1;
  return (index % sub_count + sub_count) << shift;
}

std::uint64_t histogram::highest_in(std::size_t index) {
  if (index < sub_count)
    return index;
  auto shift = index / sub_count - 1;
  return lowest_in(index) + ((std::uint64_t{1} << shift) - 1);
}

void histogram::record(std::uint64_t value, std::uint64_t count) {
  counts_[index_of(value)] += count;
  total_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<unsigned __int128>(value) * count;
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

std::uint64_t histogram::percentile(double q) const {
  if (total_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // the middle of the bucket halves the worst-case error
      auto lo = lowest_in(i), hi = highest_in(i);
      return std::clamp(lo + (hi - lo) / 2, min_, max_);
    }
  }
  return max_;
}

} // namespace whisk::load
