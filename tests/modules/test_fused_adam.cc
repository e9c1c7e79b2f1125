// fused_adam_step: the same parameters, moments and step counts as torch::optim::Adam::step()
// over many steps (with and without weight decay, on shapes whose sizes are not multiples of the
// vector width, with parameters that have no gradient), state that either one wrote continues in
// the other (directly and through save_adam/load_adam), and torch's own step for what the fused
// loop does not handle (amsgrad, double, non-contiguous parameters).
#include "modules/common/fused_adam.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "modules/common/finite_step.h"
#include "modules/common/tensor_archive.h"
#include "modules/common/torch_state.h"

namespace engram {
namespace {

// Leaf parameters of assorted shapes (odd sizes leave vector tails; the 200x200 one is split
// over intra-op tasks when there are several threads), seeded so that copies are equal.
std::vector<at::Tensor> make_params(at::ScalarType dtype = at::kFloat) {
  torch::manual_seed(11);
  std::vector<at::Tensor> out;
  for (auto shape : std::vector<std::vector<int64_t>>{{37, 13}, {13}, {5, 7, 3}, {200, 200}, {1}}) {
    out.push_back(at::randn(shape, at::TensorOptions().dtype(dtype)).set_requires_grad(true));
  }
  return out;
}

std::vector<at::Tensor> clone_params(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().set_requires_grad(true));
  return out;
}

// Sets the same random gradients (drawn from `gen`'s seed and `step`) on both parameter lists;
// parameter `skip` (if >= 0) gets none, as when a module took no part in a loss.
void set_gradients(std::vector<at::Tensor>& a, std::vector<at::Tensor>& b, int step,
                   int skip = -1) {
  torch::manual_seed(1000 + step);
  for (size_t i = 0; i < a.size(); ++i) {
    if (static_cast<int>(i) == skip) {
      a[i].mutable_grad() = at::Tensor();
      b[i].mutable_grad() = at::Tensor();
      continue;
    }
    // Gradients of very different scales, so that the moments cover a wide range.
    at::Tensor g = at::randn_like(a[i]) * std::pow(10.0, static_cast<double>(i % 3) - 1.0);
    a[i].mutable_grad() = g.clone();
    b[i].mutable_grad() = g.clone();
  }
}

// Largest |x - y| / (max |y| + tiny) over a pair of tensor lists; infinity when one is NaN.
double relative_difference(const std::vector<at::Tensor>& x, const std::vector<at::Tensor>& y) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double scale = y[i].abs().max().item<double>() + 1e-30;
    const double d = (x[i] - y[i]).abs().max().item<double>() / scale;
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

struct Moments {
  std::vector<at::Tensor> exp_avg, exp_avg_sq;
  std::vector<int64_t> steps;  // -1: no state
};

Moments moments_of(const torch::optim::Adam& opt, const std::vector<at::Tensor>& params) {
  Moments m;
  for (const auto& p : params) {
    auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (it == opt.state().end()) {
      m.steps.push_back(-1);
      m.exp_avg.push_back(at::zeros_like(p));
      m.exp_avg_sq.push_back(at::zeros_like(p));
      continue;
    }
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
    m.steps.push_back(s.step());
    m.exp_avg.push_back(s.exp_avg());
    m.exp_avg_sq.push_back(s.exp_avg_sq());
  }
  return m;
}

// Parameters, first and second moments and step counts of two optimisers agree.
void check_same(const torch::optim::Adam& fused, const std::vector<at::Tensor>& fp,
                const torch::optim::Adam& reference, const std::vector<at::Tensor>& rp,
                double tolerance) {
  const Moments a = moments_of(fused, fp), b = moments_of(reference, rp);
  CHECK(a.steps == b.steps);
  CHECK(relative_difference(fp, rp) < tolerance);
  CHECK(relative_difference(a.exp_avg, b.exp_avg) < tolerance);
  CHECK(relative_difference(a.exp_avg_sq, b.exp_avg_sq) < tolerance);
}

// Float rounding only. On an AVX2/FMA CPU the fused loop follows torch's vectorised kernels
// operation by operation and the results are identical bit for bit (measured: difference 0);
// elsewhere torch's kernels may round a product separately where the fused loop uses one fused
// multiply-add, an ulp or so per step.
constexpr double kTolerance = 1e-6;

void run_against_torch(const torch::optim::AdamOptions& options, int steps, int skip) {
  std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
  torch::optim::Adam fused(fp, options), reference(rp, options);
  for (int s = 0; s < steps; ++s) {
    set_gradients(fp, rp, s, s % 7 == 3 ? skip : -1);
    CHECK(fused_adam_step(fused));
    reference.step();
  }
  check_same(fused, fp, reference, rp, kTolerance);
  // The weights did move: this is not a comparison of two untouched copies.
  CHECK(relative_difference(fp, make_params()) > 1e-3);
}

}  // namespace

TEST_CASE("fused Adam: the same steps as torch::optim::Adam") {
  SUBCASE("default options") { run_against_torch(torch::optim::AdamOptions(1e-3), 50, -1); }
  SUBCASE("weight decay, other betas, eps and lr") {
    run_against_torch(
        torch::optim::AdamOptions(0.02).betas({0.5, 0.99}).eps(1e-6).weight_decay(0.01), 50, -1);
  }
  SUBCASE("a parameter without a gradient in some steps is skipped as torch skips it") {
    run_against_torch(torch::optim::AdamOptions(1e-3), 50, 2);
  }
  SUBCASE("a parameter that never had a gradient gets no state") {
    std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
    torch::optim::Adam fused(fp, torch::optim::AdamOptions(1e-3));
    torch::optim::Adam reference(rp, torch::optim::AdamOptions(1e-3));
    for (int s = 0; s < 5; ++s) {
      set_gradients(fp, rp, s, 1);
      CHECK(fused_adam_step(fused));
      reference.step();
    }
    CHECK(moments_of(fused, fp).steps[1] == -1);
    check_same(fused, fp, reference, rp, kTolerance);
    CHECK(fp[1].equal(make_params()[1]));
  }
}

TEST_CASE("fused Adam: the portable loop gives the same bits as the vector loop") {
  const auto options = torch::optim::AdamOptions(0.01).weight_decay(1e-3);
  std::vector<at::Tensor> vp = make_params(), pp = clone_params(vp), rp = clone_params(vp);
  torch::optim::Adam vector(vp, options), portable(pp, options), reference(rp, options);
  for (int s = 0; s < 20; ++s) {
    set_gradients(vp, pp, s);
    set_gradients(rp, pp, s);
    CHECK(fused_adam_step(vector));
    set_fused_adam_portable(true);
    CHECK(fused_adam_step(portable));
    set_fused_adam_portable(false);
    reference.step();
  }
  for (size_t i = 0; i < vp.size(); ++i) CHECK(vp[i].equal(pp[i]));
  const Moments a = moments_of(vector, vp), b = moments_of(portable, pp);
  for (size_t i = 0; i < vp.size(); ++i) {
    CHECK(a.exp_avg[i].equal(b.exp_avg[i]));
    CHECK(a.exp_avg_sq[i].equal(b.exp_avg_sq[i]));
  }
  check_same(portable, pp, reference, rp, kTolerance);
}

TEST_CASE("fused Adam: state written by either continues in the other") {
  const auto options = torch::optim::AdamOptions(5e-3).weight_decay(1e-3);
  SUBCASE("torch steps, then fused steps, against torch all along") {
    std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
    torch::optim::Adam mixed(fp, options), reference(rp, options);
    for (int s = 0; s < 30; ++s) {
      set_gradients(fp, rp, s);
      if (s < 15) {
        mixed.step();
      } else {
        CHECK(fused_adam_step(mixed));
      }
      reference.step();
    }
    check_same(mixed, fp, reference, rp, kTolerance);
  }
  SUBCASE("save_adam of a fused optimiser, load_adam into torch's, and the reverse") {
    std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
    torch::optim::Adam fused(fp, options), reference(rp, options);
    for (int s = 0; s < 20; ++s) {
      set_gradients(fp, rp, s);
      CHECK(fused_adam_step(fused));
      reference.step();
    }
    // Fused state into a fresh torch optimiser over copies of the fused parameters.
    TensorArchive archive;
    save_adam(archive, "adam", fused);
    std::vector<at::Tensor> tp = clone_params(fp);
    torch::optim::Adam restored(tp, options);
    REQUIRE(load_adam(archive, "adam", restored).ok());
    // torch state into a fresh optimiser stepped by the fused loop.
    TensorArchive archive2;
    save_adam(archive2, "adam", reference);
    std::vector<at::Tensor> up = clone_params(rp);
    torch::optim::Adam restored2(up, options);
    REQUIRE(load_adam(archive2, "adam", restored2).ok());
    for (int s = 20; s < 35; ++s) {
      set_gradients(fp, tp, s);
      set_gradients(rp, up, s);
      CHECK(fused_adam_step(fused));
      restored.step();
      reference.step();
      CHECK(fused_adam_step(restored2));
    }
    check_same(fused, fp, restored, tp, kTolerance);
    check_same(restored2, up, reference, rp, kTolerance);
    check_same(fused, fp, reference, rp, kTolerance);
  }
}

TEST_CASE("fused Adam: what it does not handle is torch's own step, exactly") {
  auto exact = [](torch::optim::Adam& a, std::vector<at::Tensor>& ap, torch::optim::Adam& b,
                  std::vector<at::Tensor>& bp) {
    for (int s = 0; s < 10; ++s) {
      set_gradients(ap, bp, s);
      CHECK_FALSE(fused_adam_applies(a));
      CHECK_FALSE(fused_adam_step(a));
      b.step();
    }
    for (size_t i = 0; i < ap.size(); ++i) CHECK(ap[i].equal(bp[i]));
  };
  SUBCASE("amsgrad") {
    const auto options = torch::optim::AdamOptions(1e-3).amsgrad(true);
    std::vector<at::Tensor> ap = make_params(), bp = clone_params(ap);
    torch::optim::Adam a(ap, options), b(bp, options);
    exact(a, ap, b, bp);
  }
  SUBCASE("double parameters") {
    std::vector<at::Tensor> ap = make_params(at::kDouble), bp = clone_params(ap);
    torch::optim::Adam a(ap, torch::optim::AdamOptions(1e-3)),
        b(bp, torch::optim::AdamOptions(1e-3));
    exact(a, ap, b, bp);
  }
  SUBCASE("a non-contiguous parameter") {
    torch::manual_seed(5);
    std::vector<at::Tensor> ap{at::randn({6, 9}).t().set_requires_grad(true),
                               at::randn({4}).set_requires_grad(true)};
    REQUIRE_FALSE(ap[0].is_contiguous());
    std::vector<at::Tensor> bp{ap[0].detach().t().clone().t().set_requires_grad(true),
                               ap[1].detach().clone().set_requires_grad(true)};
    REQUIRE_FALSE(bp[0].is_contiguous());
    torch::optim::Adam a(ap, torch::optim::AdamOptions(1e-3)),
        b(bp, torch::optim::AdamOptions(1e-3));
    exact(a, ap, b, bp);
  }
}

TEST_CASE("apply_optimizer_step: Adam fused, anything else its own step") {
  std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
  torch::optim::Adam fused(fp, torch::optim::AdamOptions(1e-3));
  torch::optim::Adam reference(rp, torch::optim::AdamOptions(1e-3));
  std::vector<at::Tensor> sp = make_params(), tp = clone_params(sp);
  torch::optim::SGD sgd(sp, torch::optim::SGDOptions(0.1)), sgd2(tp, torch::optim::SGDOptions(0.1));
  for (int s = 0; s < 5; ++s) {
    set_gradients(fp, rp, s);
    set_gradients(sp, tp, s);
    apply_optimizer_step(fused);
    reference.step();
    apply_optimizer_step(sgd);
    sgd2.step();
  }
  check_same(fused, fp, reference, rp, kTolerance);
  for (size_t i = 0; i < sp.size(); ++i) CHECK(sp[i].equal(tp[i]));
  CHECK(moments_of(fused, fp).steps[0] == 5);
}

TEST_CASE("step_if_finite: the fused step when every gradient is finite, nothing otherwise") {
  std::vector<at::Tensor> fp = make_params(), rp = clone_params(fp);
  torch::optim::Adam fused(fp, torch::optim::AdamOptions(1e-3));
  torch::optim::Adam reference(rp, torch::optim::AdamOptions(1e-3));
  const at::Tensor loss = at::tensor(0.5f);
  int step = 0;
  // One non-finite element, first, last (a vector tail) or in the middle, of one gradient.
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    for (int64_t where : {int64_t{0}, int64_t{200 * 200 - 1}, int64_t{12345}}) {
      set_gradients(fp, rp, step++);
      fp[3].mutable_grad().view({-1})[where] = bad;
      const std::vector<at::Tensor> before = clone_params(fp);
      CHECK_FALSE(step_if_finite(fused, loss));
      CHECK(relative_difference(fp, before) == 0);
      CHECK(moments_of(fused, fp).steps[0] == moments_of(reference, rp).steps[0]);
    }
  }
  // Huge but finite gradients (their float sum would overflow) are applied.
  {
    at::Tensor w = at::zeros({200, 200}).set_requires_grad(true);
    w.mutable_grad() = at::full({200, 200}, 1e35f);
    torch::optim::SGD sgd({w}, torch::optim::SGDOptions(1e-30));
    CHECK(step_if_finite(sgd, loss));
    CHECK(w.ne(0).all().item<bool>());
  }
  for (int s = 0; s < 5; ++s) {
    set_gradients(fp, rp, step++);
    CHECK(step_if_finite(fused, loss));
    reference.step();
  }
  check_same(fused, fp, reference, rp, kTolerance);
  // A non-finite loss alone is refused too.
  set_gradients(fp, rp, step++);
  CHECK_FALSE(step_if_finite(fused, at::tensor(std::nanf(""))));
}

}  // namespace engram
