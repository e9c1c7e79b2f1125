#include "modules/distill/mnist_tensors.h"

#include <ATen/ATen.h>

#include <numeric>

namespace engram {

at::Tensor dataset_images(const ImageDataset& ds, bool train, const std::vector<int64_t>& idx) {
  const int64_t p = static_cast<int64_t>(ds.pixels_per_image());
  at::Tensor x = at::empty({static_cast<int64_t>(idx.size()), p});
  float* dst = x.data_ptr<float>();
  for (size_t i = 0; i < idx.size(); ++i) {
    const uint8_t* src = ds.image(train, static_cast<size_t>(idx[i]));
    for (int64_t j = 0; j < p; ++j) dst[i * p + j] = static_cast<float>(src[j]) * (1.0f / 255.0f);
  }
  return x;
}

at::Tensor dataset_labels(const ImageDataset& ds, bool train, const std::vector<int64_t>& idx) {
  at::Tensor y = at::empty({static_cast<int64_t>(idx.size())}, at::kLong);
  const auto& labels = train ? ds.train_y : ds.test_y;
  for (size_t i = 0; i < idx.size(); ++i) {
    y.data_ptr<int64_t>()[i] = labels[static_cast<size_t>(idx[i])];
  }
  return y;
}

std::vector<int64_t> all_indices(size_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace engram
