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
class Optimizer;
}
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

// Serialises an archive to bytes, and parses bytes into an archive (malformed on bad input).
std::string archive_to_bytes(torch::serialize::OutputArchive& archive);
Status archive_from_bytes(const std::string& bytes, torch::serialize::InputArchive& archive);

// Runs `fn`, converting LibTorch exceptions into a malformed Status that starts with `what`.
Status torch_guarded(const std::string& what, const std::function<Status()>& fn);

}  // namespace engram
