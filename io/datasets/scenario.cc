#include "io/datasets/scenario.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "io/datasets/random_index.h"

namespace engram {
namespace {

constexpr float kInv255 = 1.0f / 255.0f;
constexpr double kPi = 3.14159265358979323846;

// One output pixel of a rotation: up to four source pixels and their bilinear weights
// (src < 0 means outside the image, weight 0: zero fill).
struct Tap {
  int32_t src[4];
  float w[4];
};

// Snaps values within 1e-9 of an integer to it, so that rotations by multiples of 90
// degrees are exact pixel moves instead of blurs by floating-point dust.
double snap(double v) {
  const double r = std::round(v);
  return std::fabs(v - r) < 1e-9 ? r : v;
}

std::vector<Tap> rotation_taps(double degrees, int64_t rows, int64_t cols) {
  const double rad = degrees * (kPi / 180.0);
  const double c = snap(std::cos(rad));
  const double s = snap(std::sin(rad));
  const double cx = (cols - 1) / 2.0;
  const double cy = (rows - 1) / 2.0;
  std::vector<Tap> taps(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t col = 0; col < cols; ++col) {
      // Output (x, y) in y-up coordinates; the source is the inverse rotation of it.
      const double x = col - cx;
      const double y = cy - r;
      const double src_col = snap(cx + c * x + s * y);
      const double src_row = snap(cy - (-s * x + c * y));
      const double r0 = std::floor(src_row);
      const double c0 = std::floor(src_col);
      const double fr = src_row - r0;
      const double fc = src_col - c0;
      Tap& tap = taps[static_cast<size_t>(r * cols + col)];
      const double rr[4] = {r0, r0, r0 + 1, r0 + 1};
      const double cc[4] = {c0, c0 + 1, c0, c0 + 1};
      const double ww[4] = {(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc};
      for (int k = 0; k < 4; ++k) {
        const bool inside = rr[k] >= 0 && rr[k] < rows && cc[k] >= 0 && cc[k] < cols && ww[k] > 0;
        tap.src[k] = inside ? static_cast<int32_t>(rr[k] * cols + cc[k]) : -1;
        tap.w[k] = inside ? static_cast<float>(ww[k]) : 0.0f;
      }
    }
  }
  return taps;
}

// Applies t to one image; taps must come from rotation_taps when t is a rotation.
void transform_one(const Transform& t, const std::vector<Tap>& taps, size_t pixels,
                   const uint8_t* in, float* out) {
  switch (t.kind) {
    case Transform::Kind::none:
      for (size_t p = 0; p < pixels; ++p) out[p] = in[p] * kInv255;
      break;
    case Transform::Kind::permutation:
      for (size_t p = 0; p < pixels; ++p) out[p] = in[t.permutation[p]] * kInv255;
      break;
    case Transform::Kind::rotation:
      for (size_t p = 0; p < pixels; ++p) {
        const Tap& tap = taps[p];
        float v = 0.0f;
        for (int k = 0; k < 4; ++k) {
          if (tap.src[k] >= 0) v += tap.w[k] * in[tap.src[k]];
        }
        out[p] = std::min(1.0f, v * kInv255);
      }
      break;
  }
}

Status invalid(const std::string& msg) { return Status(ErrorCode::invalid_argument, msg); }

std::vector<uint32_t> iota_indices(size_t n) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint32_t>(i);
  return v;
}

std::vector<int> all_classes(const ImageDataset& ds) {
  std::vector<int> v(static_cast<size_t>(ds.num_classes));
  for (int k = 0; k < ds.num_classes; ++k) v[static_cast<size_t>(k)] = k;
  return v;
}

// A task covering the whole dataset with the given transform.
Task whole_dataset_task(const ImageDataset& ds, int id, Transform t) {
  Task task;
  task.id = id;
  task.classes = all_classes(ds);
  task.train_idx = iota_indices(ds.train_size());
  task.test_idx = iota_indices(ds.test_size());
  task.transform = std::move(t);
  return task;
}

}  // namespace

Transform Transform::permute(std::vector<uint32_t> p) {
  Transform t;
  t.kind = Kind::permutation;
  t.permutation = std::move(p);
  return t;
}

Transform Transform::rotate(double degrees) {
  Transform t;
  t.kind = Kind::rotation;
  t.angle_degrees = degrees;
  return t;
}

std::string Transform::describe() const {
  switch (kind) {
    case Kind::none: return "none";
    case Kind::permutation: return "permutation";
    case Kind::rotation: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "rotation %g", angle_degrees);
      return buf;
    }
  }
  return "unknown";
}

Expected<Scenario> split_by_classes(const ImageDataset& ds,
                                    const std::vector<std::vector<int>>& groups) {
  if (groups.empty()) return invalid("split: no class groups given");
  std::vector<int> group_of(static_cast<size_t>(ds.num_classes), -1);
  std::vector<size_t> train_count(static_cast<size_t>(ds.num_classes), 0);
  for (uint8_t y : ds.train_y) {
    if (y < ds.num_classes) ++train_count[y];
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string where = "split: group " + std::to_string(g) + ": ";
    if (groups[g].empty()) return invalid(where + "is empty");
    for (int k : groups[g]) {
      if (k < 0 || k >= ds.num_classes) {
        return invalid(where + "class " + std::to_string(k) + " is not in [0, " +
                       std::to_string(ds.num_classes) + ") of " + ds.name);
      }
      const size_t ku = static_cast<size_t>(k);
      if (group_of[ku] >= 0) {
        return invalid(where + "class " + std::to_string(k) + " is already in group " +
                       std::to_string(group_of[ku]));
      }
      if (train_count[ku] == 0) {
        return invalid(where + "class " + std::to_string(k) + " has no training example in " +
                       ds.name);
      }
      group_of[ku] = static_cast<int>(g);
    }
  }
  Scenario sc;
  sc.kind = "split";
  sc.num_classes = ds.num_classes;
  sc.tasks.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    sc.tasks[g].id = static_cast<int>(g);
    sc.tasks[g].classes = groups[g];
    std::sort(sc.tasks[g].classes.begin(), sc.tasks[g].classes.end());
  }
  // One pass per split: every example goes to the task of its class, in index order.
  for (size_t i = 0; i < ds.train_size(); ++i) {
    const uint8_t y = ds.train_y[i];
    if (y < ds.num_classes && group_of[y] >= 0) {
      sc.tasks[static_cast<size_t>(group_of[y])].train_idx.push_back(static_cast<uint32_t>(i));
    }
  }
  for (size_t i = 0; i < ds.test_size(); ++i) {
    const uint8_t y = ds.test_y[i];
    if (y < ds.num_classes && group_of[y] >= 0) {
      sc.tasks[static_cast<size_t>(group_of[y])].test_idx.push_back(static_cast<uint32_t>(i));
    }
  }
  return sc;
}

Expected<Scenario> split_by_groups(const ImageDataset& ds) {
  if (ds.group_names.empty()) {
    return invalid("split by groups: dataset " + ds.name +
                   " has no class groups (only datasets such as omniglot have them)");
  }
  if (ds.class_group.size() != static_cast<size_t>(ds.num_classes)) {
    return invalid("split by groups: dataset " + ds.name + " gives a group to " +
                   std::to_string(ds.class_group.size()) + " classes, not its " +
                   std::to_string(ds.num_classes));
  }
  std::vector<std::vector<int>> groups(ds.group_names.size());
  for (int k = 0; k < ds.num_classes; ++k) {
    const int g = ds.class_group[static_cast<size_t>(k)];
    if (g < 0 || static_cast<size_t>(g) >= groups.size()) {
      return invalid("split by groups: class " + std::to_string(k) + " of " + ds.name +
                     " has group " + std::to_string(g) + ", not in [0, " +
                     std::to_string(groups.size()) + ")");
    }
    groups[static_cast<size_t>(g)].push_back(k);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) {
      return invalid("split by groups: group " + ds.group_names[g] + " of " + ds.name +
                     " has no class");
    }
  }
  return split_by_classes(ds, groups);
}

Expected<Scenario> permuted(const ImageDataset& ds, int n_tasks, uint64_t seed,
                            bool identity_first) {
  if (n_tasks < 1) return invalid("permuted: n_tasks must be >= 1, got " + std::to_string(n_tasks));
  const size_t pixels = ds.pixels_per_image();
  if (pixels == 0 || ds.train_size() == 0) return invalid("permuted: dataset is empty");
  Scenario sc;
  sc.kind = "permuted";
  sc.num_classes = ds.num_classes;
  for (int t = 0; t < n_tasks; ++t) {
    if (t == 0 && identity_first) {
      sc.tasks.push_back(whole_dataset_task(ds, t, Transform::identity()));
      continue;
    }
    std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(t)));
    std::vector<uint32_t> perm = iota_indices(pixels);
    shuffle_indices(perm.data(), perm.size(), rng);
    sc.tasks.push_back(whole_dataset_task(ds, t, Transform::permute(std::move(perm))));
  }
  return sc;
}

Expected<Scenario> rotated(const ImageDataset& ds, const std::vector<double>& angles) {
  if (angles.empty()) return invalid("rotated: no angles given");
  Scenario sc;
  sc.kind = "rotated";
  sc.num_classes = ds.num_classes;
  for (size_t t = 0; t < angles.size(); ++t) {
    if (!std::isfinite(angles[t])) {
      return invalid("rotated: angle " + std::to_string(t) + " is not finite");
    }
    sc.tasks.push_back(whole_dataset_task(ds, static_cast<int>(t), Transform::rotate(angles[t])));
  }
  return sc;
}

Status validate_task(const ImageDataset& ds, const Task& task) {
  const std::string where = "task " + std::to_string(task.id) + ": ";
  for (int k : task.classes) {
    if (k < 0 || k >= ds.num_classes) {
      return invalid(where + "class " + std::to_string(k) + " is out of range");
    }
  }
  for (uint32_t i : task.train_idx) {
    if (i >= ds.train_size())
      return invalid(where + "train index " + std::to_string(i) + " >= size");
  }
  for (uint32_t i : task.test_idx) {
    if (i >= ds.test_size()) return invalid(where + "test index " + std::to_string(i) + " >= size");
  }
  const Transform& t = task.transform;
  if (t.kind == Transform::Kind::permutation) {
    const size_t pixels = ds.pixels_per_image();
    if (t.permutation.size() != pixels) {
      return invalid(where + "permutation has " + std::to_string(t.permutation.size()) +
                     " entries, images have " + std::to_string(pixels) + " pixels");
    }
    std::vector<bool> hit(pixels, false);
    for (uint32_t p : t.permutation) {
      if (p >= pixels || hit[p]) return invalid(where + "permutation is not a bijection");
      hit[p] = true;
    }
  } else if (t.kind == Transform::Kind::rotation && !std::isfinite(t.angle_degrees)) {
    return invalid(where + "rotation angle is not finite");
  }
  return Status();
}

void apply_transform(const Transform& t, int64_t rows, int64_t cols, const uint8_t* in,
                     float* out) {
  std::vector<Tap> taps;
  if (t.kind == Transform::Kind::rotation) taps = rotation_taps(t.angle_degrees, rows, cols);
  transform_one(t, taps, static_cast<size_t>(rows * cols), in, out);
}

void fill_images(const ImageDataset& ds, const Task& task, bool train, const uint32_t* idx,
                 size_t n, float* out) {
  const size_t pixels = ds.pixels_per_image();
  std::vector<Tap> taps;
  if (task.transform.kind == Transform::Kind::rotation) {
    taps = rotation_taps(task.transform.angle_degrees, ds.rows, ds.cols);
  }
  for (size_t i = 0; i < n; ++i) {
    transform_one(task.transform, taps, pixels, ds.image(train, idx[i]), out + i * pixels);
  }
}

void fill_labels(const ImageDataset& ds, bool train, const uint32_t* idx, size_t n, int64_t* out) {
  const std::vector<uint8_t>& y = train ? ds.train_y : ds.test_y;
  for (size_t i = 0; i < n; ++i) out[i] = y[idx[i]];
}

}  // namespace engram
