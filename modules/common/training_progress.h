// What a training loop over epochs of minibatches reports to a caller that shows progress (the
// Lua bindings draw it with io/reports/progress.h; modules never print it themselves).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>

namespace engram {

// One minibatch done. Counts are 1-based: the first call has epoch 1, batch 1, step 1.
struct TrainingTick {
  int epoch = 0;                   // the epoch this batch belongs to
  int epochs = 0;                  // epochs in the run
  int64_t batch = 0;               // batches done in this epoch
  int64_t batches = 0;             // batches per epoch
  int64_t step = 0;                // batches done in the whole run
  int64_t steps = 0;               // batches in the whole run
  double loss = 0;                 // the batch's training loss (per example)
  double neg_elbo = std::nan("");  // the batch's -ELBO per example (nats) for a VAE; NaN otherwise
};

// Called after every minibatch, on the training thread; must not throw.
using TrainingProgressFn = std::function<void(const TrainingTick&)>;

}  // namespace engram
