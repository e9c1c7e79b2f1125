// The lifelong VAE of papers/002: closed-form KLs against Monte-Carlo, the mutual-information
// estimate, the frozen teacher, latent growth, the protocol's consistency effect, bad settings,
// and state round trips.
#include "modules/association/lifelong_vae.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "../io/io_test_util.h"
#include "modules/common/tensor_archive.h"
#include "modules/lifelong/lifelong_protocol.h"

namespace engram {
namespace {

LifelongVaeConfig small_config() {
  LifelongVaeConfig c;
  c.j = 2;
  c.f = 4;
  c.hidden = {64, 32};
  c.seed = 3;
  return c;
}

std::unique_ptr<LifelongVae> make_vae(const LifelongVaeConfig& c) {
  auto v = LifelongVae::create(c);
  REQUIRE_MESSAGE(v.ok(), v.status().to_string());
  return std::move(v).value();
}

at::Tensor random_images(int64_t n, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::rand({n, 784}, g);
}

TensorArchive archive_of(const LifelongVae& vae) {
  auto a = TensorArchive::from_bytes(vae.save_state());
  REQUIRE(a.ok());
  return std::move(a).value();
}

at::Tensor tensor_in(const TensorArchive& a, const std::string& name) {
  auto t = a.get(name, at::kFloat);
  REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  return *t;
}

// Parameters and BatchNorm statistics of one network in a save_state() archive.
const char* const kTensors[] = {
    "encoder/0.weight", "encoder/1.weight", "encoder/1.running_mean", "encoder/3.weight",
    "head/weight",      "latent_in/weight", "decoder/0.running_var",  "decoder/2.weight",
    "decoder/5.weight", "decoder/5.bias"};

TEST_CASE("categorical KL: closed form (zero-padded) equals a Monte-Carlo estimate") {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor p_logits = at::randn({1, 3}, g);
  const at::Tensor q_logits = at::randn({1, 4}, g);
  const double closed = categorical_kl_padded(p_logits, q_logits).item<double>();
  // E_{v ~ p} [log p(v) - log q(v)], v over p's 3 values (the padded one has p = 0).
  const at::Tensor p = at::softmax(p_logits, 1);
  const at::Tensor draws = at::multinomial(p, 200000, true, g).squeeze(0);
  const at::Tensor log_ratio = at::log_softmax(p_logits, 1).squeeze(0) -
                               at::log_softmax(q_logits, 1).squeeze(0).narrow(0, 0, 3);
  const double mc = log_ratio.index_select(0, draws).mean().item<double>();
  CHECK(closed > 0);
  CHECK(std::abs(closed - mc) < 0.01);
  // Equal distributions: zero.
  CHECK(std::abs(categorical_kl_padded(q_logits, q_logits).item<double>()) < 1e-6);
}

TEST_CASE("Gaussian KL to N(0, I): closed form equals a Monte-Carlo estimate") {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(12);
  const at::Tensor mu = at::randn({1, 3}, g);
  const at::Tensor logvar = at::randn({1, 3}, g) * 0.5;
  const double closed = gaussian_kl_standard(mu, logvar).item<double>();
  const at::Tensor sigma = at::exp(0.5 * logvar);
  const at::Tensor z = mu + sigma * at::randn({400000, 3}, g);
  const double two_pi = std::log(2 * M_PI);
  const at::Tensor log_q =
      (-0.5 * ((z - mu) / sigma).pow(2) - at::log(sigma) - 0.5 * two_pi).sum(1);
  const at::Tensor log_p = (-0.5 * z.pow(2) - 0.5 * two_pi).sum(1);
  const double mc = (log_q - log_p).mean().item<double>();
  CHECK(std::abs(closed - mc) < 0.02 * std::max(1.0, closed));
  CHECK(std::abs(gaussian_kl_standard(at::zeros({1, 3}), at::zeros({1, 3})).item<double>()) < 1e-9);
}

TEST_CASE("mutual information: log J for confident distinct posteriors, 0 for equal ones") {
  const at::Tensor distinct = at::eye(4) * 50;
  CHECK(mutual_information(distinct).item<double>() ==
        doctest::Approx(std::log(4.0)).epsilon(1e-4));
  const at::Tensor same = at::zeros({4, 4});
  CHECK(std::abs(mutual_information(same).item<double>()) < 1e-6);
}

TEST_CASE("bad settings are refused with their names") {
  LifelongVaeConfig c = small_config();
  c.j = 0;
  Status s = validate(c);
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message().find("j must") != std::string::npos);
  c = small_config();
  c.f = -1;
  CHECK(validate(c).message().find("f must") != std::string::npos);
  c = small_config();
  c.mutual_info = std::numeric_limits<double>::quiet_NaN();
  CHECK(validate(c).message().find("mutual_info") != std::string::npos);
  c = small_config();
  c.consistency = -1;
  CHECK(validate(c).message().find("consistency") != std::string::npos);
  CHECK(!LifelongVae::create(c).ok());
}

TEST_CASE("the teacher never changes while the student learns; the student does") {
  auto vae = make_vae(small_config());
  CHECK(!vae->has_teacher());
  CHECK(!vae->sample_teacher(4).ok());
  CHECK(vae->synthetic_share(64) == 0);
  for (int i = 0; i < 5; ++i) {
    const LifelongVaeStats s = vae->learn(random_images(32, i), 0);
    // Without a teacher every row is real: the real rows' terms are the batch's.
    CHECK(s.real_reconstruction == s.reconstruction);
    CHECK(s.real_kl == s.kl_discrete + s.kl_continuous);
  }
  vae->transition();
  REQUIRE(vae->has_teacher());
  CHECK(vae->distributions() == 1);
  CHECK(vae->synthetic_share(64) == 32);
  const TensorArchive before = archive_of(*vae);
  for (int i = 0; i < 5; ++i) {
    LifelongVaeStats s = vae->learn(random_images(32, 100 + i), vae->synthetic_share(64));
    CHECK(!s.skipped);
    CHECK(s.synthetic == 32);
    CHECK(std::isfinite(s.consistency));
    // The real rows' negative ELBO terms, apart from the teacher's samples.
    CHECK(s.real_reconstruction > 0);
    CHECK(s.real_kl >= 0);
    CHECK(s.real_reconstruction != s.reconstruction);
  }
  const TensorArchive after = archive_of(*vae);
  for (const char* name : kTensors) {
    const std::string t = std::string("teacher/") + name;
    CHECK_MESSAGE(at::equal(tensor_in(before, t), tensor_in(after, t)), t);
  }
  CHECK(!at::equal(tensor_in(before, "student/encoder/0.weight"),
                   tensor_in(after, "student/encoder/0.weight")));
}

TEST_CASE("growth: J + 1, every weight away from the latent copied bit for bit") {
  LifelongVaeConfig c = small_config();
  auto vae = make_vae(c);
  for (int i = 0; i < 3; ++i) vae->learn(random_images(32, i), 0);
  vae->transition();
  CHECK(vae->j() == 3);
  CHECK(vae->teacher_j() == 2);
  const TensorArchive a = archive_of(*vae);
  for (const char* name :
       {"encoder/0.weight", "encoder/0.bias", "encoder/1.weight", "encoder/3.weight",
        "decoder/2.weight", "decoder/5.weight", "decoder/5.bias"}) {
    CHECK_MESSAGE(at::equal(tensor_in(a, std::string("student/") + name),
                            tensor_in(a, std::string("teacher/") + name)),
                  name);
  }
  // The latent's adjacent layers have the grown shapes; BatchNorm statistics start fresh.
  CHECK(tensor_in(a, "student/head/weight").size(0) == 3 + 2 * c.f);
  CHECK(tensor_in(a, "teacher/head/weight").size(0) == 2 + 2 * c.f);
  CHECK(tensor_in(a, "student/latent_in/weight").size(1) == 3 + c.f);
  CHECK(at::equal(tensor_in(a, "student/encoder/1.running_mean"), at::zeros({64})));
  CHECK(!at::equal(tensor_in(a, "teacher/encoder/1.running_mean"), at::zeros({64})));
  // Without growth the latent layers are copied too.
  c.grow = false;
  auto fixed = make_vae(c);
  fixed->learn(random_images(32, 9), 0);
  fixed->transition();
  const TensorArchive b = archive_of(*fixed);
  CHECK(fixed->j() == 2);
  CHECK(at::equal(tensor_in(b, "student/head/weight"), tensor_in(b, "teacher/head/weight")));
}

TEST_CASE("evaluation: the exact -ELBO is finite and near the sampled estimate") {
  auto vae = make_vae(small_config());
  for (int i = 0; i < 20; ++i) vae->learn(random_images(64, i), 0);
  const at::Tensor x = random_images(500, 77);
  const double exact = vae->negative_elbo(x).mean().item<double>();
  const double sampled = vae->negative_elbo(x, false).mean().item<double>();
  CHECK(std::isfinite(exact));
  CHECK(exact > 0);
  CHECK(std::abs(exact - sampled) < 0.02 * exact);
  // Seeded noise: the same seed, the same estimate (early stopping compares such numbers).
  CHECK(at::equal(vae->negative_elbo(x, false, 5), vae->negative_elbo(x, false, 5)));
  CHECK(!at::equal(vae->negative_elbo(x, false, 5), vae->negative_elbo(x, false, 6)));
  const at::Tensor v = vae->assign(x);
  CHECK(v.min().item<int64_t>() >= 0);
  CHECK(v.max().item<int64_t>() < vae->j());
}

TEST_CASE("state: a round trip restores student, teacher and J; damaged bytes change nothing") {
  auto vae = make_vae(small_config());
  for (int i = 0; i < 3; ++i) vae->learn(random_images(32, i), 0);
  vae->transition();
  vae->learn(random_images(32, 5), vae->synthetic_share(32));
  const std::string state = vae->save_state();
  auto other = make_vae(small_config());
  REQUIRE(other->load_state(state).ok());
  CHECK(other->j() == 3);
  CHECK(other->teacher_j() == 2);
  CHECK(other->distributions() == 1);
  CHECK(other->save_state() == state);
  const std::string before = other->save_state();
  CHECK(!other->load_state(state.substr(0, state.size() / 2)).ok());
  CHECK(other->save_state() == before);
}

// The consistency term's direct effect, over three Fashion-MNIST classes learned one after
// another: the student keeps the teacher's assignment of z_d on the earlier classes, which it
// loses without the term. (papers/002 also reports a lower -ELBO with the term; in a run this
// short we measured no reliable -ELBO margin either way, so that is reported by the script,
// docs/results/LIFELONG_VAE.md, and not asserted here.)
TEST_CASE("consistency keeps the teacher's z_d assignment of earlier distributions") {
  auto ds = load_dataset("fashion-mnist");
  if (!ds.ok()) {
    MESSAGE("skipped: " << ds.status().to_string());
    return;
  }
  LifelongProtocolConfig c;
  c.vae.hidden = {256, 256};
  c.vae.f = 8;
  c.vae.seed = 1;
  c.distributions = {{0}, {1}, {7}};
  c.max_steps = 400;
  c.test_examples = 500;
  auto with = run_lifelong_protocol(*ds, c);
  REQUIRE_MESSAGE(with.ok(), with.status().to_string());
  c.vae.consistency = 0;
  c.vae.mutual_info = 0;
  auto without = run_lifelong_protocol(*ds, c);
  REQUIRE(without.ok());
  REQUIRE(with->consistency.size() == 3);
  REQUIRE(with->consistency[2].size() == 2);
  const std::vector<double>& a = with->consistency[2];
  const std::vector<double>& b = without->consistency[2];
  MESSAGE("agreement on distributions 1, 2 after the third: with "
          << a[0] << ", " << a[1] << "; without " << b[0] << ", " << b[1]);
  CHECK(with->final_j == 3);
  CHECK(a[0] > 0.8);
  CHECK(a[0] > b[0] + 0.2);
  CHECK(a[1] > b[1] + 0.2);
  // Both remember: the first distribution's -ELBO stays within 10% of its value when learned.
  for (const auto* r : {&*with, &*without}) {
    CHECK(r->elbo_matrix[2][0] < 1.1 * r->elbo_matrix[0][0]);
  }
}

TEST_CASE("protocol: bad settings named") {
  const ImageDataset& ds = test::mnist();
  LifelongProtocolConfig c;
  c.distributions = {{0}, {12}};
  auto r = run_lifelong_protocol(ds, c);
  CHECK(!r.ok());
  CHECK(r.status().message().find("class 12") != std::string::npos);
  c.distributions = {{0}};
  c.patience = 0;
  CHECK(run_lifelong_protocol(ds, c).status().message().find("patience") != std::string::npos);
}

}  // namespace
}  // namespace engram
