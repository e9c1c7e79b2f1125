// Adam steps per second, fused (modules/common/fused_adam.h) against torch::optim::Adam::step(),
// on the parameter shapes of the two networks a Split-MNIST recollections run steps every
// iteration: the neocortex MLP 784-400-400-10 and the dvae's dense encoder 784-256-200 plus
// decoder 200-256-784 (one optimiser over both). Each path steps its own copy of the parameters
// with the same fixed gradients; the paths alternate in rounds of --round steps so that both see
// the same machine load. torch runs with --threads intra-op threads (1 by default, as in a
// one-core run).
//
// Prints figures only; asserts nothing about time. Exits 1 when the two copies' parameters
// differ by more than 1e-4 (relative) at the end, 2 on a usage error.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "modules/common/fused_adam.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Net {
  std::string name;
  std::vector<std::vector<int64_t>> shapes;
};

// Weight and bias shapes of dense layers in -> out along `widths`.
std::vector<std::vector<int64_t>> dense(const std::vector<int64_t>& widths) {
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    out.push_back({widths[i + 1], widths[i]});
    out.push_back({widths[i + 1]});
  }
  return out;
}

std::vector<at::Tensor> make(const Net& net) {
  torch::manual_seed(7);
  std::vector<at::Tensor> out;
  for (const auto& s : net.shapes) {
    at::Tensor p = (at::randn(s) * 0.05).set_requires_grad(true);
    p.mutable_grad() = at::randn(s) * 1e-3;
    out.push_back(p);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"engram Adam step: fused vs torch::optim::Adam"};
  int steps = 2000, round = 50, threads = 1;
  app.add_option("--steps", steps, "steps per path and network")->check(CLI::Range(50, 10000000));
  app.add_option("--round", round, "steps per path before switching")->check(CLI::Range(1, 100000));
  app.add_option("--threads", threads, "intra-op threads")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);

  std::vector<Net> nets{{"neocortex mlp 784-400-400-10", dense({784, 400, 400, 10})},
                        {"dvae 784-256-200 + 200-256-784", dense({784, 256, 200})}};
  for (const auto& s : dense({200, 256, 784})) nets[1].shapes.push_back(s);

  int status = 0;
  fmt::print("threads {}, {} steps per path, rounds of {}\n", threads, steps, round);
  fmt::print("{:<32} {:>10} {:>12} {:>12} {:>8} {:>10}\n", "network", "params", "torch st/s",
             "fused st/s", "ratio", "max rel d");
  for (const Net& net : nets) {
    std::vector<at::Tensor> tp = make(net), fp = make(net);
    int64_t numel = 0;
    for (const auto& p : tp) numel += p.numel();
    torch::optim::Adam torch_adam(tp, torch::optim::AdamOptions(1e-3));
    torch::optim::Adam fused_adam(fp, torch::optim::AdamOptions(1e-3));
    // Warm-up rounds create the moments and let the allocator settle (torch's step allocates
    // two temporaries of each parameter's size).
    for (int i = 0; i < round; ++i) torch_adam.step();
    for (int i = 0; i < round; ++i) engram::fused_adam_step(fused_adam);
    double torch_s = 0, fused_s = 0;
    for (int done = 0; done < steps; done += round) {
      const int n = std::min(round, steps - done);
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) torch_adam.step();
      auto t1 = Clock::now();
      for (int i = 0; i < n; ++i) engram::fused_adam_step(fused_adam);
      auto t2 = Clock::now();
      torch_s += std::chrono::duration<double>(t1 - t0).count();
      fused_s += std::chrono::duration<double>(t2 - t1).count();
    }
    double worst = 0;
    for (size_t i = 0; i < tp.size(); ++i) {
      const double scale = tp[i].abs().max().item<double>() + 1e-30;
      worst = std::max(worst, (tp[i] - fp[i]).abs().max().item<double>() / scale);
    }
    if (worst > 1e-4) status = 1;
    fmt::print("{:<32} {:>10} {:>12.1f} {:>12.1f} {:>7.2f}x {:>10.2e}\n", net.name, numel,
               steps / torch_s, steps / fused_s, torch_s / fused_s, worst);
    fmt::print("{:<32} {:>10} {:>10.3f}ms {:>10.3f}ms\n", "  per step", "", 1e3 * torch_s / steps,
               1e3 * fused_s / steps);
  }
  if (status != 0) fmt::print("the fused and torch parameters differ by more than 1e-4\n");
  return status;
}
