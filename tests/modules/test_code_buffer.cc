// Bit packer and hippocampus code buffer: exact bit accounting, selectors, sampling and
// serialization. Expected sizes are worked out by hand in comments, never by the code's formula.
#include "modules/hippocampus/code_buffer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "modules/hippocampus/bit_packer.h"

namespace engram {
namespace {

CodeBuffer make_buffer(int c, int l, int classes, int tasks, size_t budget, Selector sel,
                       uint64_t seed = 1) {
  CodeBufferConfig cfg;
  cfg.c = c;
  cfg.l = l;
  cfg.num_classes = classes;
  cfg.num_tasks = tasks;
  cfg.budget_bytes = budget;
  cfg.selector = sel;
  cfg.seed = seed;
  auto r = CodeBuffer::create(cfg);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return std::move(r).value();
}

// Item `id` as a 10-variable binary code (ids < 1024), so a stored code names its item.
std::vector<uint32_t> id_code(uint32_t id) {
  std::vector<uint32_t> code(10);
  for (int v = 0; v < 10; ++v) code[static_cast<size_t>(v)] = (id >> v) & 1;
  return code;
}

uint32_t code_id(const std::vector<uint32_t>& code) {
  uint32_t id = 0;
  for (int v = 0; v < 10; ++v) id |= code[static_cast<size_t>(v)] << v;
  return id;
}

// The ids stored in a buffer of 10-variable binary codes, slot by slot.
std::vector<uint32_t> stored_ids(const CodeBuffer& buf) {
  std::vector<uint32_t> ids;
  std::vector<uint32_t> code(10);
  for (size_t i = 0; i < buf.size(); ++i) {
    REQUIRE(buf.get(i, code.data(), nullptr, nullptr).ok());
    ids.push_back(code_id(code));
  }
  return ids;
}

TEST_CASE("bit packer: item i occupies bits [i*W, (i+1)*W), LSB first") {
  for (int w = 1; w <= 64; ++w) {
    CAPTURE(w);
    std::mt19937_64 rng(static_cast<uint64_t>(w));
    const uint64_t max = w == 64 ? ~uint64_t{0} : (uint64_t{1} << w) - 1;
    std::vector<uint64_t> values = {max, 0, max, 1};
    for (int i = 0; i < 40; ++i) values.push_back(rng() & max);
    BitPacker bp;
    for (uint64_t v : values) bp.put(v | ~max, w);  // bits above w must be ignored
    REQUIRE(bp.size_bits() == values.size() * static_cast<size_t>(w));
    REQUIRE(bp.bytes().size() == (values.size() * static_cast<size_t>(w) + 7) / 8);
    for (size_t i = 0; i < values.size(); ++i) {
      REQUIRE(bp.get(i * static_cast<size_t>(w), w) == values[i]);
      for (int b = 0; b < w; ++b) {  // against the raw bytes
        const size_t k = i * static_cast<size_t>(w) + static_cast<size_t>(b);
        REQUIRE(((bp.bytes()[k / 8] >> (k % 8)) & 1u) == ((values[i] >> b) & 1u));
      }
    }
    const size_t tail = bp.size_bits() % 8;
    if (tail != 0) REQUIRE((bp.bytes().back() >> tail) == 0);
    // Overwriting one field leaves its neighbours alone.
    bp.set(static_cast<size_t>(w), w, 0);
    CHECK(bp.get(0, w) == max);
    CHECK(bp.get(static_cast<size_t>(w), w) == 0);
    CHECK(bp.get(2 * static_cast<size_t>(w), w) == max);
  }
  BitPacker mixed;  // fields of different widths back to back
  mixed.put(5, 3);
  mixed.put(0x1FFFF, 17);
  mixed.put(1, 1);
  mixed.put(0xABCDEF, 24);
  CHECK(mixed.size_bits() == 45);
  CHECK(mixed.get(0, 3) == 5);
  CHECK(mixed.get(3, 17) == 0x1FFFF);
  CHECK(mixed.get(20, 1) == 1);
  CHECK(mixed.get(21, 24) == 0xABCDEF);
}

TEST_CASE("bit accounting is exact: c*ceil(log2 l) + label + task bits") {
  struct Case {
    int c, l, classes, tasks;
    size_t code_bits, label_bits, task_bits;
  };
  const Case cases[] = {
      {38, 2, 10, 5, 38, 4, 3},       // 38 binary variables
      {100, 2, 10, 1, 100, 4, 0},     // a single task costs no bits
      {50, 18, 10, 5, 250, 4, 3},     // 18 values need 5 bits
      {784, 256, 10, 5, 6272, 4, 3},  // a raw 28x28 8-bit image
      {10, 3, 2, 2, 20, 1, 1},        // 3 values need 2 bits
      {1, 2, 1, 1, 1, 0, 0},          // one class, one task: code only
      {3, 1024, 1000, 16, 30, 10, 4}, {2, 1025, 16, 17, 22, 4, 5},
  };
  for (const Case& k : cases) {
    CAPTURE(k.c);
    CAPTURE(k.l);
    const CodeBuffer buf = make_buffer(k.c, k.l, k.classes, k.tasks, 100000, Selector::fifo);
    CHECK(static_cast<size_t>(buf.code_bits()) == k.code_bits);
    CHECK(static_cast<size_t>(buf.label_bits()) == k.label_bits);
    CHECK(static_cast<size_t>(buf.task_bits()) == k.task_bits);
    CHECK(buf.bits_per_item() == k.code_bits + k.label_bits + k.task_bits);
  }
}

TEST_CASE("capacity follows the byte budget; storage never exceeds it") {
  // 156,800 bytes = 1,254,400 bits = the bytes of 200 raw MNIST images.
  // 38 binary vars + 4 label bits + 3 task bits = 45 bits: 45 * 27,875 = 1,254,375 fits,
  // 45 * 27,876 = 1,254,420 does not.
  CodeBuffer codes = make_buffer(38, 2, 10, 5, 156800, Selector::reservoir);
  CHECK(codes.capacity() == 27875);
  // Raw images: 6272 + 4 + 3 = 6279 bits; 6279 * 199 = 1,249,521 fits, * 200 = 1,255,800 not.
  CodeBuffer images = make_buffer(784, 256, 10, 5, 156800, Selector::reservoir);
  CHECK(images.capacity() == 199);

  std::mt19937_64 rng(3);
  std::vector<uint32_t> img(784), code(38);
  for (int i = 0; i < 250; ++i) {
    for (auto& v : img) v = static_cast<uint32_t>(rng() % 256);
    REQUIRE(images.insert(img.data(), i % 10, i % 5).ok());
    REQUIRE(images.storage_bytes() <= 156800);
  }
  CHECK(images.size() == 199);
  CHECK(images.seen() == 250);
  CHECK(images.bytes_used() == 156191);  // ceil(1,249,521 / 8)
  for (int i = 0; i < 30000; ++i) {
    for (auto& v : code) v = static_cast<uint32_t>(rng() & 1);
    REQUIRE(codes.insert(code.data(), i % 10, i % 5).ok());
  }
  CHECK(codes.size() == 27875);
  CHECK(codes.bytes_used() == 156797);  // ceil(1,254,375 / 8)
  CHECK(codes.storage_bytes() <= 156800);

  CodeBuffer small = make_buffer(38, 2, 10, 5, 6, Selector::fifo);  // 48 bits: one item
  CHECK(small.capacity() == 1);
}

TEST_CASE("invalid configurations are rejected with clear errors") {
  auto cfg_with = [](int c, int l, int classes, int tasks, size_t budget) {
    CodeBufferConfig cfg;
    cfg.c = c;
    cfg.l = l;
    cfg.num_classes = classes;
    cfg.num_tasks = tasks;
    cfg.budget_bytes = budget;
    return CodeBuffer::create(cfg).status();
  };
  CHECK(cfg_with(38, 2, 10, 5, 100).ok());
  Status s = cfg_with(38, 1, 10, 5, 100);
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message().find("l (values per variable) must be >= 2") != std::string::npos);
  CHECK(cfg_with(0, 2, 10, 5, 100).message().find("c (variables per code)") != std::string::npos);
  CHECK(cfg_with(38, 2, 0, 5, 100).message().find("num_classes") != std::string::npos);
  CHECK(cfg_with(38, 2, 10, 0, 100).message().find("num_tasks") != std::string::npos);
  s = cfg_with(38, 2, 10, 5, 5);  // 45 bits need 6 bytes
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message().find("cannot hold one item of 45 bits (needs 6 bytes)") != std::string::npos);
  CHECK_FALSE(cfg_with(38, 2, 10, 5, 0).ok());
  CHECK(parse_selector("class-balanced").value() == Selector::class_balanced);
  CHECK_FALSE(parse_selector("lifo").ok());
}

TEST_CASE("codes round-trip for many widths, including the largest values") {
  const int ls[] = {2, 3, 5, 16, 17, 255, 256, 1000, 65536, 2147483647};
  const int cs[] = {1, 7, 38, 100};
  std::mt19937_64 rng(11);
  for (int l : ls) {
    for (int c : cs) {
      CAPTURE(l);
      CAPTURE(c);
      const size_t n = 60;
      CodeBuffer buf = make_buffer(c, l, 10, 3, 1 << 16, Selector::fifo);
      REQUIRE(buf.capacity() >= n);
      std::vector<uint32_t> codes(n * static_cast<size_t>(c));
      std::vector<int32_t> labels(n), tasks(n);
      for (size_t i = 0; i < codes.size(); ++i) {
        codes[i] = i % 3 == 0 ? static_cast<uint32_t>(l - 1) : static_cast<uint32_t>(rng() % l);
      }
      for (size_t i = 0; i < n; ++i) {
        labels[i] = static_cast<int32_t>(i % 10);
        tasks[i] = static_cast<int32_t>((i / 10) % 3);
      }
      size_t kept = 0;
      REQUIRE(buf.insert_batch(codes.data(), labels.data(), tasks.data(), n, &kept).ok());
      REQUIRE(kept == n);
      std::vector<uint32_t> got(static_cast<size_t>(c));
      for (size_t i = 0; i < n; ++i) {
        int32_t label = -1, task = -1;
        REQUIRE(buf.get(i, got.data(), &label, &task).ok());
        REQUIRE(std::equal(got.begin(), got.end(), codes.begin() + static_cast<long>(i * c)));
        REQUIRE(label == labels[i]);
        REQUIRE(task == tasks[i]);
      }
      CHECK(buf.class_counts()[0] == 6);
      CHECK(buf.task_counts()[2] == 20);
    }
  }
}

TEST_CASE("reservoir keeps each of n offers with probability capacity/n") {
  // 10 binary vars, 1 class, 1 task: 10 bits per item; 125 bytes = 1000 bits = 100 items.
  const int trials = 2000;
  const uint32_t n = 1000;
  std::vector<int> kept(n, 0);
  for (int t = 0; t < trials; ++t) {
    CodeBuffer buf = make_buffer(10, 2, 1, 1, 125, Selector::reservoir, static_cast<uint64_t>(t));
    REQUIRE(buf.capacity() == 100);
    for (uint32_t id = 0; id < n; ++id) REQUIRE(buf.insert(id_code(id).data(), 0, 0).ok());
    REQUIRE(buf.size() == 100);
    REQUIRE(buf.seen() == n);
    for (uint32_t id : stored_ids(buf)) ++kept[id];
  }
  // Expected 0.1 per item, sd sqrt(0.1*0.9/2000) = 0.0067. Keep-first or keep-last
  // reservoirs give 1.0 / 0.0 at the ends; a half-hearted one skews early vs late.
  double first = 0, last = 0;
  for (uint32_t id = 0; id < n; ++id) {
    const double f = static_cast<double>(kept[id]) / trials;
    CAPTURE(id);
    REQUIRE(std::fabs(f - 0.1) < 0.04);
    if (id < 100) first += f / 100;
    if (id >= n - 100) last += f / 100;
  }
  CHECK(std::fabs(first - 0.1) < 0.006);
  CHECK(std::fabs(last - 0.1) < 0.006);
}

TEST_CASE("fifo keeps the most recent items") {
  CodeBuffer buf = make_buffer(10, 2, 1, 1, 125, Selector::fifo);
  for (uint32_t id = 0; id < 1000; ++id) REQUIRE(buf.insert(id_code(id).data(), 0, 0).ok());
  std::vector<uint32_t> ids = stored_ids(buf);
  for (size_t slot = 0; slot < ids.size(); ++slot) CHECK(ids[slot] == 900 + slot);
}

// An imbalanced stream: class 0 offers 2000 items, classes 1..9 offer 100 each, shuffled.
std::vector<int> imbalanced_labels(uint64_t seed) {
  std::vector<int> labels(2000, 0);
  for (int k = 1; k < 10; ++k) labels.insert(labels.end(), 100, k);
  std::mt19937_64 rng(seed);
  for (size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[rng() % i]);
  return labels;
}

TEST_CASE("class-balanced selection ends with equal classes where reservoir does not") {
  // 10 binary vars + 4 label bits = 14 bits; 175 bytes = 1400 bits = 100 items.
  const std::vector<int> labels = imbalanced_labels(5);
  CodeBuffer bal = make_buffer(10, 2, 10, 1, 175, Selector::class_balanced, 9);
  CodeBuffer res = make_buffer(10, 2, 10, 1, 175, Selector::reservoir, 9);
  REQUIRE(bal.capacity() == 100);
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto code = id_code(static_cast<uint32_t>(i % 1024));
    REQUIRE(bal.insert(code.data(), labels[i], 0).ok());
    REQUIRE(res.insert(code.data(), labels[i], 0).ok());
  }
  std::vector<size_t> actual(10, 0);  // counts from the stored labels themselves
  for (size_t i = 0; i < bal.size(); ++i) {
    int32_t label = -1;
    REQUIRE(bal.get(i, nullptr, &label, nullptr).ok());
    ++actual[static_cast<size_t>(label)];
  }
  CHECK(actual == bal.class_counts());
  for (int k = 0; k < 10; ++k) CHECK(bal.class_counts()[static_cast<size_t>(k)] == 10);
  CHECK(res.class_counts()[0] > 40);  // ~69 expected: the test can tell the two apart
  CHECK(bal.seen_per_class()[0] == 2000);

  // Sequential tasks of two classes each (Split MNIST order) also end balanced.
  // With 5 tasks: 10 + 4 + 3 = 17 bits; 213 bytes = 1704 bits = 100 items (+4 bits).
  CodeBuffer seq = make_buffer(10, 2, 10, 5, 213, Selector::class_balanced, 4);
  REQUIRE(seq.capacity() == 100);
  for (int k = 0; k < 10; ++k) {
    for (int i = 0; i < 300; ++i) {
      REQUIRE(seq.insert(id_code(static_cast<uint32_t>(i)).data(), k, k / 2).ok());
    }
  }
  for (int k = 0; k < 10; ++k) CHECK(seq.class_counts()[static_cast<size_t>(k)] == 10);
  for (int t = 0; t < 5; ++t) CHECK(seq.task_counts()[static_cast<size_t>(t)] == 20);
}

TEST_CASE("class-balanced keeps a uniform sample within each class") {
  // 11 binary vars (class-0 item ids < 2048) + 4 label bits = 15 bits; 188 bytes -> 100 items.
  // Class 0 ends with 10 of its 2000 offers: each should be kept with probability 0.005,
  // whether it came early or late. Sd per 200-item decile over 400 trials ~ 5%.
  const int trials = 400;
  std::vector<double> kept(2000, 0.0);
  std::vector<uint32_t> code(11);
  for (int t = 0; t < trials; ++t) {
    CodeBuffer buf = make_buffer(11, 2, 10, 1, 188, Selector::class_balanced, 100 + t);
    REQUIRE(buf.capacity() == 100);
    uint32_t next_id = 0;
    for (int label : imbalanced_labels(static_cast<uint64_t>(t))) {
      const uint32_t id = label == 0 ? next_id++ : 0;
      for (int v = 0; v < 11; ++v) code[static_cast<size_t>(v)] = (id >> v) & 1;
      REQUIRE(buf.insert(code.data(), label, 0).ok());
    }
    for (size_t i = 0; i < buf.size(); ++i) {
      int32_t label = -1;
      REQUIRE(buf.get(i, code.data(), &label, nullptr).ok());
      if (label != 0) continue;
      uint32_t id = 0;
      for (int v = 0; v < 11; ++v) id |= code[static_cast<size_t>(v)] << v;
      kept[id] += 1.0 / trials;
    }
  }
  for (int d = 0; d < 10; ++d) {
    double mean = 0;
    for (int i = d * 200; i < (d + 1) * 200; ++i) mean += kept[static_cast<size_t>(i)] / 200;
    CAPTURE(d);
    CHECK(mean > 0.005 * 0.75);
    CHECK(mean < 0.005 * 1.25);
  }
}

TEST_CASE("out-of-range items are rejected and leave the buffer unchanged") {
  CodeBuffer buf = make_buffer(4, 5, 3, 2, 64, Selector::reservoir);
  const uint32_t good[4] = {0, 4, 2, 1};
  for (int i = 0; i < 40; ++i) REQUIRE(buf.insert(good, i % 3, i % 2).ok());
  const std::vector<uint8_t> before = buf.serialize();
  const uint32_t bad_value[4] = {0, 5, 2, 1};
  bool stored = true;
  Status s = buf.insert(bad_value, 0, 0, &stored);
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message().find("variable 1 has value 5") != std::string::npos);
  CHECK_FALSE(stored);
  CHECK_FALSE(buf.insert(good, 3, 0).ok());
  CHECK_FALSE(buf.insert(good, -1, 0).ok());
  CHECK_FALSE(buf.insert(good, 0, 2).ok());
  CHECK_FALSE(buf.insert(good, 0, -1).ok());
  const uint32_t batch[12] = {0, 1, 2, 3, 4, 4, 4, 4, 0, 0, 9, 0};  // item 2 is bad
  const int32_t labels[3] = {0, 1, 2};
  s = buf.insert_batch(batch, labels, nullptr, 3);
  CHECK(s.message().find("item 2:") == 0);
  CHECK(buf.serialize() == before);
  CHECK(buf.seen() == 40);
  uint32_t out[4];
  CHECK_FALSE(buf.get(buf.size(), out, nullptr, nullptr).ok());
}

TEST_CASE("sample_uniform draws every stored item equally often") {
  CodeBuffer empty = make_buffer(10, 2, 10, 1, 25, Selector::fifo);
  uint32_t one[10];
  CHECK_FALSE(empty.sample_uniform(1, one, nullptr, nullptr).ok());
  CHECK(empty.sample_uniform(0, one, nullptr, nullptr).ok());

  CodeBuffer buf = make_buffer(10, 2, 10, 1, 25, Selector::fifo);  // 14 bits -> 14 items
  REQUIRE(buf.capacity() == 14);
  for (uint32_t id = 0; id < 10; ++id) REQUIRE(buf.insert(id_code(id * 7).data(), id, 0).ok());
  const size_t n = 100000;
  std::vector<uint32_t> codes(n * 10);
  std::vector<int32_t> labels(n);
  std::mt19937_64 rng(17);
  REQUIRE(buf.sample_uniform(n, rng, codes.data(), labels.data(), nullptr).ok());
  std::vector<int> hist(10, 0);
  for (size_t i = 0; i < n; ++i) {
    const std::vector<uint32_t> code(codes.begin() + static_cast<long>(i * 10),
                                     codes.begin() + static_cast<long>((i + 1) * 10));
    REQUIRE(code_id(code) == static_cast<uint32_t>(labels[i]) * 7);  // code and label agree
    ++hist[static_cast<size_t>(labels[i])];
  }
  for (int h : hist) CHECK(std::abs(h - 10000) < 500);  // sd ~95
}

}  // namespace
}  // namespace engram
