#include "modules/distill/distiller.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "modules/common/finite_step.h"
#include "modules/distill/diverse_selection.h"
#include "modules/distill/mnist_tensors.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;

Status check(const DistillOptions& o, const RecollectionStore* store) {
  const bool generative = o.source == "buffer" || o.source == "codes";
  if (!generative && o.source != "real" && o.source != "real_teacher") {
    return Status(
        ErrorCode::invalid_argument,
        "distill: source must be real, real_teacher, buffer or codes, not '" + o.source + "'");
  }
  if (generative && store == nullptr) {
    return Status(ErrorCode::invalid_argument,
                  "distill: source '" + o.source + "' needs a recollection memory");
  }
  if (o.curriculum != "random" && o.curriculum != "active" && o.curriculum != "active_diverse") {
    return Status(
        ErrorCode::invalid_argument,
        "distill: curriculum must be random, active or active_diverse, not '" + o.curriculum + "'");
  }
  if (o.k < 1 || o.n < 1 || o.batch < 1 || !(o.lr > 0) || o.episodes < 0) {
    return Status(ErrorCode::invalid_argument,
                  "distill: k, n, batch >= 1, lr > 0 and episodes >= 0 required");
  }
  if (o.similarity != "dot" && o.similarity != "cosine" && o.similarity != "centered") {
    return Status(
        ErrorCode::invalid_argument,
        "distill: similarity must be dot, cosine or centered, not '" + o.similarity + "'");
  }
  if (!(o.msss_gamma > 0 && o.msss_gamma <= 1)) {
    return Status(ErrorCode::invalid_argument,
                  "distill: msss_gamma must be in (0, 1], not " + std::to_string(o.msss_gamma));
  }
  if (o.curriculum == "active_diverse" && o.batch != 1) {
    return Status(ErrorCode::invalid_argument,
                  "distill: active_diverse trains one example "
                  "per episode (batch = 1)");
  }
  return Status();
}

// Student test accuracy, evaluated in chunks.
double student_accuracy(torch::nn::SequentialImpl& net, const ImageDataset& ds) {
  torch::NoGradGuard no_grad;
  net.eval();
  int64_t right = 0;
  const size_t n = ds.test_size();
  for (size_t s = 0; s < n; s += 1000) {
    std::vector<int64_t> idx;
    for (size_t i = s; i < std::min(n, s + 1000); ++i) idx.push_back(static_cast<int64_t>(i));
    at::Tensor pred = net.forward(dataset_images(ds, false, idx)).argmax(1);
    right += pred.eq(dataset_labels(ds, false, idx)).sum().item<int64_t>();
  }
  net.train();
  return n == 0 ? 0.0 : static_cast<double>(right) / static_cast<double>(n);
}

// Per-example loss of the student against targets: soft cross-entropy with the teacher's
// probabilities, or cross-entropy with labels (int64).
at::Tensor per_example_loss(const at::Tensor& logits, const at::Tensor& target) {
  at::Tensor logp = at::log_softmax(logits, 1);
  if (target.scalar_type() == at::kLong) return -logp.gather(1, target.unsqueeze(1)).squeeze(1);
  return -(target * logp).sum(1);
}

}  // namespace

Expected<DistillResult> distill(const ImageDataset& ds, Learner& teacher,
                                const RecollectionStore* store, const DistillOptions& o,
                                const DistillProgressFn& progress) {
  if (Status s = check(o, store); !s.ok()) return s;
  ClassifierConfig sc = o.student;
  sc.rows = static_cast<int>(ds.rows);
  sc.cols = static_cast<int>(ds.cols);
  sc.classes = ds.num_classes;
  torch::manual_seed(o.seed);
  auto student = make_classifier(sc);
  if (!student.ok()) return student.status();
  torch::nn::SequentialImpl& net = **student;
  torch::optim::Adam adam(net.parameters(), torch::optim::AdamOptions(o.lr));
  std::mt19937_64 rng(o.seed * 1000003 + 17);
  std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(ds.train_size()) - 1);

  const bool active = o.curriculum != "random";
  const bool diverse = o.curriculum == "active_diverse";
  const size_t per_example = diverse ? static_cast<size_t>(o.k * o.n) : active ? o.k : 1;
  const size_t drawn_per_episode = per_example * static_cast<size_t>(o.batch);

  DistillResult result;
  std::vector<int64_t> checkpoints = o.checkpoints;
  std::sort(checkpoints.begin(), checkpoints.end());
  size_t next_checkpoint = 0;
  while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint] <= 0) {
    ++next_checkpoint;
  }
  double drawn_pixels = 0, trained_pixels = 0;
  int64_t trained_values = 0;
  const auto start = Clock::now();
  net.train();
  for (int64_t episode = 1; episode <= o.episodes; ++episode) {
    // Candidates.
    at::Tensor x, labels;
    if (o.source == "real" || o.source == "real_teacher") {
      std::vector<int64_t> idx(drawn_per_episode);
      for (auto& i : idx) i = pick(rng);
      x = dataset_images(ds, true, idx);
      labels = dataset_labels(ds, true, idx);
    } else {
      const at::Tensor codes = o.source == "buffer" ? store->sample_stored(drawn_per_episode, rng)
                                                    : store->sample_random(drawn_per_episode, rng);
      x = store->decode(codes);
    }
    result.examples_drawn += static_cast<int64_t>(drawn_per_episode);
    drawn_pixels += x.sum().item<double>();
    if (diverse) {
      MsssOptions msss;
      msss.cosine = o.similarity == "cosine";
      msss.subset_fraction = o.msss_gamma;
      // "centered": dot products of the candidates' deviations from their mean image.
      const at::Tensor features =
          (o.similarity == "centered" ? x - x.mean(0, /*keepdim=*/true) : x).contiguous();
      auto keep = select_msss(features.data_ptr<float>(), static_cast<size_t>(x.size(0)),
                              static_cast<size_t>(x.size(1)), static_cast<size_t>(o.k), msss, &rng);
      if (!keep.ok()) return keep.status();
      std::vector<int64_t> kept(keep->begin(), keep->end());
      const at::Tensor sel = at::tensor(kept, at::kLong);
      x = x.index_select(0, sel);
      if (labels.defined()) labels = labels.index_select(0, sel);
    }
    at::Tensor target;
    if (o.source == "real") {
      target = labels;
    } else {
      target = teacher.predict(x);  // the teacher's output vector (probabilities)
    }
    if (active) {
      // The hardest candidate of each group of k (the group is all of x for diverse).
      const int64_t group = diverse ? x.size(0) : o.k;
      at::Tensor losses;
      {
        torch::NoGradGuard no_grad;
        losses = per_example_loss(net.forward(x), target).contiguous();
      }
      std::vector<int64_t> chosen;
      for (int64_t g = 0; g < x.size(0) / group; ++g) {
        auto h = hardest(losses.data_ptr<float>() + g * group, static_cast<size_t>(group));
        if (!h.ok()) return h.status();
        chosen.push_back(g * group + static_cast<int64_t>(*h));
      }
      const at::Tensor sel = at::tensor(chosen, at::kLong);
      x = x.index_select(0, sel);
      target = target.index_select(0, sel);
    }
    trained_pixels += x.sum().item<double>();
    trained_values += x.numel();
    adam.zero_grad();
    const at::Tensor loss = per_example_loss(net.forward(x), target).mean();
    loss.backward();
    if (!step_if_finite(adam, loss)) ++result.skipped_steps;

    if (next_checkpoint < checkpoints.size() && episode == checkpoints[next_checkpoint]) {
      const auto eval_start = Clock::now();
      result.episodes.push_back(episode);
      result.accuracy.push_back(student_accuracy(net, ds));
      result.eval_seconds += std::chrono::duration<double>(Clock::now() - eval_start).count();
      ++next_checkpoint;
    }
    if (progress) progress(episode, loss.item<double>(), result);
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto pixels = static_cast<double>(ds.pixels_per_image());
  if (result.examples_drawn > 0) {
    result.drawn_mean_pixel = drawn_pixels / (static_cast<double>(result.examples_drawn) * pixels);
    result.trained_mean_pixel = trained_pixels / static_cast<double>(trained_values);
  }
  return result;
}

}  // namespace engram
