// Learning throughput of engram's modules against a plain LibTorch loop (the floor).
//
//   floor:       torch::nn::Sequential 784-400-400-10 (ReLU), Adam 1e-3, cross entropy; the same
//                network and optimiser the neocortex builds, without engram around it, on the
//                same LibTorch thread count, BLAS and denormal flushing as engram's actors.
//   learner:     neocortex Learner::step, batch 128 without replay and 128 real + 128 replayed.
//   dvae:        DiscreteVae::learn (c=100, l=2, mlp hidden 256) without and with decoder
//                distillation on 128 stored codes, and recall (decode) of batches of 128 codes.
//   (the code buffer's own benchmark, torch-free, is bench_code_buffer)
//   session:     Session::learn end to end (actors, envelopes, pipelining) on 2 tasks of Split
//                MNIST, memory "none" and "dvae" (the second task replays).
//
// Batches come from MNIST (data/mnist) when it loads, random data otherwise (then the session
// rows are skipped). One LibTorch thread unless --threads; --quick shortens every row for smoke
// runs. The floor, learner and dvae rows run on a thread of their own, set up as engram's learning
// actors set up theirs (thread count, denormals flushed): on the process's main thread glibc's
// main malloc arena returns freed memory to the system after every step, and the page faults that
// follow made the floor 10-20% slower than the same loop inside engram (measured here: the floor
// ran at 0.83-0.94 of Learner::step on the main thread, and at 1.25-1.37 with the arena's trimming
// disabled through MALLOC_TRIM_THRESHOLD_). Floor, learner and dvae rows report the best of 3
// segments; session rows one timed pass. Prints figures only; asserts nothing about time (exit 1
// only when something fails). "vs floor" is items/s over the batch-128 floor's steps/s.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "modules/association/discrete_vae.h"
#include "modules/neocortex/learner.h"
#include "modules/session/session.h"
#include "runtime/system_info.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kBatch = 128;
constexpr int64_t kPixels = 784;
constexpr int kClasses = 10;
constexpr int kPoolBatches = 8;

struct Options {
  int threads = 1;
  bool quick = false;
  Clock::duration row_time() const {
    return quick ? std::chrono::milliseconds(300) : std::chrono::milliseconds(3000);
  }
  int warmup() const { return quick ? 3 : 5; }
  int session_iterations() const { return quick ? 20 : 200; }
};

struct Batch {
  at::Tensor x;  // [kBatch, kPixels] float in [0,1]
  at::Tensor y;  // [kBatch] int64
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Table output. "vs floor" only for rows that train the classifier (floor, learner, session).
double g_floor_per_s = 0;
bool g_failed = false;

void print_header() {
  fmt::print("{:<58} {:>5} {:>12} {:>11} {:>9}\n", "benchmark", "unit", "items/s", "ms/item",
             "vs floor");
}

void print_row(const std::string& name, const char* unit, double per_s, bool vs_floor) {
  const std::string rate =
      per_s >= 1000 ? fmt::format("{:.0f}", per_s) : fmt::format("{:.1f}", per_s);
  const std::string ms = per_s > 0 ? fmt::format("{:.4g}", 1000.0 / per_s) : "-";
  const std::string ratio =
      vs_floor && g_floor_per_s > 0 ? fmt::format("{:.2f}", per_s / g_floor_per_s) : "-";
  fmt::print("{:<58} {:>5} {:>12} {:>11} {:>9}\n", name, unit, rate, ms, ratio);
  std::fflush(stdout);
}

void fail(const std::string& what, const Status& s) {
  fmt::print("{:<58} FAILED: {}\n", what, s.message());
  std::fflush(stdout);
  g_failed = true;
}

// Calls step(i) `warmup` times, then for kSegments segments of row_time / kSegments each;
// returns the calls per second of the fastest segment (other jobs on the machine only ever slow
// a segment down, so the best one is the closest to the code's own speed).
template <typename F>
double calls_per_second(const Options& opt, F step) {
  constexpr int kSegments = 3;
  long i = 0;
  for (int w = 0; w < opt.warmup(); ++w) step(i++);
  double best = 0;
  for (int s = 0; s < kSegments; ++s) {
    long n = 0;
    const auto t0 = Clock::now();
    auto now = t0;
    while (now - t0 < opt.row_time() / kSegments) {
      step(i++);
      ++n;
      now = Clock::now();
    }
    best = std::max(best, static_cast<double>(n) / std::chrono::duration<double>(now - t0).count());
  }
  return best;
}

// Runs fn on a new thread set up as engram's learning actors set up theirs (LibTorch's thread
// count, denormals flushed: both are per thread) and waits for it.
template <typename F>
void on_learning_thread(const Options& opt, F fn) {
  std::thread worker([&] {
    at::set_num_threads(opt.threads);
    at::globalContext().setFlushDenormal(true);
    fn();
  });
  worker.join();
}

// kPoolBatches batches of kBatch training images, from MNIST when available.
std::vector<Batch> make_pool(const ImageDataset* ds) {
  std::vector<Batch> pool;
  std::mt19937_64 rng(42);
  for (int b = 0; b < kPoolBatches; ++b) {
    Batch batch;
    if (ds != nullptr) {
      std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(ds->train_size() - 1));
      std::vector<uint32_t> idx(kBatch);
      for (uint32_t& i : idx) i = pick(rng);
      batch.x = at::empty({kBatch, kPixels});
      batch.y = at::empty({kBatch}, at::kLong);
      const Task all;  // identity transform
      fill_images(*ds, all, true, idx.data(), idx.size(), batch.x.data_ptr<float>());
      fill_labels(*ds, true, idx.data(), idx.size(), batch.y.data_ptr<int64_t>());
    } else {
      batch.x = at::rand({kBatch, kPixels});
      batch.y = at::randint(0, kClasses, {kBatch}, at::kLong);
    }
    pool.push_back(std::move(batch));
  }
  return pool;
}

// 1. The floor: a plain LibTorch training loop, batch `rows` (128, or 256 = 128 + 128).
double bench_floor(const Options& opt, const std::vector<Batch>& pool, int64_t rows) {
  namespace nn = torch::nn;
  torch::manual_seed(1);
  nn::Sequential net(nn::Linear(kPixels, 400), nn::ReLU(), nn::Linear(400, 400), nn::ReLU(),
                     nn::Linear(400, kClasses));
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<Batch> batches;
  for (size_t b = 0; b < pool.size(); ++b) {
    if (rows == kBatch) {
      batches.push_back(pool[b]);
    } else {
      const Batch& other = pool[(b + 1) % pool.size()];
      batches.push_back({at::cat({pool[b].x, other.x}), at::cat({pool[b].y, other.y})});
    }
  }
  net->train();
  return calls_per_second(opt, [&](long i) {
    const Batch& b = batches[static_cast<size_t>(i) % batches.size()];
    adam.zero_grad();
    at::Tensor loss = nn::functional::cross_entropy(net->forward(b.x), b.y);
    loss.backward();
    adam.step();
  });
}

// 2. The neocortex learner, with and without 128 replayed examples.
void bench_learner(const Options& opt, const std::vector<Batch>& pool) {
  LearnerConfig config;  // mlp 400-400, 10 classes, Adam 1e-3
  auto learner = Learner::create(config);
  if (!learner.ok()) return fail("learner", learner.status());
  const at::Tensor active = at::ones({kClasses}, at::kBool);
  const at::Tensor none;
  const size_t n = pool.size();
  double per_s = calls_per_second(opt, [&](long i) {
    const Batch& b = pool[static_cast<size_t>(i) % n];
    (void)(*learner)->step(b.x, b.y, none, none, active, 0.0);
  });
  print_row("engram Learner::step, batch 128", "step", per_s, true);
  per_s = calls_per_second(opt, [&](long i) {
    const Batch& b = pool[static_cast<size_t>(i) % n];
    const Batch& r = pool[static_cast<size_t>(i + 1) % n];
    (void)(*learner)->step(b.x, b.y, r.x, r.y, active, 0.5);
  });
  print_row("engram Learner::step, 128 real + 128 replay", "step", per_s, true);
}

// 3. The discrete VAE: learning without and with distillation, and recall (decode).
void bench_dvae(const Options& opt, const std::vector<Batch>& pool) {
  DiscreteVaeConfig config;  // c=100, l=2, mlp hidden 256
  auto vae = DiscreteVae::create(config);
  if (!vae.ok()) return fail("dvae", vae.status());
  DiscreteVae& m = **vae;
  const size_t n = pool.size();
  const at::Tensor none;
  AssociationStats stats;  // as the association actor passes it (so the KL is computed too)
  double per_s = calls_per_second(
      opt, [&](long i) { (void)m.learn(pool[static_cast<size_t>(i) % n].x, none, none, &stats); });
  print_row(
      fmt::format("DiscreteVae::learn (c={}, l={}, hidden 256), batch 128", config.c, config.l),
      "step", per_s, false);

  // Stored codes of other images, and what the frozen decoder makes of them.
  std::vector<at::Tensor> codes, recalled;
  for (const Batch& b : pool) codes.push_back(m.encode(b.x));
  m.consolidate();
  for (const at::Tensor& c : codes) recalled.push_back(m.recall(c));
  per_s = calls_per_second(opt, [&](long i) {
    const size_t k = static_cast<size_t>(i + 1) % n;
    (void)m.learn(pool[static_cast<size_t>(i) % n].x, codes[k], recalled[k], &stats);
  });
  print_row("DiscreteVae::learn + distillation on 128 stored codes", "step", per_s, false);

  per_s = calls_per_second(opt, [&](long i) { (void)m.recall(codes[static_cast<size_t>(i) % n]); });
  print_row("DiscreteVae::recall (decode), batches of 128 codes", "img", per_s * kBatch, false);
}

// 5. Session::learn end to end on 2 tasks of Split MNIST.
void bench_session(const Options& opt, std::shared_ptr<const ImageDataset> ds,
                   const Scenario& scenario, const std::string& kind) {
  SessionConfig config;
  config.memory.kind = kind;
  config.num_tasks = 2;
  config.seed = 1;
  config.threads = opt.threads;
  auto session = Session::create(config, ds);
  if (!session.ok()) return fail("session " + kind, session.status());
  LearnOptions lo;  // batch 128, replay 128, window 4
  lo.iterations = opt.session_iterations();
  for (int t = 0; t < 2; ++t) {
    const Task& task = scenario.tasks[static_cast<size_t>(t)];
    auto stats = (*session)->learn(task, lo);
    const std::string name =
        fmt::format("Session::learn memory={}, task {} {{{},{}}}{}", kind, t + 1, task.classes[0],
                    task.classes[1], t > 0 && kind != "none" ? " (+128 replay)" : "");
    if (!stats.ok()) return fail(name, stats.status());
    print_row(name, "step", stats->seconds > 0 ? stats->iterations / stats->seconds : 0, true);
  }
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_fast_blas_if_needed(argv);
  Options opt;
  CLI::App app{"engram learning throughput against a plain LibTorch loop"};
  app.add_option("--threads", opt.threads, "LibTorch intra-op threads (also the session's)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--quick", opt.quick, "short rows, for smoke runs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help, or a usage error
  }

  const auto start = Clock::now();
  at::init_num_threads();
  at::set_num_threads(opt.threads);
  // As engram's learning threads do (neocortex and association actors): without it the floor
  // pays for denormal arithmetic that engram's own loop does not, and is no floor.
  at::globalContext().setFlushDenormal(true);

  auto loaded = load_dataset("mnist", ENGRAM_SOURCE_DIR "/data/mnist");
  std::shared_ptr<const ImageDataset> ds;
  if (loaded.ok()) ds = std::make_shared<const ImageDataset>(std::move(*loaded));

  fmt::print("engram learning throughput{} | {} | LibTorch threads: {} | denormals flushed\n",
             opt.quick ? " (--quick)" : "", describe_blas(probe_blas()), at::get_num_threads());
  fmt::print(
      "data: {}\n",
      ds ? fmt::format("MNIST ({} train images, {})", ds->train_size(), ds->source_dir)
         : "random (MNIST did not load: " + loaded.status().message() + "; session rows skipped)");
  print_header();

  const std::vector<Batch> pool = make_pool(ds.get());
  on_learning_thread(opt, [&] {
    g_floor_per_s = bench_floor(opt, pool, kBatch);
    print_row("torch floor: MLP 784-400-400-10, Adam, batch 128", "step", g_floor_per_s, true);
    print_row("torch floor: same, batch 256 (= 128 + 128)", "step", bench_floor(opt, pool, 256),
              true);
    bench_learner(opt, pool);
    bench_dvae(opt, pool);
  });

  if (ds) {
    auto scenario = split_by_classes(*ds, {{0, 1}, {2, 3}});
    if (!scenario.ok()) {
      fail("split_by_classes", scenario.status());
    } else {
      for (const char* kind : {"none", "dvae"}) bench_session(opt, ds, *scenario, kind);
    }
  }
  fmt::print("total {:.1f} s\n", seconds_since(start));
  return g_failed ? 1 : 0;
}
