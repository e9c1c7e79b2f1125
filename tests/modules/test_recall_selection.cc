// Active and diverse recall pick what the classifier finds hardest (modules/neocortex/
// recall_selection.h).
#include <ATen/ATen.h>

#include "modules/neocortex/learner.h"
#include "modules/neocortex/recall_selection.h"

#include <doctest/doctest.h>

namespace engram {
namespace {

std::unique_ptr<Learner> two_class_learner() {
  LearnerConfig c;
  c.classifier.net = "mlp";
  c.classifier.hidden = {16};
  c.classifier.rows = 2;
  c.classifier.cols = 2;
  c.classifier.classes = 2;
  auto l = Learner::create(c);
  REQUIRE(l.ok());
  return std::move(*l);
}

TEST_CASE("active recall keeps the candidates with the largest loss; diverse too, after MSSS") {
  auto learner = two_class_learner();
  // Class 0 = bright left half, class 1 = bright right half.
  at::Tensor x = at::zeros({64, 4});
  at::Tensor y = at::zeros({64}, at::kLong);
  for (int i = 0; i < 64; ++i) {
    const bool one = i % 2 == 1;
    x[i][one ? 1 : 0] = 1.0;
    x[i][one ? 3 : 2] = 1.0;
    y[i] = one ? 1 : 0;
  }
  const at::Tensor active = at::ones({2}, at::kBool);
  for (int s = 0; s < 200; ++s) learner->step(x, y, {}, {}, active, 0.0);
  // Candidates: 12 labelled right (easy) and 4 with the wrong label (hard).
  at::Tensor xr = x.narrow(0, 0, 16).clone();
  at::Tensor yr = y.narrow(0, 0, 16).clone();
  for (int i : {3, 6, 9, 12}) yr[i] = 1 - yr[i].item<int64_t>();
  const at::Tensor losses = learner->example_losses(xr, yr, active);
  auto picked = select_recollections(*learner, xr, yr, active, 4, false);
  REQUIRE(picked.ok());
  REQUIRE(picked->numel() == 4);
  std::vector<int64_t> chosen(picked->data_ptr<int64_t>(), picked->data_ptr<int64_t>() + 4);
  std::sort(chosen.begin(), chosen.end());
  CHECK(chosen == std::vector<int64_t>{3, 6, 9, 12});
  // Higher loss than a uniform pick of 4 on average.
  CHECK(losses.index_select(0, *picked).mean().item<double>() > losses.mean().item<double>());

  auto diverse = select_recollections(*learner, xr, yr, active, 2, true);
  REQUIRE(diverse.ok());
  CHECK(diverse->numel() == 2);
  CHECK_FALSE(select_recollections(*learner, xr, yr, active, 0, false).ok());
}

}  // namespace
}  // namespace engram
