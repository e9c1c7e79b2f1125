// Automatic Recall Machines (papers/003, the "arm" memory kind): the divergence and image
// regularisers against hand-computed values, the recall loop (it raises its objective and
// touches no parameter), f_old's refresh every T steps, a short two-task run against plain SGD,
// and bad options refused by name.
#include "modules/neocortex/automatic_recall.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "../io/io_test_util.h"
#include "modules/memory/memory_registry.h"
#include "modules/neocortex/learner.h"
#include "modules/neocortex/soft_targets.h"

namespace engram {
namespace {

// A classifier access over two small fixed ReLU networks (4x4 images, 4 classes): `net` stands
// for the classifier (its weights require grad, as a live model's do), `frozen` for f_old. It
// counts what a memory asks of it.
struct FakeAccess final : ClassifierAccess {
  at::Tensor w1, w2, f1, f2;
  at::Tensor old_classes = at::tensor({1, 1, 0, 0}).to(at::kBool);
  std::vector<int64_t> refreshed_at;  // the step count of each refresh
  int64_t calls = 0, steps = 0;
  explicit FakeAccess(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    w1 = at::randn({16, 12}, gen).requires_grad_(true);
    w2 = at::randn({12, 4}, gen).requires_grad_(true);
    f1 = at::randn({16, 12}, gen);
    f2 = at::randn({12, 4}, gen);
  }
  at::Tensor logits(const at::Tensor& x) override { return at::relu(x.mm(w1)).mm(w2); }
  bool has_frozen() const override { return true; }
  at::Tensor frozen_logits(const at::Tensor& x) override { return at::relu(x.mm(f1)).mm(f2); }
  at::Tensor frozen_classes() const override { return old_classes; }
  void refresh_frozen() override { refreshed_at.push_back(calls); }
  bool step(const at::Tensor&) override {
    ++steps;
    return true;
  }
};

RecallConfig small_recall() {
  RecallConfig c;
  c.rows = c.cols = 4;
  c.step_size = 0.05;
  return c;
}

std::pair<at::Tensor, at::Tensor> fake_batch() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  return {at::rand({6, 16}, gen), at::tensor({2, 3, 2, 3, 3, 2}, at::kLong)};
}

TEST_CASE("JS divergence, total variation and L2 against hand-computed values") {
  const at::Tensor p = at::tensor({1.0, 0.0, 0.5, 0.5, 0.75, 0.25}, at::kDouble).reshape({3, 2});
  const at::Tensor q = at::tensor({0.0, 1.0, 0.5, 0.5, 0.25, 0.75}, at::kDouble).reshape({3, 2});
  const at::Tensor js = js_divergence(p, q);
  // Disjoint supports: log 2. Equal: 0. (0.75, 0.25) vs (0.25, 0.75), m = (0.5, 0.5):
  // 0.75 ln 1.5 + 0.25 ln 0.5 on each side.
  CHECK(js[0].item<double>() == doctest::Approx(std::log(2.0)).epsilon(1e-9));
  CHECK(js[1].item<double>() == doctest::Approx(0.0));
  CHECK(js[2].item<double>() ==
        doctest::Approx(0.75 * std::log(1.5) + 0.25 * std::log(0.5)).epsilon(1e-9));
  CHECK(js_divergence(q, p).allclose(js));

  // A 3x3 image with one bright centre pixel: 2 squared vertical and 2 squared horizontal
  // differences of 1, each over (2 * 3) pairs: 2 (2/6 + 2/6) = 4/3 for one image; a second,
  // flat image halves the mean.
  at::Tensor x = at::zeros({2, 9}, at::kDouble);
  x[0][4] = 1.0;
  CHECK(total_variation(x.narrow(0, 0, 1), 3, 3).item<double>() == doctest::Approx(4.0 / 3.0));
  CHECK(total_variation(x, 3, 3).item<double>() == doctest::Approx(2.0 / 3.0));
  // A horizontal ramp 0, 1, 2 in each row of a 3x3 image: 6 differences of 1 across, none down.
  const at::Tensor ramp = at::tensor({0.0, 1.0, 2.0}, at::kDouble).repeat({3}).reshape({1, 9});
  CHECK(total_variation(ramp, 3, 3).item<double>() == doctest::Approx(2.0 * 6.0 / 6.0));
  // L2: the norm (3, 4) -> 5 over M * P = 2.
  CHECK(image_l2(at::tensor({3.0, 4.0}, at::kDouble).reshape({1, 2})).item<double>() ==
        doctest::Approx(2.5));
}

TEST_CASE("the authors' D: 0.5 KL(m || p) + 0.5 KL(m || q) by hand, and the recall uses it") {
  // p = (0.75, 0.25), q = (0.25, 0.75): m = (0.5, 0.5) and each KL(m || .) is
  // 0.5 ln(0.5 / 0.75) + 0.5 ln(0.5 / 0.25) = 0.5 ln(4/3).
  const at::Tensor p = at::tensor({0.75, 0.25}, at::kDouble).reshape({1, 2});
  const at::Tensor q = at::tensor({0.25, 0.75}, at::kDouble).reshape({1, 2});
  const at::Tensor a = p.log(), b = q.log() + 3.0;  // logits (a shift changes nothing)
  CHECK(mixture_kl_divergence(a, b).item<double>() ==
        doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-9));
  CHECK(mixture_kl_divergence(b, a).item<double>() ==
        doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-9));
  CHECK(mixture_kl_divergence(a, a).item<double>() == doctest::Approx(0.0));
  // Not the Jensen-Shannon value of the same pair.
  CHECK(std::abs(mixture_kl_divergence(a, b).item<double>() - js_divergence(p, q).item<double>()) >
        0.01);

  // recall_objective's D term follows the form it is given.
  RecallConfig c = small_recall();
  c.rows = 1;
  c.cols = 2;
  const at::Tensor x = at::zeros({1, 2}, at::kDouble);
  const at::Tensor classes = at::tensor({0}, at::kLong), known = at::ones({2}, at::kBool);
  c.form = DivergenceForm::js;
  CHECK(recall_objective(x, b, a, classes, known, c).divergence ==
        doctest::Approx(js_divergence(p, q).item<double>()).epsilon(1e-9));
  c.form = DivergenceForm::mixture_kl;
  CHECK(recall_objective(x, b, a, classes, known, c).divergence ==
        doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-9));
}

TEST_CASE("the recall loop raises its objective and changes no parameter") {
  FakeAccess access(3);
  const at::Tensor w1 = access.w1.detach().clone(), w2 = access.w2.detach().clone();
  auto [x, y] = fake_batch();
  std::mt19937_64 rng(1);
  std::vector<double> trace;
  const RecallConfig config = small_recall();
  const at::Tensor images =
      recall_images(access, x, y, at::ones({4}, at::kBool), config, rng, &trace);
  REQUIRE(trace.size() == static_cast<size_t>(config.steps + 1));
  CHECK(trace.back() > trace.front() + 1e-3);
  CHECK(images.size(0) == config.images);
  CHECK_FALSE(images.requires_grad());
  // Parameters: unchanged, and no gradient accumulated into them; no optimiser step taken.
  CHECK(access.w1.equal(w1));
  CHECK(access.w2.equal(w2));
  CHECK_FALSE(access.w1.grad().defined());
  CHECK_FALSE(access.w2.grad().defined());
  CHECK(access.steps == 0);
  // The images moved away from the real ones they started from.
  CHECK(images.sub(x.index_select(0, at::tensor({0}, at::kLong))).abs().sum().item<double>() > 0);

  // Zero steps and M = N: the images are the batch's, each exactly once (drawn without
  // replacement, as the authors' code).
  RecallConfig all_of_batch = config;
  all_of_batch.steps = 0;
  all_of_batch.images = static_cast<int>(x.size(0));
  for (int repeat = 0; repeat < 5; ++repeat) {
    const at::Tensor drawn =
        recall_images(access, x, y, at::ones({4}, at::kBool), all_of_batch, rng);
    std::set<int64_t> rows;
    for (int64_t i = 0; i < drawn.size(0); ++i) {
      const at::Tensor d = x.sub(drawn[i]).abs().sum(1);
      REQUIRE(d.min().item<double>() == 0.0);
      rows.insert(d.argmin().item<int64_t>());
    }
    CHECK(rows.size() == static_cast<size_t>(x.size(0)));
  }

  // Zero steps: the images are copies of real ones.
  RecallConfig none = config;
  none.steps = 0;
  const at::Tensor copies = recall_images(access, x, y, at::ones({4}, at::kBool), none, rng);
  for (int64_t i = 0; i < copies.size(0); ++i) {
    CHECK(x.sub(copies[i]).abs().sum(1).min().item<double>() == 0.0);
  }
}

TEST_CASE("f_old refreshes exactly every T real steps; T = 0 leaves it to consolidations") {
  auto [x, y] = fake_batch();         // classes 2 and 3, which f_old never learned
  const at::Tensor y_old = y.sub(2);  // classes 0 and 1: all f_old knows
  for (int64_t lag : {1, 3, 0}) {
    CAPTURE(lag);
    ArmConfig c;
    c.recall = small_recall();
    c.lag = lag;
    AutomaticRecall arm(c);
    FakeAccess access(3);
    for (int i = 0; i < 10; ++i) {
      ++access.calls;
      arm.after_real_step(access, x, y_old, at::ones({4}, at::kBool));
    }
    std::vector<int64_t> expected;
    for (int64_t t = 1; lag > 0 && t <= 10; ++t) {
      if (t % lag == 0) expected.push_back(t);
    }
    CHECK(access.refreshed_at == expected);
    CHECK(arm.refreshes() == static_cast<int64_t>(expected.size()));
    // No recall while f_old knows no class outside the batch (with lag 0: the first task).
    CHECK(arm.recalls() == 0);
    CHECK(access.steps == 0);
    ++access.calls;
    const MemoryStepStats s = arm.after_real_step(access, x, y, at::ones({4}, at::kBool));
    CHECK(s.stepped);
    CHECK(arm.recalls() == 1);
    CHECK(access.steps == 1);  // one distillation step per real step
  }
}

// The first n training (or all test) images of `classes`, pixels in [0, 1].
std::pair<at::Tensor, at::Tensor> mnist_subset(const std::set<int>& classes, int64_t n,
                                               bool train) {
  const ImageDataset& ds = test::mnist();
  const auto& labels = train ? ds.train_y : ds.test_y;
  std::vector<size_t> picked;
  for (size_t i = 0; i < labels.size() && (n == 0 || static_cast<int64_t>(picked.size()) < n);
       ++i) {
    if (classes.count(labels[i]) != 0) picked.push_back(i);
  }
  const int64_t p = static_cast<int64_t>(ds.pixels_per_image());
  at::Tensor x = at::empty({static_cast<int64_t>(picked.size()), p});
  at::Tensor y = at::empty({static_cast<int64_t>(picked.size())}, at::kLong);
  float* out = x.data_ptr<float>();
  int64_t* label = y.data_ptr<int64_t>();
  for (size_t k = 0; k < picked.size(); ++k) {
    const uint8_t* img = ds.image(train, picked[k]);
    for (int64_t j = 0; j < p; ++j) out[static_cast<int64_t>(k) * p + j] = img[j] / 255.0f;
    label[k] = labels[picked[k]];
  }
  return {x, y};
}

// Two tasks (0/1, then 2/3) online, 500 examples each in batches of 10, plain SGD at 0.05 as in
// the paper; returns the class-incremental accuracies on task 1's and task 2's test images
// after task 2.
// `arm` (may be null) is installed as the classifier memory.
std::pair<double, double> after_task2(std::unique_ptr<AutomaticRecall> arm,
                                      AutomaticRecall** observe) {
  LearnerConfig config;
  config.optimizer = "sgd";
  config.lr = 0.05;
  config.seed = 11;
  auto learner = Learner::create(config);
  REQUIRE(learner.ok());
  if (arm) {
    if (observe) *observe = arm.get();
    (*learner)->set_classifier_memory(std::move(arm));
  }
  at::Tensor active = at::zeros({10}, at::kBool);
  for (const std::set<int>& task : {std::set<int>{0, 1}, std::set<int>{2, 3}}) {
    for (int c : task) active[c] = true;
    auto [x, y] = mnist_subset(task, 500, true);
    const at::Tensor order = at::randperm(x.size(0), at::kLong);
    x = x.index_select(0, order);
    y = y.index_select(0, order);
    for (int64_t b = 0; b + 10 <= x.size(0); b += 10) {
      StepStats s =
          (*learner)->step(x.narrow(0, b, 10), y.narrow(0, b, 10), {}, {}, active, StepWeights{});
      CHECK_FALSE(s.skipped);
      CHECK_FALSE(s.memory.skipped);
    }
    (*learner)->consolidate();
  }
  auto [x1, y1] = mnist_subset({0, 1}, 0, false);
  auto [x2, y2] = mnist_subset({2, 3}, 0, false);
  return {(*learner)->accuracy(x1, y1, active), (*learner)->accuracy(x2, y2, active)};
}

TEST_CASE("a short two-task run: ARM keeps task 1 well above plain SGD") {
  at::manual_seed(3);
  const auto [naive, naive2] = after_task2(nullptr, nullptr);
  at::manual_seed(3);
  AutomaticRecall* arm = nullptr;
  const auto [with_arm, arm2] = after_task2(std::make_unique<AutomaticRecall>(ArmConfig{}), &arm);
  MESSAGE("after task 2, task 1 / task 2 accuracy: naive SGD "
          << naive << " / " << naive2 << ", ARM " << with_arm << " / " << arm2);
  REQUIRE(arm != nullptr);
  CHECK(arm->recalls() == 50);  // every real step of task 2, none in task 1
  // With the paper's defaults the recall objective rises over the S steps on a real classifier.
  REQUIRE(arm->last_trace().size() == 11);
  CHECK(arm->last_trace().back() > arm->last_trace().front());
  CHECK(with_arm > naive + 0.2);
  // Not by refusing task 2 outright: it is learned (naive SGD's 0 on task 1 shows what an
  // untrained task scores) and the mean is better. In so short a run ARM fixates on task 1 (the
  // paper's warm-up, its appendix A.7.5): with the batch drawn without replacement, as the
  // authors' code, task 2 stays near 0.24 here.
  CHECK(arm2 > 0.15);
  CHECK((with_arm + arm2) / 2 > (naive + naive2) / 2 + 0.1);
}

TEST_CASE("the arm kind: defaults of Table 4, bad options refused by name, bytes of one copy") {
  auto kind = find_memory_kind("arm");
  REQUIRE(kind.ok());
  auto defaults = apply_settings((*kind)->settings(), nlohmann::json::object(), "memory");
  REQUIRE(defaults.ok());
  CHECK((*defaults)["images"] == 10);
  CHECK((*defaults)["steps"] == 10);
  CHECK((*defaults)["step_size"] == 25.0);
  CHECK((*defaults)["entropy"] == 16.0);
  CHECK((*defaults)["new_ce"] == 0.1);
  CHECK((*defaults)["sharpen"] == 0.1);
  CHECK((*defaults)["lag"] == 0);
  for (const char* bad : {R"({"images": 0})", R"({"lag": -1})", R"({"step_size": -1})",
                          R"({"entropy": "x"})", R"({"stepsize": 3})"}) {
    CAPTURE(bad);
    const nlohmann::json input = nlohmann::json::parse(bad);
    auto checked = apply_settings((*kind)->settings(), input, "memory");
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.status().to_string().find(input.begin().key()) != std::string::npos);
  }
  MemoryBuildContext context;
  context.options = *defaults;
  auto parts = (*kind)->build(context);
  REQUIRE(parts.ok());
  CHECK_FALSE(parts->association);
  CHECK_FALSE(parts->buffer.has_value());
  REQUIRE(parts->classifier);
  CHECK(parts->classifier->kind() == "arm");
  CHECK(parts->classifier->extra_bytes(1913640) == 1913640);
}

// A classifier memory that only records what the Learner gives it.
struct RecordingMemory final : ClassifierMemory {
  bool all = false;
  std::vector<at::Tensor> actives;  // the `active` of each after_real_step
  explicit RecordingMemory(bool all_outputs) : all(all_outputs) {}
  std::string kind() const override { return "recording"; }
  at::Tensor real_batch_loss(const at::Tensor&, const at::Tensor&,
                             const at::Tensor&) const override {
    return {};
  }
  MemoryStepStats after_real_step(ClassifierAccess&, const at::Tensor&, const at::Tensor&,
                                  const at::Tensor& active) override {
    actives.push_back(active.to(at::kBool).cpu().clone());
    return {};
  }
  int64_t extra_bytes(int64_t) const override { return 0; }
  bool all_outputs() const override { return all; }
};

TEST_CASE("all_outputs: every unit competes in the Learner's steps, teacher and predictions") {
  for (bool all : {false, true}) {
    CAPTURE(all);
    LearnerConfig config;
    config.optimizer = "sgd";
    config.lr = 0.05;
    config.seed = 4;
    auto learner = Learner::create(config);
    REQUIRE(learner.ok());
    auto memory = std::make_unique<RecordingMemory>(all);
    RecordingMemory* seen = memory.get();
    (*learner)->set_classifier_memory(std::move(memory));
    at::manual_seed(2);
    const at::Tensor x = at::rand({10, 784});
    const at::Tensor y = at::tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, at::kLong);
    at::Tensor active = at::zeros({10}, at::kBool);
    active[0] = active[1] = true;
    // The unseen units' mean probability on the batch (softmax over all units), before and after 20
    // steps on classes 0/1.
    const auto unseen_mass = [&] {
      const at::Tensor p = (*learner)->predict(x);  // softmax over all units, no mask
      return p.narrow(1, 2, 8).sum(1).mean().item<double>();
    };
    const double before = unseen_mass();
    for (int i = 0; i < 20; ++i) (*learner)->step(x, y, {}, {}, active, StepWeights{});
    const double after = unseen_mass();
    REQUIRE(seen->actives.size() == 20);
    const at::Tensor expected = all ? at::ones({10}, at::kBool) : active;
    CHECK(seen->actives.back().equal(expected));
    // The predictions through the mask: the units outside `active` get probability 0 only
    // when the mask is honoured.
    const double outside = (*learner)->predict(x, active).narrow(1, 2, 8).sum().item<double>();
    (*learner)->consolidate();
    at::Tensor y_unlabelled = at::full({10}, -1, at::kLong);
    auto labels = (*learner)->label_by_teacher(x, y_unlabelled);
    REQUIRE(labels.ok());
    if (all) {
      // The real cross-entropy over all 10 units pushes the unseen ones down.
      CHECK(after < before - 0.05);
      CHECK(outside > 0.0);
    } else {
      // Masked units get no gradient: their share of the (unmasked) softmax does not grow
      // from training on them, and the masked prediction gives them nothing.
      CHECK(outside == 0.0);
      // The teacher's answers stay among the classes it learned.
      CHECK(labels->lt(2).all().item<bool>());
    }
  }
}

TEST_CASE("the arm kind: outputs and divergence options") {
  auto kind = find_memory_kind("arm");
  REQUIRE(kind.ok());
  auto defaults = apply_settings((*kind)->settings(), nlohmann::json::object(), "memory");
  REQUIRE(defaults.ok());
  CHECK((*defaults)["outputs"] == "seen");
  CHECK((*defaults)["divergence"] == "js");
  MemoryBuildContext context;
  context.options = *defaults;
  auto seen_parts = (*kind)->build(context);
  REQUIRE(seen_parts.ok());
  CHECK_FALSE(seen_parts->classifier->all_outputs());
  auto all = apply_settings(
      (*kind)->settings(),
      nlohmann::json::parse(R"({"outputs": "all", "divergence": "mixture_kl"})"), "memory");
  REQUIRE(all.ok());
  context.options = *all;
  auto all_parts = (*kind)->build(context);
  REQUIRE(all_parts.ok());
  CHECK(all_parts->classifier->all_outputs());
  // The authors' D with masked units would be infinite: refused, naming the option.
  auto masked = apply_settings((*kind)->settings(),
                               nlohmann::json::parse(R"({"divergence": "mixture_kl"})"), "memory");
  REQUIRE(masked.ok());
  context.options = *masked;
  auto refused = (*kind)->build(context);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().to_string().find("divergence") != std::string::npos);
  auto bad = apply_settings((*kind)->settings(), nlohmann::json::parse(R"({"outputs": "some"})"),
                            "memory");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().to_string().find("outputs") != std::string::npos);
}

TEST_CASE("the lwf kind: step = separate distils in a step of its own, over all outputs") {
  auto kind = find_memory_kind("lwf");
  REQUIRE(kind.ok());
  auto [x, y] = fake_batch();
  FakeAccess access(3);
  for (const char* options :
       {R"({})", R"({"step": "separate", "outputs": "all", "temperature": 1})"}) {
    CAPTURE(options);
    const bool separate = std::string(options).find("separate") != std::string::npos;
    auto checked = apply_settings((*kind)->settings(), nlohmann::json::parse(options), "memory");
    REQUIRE(checked.ok());
    MemoryBuildContext context;
    context.options = *checked;
    auto parts = (*kind)->build(context);
    REQUIRE(parts.ok());
    ClassifierMemory& lwf = *parts->classifier;
    CHECK(lwf.all_outputs() == separate);
    const at::Tensor student = access.logits(x).detach(), teacher = access.frozen_logits(x);
    const at::Tensor term = lwf.real_batch_loss(student, teacher, access.old_classes);
    const int64_t steps_before = access.steps;
    const MemoryStepStats s = lwf.after_real_step(access, x, y, at::ones({4}, at::kBool));
    if (separate) {
      // No term in the real step; one step of its own on T^2 KL(teacher || student), T = 1.
      CHECK_FALSE(term.defined());
      CHECK(s.stepped);
      CHECK(access.steps == steps_before + 1);
      const at::Tensor q = at::log_softmax(
          teacher.masked_fill(access.old_classes.logical_not(), -1e30).narrow(1, 0, 2), 1);
      const at::Tensor ps = at::log_softmax(student.narrow(1, 0, 2), 1);
      CHECK(s.loss == doctest::Approx((q.exp() * (q - ps)).sum(1).mean().item<double>()));
    } else {
      // Li & Hoiem: a term of the real step (T = 2 by default), no step of its own.
      REQUIRE(term.defined());
      CHECK(term.item<double>() ==
            doctest::Approx(
                soft_target_loss(student, teacher, access.old_classes, 2.0).item<double>()));
      CHECK_FALSE(s.stepped);
      CHECK(access.steps == steps_before);
    }
  }
}

}  // namespace
}  // namespace engram
