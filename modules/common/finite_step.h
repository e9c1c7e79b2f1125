// The guard every learner puts between backward() and its optimiser's step(): a step whose loss
// or gradients are not finite is never applied, so one bad value anywhere (an input that slipped
// through, a bug, an overflow) cannot silently turn learned weights into NaN.
#pragma once

#include <ATen/core/Tensor.h>

namespace torch::optim {
class Optimizer;
}

namespace engram {

class GradientSync;

// Applies optimizer.step() when `loss` and every gradient of the optimiser's parameters are
// finite, and returns true (a torch::optim::Adam steps through fused_adam_step(): the same
// update in one pass, modules/common/fused_adam.h). Otherwise clears the gradients, leaves the
// parameters and the optimiser's state untouched, and returns false (the caller counts and reports
// the skip). Costs one min/max pass per gradient and one synchronisation.
bool step_if_finite(torch::optim::Optimizer& optimizer, const at::Tensor& loss);

// The same in data-parallel learning when `sync` is non-null: the gradients are first replaced by
// their mean over all ranks, this rank's weighing `weight` (its examples in the step; 0 = it
// learned nothing but takes part), and the step is applied on every rank or on none, so weights
// stay identical (modules/distributed/gradient_sync.h). With a null `sync`, step_if_finite above.
// Throws std::runtime_error with the collective's message when the ranks cannot agree in time (a
// rank stopped or takes other steps): the learning actor fails and its driver reports it.
bool step_if_finite(torch::optim::Optimizer& optimizer, const at::Tensor& loss, GradientSync* sync,
                    double weight = 1.0);

// Logs (runtime/log.h: level warn, source `who`) that `who` skipped a step, `total` being its
// count of skipped steps so far: at the first and then at every power of two, so a stream of bad
// steps cannot flood the log.
void log_skipped_step(const char* who, int64_t total);

}  // namespace engram
