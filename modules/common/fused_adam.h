// Adam's step in one pass over each parameter: the same update as torch::optim::Adam::step()
// (LibTorch 1.13), written into the same torch::optim::AdamParamState (step, exp_avg,
// exp_avg_sq, keyed as torch keys them), so an optimiser can be stepped by either and its state
// saved and loaded by save_adam/load_adam (modules/common/torch_state.h) as before. torch's step
// makes about eight passes over each parameter and allocates two temporaries (sqrt, the
// denominator); this one reads the gradient and the two moments once and writes the parameter
// and the moments once.
#pragma once

namespace torch::optim {
class Adam;
class Optimizer;
}  // namespace torch::optim

namespace engram {

// Whether fused_adam_step() takes the fused path for `optimizer` as it is now: no group uses
// amsgrad, and every parameter that has a gradient is a dense, contiguous float32 CPU tensor
// whose gradient (and moments, once they exist) are dense, contiguous float32 CPU tensors of the
// same shape. Anything else (another device or dtype, strided views, sparse gradients, amsgrad)
// is left to torch's own step.
bool fused_adam_applies(const torch::optim::Adam& optimizer);

// One Adam step of `optimizer`, equal to optimizer.step() up to float rounding (the same bias
// corrections, eps added after dividing sqrt(exp_avg_sq) by sqrt(bias_correction2), L2 weight
// decay added to the gradient, parameters without a gradient skipped, moments created as zeros
// at a parameter's first step). When fused_adam_applies() is false the whole step is
// optimizer.step() itself, never a different approximation; returns whether the fused path ran.
// Uses AVX2/FMA when the CPU has them, a portable loop otherwise; large tensors are split over
// ATen's intra-op threads. Parameters change in place (their autograd version is bumped, as an
// in-place torch op would).
bool fused_adam_step(torch::optim::Adam& optimizer);

// Makes fused_adam_step() use its portable loop even where AVX2/FMA is available (false: the
// default, choose by CPU). Process-wide; for tests, which check that both loops give the same
// bits.
void set_fused_adam_portable(bool portable);

// optimizer.step() for any optimiser, through fused_adam_step() when it is a torch::optim::Adam.
void apply_optimizer_step(torch::optim::Optimizer& optimizer);

}  // namespace engram
