// Generative distillation on a small MNIST subset: a teacher trained on real images, a memory of
// codes, and students that only see recollections.
// Torch headers first: with Debian's LibTorch they pull in glog, whose CHECK macro must not
// replace doctest's.
#include <ATen/ATen.h>

#include "io/datasets/dataset.h"
#include "modules/distill/distiller.h"
#include "modules/distill/teacher.h"
// clang-format off
#include <doctest/doctest.h>
// clang-format on

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "tests/temp_dir.h"

using namespace engram;

namespace {

// The first `train` and `test` images of MNIST.
const ImageDataset& subset() {
  static const ImageDataset ds = [] {
    auto full = load_dataset("mnist");
    REQUIRE(full.ok());
    ImageDataset d = *full;
    const size_t train = 4000, test = 1000, p = d.pixels_per_image();
    d.train_x.resize(train * p);
    d.train_y.resize(train);
    d.test_x.resize(test * p);
    d.test_y.resize(test);
    return d;
  }();
  return ds;
}

TeacherOptions small_teacher() {
  TeacherOptions o;
  o.net.net = "mlp";
  o.net.hidden = {128};
  o.epochs = 3;
  o.batch = 32;
  return o;
}

RecollectionStoreOptions small_memory() {
  RecollectionStoreOptions o;
  o.dvae.c = 168;
  o.dvae.l = 2;
  o.dvae.hidden = {256};
  o.epochs = 6;
  o.batch = 32;
  o.distortion_examples = 500;
  return o;
}

DistillOptions student(const std::string& source, const std::string& curriculum) {
  DistillOptions o;
  o.student.net = "mlp";
  o.student.hidden = {100};
  o.source = source;
  o.curriculum = curriculum;
  o.batch = curriculum == "active_diverse" ? 1 : 8;
  o.lr = 2e-3;
  o.episodes = 800;
  o.checkpoints = {800};
  return o;
}

}  // namespace

TEST_CASE("distillation: students learn the teacher's function from recollections only") {
  const ImageDataset& ds = subset();
  auto teacher = train_teacher(ds, small_teacher());
  REQUIRE(teacher.ok());
  MESSAGE("teacher accuracy " << teacher->test_accuracy);
  CHECK(teacher->test_accuracy > 0.85);
  auto memory = RecollectionStore::build(ds, small_memory());
  REQUIRE(memory.ok());
  const RecollectionStoreStats& s = (*memory)->stats();
  CHECK(s.codes == 4000);
  CHECK(s.bits_per_code == 168);
  CHECK(s.compression == doctest::Approx(6272.0 / 168));
  CHECK(s.buffer_bytes == 4000 * 168 / 8);
  MESSAGE("L1 distortion " << s.l1_distortion);
  CHECK(s.l1_distortion < 0.2);

  for (const std::string curriculum : {"random", "active"}) {
    auto r = distill(ds, *teacher->learner, memory->get(), student("buffer", curriculum));
    REQUIRE(r.ok());
    REQUIRE(r->accuracy.size() == 1);
    MESSAGE(curriculum << " buffer sampling: " << r->accuracy[0]);
    CHECK(r->accuracy[0] > 0.7);  // chance is 0.1: far above it, without a stored image
  }
  auto diverse = distill(ds, *teacher->learner, memory->get(), student("buffer", "active_diverse"));
  REQUIRE(diverse.ok());
  CHECK(diverse->examples_drawn == 800 * 100);  // k*n = 100 candidates per episode
  CHECK(diverse->accuracy[0] > 0.3);
}

TEST_CASE("distillation: bad options are errors naming the option") {
  const ImageDataset& ds = subset();
  TeacherOptions t = small_teacher();
  t.epochs = 0;
  auto teacher = train_teacher(ds, t);
  REQUIRE(teacher.ok());
  auto no_memory = distill(ds, *teacher->learner, nullptr, student("buffer", "random"));
  REQUIRE_FALSE(no_memory.ok());
  CHECK(no_memory.status().message().find("needs a recollection memory") != std::string::npos);
  auto bad_source = distill(ds, *teacher->learner, nullptr, student("dream", "random"));
  REQUIRE_FALSE(bad_source.ok());
  CHECK(bad_source.status().message().find("source") != std::string::npos);
  auto bad_curriculum = distill(ds, *teacher->learner, nullptr, student("real", "greedy"));
  REQUIRE_FALSE(bad_curriculum.ok());
  CHECK(bad_curriculum.status().message().find("curriculum") != std::string::npos);
  DistillOptions bad_similarity = student("real", "active_diverse");
  bad_similarity.similarity = "euclid";
  auto refused = distill(ds, *teacher->learner, nullptr, bad_similarity);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("similarity must be dot, cosine or centered") !=
        std::string::npos);
  for (double gamma : {0.0, -0.5, 1.5}) {
    DistillOptions bad_gamma = student("real", "active_diverse");
    bad_gamma.msss_gamma = gamma;
    auto no = distill(ds, *teacher->learner, nullptr, bad_gamma);
    REQUIRE_FALSE(no.ok());
    CHECK(no.status().message().find("msss_gamma must be in (0, 1]") != std::string::npos);
  }
  DistillOptions centered = student("real", "active_diverse");
  centered.similarity = "centered";
  centered.msss_gamma = 0.25;  // Algorithm 1 on random quarters of the candidates
  centered.episodes = 5;
  centered.checkpoints = {5};
  auto ran = distill(ds, *teacher->learner, nullptr, centered);
  REQUIRE(ran.ok());
  CHECK(ran->examples_drawn == 5 * 100);
}

TEST_CASE("distillation: the teacher cache gives back the same teacher") {
  const ImageDataset& ds = subset();
  engram::test::TempDir dir;
  TeacherOptions o = small_teacher();
  o.epochs = 1;
  o.cache = dir.file("teacher.state");
  auto first = train_teacher(ds, o);
  REQUIRE(first.ok());
  CHECK_FALSE(first->from_cache);
  auto second = train_teacher(ds, o);
  REQUIRE(second.ok());
  CHECK(second->from_cache);
  CHECK(second->test_accuracy == first->test_accuracy);
  at::Tensor x = at::rand({4, 784});
  CHECK(at::equal(first->learner->predict(x), second->learner->predict(x)));
  std::ofstream(o.cache) << "not a teacher";
  auto broken = train_teacher(ds, o);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("teacher cache") != std::string::npos);
}

TEST_CASE("distillation: the memory cache gives back the same recollections") {
  const ImageDataset& ds = subset();
  engram::test::TempDir dir;
  RecollectionStoreOptions o = small_memory();
  o.epochs = 1;
  o.cache = dir.file("memory.state");
  auto first = RecollectionStore::build(ds, o);
  REQUIRE(first.ok());
  CHECK_FALSE((*first)->stats().from_cache);
  auto second = RecollectionStore::build(ds, o);
  REQUIRE(second.ok());
  CHECK((*second)->stats().from_cache);
  CHECK((*second)->stats().train_seconds == 0.0);
  CHECK((*second)->stats().l1_distortion == (*first)->stats().l1_distortion);
  std::mt19937_64 a(5), b(5);
  const at::Tensor codes = (*first)->sample_stored(16, a);
  CHECK(at::equal(codes, (*second)->sample_stored(16, b)));
  CHECK(at::equal((*first)->decode(codes), (*second)->decode(codes)));
  std::ofstream(o.cache) << "not a memory";
  auto broken = RecollectionStore::build(ds, o);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("recollections cache") != std::string::npos);
  std::filesystem::remove(o.cache);
  REQUIRE(RecollectionStore::build(ds, o).ok());
  o.dvae.c = 100;  // a cache of another shape is refused, not silently used
  auto other = RecollectionStore::build(ds, o);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message().find("recollections cache") != std::string::npos);
}

TEST_CASE("distillation: the mean pixel of what was drawn and what was trained on") {
  const ImageDataset& ds = subset();
  TeacherOptions t = small_teacher();
  t.epochs = 0;  // real labels: the teacher is not consulted
  auto teacher = train_teacher(ds, t);
  REQUIRE(teacher.ok());
  DistillOptions random = student("real", "random");
  random.episodes = 50;
  random.checkpoints = {};
  auto r = distill(ds, *teacher->learner, nullptr, random);
  REQUIRE(r.ok());
  // Random training takes every example drawn; MNIST's mean pixel is about 0.13.
  CHECK(r->trained_mean_pixel == doctest::Approx(r->drawn_mean_pixel));
  CHECK(r->drawn_mean_pixel > 0.1);
  CHECK(r->drawn_mean_pixel < 0.17);
  // MSSS with raw dot products keeps faint images (small norms, small similarities); centring
  // removes most of that pull.
  std::map<std::string, double> shift;  // trained / drawn mean pixel
  for (const std::string similarity : {"dot", "centered"}) {
    DistillOptions diverse = student("real", "active_diverse");
    diverse.similarity = similarity;
    diverse.episodes = 50;
    diverse.checkpoints = {};
    auto d = distill(ds, *teacher->learner, nullptr, diverse);
    REQUIRE(d.ok());
    MESSAGE(similarity << ": drawn " << d->drawn_mean_pixel << ", trained "
                       << d->trained_mean_pixel);
    shift[similarity] = d->trained_mean_pixel / d->drawn_mean_pixel;
    CHECK(d->drawn_mean_pixel == doctest::Approx(r->drawn_mean_pixel).epsilon(0.1));
  }
  CHECK(shift["dot"] < 0.85);                      // measured 0.78 (0.101 of 0.129)
  CHECK(shift["centered"] > shift["dot"] + 0.05);  // measured 0.92
}
