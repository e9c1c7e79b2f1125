// Distortion against compression (papers/000 Tables 6 and 7): trains one autoencoder on a
// dataset's train split and measures how far its reconstructions of stored codes are from the
// images, next to how many bits a code costs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "modules/common/training_progress.h"
#include "runtime/status.h"

namespace engram {

struct CompressionProbeConfig {
  std::string latent = "discrete";  // "discrete" (DiscreteVae) or "continuous" (GaussianVae)
  int c = 38, l = 2;                // discrete: c variables of l values
  int h = 20;                       // continuous: latent floats
  std::string arch = "mlp";         // discrete only: DiscreteVae's "mlp" or "conv"
  std::vector<int> hidden{256};     // encoder widths, mirrored in the decoder
  double kl_weight = 1.0;  // continuous only; the discrete VAE trains with 0 (project default)
  int epochs = 5;          // passes over the train split...
  int64_t steps = 0;       // ...or, when > 0, exactly this many minibatches (epochs ignored)
  int batch = 128;
  double lr = 1e-3;
  uint64_t seed = 1;           // weights, noise and minibatch order
  int64_t train_examples = 0;  // the first N of the train split (0 or more than it has = all)
  int64_t test_examples = 0;   // the first N of the test split measured (likewise)
  int threads = 0;             // torch intra-op threads during the call, <= 256 (0 = as is)
  std::string device = "cpu";
};

// Checks the configuration against the dataset and names the offending field: latent kind,
// c >= 1, l >= 2, h >= 1 (the models' own ranges apply too), epochs/steps >= 0, batch >= 1,
// lr > 0, example counts >= 0, threads in [0, 256], and a non-empty train and test split.
Status validate(const CompressionProbeConfig& config, const ImageDataset& ds);

struct CompressionResult {
  std::string latent;
  int c = 0, l = 0, h = 0;    // the unused kind's fields are 0
  int64_t bits_per_code = 0;  // discrete: c * ceil(log2 l); continuous: 32 * h
  int64_t image_bits = 0;     // rows * cols * 8
  double compression = 0;     // image_bits / bits_per_code
  double l1 = 0;              // mean |decode(encode(x)) - x| over the measured test images
  double l1_train = 0;        // the same over the first test_examples (or all) train images
                              // used for training (the paper reports training distortion)
  double l1_untrained = 0;    // test l1 of the same model before any step (a reference)
  double final_loss = 0;      // mean training loss per example over the last epoch's worth
  double seconds = 0;         // wall time of the training steps only
  int64_t steps = 0;          // minibatches trained
  int64_t train_examples = 0, test_examples = 0;
  int64_t weight_bytes = 0;  // encoder + decoder
};

// Trains the configured autoencoder on shuffled minibatches of the train split (the order is a
// function of config.seed alone) and measures reconstruction distortion with pixels in [0,1].
// Discrete codes are hard: encode() takes the most likely value of each variable, recall()
// decodes them. Continuous codes are the posterior means. Blocks for the whole training run.
// Errors: invalid configuration (validate), or an exception from torch as internal. Not
// thread-safe when config.threads != 0 (torch's thread count is process state). progress, when
// set, is called after every training minibatch (with `steps`, the last epoch may be partial).
Expected<CompressionResult> measure_compression(const ImageDataset& ds,
                                                const CompressionProbeConfig& config,
                                                const TrainingProgressFn& progress = nullptr);

// Bits of one code: c * ceil(log2 l) for "discrete", 32 * h for "continuous" (0 if unknown).
int64_t code_bits(const CompressionProbeConfig& config);

}  // namespace engram
