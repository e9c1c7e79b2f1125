// The guard every learner puts between backward() and its optimiser's step(): a step whose loss
// or gradients are not finite is never applied, so one bad value anywhere (an input that slipped
// through, a bug, an overflow) cannot silently turn learned weights into NaN.
#pragma once

#include <ATen/core/Tensor.h>

namespace torch::optim {
class Optimizer;
}

namespace engram {

// Applies optimizer.step() when `loss` and every gradient of the optimiser's parameters are
// finite, and returns true. Otherwise clears the gradients, leaves the parameters and the
// optimiser's state untouched, and returns false (the caller counts and reports the skip).
// Costs one reduction per parameter tensor and one synchronisation.
bool step_if_finite(torch::optim::Optimizer& optimizer, const at::Tensor& loss);

// Logs (runtime/log.h: level warn, source `who`) that `who` skipped a step, `total` being its
// count of skipped steps so far: at the first and then at every power of two, so a stream of bad
// steps cannot flood the log.
void log_skipped_step(const char* who, int64_t total);

}  // namespace engram
