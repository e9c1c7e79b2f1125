// A compressed memory of a training set for generative distillation (papers/000 section 3): a
// discrete VAE trained on the images, and the codes of every training image. Students never
// see the images, only recollections decoded from these codes (or from random codes).
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "io/datasets/dataset.h"
#include "modules/association/discrete_vae.h"
#include "modules/common/training_progress.h"
#include "runtime/status.h"

namespace engram {

struct RecollectionStoreOptions {
  DiscreteVaeConfig dvae;  // c, l, hidden, ...; rows/cols come from the dataset
  int epochs = 10;
  int batch = 128;
  size_t distortion_examples = 2000;  // test images for the L1 distortion figure
  // When non-empty: load the trained VAE from this file if it exists (trained with the same
  // options; the codes are then re-encoded), otherwise train it and save it there (atomically).
  std::string cache;
};

struct RecollectionStoreStats {
  int c = 0, l = 0;
  int64_t codes = 0;          // stored codes (one per training image)
  int64_t bits_per_code = 0;  // c * ceil(log2 l)
  double compression = 0;     // image bits / code bits (8-bit pixels)
  int64_t buffer_bytes = 0;   // all codes bit-packed
  int64_t decoder_weight_bytes = 0;
  double l1_distortion = 0;  // mean |x - decode(encode(x))| on test images, pixels in [0,1]
  double train_seconds = 0;  // 0 when loaded from the cache
  // Mean -ELBO per training image over the last epoch (reconstruction + KL to the uniform
  // prior, nats; one latent sample per image); NaN when loaded from the cache.
  double neg_elbo = std::nan("");
  bool from_cache = false;
};

class RecollectionStore {
 public:
  // Trains the VAE on ds's training split (deterministic from dvae.seed) or loads it from
  // o.cache, freezes its decoder, and encodes every training image. progress, when set, is
  // called after every training minibatch (loss: reconstruction per example; never called when
  // the VAE comes from the cache). Errors: bad options, a cache file that does not hold such a
  // VAE, io errors.
  static Expected<std::unique_ptr<RecollectionStore>> build(
      const ImageDataset& ds, const RecollectionStoreOptions& o,
      const TrainingProgressFn& progress = nullptr);
  ~RecollectionStore();

  // n stored codes drawn uniformly (buffer sampling), int64 [n, c].
  at::Tensor sample_stored(size_t n, std::mt19937_64& rng) const;
  // n codes drawn uniformly from the whole latent space (code sampling), int64 [n, c].
  at::Tensor sample_random(size_t n, std::mt19937_64& rng) const;
  // Recollections of codes: float [n, rows*cols] in [0, 1].
  at::Tensor decode(const at::Tensor& codes) const;

  const RecollectionStoreStats& stats() const;

 private:
  struct Impl;
  explicit RecollectionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
