// Dynamic Generative Memory (papers/004): HAT masks (annealing, binarisation, the sparsity
// regulariser), gradient protection of reserved units, growth that keeps what stored tasks
// generate, a generated class that stays recognisable to a fixed classifier after later tasks,
// bad settings refused by name, and state round trips (damaged state refused).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>

#include <string>

#include "io/datasets/dataset.h"
#include "modules/association/hat_mask.h"
#include "modules/association/masked_gan.h"
#include "modules/common/tensor_archive.h"
#include "modules/distill/mnist_tensors.h"
#include "modules/memory/memory_registry.h"
#include "runtime/settings.h"

namespace engram {
namespace {

MaskedGanConfig small_config() {
  MaskedGanConfig c;
  c.classes = 10;
  c.nz = 16;
  c.hidden = {32, 48};
  c.critic_hidden = {64};
  c.lr = 0.002;
  c.anneal_steps = 20;
  c.seed = 5;
  return c;
}

std::unique_ptr<MaskedGan> make_gan(const MaskedGanConfig& c) {
  auto g = MaskedGan::create(c);
  REQUIRE_MESSAGE(g.ok(), g.status().to_string());
  return std::move(g).value();
}

at::Tensor random_images(int64_t n, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::rand({n, 784}, g);
}

// `steps` steps on random images all labelled `label`.
void learn_class(MaskedGan& gan, int label, int steps, uint64_t seed) {
  for (int i = 0; i < steps; ++i) {
    auto s = gan.learn(random_images(16, seed + static_cast<uint64_t>(i)),
                       at::full({16}, label, at::kLong));
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    CHECK_FALSE(s->skipped);
  }
}

at::Tensor fixed_noise(int64_t n, int64_t nz) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(99);
  return at::randn({n, nz}, g);
}

TEST_CASE("hat_scale: 1/s_max at the start, s_max at the end and after") {
  CHECK(hat_scale(0, 100, 400) == doctest::Approx(1.0 / 400));
  CHECK(hat_scale(99, 100, 400) == doctest::Approx(400));
  CHECK(hat_scale(500, 100, 400) == doctest::Approx(400));
  CHECK(hat_scale(0, 1, 400) == doctest::Approx(400));
  CHECK(hat_scale(50, 101, 400) > hat_scale(49, 101, 400));
}

TEST_CASE("HatMask: commit binarises, counts new units, cumulative is the max; growth pads") {
  HatMask m(6);
  {
    at::NoGradGuard no_grad;
    m.embedding().copy_(at::tensor({1.f, -1.f, 2.f, -3.f, 0.5f, -0.5f}));
  }
  CHECK(m.commit() == 3);
  CHECK(m.tasks() == 1);
  CHECK(m.free_units() == 3);
  CHECK(at::equal(m.task_mask(0), at::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 0.f})));
  CHECK(at::equal(m.embedding(), at::zeros({6})));
  {
    at::NoGradGuard no_grad;
    m.embedding().copy_(at::tensor({1.f, 1.f, -2.f, -3.f, -0.5f, -0.5f}));
  }
  CHECK(m.commit() == 1);  // unit 0 was reserved already, unit 1 is new
  CHECK(at::equal(m.cumulative(), at::tensor({1.f, 1.f, 1.f, 0.f, 1.f, 0.f})));
  m.grow(2);
  CHECK(m.units() == 8);
  CHECK(m.free_units() == 4);
  CHECK(at::equal(m.task_mask(1), at::tensor({1.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f})));
  // The regulariser counts only free units: units 3, 5, 6, 7 at m = 0.5 each.
  const at::Tensor soft = m.soft(1.0);
  CHECK(hat_sparsity({soft}, {&m}).item<double>() == doctest::Approx(0.5));
}

TEST_CASE("masks binarise as s grows") {
  auto gan = make_gan(small_config());
  learn_class(*gan, 3, 10, 1);
  int64_t middle_small = 0, middle_large = 0, total = 0;
  const double s_small = hat_scale(0, 20, 1e4), s_large = hat_scale(19, 20, 1e4);
  const auto small = gan->soft_masks(s_small), large = gan->soft_masks(s_large);
  for (size_t l = 0; l < small.size(); ++l) {
    auto middle = [](const at::Tensor& m) {
      return ((m > 0.01) & (m < 0.99)).sum().item<int64_t>();
    };
    middle_small += middle(small[l]);
    middle_large += middle(large[l]);
    total += small[l].numel();
  }
  CHECK(middle_small == total);  // s = 1/s_max: every mask near 0.5
  // s = s_max: all but the few embeddings that crossed 0 in the last steps are 0 or 1.
  CHECK(middle_large * 20 <= total);
  // The mean distance to {0, 1} falls monotonically as s rises, from 0.5 to near 0.
  double previous = 0.5 + 1e-9;
  for (int64_t step : {0, 1, 2, 5, 10, 19}) {
    double distance = 0;
    for (const at::Tensor& m : gan->soft_masks(hat_scale(step, 20, 1e4))) {
      distance += at::minimum(m, 1 - m).sum().item<double>();
    }
    distance /= static_cast<double>(total);
    CHECK(distance <= previous);
    previous = distance;
  }
  CHECK(previous < 0.05);
}

TEST_CASE("reserved units receive zero gradient: their weights and old outputs stay exact") {
  auto gan = make_gan(small_config());
  learn_class(*gan, 0, 20, 10);
  const std::vector<int64_t> fresh = gan->consolidate();
  REQUIRE(fresh.size() == 2);
  REQUIRE(fresh[0] > 0);
  const at::Tensor z = fixed_noise(12, 16);
  const at::Tensor labels = at::zeros({12}, at::kLong), tasks = at::zeros({12}, at::kLong);
  const at::Tensor before = gan->generate_with(labels, z, tasks);
  std::vector<at::Tensor> params_before;
  for (const at::Tensor& p : gan->generator_parameters()) params_before.push_back(p.clone());
  // Which rows of layer 0 are reserved (task 0's mask), read from the stored state.
  auto archive = TensorArchive::from_bytes(gan->save_state());
  REQUIRE(archive.ok());
  auto stored0 = archive->get("mask/0/stored", at::kByte);
  REQUIRE(stored0.ok());
  const at::Tensor reserved0 = stored0->select(0, 0).to(at::kBool);
  learn_class(*gan, 1, 20, 100);
  const auto params = gan->generator_parameters();
  // Layer 0: the rows of reserved units never changed (old rows only; the layer grew).
  const at::Tensor w0_old = params_before[0].index({reserved0});
  const at::Tensor w0_new = params[0].narrow(0, 0, reserved0.size(0)).index({reserved0});
  const at::Tensor z_cols = w0_new.narrow(1, 0, 16);
  CHECK(at::equal(z_cols, w0_old.narrow(1, 0, 16)));
  CHECK(at::equal(w0_new.narrow(1, 16, 1), w0_old.narrow(1, 16, 1)));  // class 0's input
  // Some free weights did change (learning is not frozen altogether).
  CHECK_FALSE(at::equal(params[0].narrow(0, 0, reserved0.size(0)).index({~reserved0}),
                        params_before[0].index({~reserved0})));
  CHECK(at::equal(gan->generate_with(labels, z, tasks), before));
}

TEST_CASE("expansion: each layer grows by the units the task reserved; old outputs exact") {
  auto gan = make_gan(small_config());
  learn_class(*gan, 4, 20, 20);
  const auto widths0 = gan->widths();
  const auto fresh0 = gan->consolidate();
  const auto widths1 = gan->widths();
  for (size_t l = 0; l < widths0.size(); ++l) CHECK(widths1[l] == widths0[l] + fresh0[l]);
  // Free capacity constant: free units after growth = the initial widths.
  const auto reserved1 = gan->reserved();
  for (size_t l = 0; l < widths0.size(); ++l) CHECK(widths1[l] - reserved1[l] == widths0[l]);
  const at::Tensor z = fixed_noise(8, 16);
  const at::Tensor lab = at::full({8}, 4, at::kLong), t0 = at::zeros({8}, at::kLong);
  const at::Tensor old_out = gan->generate_with(lab, z, t0);
  learn_class(*gan, 7, 20, 40);
  const auto fresh1 = gan->consolidate();
  const auto widths2 = gan->widths();
  for (size_t l = 0; l < widths0.size(); ++l) CHECK(widths2[l] == widths1[l] + fresh1[l]);
  CHECK(gan->width_history().size() == 2);
  CHECK(at::equal(gan->generate_with(lab, z, t0), old_out));
  CHECK(gan->class_tasks()[4] == 0);
  CHECK(gan->class_tasks()[7] == 1);
  // Generation by class honours the weights and labels each sample with its class.
  auto [x, y] = gan->generate(50, {0, 0, 0, 0, 0, 0, 0, 1});
  CHECK(x.size(0) == 50);
  CHECK(at::equal(y, at::full({50}, 7, at::kLong)));
  auto [x2, y2] = gan->generate(5, {1});  // class 0 not learned
  CHECK(x2.size(0) == 0);
  // A learned class refuses to join a later task.
  auto again = gan->learn(random_images(4, 1), at::full({4}, 4, at::kLong));
  CHECK_FALSE(again.ok());
  // Bytes: generator weights at 4 B and one bit per unit and task.
  CHECK(gan->mask_bytes() == 2 * ((widths2[0] + 7) / 8 + (widths2[1] + 7) / 8));
}

// Nearest class mean over MNIST's training images of `classes`: a fixed classifier.
struct NearestMean {
  std::vector<int> classes;
  at::Tensor means;  // [k, 784]
  at::Tensor predict(const at::Tensor& x) const {
    const at::Tensor d = at::cdist(x, means);
    const at::Tensor k = d.argmin(1);
    at::Tensor out = at::empty_like(k);
    for (int64_t i = 0; i < k.size(0); ++i) out[i] = classes[k[i].item<int64_t>()];
    return out;
  }
};

TEST_CASE("a generated class stays recognisable to a fixed classifier after later tasks") {
  auto full = load_dataset("mnist");
  if (!full.ok()) {
    MESSAGE("skipped: MNIST is not installed");
    return;
  }
  const std::vector<int> classes = {0, 1, 7};
  std::vector<std::vector<int64_t>> idx(3);
  for (size_t i = 0; i < full->train_size() && idx[2].size() < 800; ++i) {
    for (size_t k = 0; k < 3; ++k) {
      if (full->train_y[i] == classes[k] && idx[k].size() < 800) idx[k].push_back(int64_t(i));
    }
  }
  NearestMean fixed{classes, at::empty({3, 784})};
  std::vector<at::Tensor> data;
  for (size_t k = 0; k < 3; ++k) {
    data.push_back(dataset_images(*full, true, idx[k]));
    fixed.means[static_cast<int64_t>(k)] = data[k].mean(0);
  }
  MaskedGanConfig c = small_config();
  c.hidden = {64, 128};
  c.critic_hidden = {128};
  c.anneal_steps = 150;
  auto gan = make_gan(c);
  at::Generator pick = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor first;
  const at::Tensor z = fixed_noise(100, c.nz);
  for (size_t k = 0; k < 3; ++k) {
    for (int step = 0; step < 150; ++step) {
      const at::Tensor rows = at::randint(data[k].size(0), {32}, pick);
      auto s = gan->learn(data[k].index_select(0, rows), at::full({32}, classes[k], at::kLong));
      REQUIRE(s.ok());
    }
    gan->consolidate();
    if (k == 0)
      first = gan->generate_with(at::zeros({100}, at::kLong), z, at::zeros({100}, at::kLong));
  }
  // After learning 1 and 7: class 0 generated with task 0's masks is what it was, and the fixed
  // classifier still calls it 0; the later classes are recognisable too.
  const at::Tensor now =
      gan->generate_with(at::zeros({100}, at::kLong), z, at::zeros({100}, at::kLong));
  CHECK(at::equal(now, first));
  for (size_t k = 0; k < 3; ++k) {
    auto [x, y] = gan->generate(100, [&] {
      std::vector<double> w(10, 0.0);
      w[static_cast<size_t>(classes[k])] = 1;
      return w;
    }());
    const double acc = (fixed.predict(x) == y).to(at::kDouble).mean().item<double>();
    MESSAGE("class " << classes[k] << ": " << acc << " of generated samples recognised");
    CHECK(acc >= 0.9);
  }
}

TEST_CASE("bad settings are refused by name") {
  auto check = [](MaskedGanConfig c, const std::string& name) {
    Status s = validate(c);
    CHECK_FALSE(s.ok());
    CHECK_MESSAGE(s.message().find(name) != std::string::npos, s.message());
  };
  MaskedGanConfig c = small_config();
  CHECK(validate(c).ok());
  auto with = [&](auto f) {
    MaskedGanConfig d = c;
    f(d);
    return d;
  };
  check(with([](auto& d) { d.s_max = 0.5; }), "s_max");
  check(with([](auto& d) { d.lambda = -1; }), "lambda");
  check(with([](auto& d) { d.gp = std::nan(""); }), "gp");
  check(with([](auto& d) { d.lr = 0; }), "lr");
  check(with([](auto& d) { d.hidden = {}; }), "hidden");
  check(with([](auto& d) { d.critic_steps = 0; }), "critic_steps");
  check(with([](auto& d) { d.anneal_steps = 0; }), "anneal_steps");
  check(with([](auto& d) { d.nz = 0; }), "nz");
  // Through the registered kind's declared settings.
  auto kind = find_memory_kind("dgm");
  REQUIRE(kind.ok());
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"s_max", 0.1},
                                                           {"lambda", -0.5},
                                                           {"critic_steps", 0},
                                                           {"hidden", nlohmann::json::array()},
                                                           {"smax", 1e4}}) {
    auto r = apply_settings((*kind)->settings(), {{key, value}}, "memory");
    CHECK_FALSE(r.ok());
    CHECK_MESSAGE(r.status().message().find(key) != std::string::npos, r.status().message());
  }
  auto fine = apply_settings((*kind)->settings(), {{"s_max", 400}, {"hidden", {8, 8}}}, "memory");
  CHECK(fine.ok());
  // A label outside the classes is refused.
  auto gan = make_gan(c);
  CHECK_FALSE(gan->learn(random_images(2, 1), at::full({2}, 10, at::kLong)).ok());
}

TEST_CASE("state round trip; damaged state refused and nothing changed") {
  MaskedGanConfig c = small_config();
  auto a = make_gan(c);
  learn_class(*a, 2, 12, 50);
  a->consolidate();
  learn_class(*a, 5, 5, 60);  // mid-task
  const std::string bytes = a->save_state();
  auto b = make_gan(c);
  REQUIRE(b->load_state(bytes).ok());
  CHECK(b->widths() == a->widths());
  CHECK(b->save_state() == bytes);
  // Both continue identically (noise stream, Adam moments, annealing step restored).
  learn_class(*a, 5, 3, 70);
  learn_class(*b, 5, 3, 70);
  a->consolidate();
  b->consolidate();
  CHECK(a->save_state() == b->save_state());
  const at::Tensor z = fixed_noise(6, 16);
  const at::Tensor t = at::tensor({0, 1, 0, 1, 0, 1}, at::kLong);
  const at::Tensor lab = at::tensor({2, 5, 2, 5, 2, 5}, at::kLong);
  CHECK(at::equal(a->generate_with(lab, z, t), b->generate_with(lab, z, t)));

  auto fresh = make_gan(c);
  const std::string before = fresh->save_state();
  CHECK_FALSE(fresh->load_state(bytes.substr(0, bytes.size() / 2)).ok());
  CHECK_FALSE(fresh->load_state("not a state").ok());
  // A mask that is not 0/1, a class bound to a task that does not exist.
  auto archive = TensorArchive::from_bytes(bytes);
  REQUIRE(archive.ok());
  {
    TensorArchive damaged = *archive;
    at::Tensor m = damaged.get("mask/1/stored", at::kByte).value().clone();
    m[0][0] = 7;
    damaged.put("mask/1/stored", m);
    Status s = fresh->load_state(damaged.to_bytes());
    CHECK_FALSE(s.ok());
    CHECK_MESSAGE(s.message().find("mask/1/stored") != std::string::npos, s.message());
  }
  {
    TensorArchive damaged = *archive;
    at::Tensor ct = damaged.get("class_task", at::kLong).value().clone();
    ct[3] = 9;
    damaged.put("class_task", ct);
    Status s = fresh->load_state(damaged.to_bytes());
    CHECK_FALSE(s.ok());
    CHECK_MESSAGE(s.message().find("class_task") != std::string::npos, s.message());
  }
  {
    TensorArchive damaged = *archive;
    damaged.put("widths", at::tensor({int64_t{1}, int64_t{48}}, at::kLong));
    CHECK_FALSE(fresh->load_state(damaged.to_bytes()).ok());
  }
  CHECK(fresh->save_state() == before);
}

}  // namespace
}  // namespace engram
