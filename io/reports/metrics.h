// Continual-learning metrics computed from an accuracy matrix.
//
// R[i][j] is the accuracy (in [0, 1]) on the test set of task j measured right after learning
// task i, for T tasks. Definitions follow GEM (Lopez-Paz & Ranzato 2017) for ACC, BWT and FWT,
// and Chaudhry et al. 2018 (RWalk) for forgetting:
//   ACC        = 1/T     sum_j        R[T-1][j]
//   BWT        = 1/(T-1) sum_{j<T-1}  (R[T-1][j] - R[j][j])
//   FWT        = 1/(T-1) sum_{j>=1}   (R[j-1][j] - b[j])      (b: accuracy of a random-init model)
//   f_j        = max_{l in [j, T-2]} R[l][j] - R[T-1][j]     for j < T-1
//   forgetting = 1/(T-1) sum_{j<T-1}  f_j
// BWT, FWT and forgetting are 0 when T = 1 (nothing to compare).
#pragma once

#include <optional>
#include <vector>

#include "runtime/status.h"

namespace engram {

// Row-major accuracy matrix: Matrix[i][j] = accuracy on task j after learning task i.
using Matrix = std::vector<std::vector<double>>;

struct ClMetrics {
  double acc = 0.0;                         // average accuracy over all tasks after the last task
  double bwt = 0.0;                         // backward transfer (negative = forgetting)
  double forgetting = 0.0;                  // average forgetting over tasks 0..T-2
  std::optional<double> fwt;                // forward transfer; only with a baseline
  std::vector<double> forgetting_per_task;  // f_j for j = 0..T-2 (T-1 entries)
};

// Computes ACC, BWT, forgetting and (when baseline is non-null) FWT from a complete T x T
// accuracy matrix. baseline, if given, holds T accuracies of a randomly initialised model, one
// per task (b[0] is unused by the formula but still validated). Errors (invalid_argument, the
// message names the offending row/entry): an empty matrix, a row whose length differs from the
// number of rows (ragged or non-square), a NaN or an entry outside [0, 1], a baseline of the
// wrong length or with such entries. Pure function; thread-safe.
Expected<ClMetrics> compute_metrics(const Matrix& r, const std::vector<double>* baseline = nullptr);

// The metrics so far of a run in progress: r has k rows (tasks learnt so far, 1 <= k <= T), each
// with T entries (accuracy on every task of the curriculum, learnt or not). Computes the metrics
// of the leading k x k block, i.e. as if the curriculum had ended after task k-1; the baseline,
// if given, has T entries and its first k are used. Same errors as compute_metrics, plus
// invalid_argument when k > T or rows differ in length. Pure function; thread-safe.
Expected<ClMetrics> compute_partial_metrics(const Matrix& r,
                                            const std::vector<double>* baseline = nullptr);

}  // namespace engram
