// io/datasets/omniglot: the shipped data (alphabets, characters, drawers, the 18/2 split, ink
// kept by downsampling), the alphabets-as-tasks scenario, and clear errors for damaged zips.
#include "io/datasets/omniglot.h"

#include <doctest/doctest.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "io/reports/png_image.h"
#include "tests/temp_dir.h"

namespace engram {
namespace {

using test::TempDir;

const std::string kShipped = std::string(ENGRAM_SOURCE_DIR) + "/data/omniglot";

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The shipped dataset, loaded once per test process (through load_dataset, as Lua does).
const ImageDataset& shipped() {
  static const ImageDataset ds = [] {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = load_dataset("omniglot", kShipped);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("load_dataset(\"omniglot\") took " << s << " s");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(*r);
  }();
  return ds;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The bytes of a w x h gray PNG with background 255 and the pixels of `stroke` set to 0.
std::vector<uint8_t> png_bytes(int w, int h, const std::vector<std::pair<int, int>>& stroke) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h, 255);
  for (auto [x, y] : stroke) px[static_cast<size_t>(y) * w + x] = 0;
  auto png = encode_png_gray(w, h, px.data());
  REQUIRE(png.ok());
  return std::move(*png);
}

// Writes a zip of the given entries, stored uncompressed (so tests can find and damage an
// entry's bytes in the archive).
void write_zip(const std::string& path,
               const std::map<std::string, std::vector<uint8_t>>& entries) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  REQUIRE(za != nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
    REQUIRE(src != nullptr);
    const zip_int64_t idx = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    REQUIRE(idx >= 0);
    REQUIRE(zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) == 0);
  }
  REQUIRE(zip_close(za) == 0);
}

std::string entry_name(const std::string& alphabet, int character, int drawer,
                       const std::string& split = "images_background") {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%s/%s/character%02d/%04d_%02d.png", split.c_str(),
                alphabet.c_str(), character, character, drawer);
  return buf;
}

// Every drawing of the given characters: drawer d's image has a stroke of d pixels on row 0
// (so the split can be checked), and every image has the 15x15 block at the top left.
std::map<std::string, std::vector<uint8_t>> drawings(const std::vector<std::string>& alphabets,
                                                     int characters, int size = 105) {
  std::map<std::string, std::vector<uint8_t>> entries;
  for (int d = 1; d <= kOmniglotDrawers; ++d) {
    std::vector<std::pair<int, int>> stroke;
    for (int y = 0; y < 15; ++y) {
      for (int x = 0; x < 15; ++x) stroke.push_back({x, y});
    }
    for (int x = 0; x < d; ++x) stroke.push_back({size - 1 - x, size - 1});
    const std::vector<uint8_t> png = png_bytes(size, size, stroke);
    for (const auto& a : alphabets) {
      for (int c = 1; c <= characters; ++c) entries[entry_name(a, c, d)] = png;
    }
  }
  return entries;
}

TEST_CASE("the shipped Omniglot: 8 alphabets, 242 characters, 20 drawers split 18/2") {
  const ImageDataset& ds = shipped();
  CHECK(ds.name == "omniglot");
  CHECK(ds.rows == 28);
  CHECK(ds.cols == 28);
  const std::vector<std::string> alphabets = {
      "Balinese", "Early_Aramaic", "Greek",    "Japanese_(katakana)",
      "Korean",   "Latin",         "Sanskrit", "Tagalog"};
  const std::vector<int> characters = {24, 22, 24, 47, 40, 26, 42, 17};
  CHECK(ds.group_names == alphabets);
  REQUIRE(ds.num_classes == 242);
  REQUIRE(ds.class_group.size() == 242);
  REQUIRE(ds.class_names.size() == 242);
  CHECK(ds.train_size() == 242 * 18);
  CHECK(ds.test_size() == 242 * 2);
  CHECK(ds.train_x.size() == ds.train_size() * 28 * 28);
  CHECK(ds.test_x.size() == ds.test_size() * 28 * 28);
  CHECK(ds.class_names.front() == "Balinese/character01");
  CHECK(ds.class_names[24] == "Early_Aramaic/character01");
  CHECK(ds.class_names.back() == "Tagalog/character17");

  // Each alphabet's classes are contiguous, in group order, with the expected counts.
  std::vector<int> per_group(alphabets.size(), 0);
  for (int k = 0; k < ds.num_classes; ++k) {
    const int g = ds.class_group[static_cast<size_t>(k)];
    REQUIRE(g >= 0);
    REQUIRE(g < static_cast<int>(alphabets.size()));
    if (k > 0) {
      const int prev = ds.class_group[static_cast<size_t>(k - 1)];
      CHECK((g == prev || g == prev + 1));
    }
    CHECK(ds.class_names[static_cast<size_t>(k)].rfind(alphabets[static_cast<size_t>(g)] + "/",
                                                       0) == 0);
    ++per_group[static_cast<size_t>(g)];
  }
  CHECK(per_group == characters);

  // Every class has 18 training and 2 test drawings; labels are in range.
  std::vector<int> train_count(242, 0), test_count(242, 0);
  for (uint8_t y : ds.train_y) {
    REQUIRE(y < ds.num_classes);
    ++train_count[y];
  }
  for (uint8_t y : ds.test_y) {
    REQUIRE(y < ds.num_classes);
    ++test_count[y];
  }
  CHECK(std::count(train_count.begin(), train_count.end(), 18) == 242);
  CHECK(std::count(test_count.begin(), test_count.end(), 2) == 242);

  // The search path ends with the source tree's copy.
  const auto dirs = dataset_search_path("omniglot");
  REQUIRE(!dirs.empty());
  CHECK(dirs.back() == kShipped);
  CHECK(std::find(known_datasets().begin(), known_datasets().end(), "omniglot") !=
        known_datasets().end());
}

TEST_CASE("28x28 Omniglot keeps the strokes: ink equals the source's stroke fraction") {
  const ImageDataset& ds = shipped();
  // The same data at the source size (105: no averaging, only inversion) gives each drawing's
  // stroke fraction; area averaging preserves the mean up to rounding (0.5/255 a pixel).
  auto full = load_omniglot_dir(kShipped, 105);
  REQUIRE_MESSAGE(full.ok(), full.status().to_string());
  REQUIRE(full->train_size() == ds.train_size());
  REQUIRE(full->train_y == ds.train_y);
  double total_ink = 0.0, total_stroke = 0.0, worst = 0.0;
  int faint = 0;
  size_t not_binary = 0;  // the source is 1-bit: at full size every pixel is 0 or 255
  for (int split = 0; split < 2; ++split) {
    const bool train = split == 0;
    const size_t n = train ? ds.train_size() : ds.test_size();
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* small = ds.image(train, i);
      const uint8_t* big = full->image(train, i);
      double ink = 0.0, stroke = 0.0;
      int max_ink = 0;
      for (size_t p = 0; p < 28 * 28; ++p) {
        ink += small[p];
        max_ink = std::max<int>(max_ink, small[p]);
      }
      for (size_t p = 0; p < 105 * 105; ++p) {
        stroke += big[p] == 255 ? 1 : 0;
        not_binary += (big[p] == 0 || big[p] == 255) ? 0 : 1;
      }
      ink /= 255.0 * 28 * 28;
      stroke /= 105.0 * 105;
      worst = std::max(worst, std::abs(ink - stroke));
      total_ink += ink;
      total_stroke += stroke;
      REQUIRE(stroke > 0);  // every drawing has a stroke ...
      CHECK(max_ink > 0);   // ... and keeps ink
      if (max_ink < 128) ++faint;
    }
  }
  const double images = static_cast<double>(ds.train_size() + ds.test_size());
  MESSAGE("mean ink " << total_ink / images << ", mean stroke fraction " << total_stroke / images
                      << ", worst difference " << worst
                      << ", images with no pixel >= 128: " << faint);
  CHECK(not_binary == 0);
  CHECK(worst < 0.5 / 255 + 1e-9);
  CHECK(total_ink / images > 0.03);  // strokes are a few percent of the area, not a speck
  CHECK(total_ink / images < 0.3);   // and the background stays background
  CHECK(faint < images / 100);       // strokes stay visible, not a faint blur
}

TEST_CASE("alphabets as tasks: split_by_groups") {
  const ImageDataset& ds = shipped();
  auto s = split_by_groups(ds);
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  REQUIRE(s->tasks.size() == 8);
  CHECK(s->num_classes == 242);
  int next = 0;
  for (const Task& t : s->tasks) {
    REQUIRE(!t.classes.empty());
    CHECK(t.classes.front() == next);
    CHECK(t.classes.back() == next + static_cast<int>(t.classes.size()) - 1);
    CHECK(t.train_idx.size() == t.classes.size() * 18);
    CHECK(t.test_idx.size() == t.classes.size() * 2);
    for (uint32_t i : t.train_idx) CHECK(ds.class_group[ds.train_y[i]] == t.id);
    next += static_cast<int>(t.classes.size());
  }
  CHECK(s->tasks[3].classes.size() == 47);  // Japanese_(katakana)

  ImageDataset plain;
  plain.name = "mnist-like";
  plain.num_classes = 2;
  auto none = split_by_groups(plain);
  CHECK(none.status().code() == ErrorCode::invalid_argument);
  CHECK(contains(none.status().message(), "mnist-like has no class groups"));
  plain.group_names = {"a", "b"};
  plain.class_group = {0, 0};
  plain.train_y = {0, 1};
  auto empty_group = split_by_groups(plain);
  CHECK(empty_group.status().code() == ErrorCode::invalid_argument);
  CHECK(contains(empty_group.status().message(), "group b"));
}

TEST_CASE("load_omniglot_zips: area averaging, first zip wins, drawers 19 and 20 test") {
  TempDir dir;
  const std::string z1 = dir.file("one.zip"), z2 = dir.file("two.zip");
  write_zip(z1, drawings({"Beta", "Alpha"}, 2));
  // The second zip repeats Alpha (its drawings would differ: only 14 pixels a side) and adds
  // Gamma; Alpha must come from the first.
  auto second = drawings({"Gamma"}, 1);
  auto other = png_bytes(105, 105, {{50, 50}});
  for (int d = 1; d <= kOmniglotDrawers; ++d) {
    second[entry_name("Alpha", 1, d, "other_split")] = other;
  }
  write_zip(z2, second);
  auto r = load_omniglot_zips({z1, z2}, "tiny");
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->name == "tiny");
  CHECK(r->num_classes == 5);
  CHECK(r->group_names == std::vector<std::string>{"Alpha", "Beta", "Gamma"});
  CHECK(r->class_names == std::vector<std::string>{"Alpha/character01", "Alpha/character02",
                                                   "Beta/character01", "Beta/character02",
                                                   "Gamma/character01"});
  CHECK(r->class_group == std::vector<int>{0, 0, 1, 1, 2});
  REQUIRE(r->train_size() == 5 * 18);
  REQUIRE(r->test_size() == 5 * 2);
  // The 15x15 source block is exactly 4x4 output pixels (105 / 28 = 3.75 = 15 / 4).
  const uint8_t* img = r->image(true, 0);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) CHECK(img[y * 28 + x] == 255);
  }
  CHECK(img[4] == 0);
  CHECK(img[4 * 28] == 0);
  // The bottom row: drawer d's stroke of d pixels on the last source row. The last output
  // pixel covers source rows and columns [101.25, 105): one stroke row of 3.75 is 1/3.75 of it,
  // and drawer 1's single pixel is 1/3.75^2 of it.
  CHECK(img[27 * 28 + 27] == static_cast<int>(std::lround(255 / (3.75 * 3.75))));
  // Test images are drawers 19 and 20 (in that order), class-major.
  for (size_t i = 0; i < r->test_size(); ++i) {
    const int drawer = 19 + static_cast<int>(i % 2);
    const uint8_t* t = r->image(false, i);
    double ink = 0;
    for (int x = 0; x < 28; ++x) ink += t[27 * 28 + x];
    // d pixels of one source row = d / 3.75 output pixels' worth of 1/3.75 ink, i.e. d / 3.75^2
    // in units of 255 (rounding per pixel: within one unit per touched pixel).
    CHECK(std::abs(ink / 255 - drawer / (3.75 * 3.75)) < 7.0 / 255);
    CHECK(r->test_y[i] == i / 2);
  }
  for (size_t i = 0; i < r->train_size(); ++i) CHECK(r->train_y[i] == i / 18);
}

TEST_CASE("load_omniglot_zips: damaged input is an error naming the zip and the entry") {
  TempDir dir;
  const std::string zip = dir.file("alpha.zip");
  auto entries = drawings({"Alpha"}, 2);
  const std::string victim = entry_name("Alpha", 2, 5);

  SUBCASE("a damaged PNG") {
    entries[victim] = std::vector<uint8_t>(entries[victim].begin(), entries[victim].end() - 20);
    write_zip(zip, entries);
    auto r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), zip + ":" + victim));
    CHECK(contains(r.status().message(), "PNG"));
  }
  SUBCASE("a damaged zip entry (CRC mismatch)") {
    // Make the victim unique so its bytes can be found in the stored archive.
    entries[victim] = png_bytes(105, 105, {{1, 2}, {3, 4}, {60, 61}});
    write_zip(zip, entries);
    std::vector<uint8_t> bytes = file_bytes(zip);
    const auto& png = entries[victim];
    auto at = std::search(bytes.begin(), bytes.end(), png.begin(), png.end());
    REQUIRE(at != bytes.end());
    *(at + static_cast<long>(png.size()) - 10) ^= 0x01;  // inside the PNG's last chunk
    {
      std::ofstream f(zip, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    }
    auto r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), zip + ":" + victim));
    CHECK(contains(r.status().message(), "damaged entry"));
    CHECK(contains(r.status().message(), "CRC"));
  }
  SUBCASE("a missing drawing") {
    entries.erase(victim);
    write_zip(zip, entries);
    auto r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), "Alpha/character02 has no drawing by drawer 05"));
    CHECK(contains(r.status().message(), "19 of 20"));
  }
  SUBCASE("an entry outside the layout, a drawer out of range") {
    entries["Alpha/stray.png"] = entries[victim];
    write_zip(zip, entries);
    auto r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), zip + ":Alpha/stray.png"));
    entries.erase("Alpha/stray.png");
    entries["s/Alpha/character01/0001_21.png"] = entries[victim];
    write_zip(zip, entries);
    r = load_omniglot_zips({zip});
    CHECK(contains(r.status().message(), "drawer 21 is not in 01..20"));
  }
  SUBCASE("images of different sizes") {
    entries[victim] = png_bytes(100, 105, {{1, 1}});
    write_zip(zip, entries);
    auto r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), victim));
    CHECK(contains(r.status().message(), "100x105"));
  }
  SUBCASE("not a zip, no zip, no drawings") {
    const std::string text = dir.write("text.zip", "this is not a zip archive");
    auto r = load_omniglot_zips({text});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), text));
    r = load_omniglot_zips({dir.file("absent.zip")});
    CHECK(r.status().code() == ErrorCode::not_found);
    CHECK(contains(r.status().message(), "absent.zip"));
    write_zip(zip, {{"readme.txt", {'h', 'i'}}});
    r = load_omniglot_zips({zip});
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(contains(r.status().message(), "no Omniglot drawings"));
    CHECK(load_omniglot_zips({}).status().code() == ErrorCode::invalid_argument);
    auto missing = load_omniglot_dir(dir.path());
    CHECK(missing.status().code() == ErrorCode::not_found);
    CHECK(contains(missing.status().message(), omniglot_zip_names()[0]));
  }
}

TEST_CASE("more characters than one-byte labels hold is a clear error") {
  TempDir dir;
  // 257 characters of tiny 4x4 drawings, loaded at 4x4.
  std::map<std::string, std::vector<uint8_t>> entries;
  const std::vector<uint8_t> png = png_bytes(4, 4, {{1, 1}});
  for (int c = 1; c <= 257; ++c) {
    for (int d = 1; d <= kOmniglotDrawers; ++d) {
      entries[entry_name("Many", c, d)] = png;
    }
  }
  const std::string zip = dir.file("many.zip");
  write_zip(zip, entries);
  auto r = load_omniglot_zips({zip}, "many", 4);
  CHECK(r.status().code() == ErrorCode::too_large);
  CHECK(contains(r.status().message(), "257 characters"));
  // 256 fit.
  for (int d = 1; d <= kOmniglotDrawers; ++d) entries.erase(entry_name("Many", 257, d));
  write_zip(zip, entries);
  r = load_omniglot_zips({zip}, "many", 4);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->num_classes == 256);
  CHECK(r->train_y.back() == 255);
}

}  // namespace
}  // namespace engram
