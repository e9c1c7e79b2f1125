// A module's parameters in int8 form, for memories whose weights count in the total-budget view
// (papers/000 Table 5): each weight tensor (2 or more dims: matrices, kernels) as int8 values
// with one f32 scale per slice along dim 0 (symmetric: scale = max|w| / 127, value = q * scale);
// other parameters (biases) stay f32. One byte per weight plus four per slice.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "modules/common/tensor_archive.h"
#include "runtime/status.h"

namespace torch::nn {
class Module;
}

namespace engram {

class Int8Weights {
 public:
  // Quantizes every parameter of `module` (recursively; buffers are not taken).
  static Int8Weights of(const torch::nn::Module& module);
  // Bytes the int8 form of `module` takes, without quantizing it.
  static int64_t bytes_of(const torch::nn::Module& module);

  // Writes the dequantized values into the parameters of `module`, which must have the
  // architecture this was taken from (same names and shapes: checked, std::invalid_argument
  // otherwise, a programming error). No gradient is recorded.
  void apply_to(torch::nn::Module& module) const;
  int64_t bytes() const;

  // As "<key>/<name>" (int8 weights, f32 other parameters) and "<key>/<name>.scale".
  void save(TensorArchive& archive, const std::string& key) const;
  // Reads save() output for the architecture of `like`: every tensor present with its dtype
  // and shape, scales finite and >= 0, other parameters finite. Errors: malformed, naming the
  // tensor.
  static Expected<Int8Weights> load(const TensorArchive& archive, const std::string& key,
                                    const torch::nn::Module& like);

 private:
  struct Part {
    std::string name;
    at::Tensor values;  // int8 (a weight) or f32 (another parameter), on the CPU
    at::Tensor scales;  // f32 [size(0)] for a weight; undefined otherwise
  };
  std::vector<Part> parts_;
};

}  // namespace engram
