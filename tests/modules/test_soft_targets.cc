// Soft targets (modules/neocortex/soft_targets.h): LwF's KL over the old classes, and replay's
// KL that also pulls a recollection away from the classes learned after its teacher.
#include "modules/neocortex/soft_targets.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

namespace engram {
namespace {

at::Tensor mask(std::initializer_list<bool> on) {
  std::vector<uint8_t> v(on.begin(), on.end());
  return at::tensor(at::ArrayRef<uint8_t>(v)).to(at::kBool);
}

}  // namespace

TEST_CASE("over the same classes both forms agree, and a student equal to the teacher costs 0") {
  at::manual_seed(1);
  const at::Tensor teacher = at::randn({6, 4});
  const at::Tensor student = at::randn({6, 4});
  const at::Tensor old = mask({true, true, false, false});
  const double a = soft_target_loss(student, teacher, old, 2.0).item<double>();
  const double b = soft_target_loss(student, teacher, old, old, 2.0).item<double>();
  CHECK(a > 0);
  CHECK(b == doctest::Approx(a).epsilon(1e-6));
  CHECK(soft_target_loss(teacher, teacher, old, 2.0).item<double>() == doctest::Approx(0.0));
}

TEST_CASE("replay's form punishes a new class taking an old recollection over; LwF's does not") {
  // Teacher knew classes 0 and 1; the student competes over 0-3 and gives class 3 the example.
  const at::Tensor teacher = at::tensor({4.0f, 1.0f, -1e9f, -1e9f}).view({1, 4});
  const at::Tensor old = mask({true, true, false, false});
  const at::Tensor competing = mask({true, true, true, true});
  const at::Tensor faithful = at::tensor({4.0f, 1.0f, -20.0f, -20.0f}).view({1, 4});
  const at::Tensor taken = at::tensor({4.0f, 1.0f, -20.0f, 9.0f}).view({1, 4}).requires_grad_();
  // LwF's form looks at classes 0 and 1 only: both students cost the same.
  CHECK(soft_target_loss(taken, teacher, old, 2.0).item<double>() ==
        doctest::Approx(soft_target_loss(faithful, teacher, old, 2.0).item<double>()));
  // Replay's form: the faithful student costs ~0, the taken-over one clearly more.
  const double ok = soft_target_loss(faithful, teacher, old, competing, 2.0).item<double>();
  const at::Tensor bad = soft_target_loss(taken, teacher, old, competing, 2.0);
  CHECK(ok < 1e-3);
  CHECK(bad.item<double>() > 1.0);
  CHECK(std::isfinite(bad.item<double>()));
  // Its gradient lowers the new class's logit and raises the teacher's top class.
  bad.backward();
  const at::Tensor g = taken.grad();
  CHECK(at::isfinite(g).all().item<bool>());
  CHECK(g[0][3].item<float>() > 0);
  CHECK(g[0][0].item<float>() < 0);
}

}  // namespace engram
