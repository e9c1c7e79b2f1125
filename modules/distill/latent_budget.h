// Latent size from a storage budget: the optimisation of papers/000 appendix B (001 eqs. 2-4).
//
// A discrete VAE code is c categorical variables of l values each. Stored with simple binary
// encoding it costs S_sbe = c * ceil(log2 l) bits (eq. 1) and its capacity is
// C_ve = log2(l^c) = c * log2 l bits (eq. 2). With gamma the whole budget in bits, N the number
// of incoming examples and rho the probability that one is stored, the paper chooses (c, l) by
//
//   incremental budget (eq. 3):  maximize C_ve  s.t.  rho * S_sbe <= gamma / N
//   total budget (eq. 4):        maximize C_ve  s.t.  rho * S_sbe + |theta|(c,l) <= gamma / N
//
// Why the total budget divides |theta| by N here: eq. 4 as printed charges the whole model
// against the per-example rate gamma / N, which is dimensionally a total against an average. We
// read it as "codes plus model fit in gamma": N * rho * S_sbe + |theta|(c,l) <= gamma, i.e.
// rho * S_sbe + |theta|(c,l) / N <= gamma / N. This is what 001 reports for MNIST ("10x total
// compression" with 168 2-way variables is 37x per code once the model is paid for). A caller
// who wants the printed form literally can scale the parameter model by N.
//
// |theta|(c,l) is modelled as a function of the layer width c*l (the paper uses c*l hidden
// units per layer, so fully connected layers cost ~ (c*l)^2 weights), see ParameterModel.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/status.h"

namespace engram {

enum class BudgetKind {
  incremental,  // only the stored codes count (eq. 3)
  total,        // the codes and the autoencoder's parameters count (eq. 4)
};

// "incremental", "total".
const char* budget_kind_name(BudgetKind kind);
// Inverse of budget_kind_name; invalid_argument otherwise.
Expected<BudgetKind> parse_budget_kind(const std::string& name);

// |theta|(c,l) in bits as a function of the layer width w = c*l:
//   quadratic_bits * w^2 + linear_bits * w + fixed_bits.
// Default: one w x w fully connected layer in the encoder and one in the decoder with float32
// weights, 2 * 32 = 64 bits per w^2. Layers between the input and the bottleneck cost
// (input size) * w weights: put them (times 32 bits) in linear_bits; a fixed part of the model
// (e.g. a pretrained trunk) goes in fixed_bits. All three must be finite and >= 0.
struct ParameterModel {
  double quadratic_bits = 64;
  double linear_bits = 0;
  double fixed_bits = 0;
};

struct LatentBudget {
  double budget_bytes = 0;  // gamma / 8: the whole budget for N examples, > 0
  double rho = 1;           // probability that an incoming example is stored, in (0, 1]
  int64_t examples = 0;     // N, >= 1
  BudgetKind kind = BudgetKind::incremental;
  int64_t max_c = int64_t{1} << 20;  // search c in [1, max_c]; max_c in [1, 2^40]
  int64_t max_l = int64_t{1} << 16;  // search l in [2, max_l]; max_l in [2, 2^24]
  ParameterModel parameters;         // used by BudgetKind::total only
};

struct LatentSize {
  int64_t c = 0;
  int64_t l = 0;
  double capacity_bits = 0;   // C_ve = c * log2 l
  int64_t bits_per_code = 0;  // S_sbe = c * ceil(log2 l)
  double parameter_bits = 0;  // |theta|(c,l); 0 for an incremental budget
  // Expected bytes the choice uses over the N examples: (N * rho * S_sbe + |theta|) / 8, with
  // |theta| counted for a total budget only. <= budget_bytes (up to the 1e-9 slack below).
  double bytes = 0;
};

// S_sbe = c * ceil(log2 l) for c >= 0, l >= 1 (l = 1 costs 0 bits).
int64_t code_bits(int64_t c, int64_t l);
// C_ve = c * log2 l.
double code_capacity_bits(int64_t c, int64_t l);
// |theta|(c,l) in bits under `model`.
double parameter_bits(const ParameterModel& model, int64_t c, int64_t l);

// The integer (c, l), 1 <= c <= max_c and 2 <= l <= max_l, of largest capacity C_ve that fits
// the budget. Ties in capacity (within a relative 1e-9, since log2 is rounded) go to the code
// with fewer wasted bits S_sbe - C_ve (l a power of two wastes none), then to the smaller l.
// The constraint is checked with a relative slack of 1e-9 so that a budget of exactly S_sbe bits
// per code admits it despite rounding in rho (e.g. 0.1). invalid_argument, naming the field,
// when a field is out of range; invalid_argument saying what the budget affords when not even
// c = 1, l = 2 fits. Searches every l: O(max_l * log max_c) for a total budget, O(max_l)
// otherwise (a few milliseconds at the default max_l). Pure function, thread-safe.
Expected<LatentSize> optimize_latent_size(const LatentBudget& budget);

}  // namespace engram
