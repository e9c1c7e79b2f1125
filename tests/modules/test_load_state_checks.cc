// load_state() of the learning modules refuses states whose optimiser moments do not fit the
// parameters (found by tests/fuzz/fuzz_load_state): LibTorch's Adam::load only counts the
// parameters, so a state taken from another architecture loaded, and the next step threw.
#include <ATen/ATen.h>
#include <doctest/doctest.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/adam.h>

#include <string>
#include <vector>

#include "modules/common/torch_state.h"
#include "modules/neocortex/classifier.h"
#include "modules/neocortex/learner.h"

namespace engram {
namespace {

LearnerConfig small_learner(int hidden) {
  LearnerConfig c;
  c.classifier.hidden = {hidden};
  c.classifier.rows = 4;
  c.classifier.cols = 4;
  c.classifier.classes = 3;
  return c;
}

// A learner state with the weights of `config` and the Adam moments of a network whose hidden
// layer is `other_hidden` wide after one step (same number of parameters, other shapes).
std::string state_with_foreign_moments(const LearnerConfig& config, int other_hidden) {
  auto net = make_classifier(config.classifier).value();
  auto other = make_classifier(small_learner(other_hidden).classifier).value();
  torch::optim::Adam adam(other->parameters(), torch::optim::AdamOptions(1e-3));
  const at::Tensor x = at::rand({2, 16});
  const at::Tensor y = at::arange(2, at::kLong);
  torch::nn::functional::cross_entropy(other->forward(x), y).backward();
  adam.step();
  TensorArchive archive;
  save_module(archive, "net", *net);
  save_adam(archive, "optimizer", adam);
  return archive.to_bytes();
}

TEST_CASE("Learner::load_state refuses Adam moments shaped for other parameters") {
  const LearnerConfig config = small_learner(8);
  auto learner = Learner::create(config).value();
  const std::string before = learner->save_state();
  const Status s = learner->load_state(state_with_foreign_moments(config, 5));
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message().find("optimizer") != std::string::npos);
  // Unchanged, and still learns.
  CHECK(learner->save_state().size() == before.size());
  const at::Tensor x = at::rand({2, 16});
  CHECK_NOTHROW(learner->step(x, at::arange(2, at::kLong), {}, {}, at::ones({3}, at::kBool), 0));
}

TEST_CASE("Learner::load_state still takes moments of the same shapes") {
  const LearnerConfig config = small_learner(8);
  auto learner = Learner::create(config).value();
  CHECK(learner->load_state(state_with_foreign_moments(config, 8)).ok());
  const at::Tensor x = at::rand({2, 16});
  CHECK_NOTHROW(learner->step(x, at::arange(2, at::kLong), {}, {}, at::ones({3}, at::kBool), 0));
}

}  // namespace
}  // namespace engram

namespace engram {
namespace {

TEST_CASE("load_state refuses non-finite weights or moments and keeps the learner as it was") {
  const LearnerConfig config = small_learner(8);
  auto learner = Learner::create(config).value();
  const at::Tensor x = at::rand({2, 16});
  learner->step(x, at::arange(2, at::kLong), {}, {}, at::ones({3}, at::kBool), 0);
  const std::string good = learner->save_state();
  auto archive = TensorArchive::from_bytes(good).value();
  // A NaN in a weight.
  auto net = make_classifier(config.classifier).value();
  TensorArchive poisoned_weights = archive;
  for (const auto& p : net->named_parameters(true)) {
    at::Tensor t = archive.get("net/" + p.key(), at::kFloat).value().clone();
    t.view(-1)[0] = std::nanf("");
    poisoned_weights.put("net/" + p.key(), t);
    break;
  }
  Status s = learner->load_state(poisoned_weights.to_bytes());
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message().find("not finite") != std::string::npos);
  // A negative second moment (sqrt of it would be NaN at the next step).
  TensorArchive poisoned_moment = archive;
  const at::Tensor sq = archive.get("optimizer/0/0/exp_avg_sq", at::kFloat).value().clone();
  sq.view(-1)[0] = -1.0f;
  poisoned_moment.put("optimizer/0/0/exp_avg_sq", sq);
  s = learner->load_state(poisoned_moment.to_bytes());
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message().find("negative") != std::string::npos);
  CHECK(learner->save_state() == good);
  // Options that would make Adam's step throw (a step size beyond float, found by
  // fuzz_load_state) or that differ from the configuration.
  for (const auto& options : {std::vector<double>{1e300, 0.9, 0.999, 1e-8, 0, 0},
                              std::vector<double>{1e-3, 0.9, 0.999, 1e-8, 1e30, 0},
                              std::vector<double>{1e-3, 0.5, 0.999, 1e-8, 0, 0}}) {
    TensorArchive bad_options = archive;
    bad_options.put("optimizer/0/options", at::tensor(options, at::kDouble));
    s = learner->load_state(bad_options.to_bytes());
    CHECK(s.code() == ErrorCode::malformed);
    CHECK(s.message().find("optimizer") != std::string::npos);
  }
  // The untouched state still loads.
  CHECK(learner->load_state(good).ok());
  CHECK(learner->save_state() == good);
}

}  // namespace
}  // namespace engram
