// The code buffer's throughput against a home-grown replay buffer, in the same run.
//
//   engram:  CodeBuffer with (c=100, l=2) codes, 10 classes, 5 tasks (107 bits per item),
//            reservoir: insert_batch of 128 codes, sample_uniform of 128 codes.
//   rival:   what a replay buffer written by hand usually is: one byte per code value plus an
//            int32 label and task per item, the same reservoir rule and the same uniform draws
//            (std::mt19937_64, rejection), copied out to the same uint32 rows.
//
// At two sizes: the Split MNIST budget (156,800 bytes: 11,723 codes) and 1,000,000 codes (the
// rival then holds 108 MB against engram's 13.4 MB: it misses the cache on more draws). The
// rival gets as many items as engram holds, not the same bytes. Each row is the best of 3
// timed segments (other jobs on the machine only ever slow a segment down). "vs rival" is
// engram's rate over the rival's. Prints figures only; exit 1 only when something fails.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "modules/hippocampus/code_buffer.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 128;
constexpr int kC = 100;
constexpr int kClasses = 10;
constexpr int kTasks = 5;
constexpr int kSegments = 3;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

// The home-grown buffer: unpacked bytes, reservoir selection.
class HandBuffer {
 public:
  explicit HandBuffer(size_t capacity) : capacity_(capacity), rng_(1) {
    codes_.reserve(capacity * kC);
    labels_.reserve(capacity);
    tasks_.reserve(capacity);
  }
  void insert_batch(const uint32_t* codes, const int32_t* labels, const int32_t* tasks, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      ++seen_;
      size_t slot = size_;
      if (size_ == capacity_) {
        slot = static_cast<size_t>(uniform_below(rng_, seen_));
        if (slot >= capacity_) continue;
      } else {
        ++size_;
        codes_.resize(size_ * kC);
        labels_.push_back(0);
        tasks_.push_back(0);
      }
      uint8_t* dst = codes_.data() + slot * kC;
      for (int v = 0; v < kC; ++v) dst[v] = static_cast<uint8_t>(codes[i * kC + v]);
      labels_[slot] = labels[i];
      tasks_[slot] = tasks[i];
    }
  }
  void sample_uniform(size_t n, std::mt19937_64& rng, uint32_t* codes, int32_t* labels,
                      int32_t* tasks) const {
    for (size_t i = 0; i < n; ++i) {
      const size_t slot = static_cast<size_t>(uniform_below(rng, size_));
      const uint8_t* src = codes_.data() + slot * kC;
      for (int v = 0; v < kC; ++v) codes[i * kC + v] = src[v];
      labels[i] = labels_[slot];
      tasks[i] = tasks_[slot];
    }
  }
  size_t size() const { return size_; }

 private:
  size_t capacity_, size_ = 0;
  uint64_t seen_ = 0;
  std::mt19937_64 rng_;
  std::vector<uint8_t> codes_;
  std::vector<int32_t> labels_, tasks_;
};

struct Pool {
  static constexpr size_t kCodes = 8192;  // a multiple of kBatch
  std::vector<uint32_t> codes;
  std::vector<int32_t> labels, tasks;
  Pool() : codes(kCodes * kC), labels(kCodes), tasks(kCodes) {
    std::mt19937_64 rng(7);
    for (uint32_t& v : codes) v = static_cast<uint32_t>(rng() & 1u);
    for (size_t i = 0; i < kCodes; ++i) {
      labels[i] = static_cast<int32_t>(rng() % kClasses);
      tasks[i] = static_cast<int32_t>(rng() % kTasks);
    }
  }
};

// Items per second of the best of kSegments segments of `ops` items each; op(done, k) handles
// k items.
template <typename Op>
double best_rate(size_t ops, Op op) {
  double best = 0;
  for (int s = 0; s < kSegments; ++s) {
    const auto t0 = Clock::now();
    for (size_t done = 0; done < ops; done += kBatch) op(done, std::min(kBatch, ops - done));
    best = std::max(best, static_cast<double>(ops) / seconds_since(t0));
  }
  return best;
}

void print_row(const std::string& name, double per_s, double rival_per_s) {
  fmt::print("{:<52} {:>12.0f} {:>10}\n", name, per_s,
             rival_per_s > 0 ? fmt::format("{:.2f}", per_s / rival_per_s) : "-");
  std::fflush(stdout);
}

// Fills both buffers (engram's to its budget, the rival to as many items), then times inserts
// into the full buffers and uniform samples. Returns false on an error.
bool bench_size(const Pool& pool, size_t budget_bytes, const std::string& label, size_t ops) {
  CodeBufferConfig config;
  config.c = kC;
  config.l = 2;
  config.num_classes = kClasses;
  config.num_tasks = kTasks;
  config.budget_bytes = budget_bytes;
  config.selector = Selector::reservoir;
  config.seed = 1;
  auto buffer = CodeBuffer::create(config);
  if (!buffer.ok()) {
    fmt::print("{}: {}\n", label, buffer.status().message());
    return false;
  }
  HandBuffer rival(buffer->capacity());
  auto insert_engram = [&](size_t done, size_t k) {
    const size_t off = done % Pool::kCodes;
    (void)buffer->insert_batch(pool.codes.data() + off * kC, pool.labels.data() + off,
                               pool.tasks.data() + off, k);
  };
  auto insert_rival = [&](size_t done, size_t k) {
    const size_t off = done % Pool::kCodes;
    rival.insert_batch(pool.codes.data() + off * kC, pool.labels.data() + off,
                       pool.tasks.data() + off, k);
  };
  for (size_t done = 0; buffer->size() < buffer->capacity(); done += kBatch) {
    insert_engram(done, kBatch);
    insert_rival(done, kBatch);
  }
  const std::string held = fmt::format("{} ({} codes)", label, buffer->size());
  const double rival_insert = best_rate(ops, insert_rival);
  const double engram_insert = best_rate(ops, insert_engram);

  std::vector<uint32_t> codes(kBatch * kC);
  std::vector<int32_t> labels(kBatch), tasks(kBatch);
  std::mt19937_64 rng_a(11), rng_b(11);
  uint64_t checksum = 0;
  bool failed = false;
  const double rival_sample = best_rate(ops, [&](size_t, size_t k) {
    rival.sample_uniform(k, rng_b, codes.data(), labels.data(), tasks.data());
    checksum += codes[k] + static_cast<uint64_t>(labels[0]);
  });
  const double engram_sample = best_rate(ops, [&](size_t, size_t k) {
    if (!buffer->sample_uniform(k, rng_a, codes.data(), labels.data(), tasks.data()).ok()) {
      failed = true;
    }
    checksum += codes[k] + static_cast<uint64_t>(labels[0]);
  });
  print_row("rival insert x128, " + held, rival_insert, 0);
  print_row("CodeBuffer insert_batch x128, " + held, engram_insert, rival_insert);
  print_row("rival sample x128, " + held, rival_sample, 0);
  print_row("CodeBuffer sample_uniform x128, " + held, engram_sample, rival_sample);
  if (checksum == ~uint64_t{0}) std::puts("");  // keeps the reads observable
  return !failed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CodeBuffer throughput against a hand-written replay buffer"};
  bool quick = false;
  app.add_flag("--quick", quick, "shorter rows (smoke runs)");
  CLI11_PARSE(app, argc, argv);
  const size_t ops = quick ? 200000 : 3000000;
  fmt::print("{:<52} {:>12} {:>10}\n", "benchmark (codes: c=100, l=2)", "codes/s", "vs rival");
  const Pool pool;
  bool ok = bench_size(pool, 156800, "156,800 B", ops);
  const size_t bits = kC + 4 + 3;  // label and task bits for 10 classes and 5 tasks
  ok = bench_size(pool, (size_t{1000000} * bits + 7) / 8, "1,000,000 codes", ops) && ok;
  return ok ? 0 : 1;
}
