#include "modules/distill/latent_budget.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace engram {
namespace {

constexpr int64_t kMaxC = int64_t{1} << 40;
constexpr int64_t kMaxL = int64_t{1} << 24;
// Relative slack on the budget and relative width of a capacity tie (see the header).
constexpr double kSlack = 1e-9;

Status invalid(const std::string& message) {
  return Status(ErrorCode::invalid_argument, "latent size: " + message);
}

int ceil_log2(int64_t l) {
  int b = 0;
  while ((int64_t{1} << b) < l) ++b;
  return b;
}

bool finite_non_negative(double v) { return std::isfinite(v) && v >= 0; }

Status validate(const LatentBudget& b) {
  if (!(std::isfinite(b.budget_bytes) && b.budget_bytes > 0))
    return invalid(fmt::format("budget_bytes must be a finite number > 0, got {}", b.budget_bytes));
  if (!(b.rho > 0 && b.rho <= 1))
    return invalid(
        fmt::format("rho (probability of storing an example) must be in (0, 1], got {}", b.rho));
  if (b.examples < 1) return invalid(fmt::format("examples (N) must be >= 1, got {}", b.examples));
  if (b.max_c < 1 || b.max_c > kMaxC)
    return invalid(fmt::format("max_c must be in [1, {}], got {}", kMaxC, b.max_c));
  if (b.max_l < 2 || b.max_l > kMaxL)
    return invalid(fmt::format("max_l must be in [2, {}], got {}", kMaxL, b.max_l));
  const ParameterModel& p = b.parameters;
  if (!finite_non_negative(p.quadratic_bits) || !finite_non_negative(p.linear_bits) ||
      !finite_non_negative(p.fixed_bits))
    return invalid(fmt::format(
        "parameter model bits must be finite and >= 0, got quadratic {}, linear {}, fixed {}",
        p.quadratic_bits, p.linear_bits, p.fixed_bits));
  return Status();
}

// Bits the N examples' codes (and, for a total budget, the model) use with this (c, l).
double used_bits(const LatentBudget& b, int64_t c, int64_t l, int bits_per_variable) {
  double bits = static_cast<double>(b.examples) * b.rho * static_cast<double>(c) *
                static_cast<double>(bits_per_variable);
  if (b.kind == BudgetKind::total) bits += parameter_bits(b.parameters, c, l);
  return bits;
}

// The largest c in [1, max_c] that fits with this l, or 0 if none does. Used bits grow with c,
// so a binary search is exact; the incremental case starts from the closed form.
int64_t largest_c(const LatentBudget& b, int64_t l, int bits_per_variable, double limit) {
  auto fits = [&](int64_t c) { return used_bits(b, c, l, bits_per_variable) <= limit; };
  if (!fits(1)) return 0;
  if (fits(b.max_c)) return b.max_c;
  int64_t lo = 1, hi = b.max_c;  // fits(lo), !fits(hi)
  if (b.kind == BudgetKind::incremental) {
    const double per_c = static_cast<double>(b.examples) * b.rho * bits_per_variable;
    const double guess = std::floor(limit / per_c);
    if (guess >= 1 && guess < static_cast<double>(b.max_c)) {
      const auto g = static_cast<int64_t>(guess);
      if (fits(g)) {
        lo = g;
        if (!fits(g + 1)) return g;
      } else {
        hi = g;
      }
    }
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace

const char* budget_kind_name(BudgetKind kind) {
  switch (kind) {
    case BudgetKind::incremental: return "incremental";
    case BudgetKind::total: return "total";
  }
  return "?";
}

Expected<BudgetKind> parse_budget_kind(const std::string& name) {
  if (name == "incremental") return BudgetKind::incremental;
  if (name == "total") return BudgetKind::total;
  return invalid("budget kind must be \"incremental\" or \"total\", got \"" + name + "\"");
}

int64_t code_bits(int64_t c, int64_t l) { return c * ceil_log2(l); }

double code_capacity_bits(int64_t c, int64_t l) {
  return static_cast<double>(c) * std::log2(static_cast<double>(l));
}

double parameter_bits(const ParameterModel& model, int64_t c, int64_t l) {
  const double w = static_cast<double>(c) * static_cast<double>(l);
  return model.quadratic_bits * w * w + model.linear_bits * w + model.fixed_bits;
}

Expected<LatentSize> optimize_latent_size(const LatentBudget& budget) {
  if (Status s = validate(budget); !s.ok()) return s;
  const double gamma = 8 * budget.budget_bytes;
  const double limit = gamma * (1 + kSlack);

  LatentSize best;
  double best_waste = 0;
  for (int64_t l = 2; l <= budget.max_l; ++l) {
    const int bits = ceil_log2(l);
    if (best.c != 0) {
      // The codes alone bound c; skip the search when even that bound cannot win.
      const double c_bound =
          std::min(static_cast<double>(budget.max_c),
                   std::floor(limit / (static_cast<double>(budget.examples) * budget.rho * bits)));
      const double bound = c_bound * std::log2(static_cast<double>(l));
      if (bound < best.capacity_bits - kSlack * std::max(1.0, best.capacity_bits)) continue;
    }
    const int64_t c = largest_c(budget, l, bits, limit);
    // Used bits grow with l at c = 1 (ceil(log2 l) and |theta| never shrink), so no larger l
    // fits either.
    if (c == 0) break;
    const double capacity = code_capacity_bits(c, l);
    const double waste = static_cast<double>(c * bits) - capacity;
    const double tie = kSlack * std::max(1.0, capacity);
    const bool better = best.c == 0 || capacity > best.capacity_bits + tie ||
                        (capacity >= best.capacity_bits - tie && waste < best_waste - tie);
    if (!better) continue;
    best.c = c;
    best.l = l;
    best.capacity_bits = capacity;
    best_waste = waste;
  }

  if (best.c == 0) {
    const double per_example = gamma / static_cast<double>(budget.examples);
    if (budget.kind == BudgetKind::incremental) {
      return invalid(fmt::format(
          "a budget of {} bytes for {} examples stored with probability {} affords {:.4g} bits "
          "per stored code; the smallest code (c=1, l=2) needs 1",
          budget.budget_bytes, budget.examples, budget.rho, per_example / budget.rho));
    }
    return invalid(fmt::format(
        "a total budget of {} bytes ({} bits) cannot hold the smallest code (c=1, l=2) for {} "
        "examples stored with probability {} plus its parameters: {:.6g} bits for codes + "
        "{:.6g} bits of parameters",
        budget.budget_bytes, gamma, budget.examples, budget.rho,
        static_cast<double>(budget.examples) * budget.rho,
        parameter_bits(budget.parameters, 1, 2)));
  }
  best.bits_per_code = code_bits(best.c, best.l);
  if (budget.kind == BudgetKind::total)
    best.parameter_bits = parameter_bits(budget.parameters, best.c, best.l);
  best.bytes = used_bits(budget, best.c, best.l, ceil_log2(best.l)) / 8;
  return best;
}

}  // namespace engram
