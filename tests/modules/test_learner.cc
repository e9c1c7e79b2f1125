// The neocortex: classifier configuration checks, learning, the `active` output mask, the
// replay weight of Learner::step, and the CNN.
#include "modules/neocortex/learner.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>

#include "../io/io_test_util.h"
#include "modules/neocortex/classifier.h"

namespace engram {
namespace {

// The first n images (pixels in [0,1], [n, 784]) of the train or test split whose label is in
// `classes` (n = 0: all of them), and their labels.
std::pair<at::Tensor, at::Tensor> mnist_subset(const std::set<int>& classes, int64_t n,
                                               bool train) {
  const ImageDataset& ds = test::mnist();
  const auto& labels = train ? ds.train_y : ds.test_y;
  std::vector<size_t> picked;
  for (size_t i = 0; i < labels.size() && (n == 0 || static_cast<int64_t>(picked.size()) < n);
       ++i) {
    if (classes.count(labels[i]) != 0) picked.push_back(i);
  }
  REQUIRE((n == 0 || static_cast<int64_t>(picked.size()) == n));
  const int64_t p = static_cast<int64_t>(ds.pixels_per_image());
  const int64_t count = static_cast<int64_t>(picked.size());
  at::Tensor x = at::empty({count, p});
  at::Tensor y = at::empty({count}, at::kLong);
  for (int64_t k = 0; k < count; ++k) {
    const uint8_t* img = ds.image(train, picked[k]);
    float* out = x.data_ptr<float>() + k * p;
    for (int64_t j = 0; j < p; ++j) out[j] = img[j] / 255.0f;
    y[k] = labels[picked[k]];
  }
  return {x, y};
}

at::Tensor mask(const std::set<int>& classes, int n = 10) {
  at::Tensor m = at::zeros({n}, at::kBool);
  for (int c : classes) m[c] = true;
  return m;
}

LearnerConfig small_config() {
  LearnerConfig c;
  c.classifier.hidden = {256};
  c.seed = 7;
  return c;
}

std::unique_ptr<Learner> make_learner(const LearnerConfig& config) {
  auto l = Learner::create(config);
  REQUIRE_MESSAGE(l.ok(), l.status().to_string());
  return std::move(l).value();
}

// `steps` steps on batches of `batch` rows cycling through (x, y), no replay.
StepStats train(Learner& learner, const at::Tensor& x, const at::Tensor& y,
                const at::Tensor& active, int steps, int64_t batch) {
  StepStats last;
  const int64_t n = x.size(0);
  for (int s = 0; s < steps; ++s) {
    const int64_t start = (s * batch) % (n - batch + 1);
    last = learner.step(x.narrow(0, start, batch), y.narrow(0, start, batch), {}, {}, active, 0.0);
  }
  return last;
}

TEST_CASE("validate and create reject bad configurations and name the field") {
  CHECK(validate(ClassifierConfig()).ok());
  struct Bad {
    const char* what;
    void (*edit)(ClassifierConfig&);
    const char* field;
  };
  const Bad bad[] = {
      {"net", [](ClassifierConfig& c) { c.net = "resnet"; }, "net"},
      {"classes = 1", [](ClassifierConfig& c) { c.classes = 1; }, "classes"},
      {"hidden = 0",
       [](ClassifierConfig& c) {
         c.hidden = {400, 0};
       },
       "hidden"},
      {"hidden too wide", [](ClassifierConfig& c) { c.hidden = {1 << 20}; }, "hidden"},
      {"rows", [](ClassifierConfig& c) { c.rows = 0; }, "shape"},
      {"cnn shape",
       [](ClassifierConfig& c) {
         c.net = "cnn";
         c.cols = 32;
       },
       "cnn"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    LearnerConfig lc = small_config();
    b.edit(lc.classifier);
    Status s = validate(lc.classifier);
    CHECK(s.code() == ErrorCode::invalid_argument);
    CHECK_MESSAGE(s.message().find(b.field) != std::string::npos, s.message());
    CHECK_FALSE(make_classifier(lc.classifier).ok());
    CHECK_FALSE(Learner::create(lc).ok());
  }
  LearnerConfig lc = small_config();
  lc.lr = 0;
  auto r = Learner::create(lc);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("lr") != std::string::npos);
  lc = small_config();
  lc.device = "gpu0";
  CHECK_FALSE(Learner::create(lc).ok());
}

TEST_CASE("a few hundred steps on four MNIST classes reach > 90% test accuracy") {
  auto learner = make_learner(small_config());
  CHECK(learner->classes() == 10);
  // 784*256+256 + 256*10+10 float32 parameters.
  CHECK(learner->weight_bytes() == 4 * (784 * 256 + 256 + 256 * 10 + 10));
  const std::set<int> classes = {0, 1, 2, 3};
  auto [x, y] = mnist_subset(classes, 4000, true);
  auto [xt, yt] = mnist_subset(classes, 0, false);
  const at::Tensor all = mask({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const double before = learner->accuracy(xt, yt, all);
  StepStats first = learner->step(x.narrow(0, 0, 64), y.narrow(0, 0, 64), {}, {}, all, 0.0);
  StepStats last = train(*learner, x, y, all, 300, 64);
  const double after = learner->accuracy(xt, yt, all);
  MESSAGE("accuracy before " << before << ", after " << after);
  CHECK(after > 0.9);
  CHECK(before < 0.5);
  CHECK(last.loss_real < 0.5 * first.loss_real);
  CHECK(first.loss_replay == 0);
  // The argmax over the task's classes is at least as good as over all of them.
  CHECK(learner->accuracy(xt, yt, mask(classes)) >= after);
  // predict: probabilities over all classes.
  at::Tensor p = learner->predict(xt.narrow(0, 0, 5));
  REQUIRE(p.sizes() == at::IntArrayRef({5, 10}));
  CHECK(at::allclose(p.sum(1), at::ones({5})));
  CHECK(learner->accuracy(xt.narrow(0, 0, 0), yt.narrow(0, 0, 0), all) == 0.0);
}

TEST_CASE("the active mask restricts the argmax") {
  auto learner = make_learner(small_config());
  const std::set<int> classes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto [x, y] = mnist_subset(classes, 2000, true);
  auto [xt, yt] = mnist_subset(classes, 1000, false);
  train(*learner, x, y, mask(classes), 60, 64);
  for (int k : {0, 3, 9}) {
    CAPTURE(k);
    // With one active unit every prediction is k: accuracy = fraction of class k.
    const double frac = yt.eq(k).to(at::kDouble).mean().item<double>();
    CHECK(learner->accuracy(xt, yt, mask({k})) == doctest::Approx(frac).epsilon(1e-12));
  }
  // With two active units predictions fall in {a, b}: accuracy <= their share.
  const double share = at::logical_or(yt.eq(2), yt.eq(7)).to(at::kDouble).mean().item<double>();
  const double two = learner->accuracy(xt, yt, mask({2, 7}));
  CHECK(two <= share + 1e-12);
  CHECK(two > 0.5 * share);
}

TEST_CASE("replay_weight 1: the real batch has no effect, the replayed batch is learned") {
  // Real batch: class 0; replayed batch: class 1.
  auto [x0, y0] = mnist_subset({0}, 1024, true);
  auto [x1, y1] = mnist_subset({1}, 1024, true);
  auto [t0, u0] = mnist_subset({0}, 500, false);
  auto [t1, u1] = mnist_subset({1}, 500, false);
  const at::Tensor active = mask({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  at::manual_seed(99);
  const at::Tensor noise_x = at::rand({64, 784});
  const at::Tensor noise_y = at::randint(0, 10, {64}, at::kLong);

  auto a = make_learner(small_config());  // real: class 0
  auto b = make_learner(small_config());  // real: noise with random labels
  auto c = make_learner(small_config());  // replay_weight 0: learns the real batch
  StepStats sa, sb, sc;
  for (int s = 0; s < 80; ++s) {
    const int64_t start = (s * 64) % (1024 - 64 + 1);
    const at::Tensor xr = x1.narrow(0, start, 64), yr = y1.narrow(0, start, 64);
    sa = a->step(x0.narrow(0, start, 64), y0.narrow(0, start, 64), xr, yr, active, 1.0);
    sb = b->step(noise_x, noise_y, xr, yr, active, 1.0);
    sc = c->step(x0.narrow(0, start, 64), y0.narrow(0, start, 64), xr, yr, active, 0.0);
  }
  // Both stats are reported whatever the weight.
  CHECK(sa.loss_real > 1.0);  // class 0 is never learned
  CHECK(sa.loss_replay < 0.1);
  CHECK(sb.loss_replay == doctest::Approx(sa.loss_replay).epsilon(1e-6));
  // A learns class 1 and not class 0 (everything looks like a 1).
  CHECK(a->accuracy(t1, u1, active) > 0.95);
  CHECK(a->accuracy(t0, u0, active) < 0.05);
  // What the real batch held made no difference at all.
  CHECK(at::equal(a->predict(t0), b->predict(t0)));
  // replay_weight 0 is the mirror image: class 0 learned, class 1 not.
  CHECK(c->accuracy(t0, u0, active) > 0.95);
  CHECK(c->accuracy(t1, u1, active) < 0.05);
  CHECK(sc.loss_real < 0.1);
  CHECK(sc.loss_replay > 1.0);
}

TEST_CASE("the cnn trains: loss on a fixed batch falls") {
  LearnerConfig cfg = small_config();
  cfg.classifier.net = "cnn";
  auto learner = make_learner(cfg);
  auto [x, y] = mnist_subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 32, true);
  const at::Tensor all = mask({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  StepStats first = learner->step(x, y, {}, {}, all, 0.0);
  CHECK(std::isfinite(first.loss_real));
  StepStats last;
  for (int s = 0; s < 25; ++s) last = learner->step(x, y, {}, {}, all, 0.0);
  MESSAGE("cnn loss " << first.loss_real << " -> " << last.loss_real);
  CHECK(last.loss_real < 0.5 * first.loss_real);
  CHECK(learner->predict(x).sizes() == at::IntArrayRef({32, 10}));
  CHECK(learner->weight_bytes() > 4 * (64 * 4 * 4 * 256));
}

TEST_CASE("unlabelled recollections (-1) take the teacher's answer over the classes it knew") {
  auto learner = make_learner(small_config());
  auto [x, y] = mnist_subset({0, 1}, 256, true);
  const at::Tensor unknown = at::full({x.size(0)}, -1, at::kLong);
  auto refused = learner->label_by_teacher(x, unknown);
  REQUIRE_FALSE(refused.ok());  // no teacher yet
  CHECK(refused.status().message().find("unlabelled") != std::string::npos);
  auto same = learner->label_by_teacher(x, y);  // nothing unlabelled: y as it is
  REQUIRE(same.ok());
  CHECK(at::equal(*same, y));
  for (int i = 0; i < 100; ++i) learner->step(x, y, {}, {}, mask({0, 1}), 0.0);
  learner->consolidate();
  at::Tensor mixed = y.clone();
  mixed.narrow(0, 0, 128).fill_(-1);
  auto labelled = learner->label_by_teacher(x, mixed);
  REQUIRE(labelled.ok());
  CHECK(at::equal(labelled->narrow(0, 128, 128), y.narrow(0, 128, 128)));
  const at::Tensor answers = labelled->narrow(0, 0, 128);
  CHECK(answers.ge(0).all().item<bool>());
  CHECK(answers.le(1).all().item<bool>());  // the teacher knew classes 0 and 1 only
  CHECK(answers.eq(y.narrow(0, 0, 128)).to(at::kDouble).mean().item<double>() > 0.95);
  // A learner restored from the state keeps the teacher and the classes it knew.
  auto restored = make_learner(small_config());
  REQUIRE(restored->load_state(learner->save_state()).ok());
  auto again = restored->label_by_teacher(x, mixed);
  REQUIRE(again.ok());
  CHECK(at::equal(*again, *labelled));
}

TEST_CASE("a step whose loss is not finite is skipped: weights and Adam state unchanged") {
  auto learner = make_learner(small_config());
  auto [x, y] = mnist_subset({0, 1}, 16, true);
  const at::Tensor active = mask({0, 1});
  learner->step(x, y, {}, {}, active, 0.0);  // Adam moments exist from here on
  const std::string before = learner->save_state();
  // Values no input path lets through, but a bug could: the logits overflow, the loss is inf.
  at::Tensor huge = at::full_like(x, 3e38f);
  StepStats s = learner->step(huge, y, {}, {}, active, 0.0);
  CHECK(s.skipped);
  CHECK_FALSE(std::isfinite(s.loss_real));
  at::Tensor nan = x.clone();
  nan[3][100] = std::nanf("");
  CHECK(learner->step(nan, y, {}, {}, active, 0.0).skipped);
  // The replayed half alone can poison the loss too.
  CHECK(learner->step(x, y, nan, y, active, 0.5).skipped);
  CHECK(learner->skipped_steps() == 3);
  CHECK(learner->save_state() == before);
  // The next good step is applied and its predictions are finite.
  StepStats good = learner->step(x, y, {}, {}, active, 0.0);
  CHECK_FALSE(good.skipped);
  CHECK(learner->save_state() != before);
  CHECK(learner->predict(x).isfinite().all().item<bool>());
}

}  // namespace
}  // namespace engram
