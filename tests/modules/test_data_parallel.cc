// Data-parallel learning on c10d/Gloo (modules/distributed): two ranks as two threads of this
// process, each with its own store client and process groups over a TCPStore on a free loopback
// port. Weights stay bit-identical across ranks and equal to one learner on the whole batch; bad
// settings, an absent master, mismatched configurations and a silent rank give errors in time.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "modules/association/discrete_vae.h"
#include "modules/distributed/gradient_sync.h"
#include "modules/distributed/process_group.h"
#include "modules/distributed/session_ranks.h"
#include "modules/neocortex/learner.h"
#include "tests/free_port.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;
using test::free_port;

// A loopback TCP port nobody listens on right now (bound to port 0, then released).
DistributedConfig rank_config(int rank, int world, int port, int timeout_ms = 20000) {
  DistributedConfig c;
  c.world_size = world;
  c.rank = rank;
  c.master_addr = "127.0.0.1";
  c.master_port = port;
  c.timeout = std::chrono::milliseconds(timeout_ms);
  return c;
}

// Learner::create and DiscreteVae::create seed torch's global generator: rank threads build
// their modules one at a time under this lock, or two constructions could interleave draws.
std::mutex construction;

// Runs body(rank) on `world` threads at once and joins them. Doctest's checks are not
// thread-safe, so bodies record what they saw and the caller checks afterwards.
void on_ranks(int world, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) threads.emplace_back(body, r);
  for (auto& t : threads) t.join();
}

// Batch k of a fixed sequence: x [rows, 784] in [0, 1], y [rows] in [0, 10).
std::pair<at::Tensor, at::Tensor> batch(int k, int64_t rows) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1000 + k);
  return {at::rand({rows, 784}, g), at::randint(0, 10, {rows}, g, at::kLong)};
}

LearnerConfig learner_config(uint64_t seed) {
  LearnerConfig c;
  c.classifier.hidden = {64};
  c.seed = seed;
  return c;
}

constexpr int kSteps = 6;
constexpr int64_t kRows = 16;

TEST_CASE("two ranks keep bit-identical classifier weights, those of one learner on the batch") {
  const at::Tensor active = at::ones({10}, at::kBool);
  const at::Tensor probe = at::rand({32, 784});
  // One process on whole batches.
  auto alone = Learner::create(learner_config(7));
  REQUIRE(alone.ok());
  for (int k = 0; k < kSteps; ++k) {
    auto [x, y] = batch(k, kRows);
    (void)(*alone)->step(x, y, at::Tensor(), at::Tensor(), active, 0.0);
  }
  const at::Tensor expected = (*alone)->predict(probe);

  // Two ranks, each on its half of every batch, built from different seeds: the broadcast from
  // rank 0 must make them start alike.
  const int port = free_port();
  std::vector<std::string> states(2), errors(2);
  std::vector<at::Tensor> predicted(2);
  on_ranks(2, [&](int rank) {
    auto run = DataParallel::connect(rank_config(rank, 2, port), "same");
    if (!run.ok()) return void(errors[rank] = run.status().to_string());
    auto learner = [&] {
      std::lock_guard<std::mutex> lock(construction);
      return Learner::create(learner_config(7 + static_cast<uint64_t>(rank)));
    }();
    if (!learner.ok()) return void(errors[rank] = learner.status().to_string());
    auto group = (*run)->group("neocortex");
    if (!group.ok()) return void(errors[rank] = group.status().to_string());
    Status s = (*learner)->set_gradient_sync(std::make_shared<GradientSync>(std::move(*group)));
    if (!s.ok()) return void(errors[rank] = s.to_string());
    for (int k = 0; k < kSteps; ++k) {
      auto [x, y] = batch(k, kRows);
      auto shard = shard_batch(x, y, rank, 2);
      if (!shard.ok()) return void(errors[rank] = shard.status().to_string());
      (void)(*learner)->step(shard->first, shard->second, at::Tensor(), at::Tensor(), active, 0.0);
    }
    states[rank] = (*learner)->save_state();
    predicted[rank] = (*learner)->predict(probe);
  });
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  REQUIRE(!states[0].empty());
  CHECK(states[0] == states[1]);  // weights and Adam moments, to the bit
  CHECK(at::equal(predicted[0], predicted[1]));
  CHECK(at::allclose(predicted[0], expected, 1e-4, 1e-5));
}

TEST_CASE("two ranks keep bit-identical association weights (dvae) from different seeds") {
  const int port = free_port();
  std::vector<std::string> errors(2);
  std::vector<at::Tensor> decoded(2), codes(2);
  const at::Tensor probe_codes = at::randint(0, 2, {8, 20}, at::kLong);
  const at::Tensor probe_x = at::rand({8, 784});
  on_ranks(2, [&](int rank) {
    auto run = DataParallel::connect(rank_config(rank, 2, port), "same");
    if (!run.ok()) return void(errors[rank] = run.status().to_string());
    DiscreteVaeConfig c;
    c.c = 20;
    c.l = 2;
    c.hidden = {64};
    c.seed = 3 + static_cast<uint64_t>(rank);
    auto vae = [&] {
      std::lock_guard<std::mutex> lock(construction);
      return DiscreteVae::create(c);
    }();
    if (!vae.ok()) return void(errors[rank] = vae.status().to_string());
    auto group = (*run)->group("association");
    if (!group.ok()) return void(errors[rank] = group.status().to_string());
    Status s = (*vae)->set_gradient_sync(std::make_shared<GradientSync>(std::move(*group)));
    if (!s.ok()) return void(errors[rank] = s.to_string());
    for (int k = 0; k < kSteps; ++k) {
      auto [x, y] = batch(k, kRows);
      auto shard = shard_batch(x, y, rank, 2);
      if (!shard.ok()) return void(errors[rank] = shard.status().to_string());
      (void)(*vae)->learn(shard->first, at::Tensor(), at::Tensor(), nullptr);
    }
    decoded[rank] = (*vae)->decode_live(probe_codes);
    codes[rank] = (*vae)->encode(probe_x);
  });
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  REQUIRE(decoded[0].defined());
  REQUIRE(decoded[1].defined());
  CHECK(at::equal(decoded[0], decoded[1]));
  CHECK(at::equal(codes[0], codes[1]));
}

TEST_CASE("a rank with nothing to learn still takes part and weighs nothing") {
  const int port = free_port();
  const at::Tensor active = at::ones({10}, at::kBool);
  std::vector<std::string> states(2), errors(2);
  on_ranks(2, [&](int rank) {
    auto run = DataParallel::connect(rank_config(rank, 2, port), "same");
    if (!run.ok()) return void(errors[rank] = run.status().to_string());
    auto learner = [&] {
      std::lock_guard<std::mutex> lock(construction);
      return Learner::create(learner_config(5));
    }();
    auto group = (*run)->group("neocortex");
    if (!learner.ok() || !group.ok()) return void(errors[rank] = "setup failed");
    Status s = (*learner)->set_gradient_sync(std::make_shared<GradientSync>(std::move(*group)));
    if (!s.ok()) return void(errors[rank] = s.to_string());
    for (int k = 0; k < 3; ++k) {
      auto [x, y] = batch(k, kRows);
      // Rank 1 has no rows (as in a consolidation step when its buffer recalls nothing).
      const int64_t rows = rank == 0 ? kRows : 0;
      (void)(*learner)->step(x.narrow(0, 0, rows), y.narrow(0, 0, rows), at::Tensor(), at::Tensor(),
                             active, 0.0);
    }
    states[rank] = (*learner)->save_state();
  });
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  CHECK(states[0] == states[1]);
  // The same as rank 0 learning alone: rank 1's weight is 0.
  auto alone = Learner::create(learner_config(5));
  REQUIRE(alone.ok());
  for (int k = 0; k < 3; ++k) {
    auto [x, y] = batch(k, kRows);
    (void)(*alone)->step(x, y, at::Tensor(), at::Tensor(), active, 0.0);
  }
  const at::Tensor probe = at::rand({16, 784});
  auto together = Learner::create(learner_config(99));
  REQUIRE(together.ok());
  REQUIRE((*together)->load_state(states[0]).ok());
  CHECK(at::allclose((*together)->predict(probe), (*alone)->predict(probe), 1e-4, 1e-5));
}

TEST_CASE("bad rank, world size and master settings are refused naming the setting") {
  auto message = [](const DistributedConfig& c) { return validate(c).message(); };
  DistributedConfig c = rank_config(2, 2, 29500);
  CHECK(validate(c).code() == ErrorCode::invalid_argument);
  CHECK(message(c).find("rank 2 is outside [0, 2)") != std::string::npos);
  c = rank_config(-1, 2, 29500);
  CHECK(message(c).find("rank -1 is outside") != std::string::npos);
  c = rank_config(0, 0, 29500);
  CHECK(message(c).find("world size must be >= 1, got 0") != std::string::npos);
  c = rank_config(0, 2, 70000);
  CHECK(message(c).find("master port 70000") != std::string::npos);
  c = rank_config(0, 2, 29500);
  c.master_addr = "";
  CHECK(message(c).find("master address") != std::string::npos);
  // connect() checks first: nothing is hosted for a bad configuration.
  auto refused = DataParallel::connect(rank_config(3, 2, free_port()), "x");
  CHECK(refused.status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("an unreachable master is reported within the timeout, not waited for forever") {
  const auto start = Clock::now();
  auto run = DataParallel::connect(rank_config(1, 2, free_port(), 1000), "x");
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  CHECK(run.status().code() == ErrorCode::timeout);
  CHECK(run.status().message().find("cannot reach the master at 127.0.0.1:") != std::string::npos);
  CHECK(waited < 15.0);
}

TEST_CASE("ranks running different configurations are all refused") {
  const int port = free_port();
  std::vector<Status> outcome(2);
  on_ranks(2, [&](int rank) {
    auto run = DataParallel::connect(rank_config(rank, 2, port, 10000), rank == 0 ? "aaa" : "bbb");
    outcome[rank] = run.status();
  });
  for (const Status& s : outcome) {
    CHECK(s.code() == ErrorCode::invalid_argument);
    CHECK(s.message().find("runs a different configuration") != std::string::npos);
  }
}

TEST_CASE("a rank that stops taking steps makes the others fail within the timeout") {
  // The timeout also bounds the rendezvous and the first exchange, so it leaves room for a
  // loaded machine; rank 1 stays silent (but alive) until rank 0 has given up on it.
  const int port = free_port();
  const int timeout_ms = 5000;
  std::vector<Status> outcome(2);
  std::atomic<bool> rank0_done{false};
  double waited = 0;
  on_ranks(2, [&](int rank) {
    auto run = DataParallel::connect(rank_config(rank, 2, port, timeout_ms), "same");
    if (!run.ok()) {
      outcome[rank] = run.status();
      rank0_done = true;
      return;
    }
    auto group = (*run)->group("g");
    if (!group.ok()) {
      outcome[rank] = group.status();
      rank0_done = true;
      return;
    }
    at::Tensor t = at::ones({4});
    if (rank == 1) {  // takes one step, then stops
      outcome[rank] = (*group)->all_reduce_sum(t);
      const auto give_up = Clock::now() + std::chrono::seconds(30);
      while (!rank0_done && Clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return;
    }
    outcome[rank] = (*group)->all_reduce_sum(t);
    if (!outcome[rank].ok() || t[0].item<float>() != 2.0f) {
      rank0_done = true;
      return;
    }
    const auto start = Clock::now();
    outcome[rank] = (*group)->all_reduce_sum(t);
    waited = std::chrono::duration<double>(Clock::now() - start).count();
    rank0_done = true;
  });
  CHECK_MESSAGE(outcome[1].ok(), outcome[1].to_string());
  CHECK_FALSE(outcome[0].ok());
  CHECK_MESSAGE(outcome[0].message().find("all-reduce on group 'g' failed") != std::string::npos,
                outcome[0].to_string());
  CHECK(waited < 2.0 * timeout_ms / 1000.0);
}

TEST_CASE("shards, budget shares") {
  CHECK(shard_rows(10, 0, 3) == std::pair<int64_t, int64_t>{0, 4});
  CHECK(shard_rows(10, 1, 3) == std::pair<int64_t, int64_t>{4, 7});
  CHECK(shard_rows(10, 2, 3) == std::pair<int64_t, int64_t>{7, 10});
  CHECK(shard_rows(0, 1, 2) == std::pair<int64_t, int64_t>{0, 0});
  CHECK(budget_share(101, 0, 2) == 51);
  CHECK(budget_share(101, 1, 2) == 50);
  auto tiny = shard_batch(at::zeros({1, 4}), at::zeros({1}, at::kLong), 0, 2);
  CHECK(tiny.status().code() == ErrorCode::invalid_argument);
  CHECK(tiny.status().message().find("every rank needs at least one row") != std::string::npos);
  auto empty = shard_batch(at::zeros({0, 4}), at::zeros({0}, at::kLong), 1, 2);
  REQUIRE(empty.ok());  // a consolidation step has no real rows on any rank
  CHECK(empty->first.size(0) == 0);
}

}  // namespace
}  // namespace engram
