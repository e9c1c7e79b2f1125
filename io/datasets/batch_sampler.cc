#include "io/datasets/batch_sampler.h"

#include <sstream>

#include "io/datasets/random_index.h"

namespace engram {
namespace {

constexpr const char* kStateTag = "engram-batch-sampler-v1";

uint64_t pool_hash(const std::vector<uint32_t>& pool) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the indices
  for (uint32_t v : pool) {
    for (int b = 0; b < 4; ++b) {
      h ^= (v >> (8 * b)) & 0xFF;
      h *= 1099511628211ull;
    }
  }
  return h ^ pool.size();
}

}  // namespace

BatchSampler::BatchSampler(std::vector<uint32_t> pool, uint64_t seed)
    : pool_(std::move(pool)), rng_(seed) {
  start_epoch();
}

void BatchSampler::start_epoch() {
  std::ostringstream os;
  os << rng_;
  epoch_rng_ = os.str();
  // Each epoch shuffles the pool from its original order, so that an epoch can be rebuilt
  // from the RNG state alone (see restore_state).
  order_ = pool_;
  shuffle_indices(order_.data(), order_.size(), rng_);
  pos_ = 0;
}

size_t BatchSampler::next(size_t n, uint32_t* out) {
  if (order_.empty()) return 0;
  for (size_t i = 0; i < n; ++i) {
    if (pos_ == order_.size()) {
      ++epoch_;
      start_epoch();
    }
    out[i] = order_[pos_++];
  }
  return n;
}

std::vector<uint32_t> BatchSampler::next(size_t n) {
  if (pool_.empty()) return {};
  std::vector<uint32_t> v(n);
  next(n, v.data());
  return v;
}

std::string BatchSampler::save_state() const {
  std::ostringstream os;
  os << kStateTag << ' ' << pool_hash(pool_) << ' ' << epoch_ << ' ' << pos_ << ' ' << epoch_rng_;
  return os.str();
}

Status BatchSampler::restore_state(const std::string& state) {
  std::istringstream is(state);
  std::string tag;
  uint64_t hash = 0, epoch = 0;
  size_t pos = 0;
  std::mt19937_64 rng;
  is >> tag >> hash >> epoch >> pos >> rng;
  if (is.fail() || tag != kStateTag) {
    return Status(ErrorCode::malformed, "batch sampler state is not valid");
  }
  is >> std::ws;
  if (!is.eof()) return Status(ErrorCode::malformed, "batch sampler state has trailing data");
  if (hash != pool_hash(pool_)) {
    return Status(ErrorCode::malformed, "batch sampler state belongs to a different pool");
  }
  if (pos > pool_.size()) {
    return Status(ErrorCode::malformed, "batch sampler state position is past the pool");
  }
  rng_ = rng;
  epoch_ = epoch;
  start_epoch();
  pos_ = pos;
  return Status();
}

}  // namespace engram
