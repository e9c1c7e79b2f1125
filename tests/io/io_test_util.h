// Helpers shared by the io tests: temporary directories, IDX/gzip file writers, and the real
// MNIST loaded once per test process.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "tests/temp_dir.h"

namespace engram::test {

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

// The bytes of an IDX file: magic, dims, payload (no checks: tests build bad files too).
inline std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                                      const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> v;
  put_be32(v, magic);
  for (uint32_t d : dims) put_be32(v, d);
  v.insert(v.end(), payload.begin(), payload.end());
  return v;
}

inline void write_raw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb6");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(f) == Z_OK);
}

inline std::vector<uint8_t> read_raw(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Deterministic pseudo-random bytes below `mod` (so compressed streams hold real Huffman data).
inline std::vector<uint8_t> noise(size_t n, uint32_t seed, uint32_t mod = 256) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x % mod);
  }
  return v;
}

// Writes a small valid dataset (4 IDX .gz files) of n_train/n_test rows x cols images whose
// labels cycle through 0..9; label_override, when >= 0, replaces the label of train item 3.
inline void write_small_dataset(const std::string& dir, uint32_t n_train, uint32_t n_test,
                                uint32_t rows = 4, uint32_t cols = 5, int label_override = -1) {
  std::filesystem::create_directories(dir);
  auto labels = [](uint32_t n) {
    std::vector<uint8_t> y(n);
    for (uint32_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(i % 10);
    return y;
  };
  std::vector<uint8_t> train_y = labels(n_train);
  if (label_override >= 0) train_y.at(3) = static_cast<uint8_t>(label_override);
  write_gz(dir + "/train-images-idx3-ubyte.gz",
           idx_bytes(0x803, {n_train, rows, cols}, noise(n_train * rows * cols, 1)));
  write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_bytes(0x801, {n_train}, train_y));
  write_gz(dir + "/t10k-images-idx3-ubyte.gz",
           idx_bytes(0x803, {n_test, rows, cols}, noise(n_test * rows * cols, 2)));
  write_gz(dir + "/t10k-labels-idx1-ubyte.gz", idx_bytes(0x801, {n_test}, labels(n_test)));
}

inline std::string source_mnist_dir() { return std::string(ENGRAM_SOURCE_DIR) + "/data/mnist"; }

// The repository's MNIST, loaded once per process (several tests use it).
inline const ImageDataset& mnist() {
  static const ImageDataset ds = [] {
    auto r = load_dataset("mnist", source_mnist_dir());
    if (!r) FAIL("cannot load MNIST: " << r.status().to_string());
    return std::move(r).value();
  }();
  return ds;
}

}  // namespace engram::test
