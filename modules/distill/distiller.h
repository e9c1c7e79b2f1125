// Generative knowledge distillation (papers/000 section 3, papers/001): a student network learns
// to match a teacher's output vector on recollections decoded from a compressed memory, with
// no stored training example, under a curriculum that chooses which recollections it sees.
//
// One episode = one Adam step of the student on one chosen example (`batch` examples when
// batch > 1). Why: the paper's tables reach ~90% after 10^3 episodes and ~97% after 10^4 with
// real data, the learning curve of single-example steps; with minibatches of 64 the same
// network passes 95% within 10^3 steps, which the tables rule out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "modules/distill/recollection_store.h"
#include "modules/neocortex/learner.h"
#include "runtime/status.h"

namespace engram {

struct DistillOptions {
  ClassifierConfig student;  // "cnn" or "mlp" (hidden {300, 300} in the paper)
  // Where the examples come from:
  //   "real"          training images with their true labels (the upper baseline)
  //   "real_teacher"  training images with the teacher's output vector
  //   "buffer"        recollections of stored codes (buffer sampling), teacher outputs
  //   "codes"         recollections of random codes (code sampling), teacher outputs
  std::string source = "buffer";
  // Which candidates the student trains on:
  //   "random"          the first `batch` drawn
  //   "active"          draw k per example, train on the one with the highest student loss
  //   "active_diverse"  draw k*n, keep k by MSSS (appendix D; similarity = dot product of
  //                     the inputs), then the one with the highest student loss
  std::string curriculum = "random";
  int k = 10, n = 10;
  // MSSS similarity for active_diverse: "dot" (the paper: dot product of the inputs),
  // "cosine" (dot product of unit vectors, so near-blank recollections are not "diverse") or
  // "centered" (dot product of the inputs minus the mean of the k*n candidates).
  std::string similarity = "dot";
  // gamma of MSSS (Algorithm 1): the fraction of the not yet chosen candidates that each greedy
  // step examines, a random subset drawn with the run's rng. In (0, 1]; 1 examines all of them.
  // The paper does not give its value; small values move active_diverse towards active.
  double msss_gamma = 1;
  int batch = 1;
  double lr = 1e-3;
  uint64_t seed = 1;
  int64_t episodes = 10000;
  std::vector<int64_t> checkpoints{100, 1000, 10000};  // evaluate after these episodes
};

struct DistillResult {
  std::vector<int64_t> episodes;  // the checkpoints reached
  std::vector<double> accuracy;   // student test accuracy at each
  double seconds = 0;             // wall time of the run, evaluations included
  double eval_seconds = 0;        // of which evaluating
  int64_t examples_drawn = 0;     // candidates generated (decoded or read)
  // Mean pixel value of every candidate drawn, and of the examples the student trained on: how
  // far the curriculum shifts what the student sees (e.g. towards faint recollections).
  double drawn_mean_pixel = 0;
  double trained_mean_pixel = 0;
  int64_t skipped_steps = 0;  // student steps not applied: loss or gradients not finite
};

// After each episode: its number (1-based), the student's loss on it (per example), and the
// result so far (checkpoints reached, examples drawn). Called on the training thread.
using DistillProgressFn =
    std::function<void(int64_t episode, double loss, const DistillResult& so_far)>;

// Runs one distillation. `store` is required for sources "buffer" and "codes" (null
// otherwise). The teacher is only read. progress, when set, is called after every episode.
// Errors: invalid_argument naming the option.
Expected<DistillResult> distill(const ImageDataset& ds, Learner& teacher,
                                const RecollectionStore* store, const DistillOptions& options,
                                const DistillProgressFn& progress = nullptr);

}  // namespace engram
