// The one-example inference copy of an MLP classifier (what engram_predict runs): the same
// probabilities as Learner::predict, the class mask and its plain K-way variant, refusals.
#include "modules/neocortex/dense_predictor.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "modules/neocortex/learner.h"

namespace engram {
namespace {

std::unique_ptr<Learner> trained_mlp(const std::vector<int>& hidden, int classes) {
  LearnerConfig c;
  c.classifier.hidden = hidden;
  c.classifier.classes = classes;
  c.seed = 7;
  auto learner = Learner::create(c);
  REQUIRE(learner.ok());
  // A few steps so that biases and weights move away from their initial values.
  at::manual_seed(3);
  const at::Tensor active = at::ones({classes}, at::kBool);
  for (int s = 0; s < 5; ++s) {
    const at::Tensor x = at::rand({16, 784});
    const at::Tensor y = at::randint(classes, {16}, at::kLong);
    (*learner)->step(x, y, at::Tensor(), at::Tensor(), active, 0.0);
  }
  return std::move(*learner);
}

// Inputs with blank pixels, as images have: about half of the values are exactly 0.
at::Tensor sparse_inputs(int64_t n) {
  at::manual_seed(11);
  const at::Tensor x = at::rand({n, 784});
  return x.masked_fill(at::rand({n, 784}) < 0.5, 0.0f).contiguous();
}

void check_same_answers(Learner& learner, DensePredictor& dense, const at::Tensor& active) {
  const at::Tensor x = sparse_inputs(20);
  const at::Tensor expected = learner.predict(x, active).contiguous();
  const int classes = learner.classes();
  std::vector<uint8_t> mask(static_cast<size_t>(classes));
  for (int k = 0; k < classes; ++k) mask[static_cast<size_t>(k)] = active[k].item<bool>();
  std::vector<float> probs(static_cast<size_t>(classes));
  for (int64_t i = 0; i < x.size(0); ++i) {
    dense.predict(x[i].data_ptr<float>(), mask.data(), probs.data());
    const float* want = expected.data_ptr<float>() + i * classes;
    for (int k = 0; k < classes; ++k) {
      CHECK(probs[static_cast<size_t>(k)] == doctest::Approx(want[k]).epsilon(1e-4));
      if (!mask[static_cast<size_t>(k)]) CHECK(probs[static_cast<size_t>(k)] == 0.0f);
    }
  }
}

TEST_CASE("the dense copy answers as Learner::predict, over every class or a mask") {
  auto learner = trained_mlp({64, 32}, 10);
  auto dense = learner->dense_predictor();
  REQUIRE(dense.ok());
  CHECK(dense->inputs() == 784);
  CHECK(dense->classes() == 10);
  check_same_answers(*learner, *dense, at::ones({10}, at::kBool));
  at::Tensor some = at::zeros({10}, at::kBool);
  some[2] = true;
  some[3] = true;
  some[7] = true;
  check_same_answers(*learner, *dense, some);
}

TEST_CASE("the dense copy holds the weights of the moment it was taken") {
  auto learner = trained_mlp({32}, 4);
  auto dense = learner->dense_predictor();
  REQUIRE(dense.ok());
  const at::Tensor x = sparse_inputs(1);
  std::vector<float> before(4), after(4);
  dense->predict(x.data_ptr<float>(), nullptr, before.data());
  const at::Tensor active = at::ones({4}, at::kBool);
  for (int s = 0; s < 20; ++s) {
    learner->step(at::rand({16, 784}), at::full({16}, 1, at::kLong), at::Tensor(), at::Tensor(),
                  active, 0.0);
  }
  dense->predict(x.data_ptr<float>(), nullptr, after.data());
  CHECK(before == after);
  auto fresh = learner->dense_predictor();
  REQUIRE(fresh.ok());
  check_same_answers(*learner, *fresh, active);
}

TEST_CASE("a plain K-way head ignores the mask; a mask of nothing gives the uniform answer") {
  DenseLayer l;
  l.in = 2;
  l.out = 3;
  l.weight = {1, 0, 0, 1, 1, 1};  // logits = (x0, x1, x0 + x1)
  l.bias = {0, 0, 0};
  const float x[2] = {1.0f, 2.0f};
  const uint8_t only_first[3] = {1, 0, 0};
  std::vector<float> p(3);

  auto all = DensePredictor::create({l}, true);
  REQUIRE(all.ok());
  all->predict(x, only_first, p.data());
  CHECK(p[2] > p[1]);
  CHECK(p[1] > p[0]);
  CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0));

  auto masked = DensePredictor::create({l}, false);
  REQUIRE(masked.ok());
  masked->predict(x, only_first, p.data());
  CHECK(p == std::vector<float>{1.0f, 0.0f, 0.0f});
  const uint8_t none[3] = {0, 0, 0};
  masked->predict(x, none, p.data());
  for (float v : p) CHECK(v == doctest::Approx(1.0 / 3));
}

TEST_CASE("layers that do not chain, wrong sizes and non-dense nets are refused") {
  DenseLayer a;
  a.in = 4;
  a.out = 3;
  a.weight.assign(12, 0.1f);
  a.bias.assign(3, 0.0f);
  DenseLayer b = a;  // takes 4 inputs but a gives 3
  CHECK(DensePredictor::create({}, false).status().code() == ErrorCode::invalid_argument);
  const auto unchained = DensePredictor::create({a, b}, false);
  REQUIRE_FALSE(unchained.ok());
  CHECK(unchained.status().message().find("layer 1 takes 4 inputs") != std::string::npos);
  DenseLayer short_weight = a;
  short_weight.weight.pop_back();
  CHECK(DensePredictor::create({short_weight}, false).status().code() ==
        ErrorCode::invalid_argument);

  LearnerConfig c;
  c.classifier.net = "cnn";
  auto cnn = Learner::create(c);
  REQUIRE(cnn.ok());
  const auto refused = (*cnn)->dense_predictor();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("cnn") != std::string::npos);
}

}  // namespace
}  // namespace engram
