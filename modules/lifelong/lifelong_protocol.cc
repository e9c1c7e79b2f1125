#include "modules/lifelong/lifelong_protocol.h"

#include <ATen/ATen.h>

#include <chrono>
#include <limits>
#include <random>

#include "io/datasets/random_index.h"
#include "io/reports/png_image.h"
#include "modules/distill/mnist_tensors.h"

namespace engram {
namespace {

Status bad(const std::string& what) {
  return {ErrorCode::invalid_argument, "lifelong protocol: " + what};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One distribution's data: training images (shuffled), held-out validation and test images.
struct Distribution {
  at::Tensor train, validation, test;
};

std::vector<Distribution> load_distributions(const ImageDataset& ds,
                                             const LifelongProtocolConfig& c) {
  std::mt19937_64 rng(c.vae.seed * 7919 + 17);
  std::vector<Distribution> out;
  for (const std::vector<int>& classes : c.distributions) {
    auto member = [&](uint8_t label) {
      for (int k : classes) {
        if (k == label) return true;
      }
      return false;
    };
    std::vector<int64_t> train, test;
    for (size_t i = 0; i < ds.train_size(); ++i) {
      if (member(ds.train_y[i])) train.push_back(static_cast<int64_t>(i));
    }
    for (size_t i = 0; i < ds.test_size(); ++i) {
      if (member(ds.test_y[i])) test.push_back(static_cast<int64_t>(i));
    }
    shuffle_indices(train.data(), train.size(), rng);
    const auto held = static_cast<std::ptrdiff_t>(c.validation);
    if (c.test_examples > 0 && static_cast<int64_t>(test.size()) > c.test_examples) {
      test.resize(static_cast<size_t>(c.test_examples));
    }
    out.push_back({dataset_images(ds, true, {train.begin() + held, train.end()}),
                   dataset_images(ds, true, {train.begin(), train.begin() + held}),
                   dataset_images(ds, false, test)});
  }
  return out;
}

// Cycles through the rows of a training set in a fresh random order each epoch.
class RowStream {
 public:
  RowStream(at::Tensor rows, uint64_t seed) : rows_(std::move(rows)), rng_(seed) {}
  at::Tensor next(int64_t n) {
    std::vector<int64_t> picked;
    picked.reserve(static_cast<size_t>(n));
    while (static_cast<int64_t>(picked.size()) < n) {
      if (pos_ == order_.size()) {
        order_.resize(static_cast<size_t>(rows_.size(0)));
        for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
        shuffle_indices(order_.data(), order_.size(), rng_);
        pos_ = 0;
      }
      picked.push_back(order_[pos_++]);
    }
    return rows_.index_select(0, at::tensor(picked, at::kLong));
  }

 private:
  at::Tensor rows_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
  size_t pos_ = 0;
};

// Learns one interval until validation -ELBO stops improving for `patience` steps (or
// max_steps). Returns the steps taken; adds the real examples used to *real. Calls on_step
// (interval, step, best) after each step when set.
int64_t learn_interval(LifelongVae& vae, RowStream& data, const at::Tensor& validation,
                       const LifelongProtocolConfig& c, int64_t* real, int interval,
                       const LifelongStepFn& on_step) {
  double best = std::numeric_limits<double>::infinity();
  int64_t best_step = 0, step = 0;
  while (step < c.max_steps) {
    const int64_t synthetic = vae.synthetic_share(c.batch);
    vae.learn(data.next(c.batch - synthetic), synthetic);
    *real += c.batch - synthetic;
    ++step;
    if (step % c.eval_every != 0) {
      if (on_step) on_step(interval, step, best);
      continue;
    }
    // The same noise at every measurement: differences come from the weights alone.
    const double loss =
        vae.negative_elbo(validation, false, c.vae.seed * 7 + 3).mean().item<double>();
    if (loss < best) {
      best = loss;
      best_step = step;
    }
    if (on_step) on_step(interval, step, best);
    if (step - best_step >= c.patience) break;
  }
  return step;
}

// Mean -ELBO of each distribution 0..last's test set, and the mean over all their examples.
double measure(LifelongVae& vae, const std::vector<Distribution>& data, size_t last,
               std::vector<double>* row) {
  double total = 0;
  int64_t count = 0;
  for (size_t d = 0; d <= last; ++d) {
    const at::Tensor nelbo = vae.negative_elbo(data[d].test);
    row->push_back(nelbo.mean().item<double>());
    total += nelbo.sum().item<double>();
    count += nelbo.size(0);
  }
  return count > 0 ? total / static_cast<double>(count) : 0.0;
}

Status write_grid(LifelongVae& vae, const LifelongProtocolConfig& c) {
  // A row of the grid per z_d value.
  const at::Tensor values = at::arange(vae.j(), at::kLong).repeat_interleave(c.grid_samples);
  const at::Tensor images = vae.sample_student(values).contiguous();
  return write_image_grid_png(c.grid_path, images.data_ptr<float>(),
                              static_cast<int>(images.size(0)), c.vae.rows, c.vae.cols,
                              c.grid_samples);
}

}  // namespace

Status validate(const LifelongProtocolConfig& c, const ImageDataset& ds) {
  if (Status s = validate(c.vae); !s.ok()) return s;
  if (c.vae.rows != ds.rows || c.vae.cols != ds.cols)
    return bad("image shape differs from the dataset's");
  if (c.distributions.empty()) return bad("distributions must not be empty");
  if (c.batch < 2 || c.batch > 65536) return bad("batch must be in [2, 65536]");
  if (c.max_steps < 1) return bad("max_steps must be >= 1");
  if (c.patience < 1) return bad("patience must be >= 1");
  if (c.eval_every < 1) return bad("eval_every must be >= 1");
  if (c.validation < 1) return bad("validation must be >= 1");
  if (c.test_examples < 0) return bad("test_examples must be >= 0");
  if (c.grid_samples < 1) return bad("grid_samples must be >= 1");
  std::vector<int64_t> per_class(static_cast<size_t>(ds.num_classes), 0);
  for (uint8_t y : ds.train_y) ++per_class[y];
  for (size_t i = 0; i < c.distributions.size(); ++i) {
    const std::vector<int>& classes = c.distributions[i];
    if (classes.empty()) return bad("distribution " + std::to_string(i + 1) + " has no class");
    int64_t examples = 0;
    for (int k : classes) {
      if (k < 0 || k >= ds.num_classes) {
        return bad("class " + std::to_string(k) + " is not a class of " + ds.name);
      }
      examples += per_class[static_cast<size_t>(k)];
    }
    if (examples <= c.validation) {
      return bad("distribution " + std::to_string(i + 1) +
                 " has no more training examples than `validation`");
    }
  }
  return {};
}

Expected<LifelongProtocolResult> run_lifelong_protocol(const ImageDataset& ds,
                                                       const LifelongProtocolConfig& c,
                                                       const LifelongProgressFn& progress,
                                                       const LifelongStepFn& on_step) {
  if (Status s = validate(c, ds); !s.ok()) return s;
  const auto started = std::chrono::steady_clock::now();
  const std::vector<Distribution> data = load_distributions(ds, c);
  const size_t n = data.size();
  LifelongVaeConfig vc = c.vae;
  if (c.batch_mode) {
    vc.j = static_cast<int>(n);
    vc.grow = false;
  }
  auto created = LifelongVae::create(vc);
  if (!created.ok()) return created.status();
  LifelongVae& vae = **created;
  LifelongProtocolResult r;

  if (c.batch_mode) {
    std::vector<at::Tensor> train, validation;
    for (const Distribution& d : data) {
      train.push_back(d.train);
      validation.push_back(d.validation);
    }
    RowStream stream(at::cat(train), vc.seed * 31 + 5);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t real = 0;
    r.steps.push_back(learn_interval(vae, stream, at::cat(validation), c, &real, 0, on_step));
    r.real_examples.push_back(real);
    r.interval_seconds.push_back(seconds_since(t0));
    std::vector<double> all;
    measure(vae, data, n - 1, &all);
    for (size_t i = 0; i < n; ++i) {
      r.elbo_matrix.emplace_back(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      double total = 0;
      int64_t count = 0;
      for (size_t d = 0; d <= i; ++d) {
        total += all[d] * static_cast<double>(data[d].test.size(0));
        count += data[d].test.size(0);
      }
      r.elbo.push_back(total / static_cast<double>(count));
      r.consistency.emplace_back();
    }
    if (progress) progress(0, r);
  } else {
    for (size_t i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      if (i > 0) vae.transition(true);
      // Validation: the distribution's held-out examples and, for each earlier distribution the
      // teacher summarises, as many of its samples (drawn once per interval).
      at::Tensor validation = data[i].validation;
      if (vae.has_teacher()) {
        auto samples = vae.sample_teacher(validation.size(0) * vae.distributions());
        if (!samples.ok()) return samples.status();
        validation = at::cat({validation, *samples});
      }
      RowStream stream(data[i].train, vc.seed * 31 + 5 + i);
      int64_t real = 0;
      r.steps.push_back(
          learn_interval(vae, stream, validation, c, &real, static_cast<int>(i), on_step));
      r.real_examples.push_back(real);
      r.interval_seconds.push_back(seconds_since(t0));
      std::vector<double> row;
      r.elbo.push_back(measure(vae, data, i, &row));
      r.elbo_matrix.push_back(std::move(row));
      std::vector<double> agreement;
      for (size_t d = 0; d < i; ++d) {
        auto a = vae.consistency(data[d].test);
        if (!a.ok()) return a.status();
        agreement.push_back(*a);
      }
      r.consistency.push_back(std::move(agreement));
      if (progress) progress(static_cast<int>(i), r);
    }
  }
  if (!c.grid_path.empty()) {
    if (Status s = write_grid(vae, c); !s.ok()) return s;
  }
  r.weight_bytes = vae.weight_bytes();
  r.final_j = vae.j();
  r.seconds = seconds_since(started);
  return r;
}

}  // namespace engram
