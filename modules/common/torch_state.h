// Module, optimiser and generator state in a TensorArchive (engram's own tensor format, see
// tensor_archive.h), for snapshots. Loading checks every tensor's presence, dtype, shape and
// values before anything is applied to a live module.
#pragma once

#include <ATen/core/Generator.h>

#include <functional>
#include <string>

#include "modules/common/tensor_archive.h"
#include "runtime/status.h"

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Adam;
}  // namespace torch::optim

namespace engram {

// Writes the parameters and buffers of `module` as "<key>/<name>".
void save_module(TensorArchive& archive, const std::string& key, const torch::nn::Module& module);

// Reads the parameters and buffers of `module`, which must have been built with the same
// architecture: every tensor present with the same dtype and shape, and finite. Errors:
// malformed, naming the tensor. Nothing is written into `module` unless all of them check out.
Status load_module(const TensorArchive& archive, const std::string& key, torch::nn::Module& module);

// Generator state (e.g. the Gumbel noise stream) as "<key>".
void save_generator(TensorArchive& archive, const std::string& key, const at::Generator& generator);
Status load_generator(const TensorArchive& archive, const std::string& key,
                      at::Generator& generator);

// An Adam optimiser as "<key>/<group>/options" (lr, betas, eps, weight decay, amsgrad) and, for
// each parameter that has taken a step, "<key>/<group>/<index>/{step,exp_avg,exp_avg_sq,
// max_exp_avg_sq}".
void save_adam(TensorArchive& archive, const std::string& key, const torch::optim::Adam& optimizer);
// Restores save_adam() output into an optimiser over parameters of the same shapes (in the same
// groups and order). Checked first: lr finite in (0, 1000] (it may have been scheduled), the
// other options equal to the optimiser's own (they come from the configuration), steps in
// [0, 2^53], moments of each parameter's shape and dtype, finite, and second moments >= 0
// (anything else would make the next step throw or poison the weights).
// Errors: malformed, naming the problem; then the optimiser is unchanged.
Status load_adam(const TensorArchive& archive, const std::string& key,
                 torch::optim::Adam& optimizer);

// Runs `fn`, converting LibTorch exceptions into a malformed Status that starts with `what`.
Status torch_guarded(const std::string& what, const std::function<Status()>& fn);

}  // namespace engram
