// Curriculum selection for generative distillation (papers/000 section 3.1 and appendix D):
// which recollections the student trains on.
//
// Active sampling trains on the candidate the student finds hardest (hardest()). Diverse
// sampling first thins k*n candidates to k by Minimum Sum of Squared Similarities (MSSS,
// Bouneffouf & Birol 2015, papers/000 Algorithm 1), a cheap stand-in for a determinantal point
// process: a set whose pairwise similarities are small has a large Gram determinant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct MsssOptions {
  // How many candidates open the selection before the greedy steps, taken in index order.
  // Algorithm 1 draws 2 at random; the distillation sampler's candidates are already uniform
  // draws from the buffer, so the first ones are a random draw. Must be >= 1.
  size_t start = 2;
  // gamma of Algorithm 1: the fraction of the not yet chosen candidates that each greedy step
  // examines (a random subset of ceil(fraction * remaining), at least 1, drawn with the rng).
  // In (0, 1]; 1 examines all and needs no rng.
  double subset_fraction = 1;
  // Similarity: false = dot product of the feature vectors (the paper: "the dot product of the
  // inputs"); true = cosine (dot product of unit vectors; a zero vector has similarity 0 with
  // everything). Why offer cosine: with raw dot products a near-zero vector (a blank image) is
  // dissimilar to everything and is always preferred.
  bool cosine = false;
};

// MSSS (papers/000 appendix D, Algorithm 1): picks k of the m candidate rows of `features`
// (row-major m x d floats, not retained) whose sum of squared pairwise similarities is small.
// The first options.start candidates open the set S; each greedy step then adds
//   argmin over x in T of  sum_{s in S} sim(x, s)^2
// where T is the not yet chosen candidates (or a random subset of them, see subset_fraction);
// ties go to the lower index. This is the greedy step of minimising
// sum_{i<j in S} sim(x_i, x_j)^2: each addition raises it by the least amount available.
// Returns the chosen indices in the order chosen (k == m returns every index; k == 0 none).
// invalid_argument when k > m, d == 0, features is null with m > 0, a feature is not finite,
// start == 0, subset_fraction is outside (0, 1], or subset_fraction < 1 without an rng.
// O(k * m * d). Thread-safe for distinct rngs.
Expected<std::vector<size_t>> select_msss(const float* features, size_t m, size_t d, size_t k,
                                          const MsssOptions& options = {},
                                          std::mt19937_64* rng = nullptr);

// sum_{i<j} sim(x_a, x_b)^2 over the pairs of distinct positions of `indices` (rows of the
// row-major features, d floats each; indices must be valid). The quantity MSSS keeps small.
double sum_squared_similarities(const float* features, size_t d, const std::vector<size_t>& indices,
                                bool cosine = false);

// Active sampling: the index of the largest of losses[0..n) (the first one on ties; +inf counts
// as largest). invalid_argument when n == 0, losses is null, or a loss is NaN: a NaN loss means
// the student has diverged, which a curriculum must not hide by skipping it.
Expected<size_t> hardest(const float* losses, size_t n);
inline Expected<size_t> hardest(const std::vector<float>& losses) {
  return hardest(losses.data(), losses.size());
}

}  // namespace engram
