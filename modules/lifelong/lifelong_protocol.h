// The lifelong generative-modelling protocol of papers/002 (SUMMARY.md A.3): a LifelongVae
// learns a stream of distributions one after another (each a set of a dataset's classes), with
// early stopping on validation -ELBO within each interval, and is measured after each interval
// on the test sets of every distribution seen. The batch upper bound trains one VAE on all the
// distributions at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "modules/association/lifelong_vae.h"
#include "runtime/status.h"

namespace engram {

struct LifelongProtocolConfig {
  LifelongVaeConfig vae;
  std::vector<std::vector<int>> distributions;  // the classes of each distribution, in order
  // The upper bound: one VAE with J = the number of distributions, no teacher, trained on all
  // the distributions' data mixed, then measured on each prefix of the stream.
  bool batch_mode = false;
  int batch = 64;        // examples per step (real and teacher samples together)
  int max_steps = 2000;  // cap per interval (the whole run in batch mode)
  int patience = 50;  // stop an interval when validation -ELBO has not improved for this many steps
  int eval_every = 10;        // steps between validation measurements
  int validation = 200;       // training examples of each distribution held out for validation
  int64_t test_examples = 0;  // per distribution (0 = its whole test split)
  std::string grid_path;      // PNG of final student samples, a row per z_d value ("" = none)
  int grid_samples = 10;      // samples per row
};

// Checks the protocol (the VAE's config through validate) and names the offending field:
// distributions non-empty with classes of the dataset, each with more training examples than
// `validation`; batch in [2, 65536]; max_steps >= 1; patience >= 1; eval_every >= 1;
// validation >= 1; test_examples >= 0; grid_samples >= 1.
Status validate(const LifelongProtocolConfig& config, const ImageDataset& dataset);

struct LifelongProtocolResult {
  std::vector<double> elbo;                      // [i]: mean -ELBO over the test sets of 0..i
  std::vector<std::vector<double>> elbo_matrix;  // [i][d], d <= i: -ELBO on distribution d
  // [i][d], d < i: argmax z_d agreement of the student at the end of interval i and its
  // teacher (the student at the end of interval i - 1) on distribution d's test set.
  std::vector<std::vector<double>> consistency;
  std::vector<int64_t> steps;          // per interval
  std::vector<int64_t> real_examples;  // real examples learned per interval
  std::vector<double> interval_seconds;
  double seconds = 0;
  int64_t weight_bytes = 0;  // one VAE at the end
  int final_j = 0;
};

// Progress: after each interval, its index and the result so far.
using LifelongProgressFn = std::function<void(int interval, const LifelongProtocolResult&)>;
// Finer progress: after each learning step of an interval (interval 0-based, step 1-based, at
// most max_steps; batch mode has one interval), with the best validation -ELBO measured so far
// in the interval (infinity before the first measurement).
using LifelongStepFn = std::function<void(int interval, int64_t step, double best_validation)>;

// Runs the protocol on `dataset` (images scaled to [0, 1]; evaluation with the exact sum over
// z_d, see LifelongVae::negative_elbo). Deterministic for a seed (config.vae.seed). Errors:
// invalid config, an unavailable device, a grid that cannot be written. progress and step, when
// set, are called on the calling thread as described above.
Expected<LifelongProtocolResult> run_lifelong_protocol(const ImageDataset& dataset,
                                                       const LifelongProtocolConfig& config,
                                                       const LifelongProgressFn& progress = {},
                                                       const LifelongStepFn& step = {});

}  // namespace engram
