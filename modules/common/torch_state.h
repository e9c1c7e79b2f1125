// Module, optimiser and generator state as bytes (LibTorch archives), for snapshots.
#pragma once

#include <ATen/core/Generator.h>

#include <functional>
#include <string>

#include "runtime/status.h"

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Adam;
class Optimizer;
}  // namespace torch::optim
namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace engram {

// Writes the parameters and buffers of `module` under `key` of `archive`.
void save_module(torch::serialize::OutputArchive& archive, const std::string& key,
                 const torch::nn::Module& module);

// Reads `key` of `archive` into `module`, which must have been built with the same
// architecture: every parameter and buffer must be present with the same shape and dtype
// (LibTorch's own load silently accepts other shapes). Errors: malformed, naming the tensor.
// On error `module` may be partly overwritten, so load into a fresh module and swap on success.
Status load_module(torch::serialize::InputArchive& archive, const std::string& key,
                   torch::nn::Module& module);

// Generator state (e.g. the Gumbel noise stream) under `key`.
void save_generator(torch::serialize::OutputArchive& archive, const std::string& key,
                    const at::Generator& generator);
Status load_generator(torch::serialize::InputArchive& archive, const std::string& key,
                      at::Generator& generator);

// Checks an Adam optimiser after Optimizer::load(), which only counts parameters: every
// parameter's state, when present, must hold a step >= 0 and moments (exp_avg, exp_avg_sq, and
// max_exp_avg_sq with amsgrad) of the parameter's shape and dtype, and every group's options
// must be finite (lr > 0, betas in [0, 1), eps and weight_decay >= 0). Otherwise the next step
// would throw or poison the weights. Errors: malformed, naming the problem.
Status check_adam_state(torch::optim::Adam& optimizer);

// Serialises an archive to bytes, and parses bytes into an archive (malformed on bad input).
std::string archive_to_bytes(torch::serialize::OutputArchive& archive);
Status archive_from_bytes(const std::string& bytes, torch::serialize::InputArchive& archive);

// Runs `fn`, converting LibTorch exceptions into a malformed Status that starts with `what`.
Status torch_guarded(const std::string& what, const std::function<Status()>& fn);

}  // namespace engram
