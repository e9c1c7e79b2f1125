// Epoch-wise shuffled minibatch indices over a pool (usually a Task's train_idx).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// Yields the pool's indices in a fresh random order each epoch; a batch that crosses the end
// of an epoch continues into the next one, so every batch is full. Reproducible: the same
// pool and seed give the same sequence on every platform. Not thread-safe (one owner).
class BatchSampler {
 public:
  // Copies the pool (dataset indices). An empty pool is allowed; next() then yields nothing.
  BatchSampler(std::vector<uint32_t> pool, uint64_t seed);

  // Writes the next n indices to out (caller-owned, room for n) and returns n, or 0 when the
  // pool is empty.
  size_t next(size_t n, uint32_t* out);
  // Same, returned as a vector.
  std::vector<uint32_t> next(size_t n);

  size_t pool_size() const { return pool_.size(); }
  // Epochs started so far minus one: 0 during the first pass over the pool.
  uint64_t epoch() const { return epoch_; }
  // Indices already taken from the current epoch.
  size_t position() const { return pos_; }

  // The sampler's position as a short string (epoch, position, RNG state at the start of the
  // epoch, a hash of the pool), for snapshots.
  std::string save_state() const;
  // Restores a position saved by save_state() of a sampler over the same pool. Errors
  // (malformed) on garbage or a different pool; the sampler is unchanged then.
  Status restore_state(const std::string& state);

 private:
  void start_epoch();

  std::vector<uint32_t> pool_;
  std::vector<uint32_t> order_;
  std::mt19937_64 rng_;
  std::string epoch_rng_;  // rng_ as it was before this epoch's shuffle
  uint64_t epoch_ = 0;
  size_t pos_ = 0;
};

}  // namespace engram
