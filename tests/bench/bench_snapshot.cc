// Snapshot write and read throughput (MB/s of raw section bytes) for a buffer of 1,000,000 codes
// plus the Split-MNIST networks, next to the `zstd -3` command-line tool compressing and
// decompressing the same bytes in the same run. Also the compressed size of the code section
// against its raw bit-packed size, for random codes (the incompressible worst case) and for
// codes a discrete VAE learned from MNIST. Prints figures only; asserts nothing about time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "io/datasets/dataset.h"
#include "modules/association/discrete_vae.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/neocortex/learner.h"
#include "runtime/atomic_file.h"
#include "runtime/snapshot_file.h"
#include "runtime/system_info.h"

using namespace engram;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

CodeBufferConfig split_mnist_buffer(size_t codes) {
  CodeBufferConfig c;
  c.c = 100;
  c.l = 2;
  c.num_classes = 10;
  c.num_tasks = 5;
  c.budget_bytes = (codes * 107 + 7) / 8;  // 100 code + 4 label + 3 task bits
  c.seed = 1;
  return c;
}

std::vector<uint8_t> random_code_section(size_t n) {
  auto buffer = CodeBuffer::create(split_mnist_buffer(n));
  std::mt19937_64 rng(7);
  std::vector<uint32_t> code(100);
  for (size_t i = 0; i < n; ++i) {
    for (auto& v : code) v = static_cast<uint32_t>(rng() & 1);
    (void)buffer->insert(code.data(), static_cast<int>(i % 10), static_cast<int>(i % 10 / 2));
  }
  return buffer->serialize();
}

// Codes of MNIST training images from a VAE trained briefly on them (each image once).
std::vector<uint8_t> learned_code_section() {
  auto ds = load_dataset("mnist", ENGRAM_SOURCE_DIR "/data/mnist");
  if (!ds.ok()) return {};
  DiscreteVaeConfig vc;
  auto vae = DiscreteVae::create(vc);
  auto buffer = CodeBuffer::create(split_mnist_buffer(60000));
  const int64_t batch = 128, pixels = 784;
  std::vector<uint32_t> codes(static_cast<size_t>(batch * 100));
  for (int64_t start = 0; start + batch <= static_cast<int64_t>(ds->train_y.size());
       start += batch) {
    at::Tensor x = at::from_blob(ds->train_x.data() + start * pixels, {batch, pixels}, at::kByte)
                       .to(at::kFloat)
                       .div_(255.0);
    at::Tensor c = (*vae)->learn(x, {}, {}, nullptr).to(at::kInt).contiguous();
    for (int64_t i = 0; i < batch; ++i) {
      for (int j = 0; j < 100; ++j) codes[static_cast<size_t>(j)] = c[i][j].item<int>();
      const int label = ds->train_y[static_cast<size_t>(start + i)];
      (void)buffer->insert(codes.data(), label, label / 2);
    }
  }
  return buffer->serialize();
}

// Runs a shell command and returns its wall time in seconds (negative on failure).
double timed_system(const std::string& cmd) {
  const auto t0 = Clock::now();
  const int rc = std::system(cmd.c_str());
  return rc == 0 ? seconds_since(t0) : -1.0;
}

}  // namespace

int main(int, char** argv) {
  reexec_with_fast_blas_if_needed(argv);
  at::set_num_threads(1);
  std::printf("engram snapshot throughput | %s\n", describe_blas(probe_blas()).c_str());
  const fs::path dir =
      fs::temp_directory_path() / ("engram_bench_snapshot_" + std::to_string(::getpid()));
  fs::create_directories(dir);

  SnapshotSections sections;
  sections["code_buffer"] = random_code_section(1000000);
  LearnerConfig lc;
  auto learner = Learner::create(lc);
  // One step each so the optimiser moments exist, as in a snapshot taken while learning.
  at::Tensor x = at::rand({128, 784}), y = at::randint(0, 10, {128}, at::kLong);
  (*learner)->step(x, y, {}, {}, at::ones({10}, at::kBool), 0);
  sections["neocortex"] = bytes_of((*learner)->save_state());
  auto vae = DiscreteVae::create(DiscreteVaeConfig{});
  (*vae)->learn(x, {}, {}, nullptr);
  (*vae)->consolidate();
  sections["association"] = bytes_of((*vae)->save_state());
  size_t raw = 0;
  for (const auto& [name, bytes] : sections) raw += bytes.size();
  const double mb = static_cast<double>(raw) / 1e6;

  const std::string snap = (dir / "bench.snap").string();
  double best_write = 1e9, best_read = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    if (Status s = write_snapshot(snap, sections); !s.ok()) {
      std::fprintf(stderr, "write failed: %s\n", s.to_string().c_str());
      return 1;
    }
    best_write = std::min(best_write, seconds_since(t0));
    t0 = Clock::now();
    SnapshotInfo info;
    auto back = read_snapshot(snap, &info);
    if (!back.ok()) {
      std::fprintf(stderr, "read failed: %s\n", back.status().to_string().c_str());
      return 1;
    }
    best_read = std::min(best_read, seconds_since(t0));
  }
  const double file_mb = static_cast<double>(fs::file_size(snap)) / 1e6;

  // The same bytes through the zstd tool (level 3, one thread, checksums as engram writes them).
  std::string concatenated;
  for (const auto& [name, bytes] : sections) concatenated.append(bytes.begin(), bytes.end());
  const std::string rawfile = (dir / "raw.bin").string();
  (void)write_file_atomically(rawfile, concatenated.data(), concatenated.size());
  double zstd_c = 1e9, zstd_d = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    zstd_c = std::min(
        zstd_c, timed_system("zstd -3 -q -f -T1 --check " + rawfile + " -o " + rawfile + ".zst"));
    zstd_d =
        std::min(zstd_d, timed_system("zstd -d -q -f " + rawfile + ".zst -o " + rawfile + ".out"));
  }
  const double zstd_mb = static_cast<double>(fs::file_size(rawfile + ".zst")) / 1e6;

  std::printf("sections: %zu raw bytes (code buffer %zu, neocortex %zu, association %zu)\n", raw,
              sections["code_buffer"].size(), sections["neocortex"].size(),
              sections["association"].size());
  std::printf("%-34s %10s %10s %12s\n", "", "MB/s", "seconds", "output MB");
  std::printf("%-34s %10.1f %10.3f %12.2f\n", "engram write_snapshot (zstd 3)", mb / best_write,
              best_write, file_mb);
  std::printf("%-34s %10.1f %10.3f\n", "engram read_snapshot (verified)", mb / best_read,
              best_read);
  if (zstd_c > 0 && zstd_d > 0) {
    std::printf("%-34s %10.1f %10.3f %12.2f\n", "zstd -3 (command line)", mb / zstd_c, zstd_c,
                zstd_mb);
    std::printf("%-34s %10.1f %10.3f\n", "zstd -d (command line)", mb / zstd_d, zstd_d);
    std::printf("ratio engram/zstd: write %.2f, read %.2f\n", zstd_c / best_write,
                zstd_d / best_read);
  } else {
    std::printf("zstd command line tool not available: no comparison\n");
  }

  for (const auto& [label, section] : {std::pair<std::string, std::vector<uint8_t>>{
                                           "1,000,000 random codes", sections["code_buffer"]},
                                       {"60,000 learned MNIST codes", learned_code_section()}}) {
    if (section.empty()) continue;
    SnapshotSections one{{"code_buffer", section}};
    const std::string path = (dir / "codes.snap").string();
    (void)write_snapshot(path, one);
    auto info = read_snapshot_info(path);
    const auto& s = info->sections.front();
    std::printf("code section, %s: %llu bytes bit-packed -> %llu stored (%.2fx)\n", label.c_str(),
                static_cast<unsigned long long>(s.raw_size),
                static_cast<unsigned long long>(s.stored_size),
                static_cast<double>(s.raw_size) / static_cast<double>(s.stored_size));
  }
  fs::remove_all(dir);
  return 0;
}
