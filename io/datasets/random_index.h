// Portable random index helpers over std::mt19937_64.
//
// Why not std::uniform_int_distribution / std::shuffle: their algorithms are left to each
// standard library, so the same seed gives different tasks and batches under libstdc++ and
// libc++. The engine's output is fixed by the standard; these helpers are fixed by us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>

namespace engram {

// A uniformly distributed integer in [0, n). Precondition: n > 0. Unbiased (rejection).
inline uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: values below it would bias
  for (;;) {
    const uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

// Fisher-Yates shuffle of v[0, n) in place.
template <typename T>
void shuffle_indices(T* v, size_t n, std::mt19937_64& rng) {
  for (size_t i = n; i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_index(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

// A well-mixed seed for stream `k` of a base seed (splitmix64 finalizer), so that nearby
// (seed, k) pairs give unrelated engines.
inline uint64_t mix_seed(uint64_t seed, uint64_t k) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (k + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace engram
