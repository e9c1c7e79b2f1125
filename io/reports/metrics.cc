#include "io/reports/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace engram {
namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::invalid_argument, std::move(message));
}

// An accuracy must be a number in [0, 1]; what names the value in the error message.
Status check_accuracy(double v, const std::string& what) {
  if (std::isnan(v)) return invalid(fmt::format("{} is NaN", what));
  if (v < 0.0 || v > 1.0) return invalid(fmt::format("{} = {} is outside [0, 1]", what, v));
  return Status();
}

// Every row of r must have `cols` accuracies.
Status check_rows(const Matrix& r, size_t cols) {
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].size() != cols) {
      return invalid(
          fmt::format("accuracy matrix row {} has {} entries, expected {}", i, r[i].size(), cols));
    }
    for (size_t j = 0; j < cols; ++j) {
      Status s = check_accuracy(r[i][j], fmt::format("accuracy matrix entry R[{}][{}]", i, j));
      if (!s.ok()) return s;
    }
  }
  return Status();
}

Status check_baseline(const std::vector<double>* baseline, size_t tasks) {
  if (baseline == nullptr) return Status();
  if (baseline->size() != tasks) {
    return invalid(fmt::format("baseline has {} entries, expected {} (one per task)",
                               baseline->size(), tasks));
  }
  for (size_t j = 0; j < tasks; ++j) {
    Status s = check_accuracy((*baseline)[j], fmt::format("baseline entry b[{}]", j));
    if (!s.ok()) return s;
  }
  return Status();
}

// The metrics of the leading t x t block of r (already validated).
ClMetrics metrics_of_block(const Matrix& r, size_t t, const std::vector<double>* baseline) {
  ClMetrics m;
  const std::vector<double>& last = r[t - 1];
  double sum = 0.0;
  for (size_t j = 0; j < t; ++j) sum += last[j];
  m.acc = sum / static_cast<double>(t);

  if (baseline != nullptr) m.fwt = 0.0;
  if (t == 1) return m;
  const double n = static_cast<double>(t - 1);

  double bwt = 0.0;
  double forgetting = 0.0;
  m.forgetting_per_task.reserve(t - 1);
  for (size_t j = 0; j + 1 < t; ++j) {
    bwt += last[j] - r[j][j];
    double best = r[j][j];
    for (size_t l = j + 1; l + 1 < t; ++l) best = std::max(best, r[l][j]);
    m.forgetting_per_task.push_back(best - last[j]);
    forgetting += best - last[j];
  }
  m.bwt = bwt / n;
  m.forgetting = forgetting / n;

  if (baseline != nullptr) {
    double fwt = 0.0;
    for (size_t j = 1; j < t; ++j) fwt += r[j - 1][j] - (*baseline)[j];
    m.fwt = fwt / n;
  }
  return m;
}

}  // namespace

Expected<ClMetrics> compute_metrics(const Matrix& r, const std::vector<double>* baseline) {
  if (r.empty()) return invalid("accuracy matrix is empty");
  Status s = check_rows(r, r.size());
  if (!s.ok()) return s;
  s = check_baseline(baseline, r.size());
  if (!s.ok()) return s;
  return metrics_of_block(r, r.size(), baseline);
}

Expected<ClMetrics> compute_partial_metrics(const Matrix& r, const std::vector<double>* baseline) {
  if (r.empty()) return invalid("accuracy matrix is empty");
  const size_t tasks = r[0].size();
  if (r.size() > tasks) {
    return invalid(fmt::format("accuracy matrix has {} rows but only {} tasks", r.size(), tasks));
  }
  Status s = check_rows(r, tasks);
  if (!s.ok()) return s;
  s = check_baseline(baseline, tasks);
  if (!s.ok()) return s;
  return metrics_of_block(r, r.size(), baseline);
}

}  // namespace engram
