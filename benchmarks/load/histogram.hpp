#pragma once
// Latency histogram with log-linear buckets: 128 linear sub-buckets per power of two, so a
// reported percentile is within 1/256 of the recorded values (well under 1%).
#include <cstdint>
#include <vector>

namespace whisk::load {

class histogram {
public:
  static constexpr int sub_bits = 7;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;

  histogram();
  void record(std::uint64_t value, std::uint64_t count = 1);
  void merge(const histogram& other);
  void clear();

  std::uint64_t count() const { return total_; }
  std::uint64_t min() const { return total_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }
  // The value at quantile q in [0, 1] (0 when empty), clipped to the recorded range.
  std::uint64_t percentile(double q) const;

  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t lowest_in(std::size_t index);
  static std::uint64_t highest_in(std::size_t index);

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0, min_ = UINT64_MAX, max_ = 0;
  unsigned __int128 sum_ = 0;
};

} // namespace whisk::load
