#pragma once
// Deterministic randomness for traces: the same seed gives the same numbers on every
// platform (the standard distributions are implementation-defined, so none are used).
#include <cmath>
#include <cstdint>
#include <string_view>

namespace whisk::sim {

inline std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A seed for one purpose (`stream`) of one thing (`key`) under the user's seed.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t key, std::uint64_t stream) {
  return splitmix64(splitmix64(seed ^ splitmix64(key)) ^ stream);
}

// xoshiro256** seeded through splitmix64.
class random_stream {
public:
  explicit random_stream(std::uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      w = splitmix64(seed);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n), n > 0 (the modulo bias is below 2^-40 for the n used here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

  double normal() {
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }

  // Poisson-distributed count with mean `lambda` >= 0: exact (Knuth) below 30, a rounded
  // normal above (its error is well under the day-to-day noise a trace shows).
  std::uint64_t poisson(double lambda) {
    if (lambda <= 0)
      return 0;
    if (lambda < 30) {
      const double limit = std::exp(-lambda);
      std::uint64_t k = 0;
      double p = uniform();
      while (p > limit) {
        ++k;
        p *= uniform();
      }
      return k;
    }
    const double x = std::round(lambda + std::sqrt(lambda) * normal());
    return x <= 0 ? 0 : static_cast<std::uint64_t>(x);
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

} // namespace whisk::sim
