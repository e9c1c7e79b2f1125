// One-example prediction, the work behind the C API's engram_predict: the dense inference copy
// (modules/neocortex/dense_predictor.h) against the torch classifier copy it replaces
// (Learner::predict on a [1, P] tensor), on the same weights and the same MNIST test images, in
// the same run. The classifier is the default 784-400-400-10 MLP after --steps Adam steps on
// MNIST (so the hidden units are as sparse as a trained net's). Calls alternate between the two
// paths in rounds of 100 so that both see the same machine load; p50, p99 and max of each, and
// the dense/torch ratios. torch runs with one intra-op thread (as the C API's predict caller
// does on a host thread) unless --threads says otherwise.
//
// Prints figures only; asserts nothing about time. Exits 1 when the two paths disagree on a
// predicted class or a probability by more than 1e-4, 2 on a usage error.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "io/datasets/dataset.h"
#include "modules/neocortex/learner.h"

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"engram one-example prediction: dense copy vs torch"};
  int calls = 20000, steps = 300, threads = 1;
  app.add_option("--calls", calls, "predictions per path")->check(CLI::Range(100, 10000000));
  app.add_option("--steps", steps, "training steps before timing")->check(CLI::Range(0, 100000));
  app.add_option("--threads", threads, "torch intra-op threads")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);

  auto ds = engram::load_dataset("mnist", std::string(ENGRAM_SOURCE_DIR) + "/data/mnist");
  if (!ds.ok()) {
    fmt::print("cannot load MNIST: {}\n", ds.status().to_string());
    return 1;
  }
  const int64_t p = static_cast<int64_t>(ds->pixels_per_image());
  const auto images = [&](bool train, size_t first, int64_t n) {
    at::Tensor x = at::empty({n, p});
    for (int64_t k = 0; k < n; ++k) {
      const uint8_t* img = ds->image(train, first + static_cast<size_t>(k));
      for (int64_t j = 0; j < p; ++j) x[k][j] = img[j] / 255.0f;
    }
    return x;
  };

  engram::LearnerConfig config;
  auto learner = engram::Learner::create(config);
  if (!learner.ok()) {
    fmt::print("{}\n", learner.status().to_string());
    return 1;
  }
  const at::Tensor all = at::ones({10}, at::kBool);
  for (int s = 0; s < steps; ++s) {
    const size_t first = static_cast<size_t>(s) * 64 % 59000;
    at::Tensor y = at::empty({64}, at::kLong);
    for (int k = 0; k < 64; ++k) y[k] = ds->train_y[first + static_cast<size_t>(k)];
    (*learner)->step(images(true, first, 64), y, at::Tensor(), at::Tensor(), all, 0.0);
  }
  auto dense = (*learner)->dense_predictor();
  if (!dense.ok()) {
    fmt::print("{}\n", dense.status().to_string());
    return 1;
  }

  const int64_t pool = 1000;
  const at::Tensor test = images(false, 0, pool).contiguous();
  std::vector<uint8_t> mask(10, 1);
  std::vector<float> probs(10);
  std::vector<double> dense_us, torch_us;
  double worst = 0;
  int disagreements = 0;
  for (int done = 0; done < calls; done += 100) {
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = done; i < std::min(calls, done + 100); ++i) {
        const at::Tensor row = test[i % pool];
        if (pass == 0) {
          const auto t0 = Clock::now();
          dense->predict(row.data_ptr<float>(), mask.data(), probs.data());
          dense_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        } else {
          const auto t0 = Clock::now();
          const at::Tensor out = (*learner)->predict(row.view({1, p}), all).contiguous();
          torch_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          if (i < static_cast<int>(pool)) {
            dense->predict(row.data_ptr<float>(), mask.data(), probs.data());
            const float* want = out.data_ptr<float>();
            const auto best = [](const float* v) { return std::max_element(v, v + 10) - v; };
            disagreements += best(want) != best(probs.data());
            for (int k = 0; k < 10; ++k)
              worst = std::max(worst, std::fabs(double(want[k] - probs[k])));
          }
        }
      }
    }
  }
  fmt::print(
      "one-example prediction, 784-400-400-10 MLP after {} steps, {} calls each, torch threads "
      "{}\n",
      steps, calls, threads);
  fmt::print("{:<8} {:>10} {:>10} {:>10}\n", "path", "p50 us", "p99 us", "max us");
  for (const auto& [name, v] : {std::pair{"dense", &dense_us}, std::pair{"torch", &torch_us}}) {
    fmt::print("{:<8} {:>10.1f} {:>10.1f} {:>10.1f}\n", name, percentile(*v, 0.5),
               percentile(*v, 0.99), percentile(*v, 1.0));
  }
  fmt::print("dense/torch: p50 {:.3f}, p99 {:.3f}\n",
             percentile(dense_us, 0.5) / percentile(torch_us, 0.5),
             percentile(dense_us, 0.99) / percentile(torch_us, 0.99));
  fmt::print("agreement on the first {} test images: {} different classes, max |dp| {:.2e}\n", pool,
             disagreements, worst);
  return disagreements == 0 && worst <= 1e-4 ? 0 : 1;
}
