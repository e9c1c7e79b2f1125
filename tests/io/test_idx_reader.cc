// IDX reader and dataset loader: the real MNIST and Fashion-MNIST, and broken files.
#include "io/datasets/idx_reader.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdlib>

#include "io/datasets/dataset.h"
#include "io_test_util.h"

namespace engram {
namespace {

using test::idx_bytes;
using test::noise;
using test::TempDir;
using test::write_gz;
using test::write_raw;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs f with ENGRAM_DATA_DIR set to value (or unset when value is null), then restores it.
template <typename F>
void with_data_dir_env(const char* value, F f) {
  const char* old = std::getenv("ENGRAM_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  if (value != nullptr) {
    setenv("ENGRAM_DATA_DIR", value, 1);
  } else {
    unsetenv("ENGRAM_DATA_DIR");
  }
  f();
  if (old != nullptr) {
    setenv("ENGRAM_DATA_DIR", saved.c_str(), 1);
  } else {
    unsetenv("ENGRAM_DATA_DIR");
  }
}

TEST_CASE("real MNIST loads with the expected shape and labels") {
  const ImageDataset& ds = test::mnist();
  CHECK(ds.name == "mnist");
  CHECK(ds.rows == 28);
  CHECK(ds.cols == 28);
  CHECK(ds.num_classes == 10);
  REQUIRE(ds.train_size() == 60000);
  REQUIRE(ds.test_size() == 10000);
  CHECK(ds.train_x.size() == 60000u * 784u);
  CHECK(ds.test_x.size() == 10000u * 784u);
  CHECK(ds.train_y[0] == 5);  // the famous first digit
  CHECK(ds.test_y[0] == 7);

  std::array<int, 10> train_hist{}, test_hist{};
  for (uint8_t y : ds.train_y) ++train_hist.at(y);
  for (uint8_t y : ds.test_y) ++test_hist.at(y);
  for (int k = 0; k < 10; ++k) {
    CHECK(train_hist[k] > 5000);
    CHECK(train_hist[k] < 7000);
    CHECK(test_hist[k] > 800);
    CHECK(test_hist[k] < 1200);
  }
  CHECK(train_hist[1] == 6742);  // published MNIST class counts
  CHECK(train_hist[5] == 5421);

  // Digits: mostly background, some full ink, border pixels blank.
  size_t zeros = 0, full = 0;
  for (size_t p = 0; p < 784; ++p) {
    zeros += ds.train_x[p] == 0;
    full += ds.train_x[p] == 255;
  }
  CHECK(zeros > 400);
  CHECK(full > 0);
  CHECK(ds.train_x[0] == 0);
}

TEST_CASE("load_dataset finds MNIST in the source tree without being told") {
  with_data_dir_env(nullptr, [] {
    auto r = load_dataset("mnist");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->train_size() == 60000);
    CHECK(r->train_y[0] == 5);
  });
}

TEST_CASE("Fashion-MNIST loads from Debian's package") {
  with_data_dir_env(nullptr, [] {
    auto r = load_dataset("fashion-mnist");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->source_dir == "/usr/share/datasets/fashion-mnist");
    CHECK(r->rows == 28);
    CHECK(r->cols == 28);
    REQUIRE(r->train_size() == 60000);
    REQUIRE(r->test_size() == 10000);
    std::array<int, 10> train_hist{}, test_hist{};
    for (uint8_t y : r->train_y) ++train_hist.at(y);
    for (uint8_t y : r->test_y) ++test_hist.at(y);
    for (int k = 0; k < 10; ++k) {
      CHECK(train_hist[k] == 6000);  // Fashion-MNIST is exactly balanced
      CHECK(test_hist[k] == 1000);
    }
  });
}

TEST_CASE("ENGRAM_DATA_DIR is searched first; an explicit directory is the only one tried") {
  TempDir tmp;
  test::write_small_dataset(tmp.file("mnist"), 30, 10);
  with_data_dir_env(tmp.path().c_str(), [&] {
    auto r = load_dataset("mnist");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->source_dir == tmp.file("mnist"));
    CHECK(r->train_size() == 30);
    CHECK(r->test_size() == 10);
    CHECK(r->rows == 4);
    CHECK(r->cols == 5);
  });
  auto missing = load_dataset("mnist", tmp.file("nowhere"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::not_found);
  CHECK(contains(missing.status().message(), tmp.file("nowhere")));

  with_data_dir_env(tmp.path().c_str(), [&] {
    auto r = load_dataset("fashion-mnist", tmp.file("empty"));
    REQUIRE_FALSE(r.ok());
    const auto tried = dataset_search_path("fashion-mnist");
    REQUIRE(tried.size() == 2);
    CHECK(tried[0] == tmp.file("fashion-mnist"));
    CHECK(tried[1] == "/usr/share/datasets/fashion-mnist");
  });

  auto unknown = load_dataset("cifar-1000");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == ErrorCode::not_found);
  CHECK(contains(unknown.status().message(), "cifar-1000"));
}

TEST_CASE("uncompressed IDX files are read too") {
  TempDir tmp;
  const auto pixels = noise(7 * 3 * 2, 9);
  write_raw(tmp.file("img"), idx_bytes(0x803, {7, 3, 2}, pixels));
  auto r = read_idx_images(tmp.file("img"));
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->count == 7);
  CHECK(r->rows == 3);
  CHECK(r->cols == 2);
  CHECK(r->pixels == pixels);
}

TEST_CASE("bad headers give clear errors that name the file") {
  TempDir tmp;
  const std::string path = tmp.file("train-images-idx3-ubyte.gz");
  struct Case {
    uint32_t magic;
    std::vector<uint32_t> dims;
    ErrorCode code;
    const char* text;
  };
  const Case cases[] = {
      {0x801, {2, 2, 2}, ErrorCode::malformed, "1 dimensions, expected 3"},
      {0x802, {2, 2, 2}, ErrorCode::malformed, "2 dimensions, expected 3"},
      {0x12345678, {2, 2, 2}, ErrorCode::malformed, "bad magic 0x12345678"},
      {0xD03, {2, 2, 2}, ErrorCode::malformed, "not unsigned byte"},
      {0x803, {0, 2, 2}, ErrorCode::malformed, "image count is 0"},
      {0x803, {2, 0, 2}, ErrorCode::malformed, "rows is 0"},
      {0x803, {2, 2, 0}, ErrorCode::malformed, "cols is 0"},
      {0x803, {2, 100000, 2}, ErrorCode::too_large, "rows 100000 exceeds"},
      {0x803, {60000, 16000, 16000}, ErrorCode::too_large, "exceeds the limit"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    write_gz(path, idx_bytes(c.magic, c.dims, noise(8, 1)));
    auto r = read_idx_images(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == c.code);
    CHECK(contains(r.status().message(), path + ": "));
    CHECK(contains(r.status().message(), c.text));
  }
  write_gz(path, idx_bytes(0x803, {2}, {}));
  auto labels_as_images = read_idx_labels(path);
  REQUIRE_FALSE(labels_as_images.ok());
  CHECK(contains(labels_as_images.status().message(), "3 dimensions, expected 1"));

  auto missing = read_idx_images(tmp.file("absent.gz"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::not_found);
  CHECK(contains(missing.status().message(), "absent.gz"));
}

TEST_CASE("truncated files are errors, raw or gzip-compressed, at any offset") {
  TempDir tmp;
  const uint32_t n = 50, rows = 6, cols = 7;
  const auto full = idx_bytes(0x803, {n, rows, cols}, noise(n * rows * cols, 3));
  const size_t payload = n * rows * cols;
  REQUIRE(full.size() == 16 + payload);
  const size_t cuts[] = {0, 1, 3, 4, 9, 15, 16, 17, 16 + payload / 2, full.size() - 1};
  for (size_t cut : cuts) {
    CAPTURE(cut);
    const std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<long>(cut));
    const std::string expected =
        cut < 16 ? "truncated: expected 16 header bytes, got " + std::to_string(cut)
                 : "truncated: expected " + std::to_string(payload) + " pixel bytes, got " +
                       std::to_string(cut - 16);
    const std::string raw = tmp.file("raw"), gz = tmp.file("img.gz");
    write_raw(raw, part);
    write_gz(gz, part);
    for (const std::string& path : {raw, gz}) {
      auto r = read_idx_images(path);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::malformed);
      CHECK_MESSAGE(r.status().message() == path + ": " + expected, r.status().message());
    }
  }
}

TEST_CASE("a truncated gzip stream is an error wherever it is cut") {
  TempDir tmp;
  const uint32_t n = 40, rows = 8, cols = 8;
  const std::string path = tmp.file("img.gz");
  write_gz(path, idx_bytes(0x803, {n, rows, cols}, noise(n * rows * cols, 4)));
  const auto compressed = test::read_raw(path);
  REQUIRE(compressed.size() > 100);
  REQUIRE(read_idx_images(path).ok());
  const size_t cuts[] = {2,
                         5,
                         10,
                         20,
                         40,
                         compressed.size() / 2,
                         compressed.size() - 9,
                         compressed.size() - 8,
                         compressed.size() - 4,
                         compressed.size() - 1};
  for (size_t cut : cuts) {
    CAPTURE(cut);
    write_raw(path, std::vector<uint8_t>(compressed.begin(),
                                         compressed.begin() + static_cast<long>(cut)));
    auto r = read_idx_images(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK_MESSAGE(contains(r.status().message(), path + ": truncated"), r.status().message());
  }
}

TEST_CASE("trailing bytes are errors, raw or compressed") {
  TempDir tmp;
  const auto labels = noise(20, 5, 10);
  auto bytes = idx_bytes(0x801, {20}, labels);
  bytes.insert(bytes.end(), {1, 2, 3});
  for (bool compressed : {false, true}) {
    const std::string path = tmp.file(compressed ? "labels.gz" : "labels");
    if (compressed) {
      write_gz(path, bytes);
    } else {
      write_raw(path, bytes);
    }
    auto r = read_idx_labels(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(r.status().message() == path + ": 3 trailing bytes after the 20 label bytes");
  }
}

TEST_CASE("a corrupt gzip stream is an error") {
  TempDir tmp;
  const std::string path = tmp.file("img.gz");
  const uint32_t n = 200;
  write_gz(path, idx_bytes(0x803, {n, 8, 8}, noise(n * 64, 6, 16)));
  const auto good = test::read_raw(path);
  REQUIRE(good.size() > 200);

  auto damaged = good;  // scramble the middle of the deflate data
  for (size_t i = good.size() / 2; i < good.size() / 2 + 32; ++i) damaged[i] ^= 0xA5;
  write_raw(path, damaged);
  auto r = read_idx_images(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::malformed);
  CHECK_MESSAGE(contains(r.status().message(), path + ": "), r.status().message());
  CHECK_MESSAGE(contains(r.status().message(), "gzip"), r.status().message());

  auto bad_crc = good;  // the CRC-32 is the 8th to 5th last byte
  bad_crc[good.size() - 8] ^= 0x01;
  write_raw(path, bad_crc);
  auto c = read_idx_images(path);
  REQUIRE_FALSE(c.ok());
  CHECK_MESSAGE(c.status().message() == path + ": corrupt gzip stream: incorrect data check",
                c.status().message());
}

TEST_CASE("dataset consistency: label counts and label range") {
  TempDir tmp;
  const std::string dir = tmp.file("d");
  test::write_small_dataset(dir, 30, 10);
  REQUIRE(load_idx_dataset_dir("t", dir, 10).ok());

  write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_bytes(0x801, {29}, noise(29, 1, 10)));
  auto count = load_idx_dataset_dir("t", dir, 10);
  REQUIRE_FALSE(count.ok());
  CHECK(count.status().code() == ErrorCode::malformed);
  CHECK(contains(count.status().message(), "29 labels but"));
  CHECK(contains(count.status().message(), "holds 30 images"));

  test::write_small_dataset(dir, 30, 10, 4, 5, /*label_override=*/10);
  auto range = load_idx_dataset_dir("t", dir, 10);
  REQUIRE_FALSE(range.ok());
  CHECK(range.status().message() ==
        dir + "/train-labels-idx1-ubyte.gz: label 10 of item 3 is not < 10");

  test::write_small_dataset(dir, 30, 10);
  write_gz(dir + "/t10k-images-idx3-ubyte.gz", idx_bytes(0x803, {10, 5, 4}, noise(200, 2)));
  auto shape = load_idx_dataset_dir("t", dir, 10);
  REQUIRE_FALSE(shape.ok());
  CHECK(contains(shape.status().message(), "images are 5x4"));

  std::filesystem::remove(dir + "/t10k-labels-idx1-ubyte.gz");
  auto incomplete = load_dataset("mnist", dir);
  REQUIRE_FALSE(incomplete.ok());
  CHECK(incomplete.status().code() == ErrorCode::not_found);
  CHECK(contains(incomplete.status().message(), "t10k-labels-idx1-ubyte"));
}

}  // namespace
}  // namespace engram
