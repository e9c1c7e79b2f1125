#include "modules/distill/recollection_store.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "modules/distill/mnist_tensors.h"
#include "runtime/atomic_file.h"

namespace engram {

struct RecollectionStore::Impl {
  std::unique_ptr<DiscreteVae> vae;
  at::Tensor codes;  // uint8 (l <= 256) or int32 [N, c]
  RecollectionStoreStats stats;
};

RecollectionStore::RecollectionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecollectionStore::~RecollectionStore() = default;

Expected<std::unique_ptr<RecollectionStore>> RecollectionStore::build(
    const ImageDataset& ds, const RecollectionStoreOptions& o, const TrainingProgressFn& progress) {
  if (o.epochs < 0 || o.batch < 1) {
    return Status(ErrorCode::invalid_argument, "recollections: epochs >= 0 and batch >= 1");
  }
  DiscreteVaeConfig vc = o.dvae;
  vc.rows = static_cast<int>(ds.rows);
  vc.cols = static_cast<int>(ds.cols);
  auto vae = DiscreteVae::create(vc);
  if (!vae.ok()) return vae.status();
  auto impl = std::make_unique<Impl>();
  impl->vae = std::move(*vae);
  const auto start = std::chrono::steady_clock::now();
  if (!o.cache.empty() && std::filesystem::exists(o.cache)) {
    std::string bytes;
    if (Status s = read_file(o.cache, &bytes); !s.ok()) return s;
    if (Status s = impl->vae->load_state(bytes); !s.ok()) {
      return Status(s.code(), "recollections cache " + o.cache + ": " + s.message());
    }
    impl->stats.from_cache = true;
  } else {
    std::mt19937_64 rng(vc.seed * 7919 + 3);
    std::vector<int64_t> order = all_indices(ds.train_size());
    TrainingTick tick;
    double elbo_sum = 0;
    int64_t elbo_batches = 0;
    tick.epochs = o.epochs;
    tick.batches = static_cast<int64_t>(order.size()) / o.batch;
    tick.steps = tick.batches * o.epochs;
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      tick.epoch = epoch + 1;
      tick.batch = 0;
      for (size_t b = 0; b + static_cast<size_t>(o.batch) <= order.size(); b += o.batch) {
        std::vector<int64_t> idx(order.begin() + static_cast<int64_t>(b),
                                 order.begin() + static_cast<int64_t>(b) + o.batch);
        AssociationStats s;
        impl->vae->learn(dataset_images(ds, true, idx), {}, {}, &s);
        ++tick.batch;
        ++tick.step;
        tick.loss = s.reconstruction;
        tick.neg_elbo = s.reconstruction + s.kl;
        if (epoch + 1 == o.epochs) {
          elbo_sum += tick.neg_elbo;
          ++elbo_batches;
        }
        if (progress) progress(tick);
      }
    }
    if (elbo_batches > 0) impl->stats.neg_elbo = elbo_sum / static_cast<double>(elbo_batches);
    if (!o.cache.empty()) {
      const std::string bytes = impl->vae->save_state();
      if (Status s = write_file_atomically(o.cache, bytes.data(), bytes.size()); !s.ok()) return s;
    }
  }
  impl->vae->consolidate();
  // The codes of every training image.
  std::vector<at::Tensor> parts;
  const size_t n = ds.train_size();
  for (size_t s = 0; s < n; s += 1000) {
    std::vector<int64_t> idx;
    for (size_t i = s; i < std::min(n, s + 1000); ++i) idx.push_back(static_cast<int64_t>(i));
    parts.push_back(impl->vae->encode(dataset_images(ds, true, idx)).cpu());
  }
  const at::ScalarType dtype = vc.l <= 256 ? at::kByte : at::kInt;
  impl->codes = n == 0 ? at::empty({0, vc.c}, dtype) : at::cat(parts).to(dtype);
  RecollectionStoreStats& st = impl->stats;
  st.train_seconds =
      st.from_cache
          ? 0.0
          : std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.c = vc.c;
  st.l = vc.l;
  st.codes = static_cast<int64_t>(n);
  int64_t bits = 0;
  while ((int64_t{1} << bits) < vc.l) ++bits;
  st.bits_per_code = vc.c * bits;
  st.compression = static_cast<double>(ds.pixels_per_image() * 8) / st.bits_per_code;
  st.buffer_bytes = (st.codes * st.bits_per_code + 7) / 8;
  st.decoder_weight_bytes = impl->vae->decoder_weight_bytes();
  const size_t m = std::min(o.distortion_examples, ds.test_size());
  if (m > 0) {
    at::Tensor x = dataset_images(ds, false, all_indices(m));
    at::Tensor r = impl->vae->recall(impl->vae->encode(x)).cpu();
    st.l1_distortion = (r - x).abs().mean().item<double>();
  }
  return std::unique_ptr<RecollectionStore>(new RecollectionStore(std::move(impl)));
}

at::Tensor RecollectionStore::sample_stored(size_t n, std::mt19937_64& rng) const {
  std::uniform_int_distribution<int64_t> pick(0, impl_->stats.codes - 1);
  at::Tensor idx = at::empty({static_cast<int64_t>(n)}, at::kLong);
  for (size_t i = 0; i < n; ++i) idx.data_ptr<int64_t>()[i] = pick(rng);
  return impl_->codes.index_select(0, idx).to(at::kLong);
}

at::Tensor RecollectionStore::sample_random(size_t n, std::mt19937_64& rng) const {
  const int c = impl_->stats.c;
  std::uniform_int_distribution<int64_t> value(0, impl_->stats.l - 1);
  at::Tensor codes = at::empty({static_cast<int64_t>(n), c}, at::kLong);
  int64_t* p = codes.data_ptr<int64_t>();
  for (size_t i = 0; i < n * static_cast<size_t>(c); ++i) p[i] = value(rng);
  return codes;
}

at::Tensor RecollectionStore::decode(const at::Tensor& codes) const {
  return impl_->vae->recall(codes).cpu();
}

const RecollectionStoreStats& RecollectionStore::stats() const { return impl_->stats; }

}  // namespace engram
