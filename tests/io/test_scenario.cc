// Scenarios (split, permuted, rotated), materialization and the batch sampler.
#include "io/datasets/scenario.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "io/datasets/batch_sampler.h"
#include "io_test_util.h"

namespace engram {
namespace {

// A small in-memory dataset: n_train/n_test rows x cols images of noise, labels i % classes.
ImageDataset synthetic(size_t n_train, size_t n_test, int64_t rows, int64_t cols, int classes) {
  ImageDataset ds;
  ds.name = "synthetic";
  ds.rows = rows;
  ds.cols = cols;
  ds.num_classes = classes;
  const size_t px = static_cast<size_t>(rows * cols);
  ds.train_x = test::noise(n_train * px, 11);
  ds.test_x = test::noise(n_test * px, 12);
  for (size_t i = 0; i < n_train; ++i) ds.train_y.push_back(static_cast<uint8_t>(i % classes));
  for (size_t i = 0; i < n_test; ++i) ds.test_y.push_back(static_cast<uint8_t>(i % classes));
  return ds;
}

TEST_CASE("split MNIST tasks hold exactly their classes and all of their examples") {
  const ImageDataset& ds = test::mnist();
  const std::vector<std::vector<int>> groups = {{0, 1}, {3, 2}, {4, 5}, {6, 7}, {8, 9}};
  auto sc = split_by_classes(ds, groups);
  REQUIRE_MESSAGE(sc.ok(), sc.status().to_string());
  CHECK(sc->kind == "split");
  CHECK(sc->num_classes == 10);
  REQUIRE(sc->tasks.size() == 5);
  size_t total_train = 0, total_test = 0;
  for (size_t t = 0; t < groups.size(); ++t) {
    const Task& task = sc->tasks[t];
    CHECK(task.id == static_cast<int>(t));
    std::vector<int> want = groups[t];
    std::sort(want.begin(), want.end());
    CHECK(task.classes == want);
    const std::set<int> cls(want.begin(), want.end());
    // Every index has a label of the group, and every example of the group is present.
    std::vector<uint32_t> expect_train, expect_test;
    for (size_t i = 0; i < ds.train_size(); ++i) {
      if (cls.count(ds.train_y[i])) expect_train.push_back(static_cast<uint32_t>(i));
    }
    for (size_t i = 0; i < ds.test_size(); ++i) {
      if (cls.count(ds.test_y[i])) expect_test.push_back(static_cast<uint32_t>(i));
    }
    CHECK(task.train_idx == expect_train);
    CHECK(task.test_idx == expect_test);
    CHECK(task.train_idx.size() > 10000);
    CHECK(task.transform.kind == Transform::Kind::none);
    CHECK(validate_task(ds, task).ok());
    total_train += task.train_idx.size();
    total_test += task.test_idx.size();
  }
  CHECK(total_train == 60000);
  CHECK(total_test == 10000);
}

TEST_CASE("invalid split groups are rejected") {
  const ImageDataset ds = synthetic(100, 20, 4, 4, 10);
  const std::vector<std::vector<std::vector<int>>> bad = {{},        {{0, 1}, {}}, {{0, 1}, {1, 2}},
                                                          {{0, 10}}, {{-1}},       {{2, 2}}};
  for (const auto& g : bad) {
    auto r = split_by_classes(ds, g);
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
  }
  ImageDataset missing = ds;  // class 7 has no example
  for (auto& y : missing.train_y) {
    if (y == 7) y = 6;
  }
  auto r = split_by_classes(missing, {{6, 7}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("class 7 has no training example") != std::string::npos);
  CHECK(split_by_classes(ds, {{9}, {0, 4}}).ok());
}

bool is_bijection(const std::vector<uint32_t>& p, size_t n) {
  if (p.size() != n) return false;
  std::vector<bool> hit(n, false);
  for (uint32_t v : p) {
    if (v >= n || hit[v]) return false;
    hit[v] = true;
  }
  return true;
}

TEST_CASE("permuted tasks: bijections, reproducible by seed, identity first") {
  const ImageDataset ds = synthetic(50, 10, 28, 28, 10);
  auto a = permuted(ds, 4, 42);
  auto b = permuted(ds, 4, 42);
  auto c = permuted(ds, 4, 43);
  auto longer = permuted(ds, 6, 42);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  REQUIRE(longer.ok());
  REQUIRE(a->tasks.size() == 4);
  CHECK(a->kind == "permuted");
  CHECK(a->tasks[0].transform.kind == Transform::Kind::none);
  for (size_t t = 1; t < 4; ++t) {
    const auto& p = a->tasks[t].transform.permutation;
    CHECK(a->tasks[t].transform.kind == Transform::Kind::permutation);
    CHECK(is_bijection(p, 784));
    size_t fixed = 0;
    for (size_t i = 0; i < p.size(); ++i) fixed += p[i] == i;
    CHECK(fixed < 20);  // a real shuffle, not the identity
    CHECK(p == b->tasks[t].transform.permutation);
    CHECK(p != c->tasks[t].transform.permutation);
    CHECK(p == longer->tasks[t].transform.permutation);
    CHECK(a->tasks[t].train_idx.size() == 50);
    CHECK(a->tasks[t].classes.size() == 10);
  }
  CHECK(a->tasks[1].transform.permutation != a->tasks[2].transform.permutation);
  auto all_perm = permuted(ds, 2, 42, /*identity_first=*/false);
  REQUIRE(all_perm.ok());
  CHECK(all_perm->tasks[0].transform.kind == Transform::Kind::permutation);
  CHECK_FALSE(permuted(ds, 0, 1).ok());

  // Materialization applies the permutation: out[p] = in[perm[p]] / 255.
  const uint32_t idx[2] = {7, 3};
  std::vector<float> out(2 * 784);
  fill_images(ds, a->tasks[2], true, idx, 2, out.data());
  const auto& p = a->tasks[2].transform.permutation;
  for (size_t k = 0; k < 2; ++k) {
    for (size_t i = 0; i < 784; ++i) {
      REQUIRE(out[k * 784 + i] == doctest::Approx(ds.image(true, idx[k])[p[i]] / 255.0));
    }
  }
  int64_t labels[2];
  fill_labels(ds, true, idx, 2, labels);
  CHECK(labels[0] == 7);
  CHECK(labels[1] == 3);
}

TEST_CASE("rotation by 0 is the identity; by 90 degrees moves a pixel where expected") {
  const int64_t rows = 28, cols = 28;
  const ImageDataset& ds = test::mnist();
  std::vector<float> plain(784), rot(784);
  apply_transform(Transform::identity(), rows, cols, ds.image(true, 0), plain.data());
  apply_transform(Transform::rotate(0.0), rows, cols, ds.image(true, 0), rot.data());
  CHECK(plain == rot);
  for (size_t i = 0; i < 784; ++i) REQUIRE(plain[i] == doctest::Approx(ds.train_x[i] / 255.0));

  // One lit pixel at (row 2, col 5). Counter-clockwise by 90 degrees, the top edge becomes
  // the left edge and the left edge the bottom: it lands at (row 27-5, col 2).
  std::vector<uint8_t> dot(784, 0);
  dot[2 * 28 + 5] = 255;
  apply_transform(Transform::rotate(90.0), rows, cols, dot.data(), rot.data());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      CAPTURE(r);
      CAPTURE(c);
      REQUIRE(rot[static_cast<size_t>(r * cols + c)] ==
              doctest::Approx(r == 22 && c == 2 ? 1.0 : 0.0));
    }
  }
  // Four quarter turns of a whole digit give it back exactly; 180 moves (r,c) to (27-r,27-c).
  std::vector<float> half(784);
  apply_transform(Transform::rotate(180.0), rows, cols, ds.image(true, 0), half.data());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      REQUIRE(half[static_cast<size_t>(r * cols + c)] ==
              doctest::Approx(ds.train_x[static_cast<size_t>((27 - r) * 28 + (27 - c))] / 255.0));
    }
  }
  // 45 degrees: interpolated, in range, the centre stays put and corners fill with zeros.
  std::vector<uint8_t> flat(784, 200);
  apply_transform(Transform::rotate(45.0), rows, cols, flat.data(), rot.data());
  CHECK(rot[0] == 0.0f);
  CHECK(rot[14 * 28 + 14] == doctest::Approx(200 / 255.0));
  for (float v : rot) REQUIRE((v >= 0.0f && v <= 1.0f));

  auto sc = rotated(ds, {0.0, 45.0, 90.0});
  REQUIRE(sc.ok());
  CHECK(sc->kind == "rotated");
  REQUIRE(sc->tasks.size() == 3);
  CHECK(sc->tasks[2].transform.angle_degrees == 90.0);
  CHECK(sc->tasks[2].train_idx.size() == 60000);
  CHECK_FALSE(rotated(ds, {}).ok());
  CHECK_FALSE(rotated(ds, {std::nan("")}).ok());
}

TEST_CASE("validate_task catches tasks that do not fit the dataset") {
  const ImageDataset ds = synthetic(10, 5, 3, 3, 4);
  Task t;
  t.classes = {0, 1};
  t.train_idx = {0, 9};
  t.test_idx = {4};
  CHECK(validate_task(ds, t).ok());
  t.train_idx.push_back(10);
  CHECK_FALSE(validate_task(ds, t).ok());
  t.train_idx.pop_back();
  t.transform = Transform::permute({0, 1, 2, 3, 4, 5, 6, 7, 7});
  CHECK_FALSE(validate_task(ds, t).ok());
  t.transform = Transform::permute({8, 1, 2, 3, 4, 5, 6, 7, 0});
  CHECK(validate_task(ds, t).ok());
  t.transform = Transform::permute({0, 1, 2});
  CHECK_FALSE(validate_task(ds, t).ok());
  t.classes = {4};
  t.transform = Transform::identity();
  CHECK_FALSE(validate_task(ds, t).ok());
}

TEST_CASE("BatchSampler: every epoch is a permutation of the pool, reproducible by seed") {
  std::vector<uint32_t> pool;
  for (uint32_t i = 0; i < 37; ++i) pool.push_back(1000 + 3 * i);
  BatchSampler a(pool, 5), b(pool, 5), c(pool, 6);
  std::vector<uint32_t> seq_a, seq_b, seq_c;
  for (int k = 0; k < 10; ++k) {  // 10 batches of 11 cross several epoch boundaries
    for (uint32_t v : a.next(11)) seq_a.push_back(v);
    for (uint32_t v : b.next(11)) seq_b.push_back(v);
    for (uint32_t v : c.next(11)) seq_c.push_back(v);
  }
  CHECK(seq_a == seq_b);
  CHECK(seq_a != seq_c);
  CHECK(a.epoch() == 2);
  CHECK(a.position() == 110 - 74);
  for (size_t e = 0; e < 2; ++e) {
    std::vector<uint32_t> epoch(seq_a.begin() + static_cast<long>(e * 37),
                                seq_a.begin() + static_cast<long>((e + 1) * 37));
    CHECK(epoch != pool);  // shuffled
    std::sort(epoch.begin(), epoch.end());
    CHECK(epoch == pool);  // and complete
  }
  CHECK(std::vector<uint32_t>(seq_a.begin(), seq_a.begin() + 37) !=
        std::vector<uint32_t>(seq_a.begin() + 37, seq_a.begin() + 74));

  // Saving and restoring mid-epoch continues the same sequence.
  const std::string state = a.save_state();
  BatchSampler restored(pool, 999);
  REQUIRE(restored.restore_state(state).ok());
  CHECK(restored.next(50) == a.next(50));
  CHECK_FALSE(restored.restore_state("nonsense").ok());
  BatchSampler other_pool(std::vector<uint32_t>{1, 2, 3}, 5);
  CHECK_FALSE(other_pool.restore_state(state).ok());

  BatchSampler empty({}, 1);
  uint32_t out[4];
  CHECK(empty.next(4, out) == 0);
  CHECK(empty.next(4).empty());
}

}  // namespace
}  // namespace engram
