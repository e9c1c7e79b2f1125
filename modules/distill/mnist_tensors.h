// Dataset images and labels as tensors, for the distillation experiments.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "io/datasets/dataset.h"

namespace engram {

// Images idx of the train (or test) split as float [n, rows*cols] in [0, 1]. idx < split size.
at::Tensor dataset_images(const ImageDataset& ds, bool train, const std::vector<int64_t>& idx);
// Their labels as int64 [n].
at::Tensor dataset_labels(const ImageDataset& ds, bool train, const std::vector<int64_t>& idx);
// 0 .. n-1.
std::vector<int64_t> all_indices(size_t n);

}  // namespace engram
