#include "modules/distill/diverse_selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "io/datasets/random_index.h"

namespace engram {
namespace {

Status invalid(const std::string& message) { return Status(ErrorCode::invalid_argument, message); }

double dot(const float* a, const float* b, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

// Similarity of rows a and b; inv_norm holds 1/|x| per row (0 for a zero row) when cosine.
double similarity(const float* features, size_t d, size_t a, size_t b,
                  const std::vector<double>& inv_norm) {
  const double s = dot(features + a * d, features + b * d, d);
  return inv_norm.empty() ? s : s * inv_norm[a] * inv_norm[b];
}

std::vector<double> inverse_norms(const float* features, size_t m, size_t d) {
  std::vector<double> inv(m);
  for (size_t i = 0; i < m; ++i) {
    const double n = std::sqrt(dot(features + i * d, features + i * d, d));
    inv[i] = n > 0 ? 1 / n : 0;
  }
  return inv;
}

}  // namespace

Expected<std::vector<size_t>> select_msss(const float* features, size_t m, size_t d, size_t k,
                                          const MsssOptions& options, std::mt19937_64* rng) {
  if (k > m) return invalid(fmt::format("msss: cannot choose k = {} of m = {} candidates", k, m));
  if (d == 0) return invalid("msss: feature size d must be >= 1");
  if (features == nullptr && m > 0) return invalid("msss: features is null");
  if (options.start == 0) return invalid("msss: start must be >= 1");
  if (!(options.subset_fraction > 0 && options.subset_fraction <= 1))
    return invalid(
        fmt::format("msss: subset_fraction must be in (0, 1], got {}", options.subset_fraction));
  if (options.subset_fraction < 1 && rng == nullptr)
    return invalid("msss: subset_fraction < 1 needs an rng");
  for (size_t i = 0; i < m * d; ++i) {
    if (!std::isfinite(features[i]))
      return invalid(fmt::format("msss: feature {} of candidate {} is not finite", i % d, i / d));
  }

  const std::vector<double> inv_norm =
      options.cosine ? inverse_norms(features, m, d) : std::vector<double>();
  std::vector<size_t> chosen;
  chosen.reserve(k);
  std::vector<size_t> remaining;    // not yet chosen, ascending
  std::vector<double> score(m, 0);  // sum over chosen s of sim(i, s)^2
  const size_t start = std::min(options.start, k);
  for (size_t i = 0; i < start; ++i) chosen.push_back(i);
  for (size_t i = start; i < m; ++i) remaining.push_back(i);

  // Adds chosen candidate s's squared similarities to the scores of the remaining candidates.
  auto account = [&](size_t s) {
    for (size_t i : remaining) {
      const double sim = similarity(features, d, i, s, inv_norm);
      score[i] += sim * sim;
    }
  };
  if (chosen.size() < k) {
    for (size_t s : chosen) account(s);
  }
  std::vector<size_t> subset;
  while (chosen.size() < k) {
    const std::vector<size_t>* pool = &remaining;
    if (options.subset_fraction < 1) {
      // T = Random(remaining, gamma): a partial Fisher-Yates draw, then ascending order so ties
      // still go to the lower index.
      const auto t = static_cast<size_t>(
          std::ceil(options.subset_fraction * static_cast<double>(remaining.size())));
      subset = remaining;
      const size_t take = std::max<size_t>(1, std::min(t, subset.size()));
      for (size_t i = 0; i < take; ++i) {
        const size_t j = i + static_cast<size_t>(uniform_index(*rng, subset.size() - i));
        std::swap(subset[i], subset[j]);
      }
      subset.resize(take);
      std::sort(subset.begin(), subset.end());
      pool = &subset;
    }
    size_t pick = (*pool)[0];
    for (size_t i : *pool) {
      if (score[i] < score[pick]) pick = i;
    }
    chosen.push_back(pick);
    remaining.erase(std::lower_bound(remaining.begin(), remaining.end(), pick));
    if (chosen.size() < k) account(pick);
  }
  return chosen;
}

double sum_squared_similarities(const float* features, size_t d, const std::vector<size_t>& indices,
                                bool cosine) {
  size_t rows = 0;
  for (size_t i : indices) rows = std::max(rows, i + 1);
  const std::vector<double> inv_norm =
      cosine ? inverse_norms(features, rows, d) : std::vector<double>();
  double sum = 0;
  for (size_t a = 0; a < indices.size(); ++a) {
    for (size_t b = a + 1; b < indices.size(); ++b) {
      const double sim = similarity(features, d, indices[a], indices[b], inv_norm);
      sum += sim * sim;
    }
  }
  return sum;
}

Expected<size_t> hardest(const float* losses, size_t n) {
  if (n == 0 || losses == nullptr) return invalid("hardest: no losses to choose from");
  size_t best = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(losses[i]))
      return invalid(fmt::format("hardest: loss {} is NaN (has the student diverged?)", i));
    if (losses[i] > losses[best]) best = i;
  }
  return best;
}

}  // namespace engram
