// What the hippocampus recalls: phases (seal), weighted recall per class and per task, the
// recall index under replacement, and the phase mark in snapshots (format v2, v1 still read).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "modules/hippocampus/bit_packer.h"
#include "modules/hippocampus/code_buffer.h"
#include "runtime/snapshot_file.h"

namespace engram {
namespace {

// Items are named by a unique id < 4096^2 carried in a 2-variable code of l = 4096.
constexpr int kL = 4096;

CodeBuffer make_buffer(int classes, int tasks, size_t capacity, Selector sel, uint64_t seed = 1) {
  CodeBufferConfig cfg;
  cfg.c = 2;
  cfg.l = kL;
  cfg.num_classes = classes;
  cfg.num_tasks = tasks;
  cfg.selector = sel;
  cfg.seed = seed;
  const size_t bits = 24 + static_cast<size_t>(bits_for_values(static_cast<uint64_t>(classes))) +
                      static_cast<size_t>(bits_for_values(static_cast<uint64_t>(tasks)));
  cfg.budget_bytes = (capacity * bits + 7) / 8;
  auto r = CodeBuffer::create(cfg);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  REQUIRE(r->capacity() == capacity);
  return std::move(r).value();
}

bool insert_id(CodeBuffer& buf, uint32_t id, int label, int task) {
  const uint32_t code[2] = {id % kL, id / kL};
  bool stored = false;
  REQUIRE(buf.insert(code, label, task, &stored).ok());
  return stored;
}

uint32_t id_at(const CodeBuffer& buf, size_t slot, int32_t* label = nullptr,
               int32_t* task = nullptr) {
  uint32_t code[2];
  REQUIRE(buf.get(slot, code, label, task).ok());
  return code[0] + code[1] * kL;
}

struct Drawn {
  std::vector<uint32_t> ids;
  std::vector<int32_t> labels, tasks;
  size_t n = 0;
};

Drawn draw(const CodeBuffer& buf, const RecallDraw& d, std::mt19937_64& rng) {
  std::vector<uint32_t> codes(d.n * 2);
  Drawn out;
  out.labels.resize(d.n);
  out.tasks.resize(d.n);
  Status s = buf.sample_recall(d, rng, codes.data(), out.labels.data(), out.tasks.data(), &out.n);
  REQUIRE_MESSAGE(s.ok(), s.to_string());
  for (size_t i = 0; i < out.n; ++i) out.ids.push_back(codes[2 * i] + codes[2 * i + 1] * kL);
  return out;
}

// |observed - n p| within 5 standard deviations of a binomial (plus 1 for p near 0 or 1).
void check_share(size_t observed, size_t n, double p) {
  const double expect = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  CHECK_MESSAGE(
      std::abs(static_cast<double>(observed) - expect) <= 5 * sd + 1,
      "observed " << observed << " of " << n << ", expected " << expect << " (sd " << sd << ")");
}

TEST_CASE("seal: what was stored before is recallable, what comes after is fresh until the next") {
  CodeBuffer buf = make_buffer(4, 3, 100, Selector::reservoir);
  std::mt19937_64 rng(5);
  RecallDraw d;
  d.n = 50;
  // Nothing sealed yet: nothing to recall, and nothing written.
  for (uint32_t id = 0; id < 10; ++id) insert_id(buf, id, static_cast<int>(id % 4), 0);
  std::vector<uint32_t> codes(100, 7777);
  size_t n = 99;
  std::mt19937_64 before = rng;
  REQUIRE(buf.sample_recall(d, rng, codes.data(), nullptr, nullptr, &n).ok());
  CHECK(n == 0);
  CHECK(std::all_of(codes.begin(), codes.end(), [](uint32_t v) { return v == 7777; }));
  CHECK(rng == before);
  CHECK(buf.sealed_size() == 0);

  buf.seal();
  CHECK(buf.sealed_size() == 10);
  CHECK(buf.sealed_class_counts() == std::vector<size_t>{3, 3, 2, 2});
  CHECK(buf.sealed_task_counts() == std::vector<size_t>{10, 0, 0});
  for (uint32_t id = 10; id < 16; ++id) insert_id(buf, id, 3, 2);  // fresh, task 2
  CHECK(buf.size() == 16);
  CHECK(buf.sealed_size() == 10);
  for (size_t s = 0; s < 16; ++s) CHECK(buf.is_sealed(s) == (id_at(buf, s) < 10));
  CHECK_FALSE(buf.is_sealed(16));

  Drawn sealed = draw(buf, d, rng);
  REQUIRE(sealed.n == 50);
  CHECK(*std::max_element(sealed.ids.begin(), sealed.ids.end()) < 10);
  d.sealed_only = false;
  d.n = 2000;
  Drawn all = draw(buf, d, rng);
  CHECK(std::set<uint32_t>(all.ids.begin(), all.ids.end()).size() == 16);
  // Task weights on the fresh task alone: nothing eligible among sealed items.
  d.sealed_only = true;
  d.task_weights = {0, 0, 1};
  CHECK(draw(buf, d, rng).n == 0);
  buf.seal();
  CHECK(buf.sealed_size() == 16);
  CHECK(buf.sealed_task_counts() == std::vector<size_t>{10, 0, 6});
  Drawn now = draw(buf, d, rng);
  REQUIRE(now.n == 2000);
  CHECK(std::set<uint32_t>(now.ids.begin(), now.ids.end()) ==
        std::set<uint32_t>{10, 11, 12, 13, 14, 15});
  for (int32_t t : now.tasks) CHECK(t == 2);
}

TEST_CASE("class weights: observed class frequencies match the weights, one class 1% of items") {
  // 1000 sealed items: class 0 holds 10 (1%), classes 1-8 about 124 each; class 9 only fresh.
  CodeBuffer skewed = make_buffer(10, 1, 1100, Selector::fifo);
  uint32_t id = 0;
  for (int i = 0; i < 10; ++i) insert_id(skewed, id++, 0, 0);
  for (int i = 0; i < 990; ++i) insert_id(skewed, id++, 1 + i % 8, 0);
  skewed.seal();
  for (int i = 0; i < 100; ++i) insert_id(skewed, id++, 9, 0);  // fresh: not eligible
  REQUIRE(skewed.size() == 1100);
  REQUIRE(skewed.sealed_class_counts()[0] == 10);
  REQUIRE(skewed.sealed_class_counts()[9] == 0);

  RecallDraw d;
  d.n = 20000;
  // Class 9 (weight 5) has nothing eligible and class 8 weight 0: both drop out, and the rest
  // renormalise over 1 + 1 + 2 + ... + 7 = 29.
  d.class_weights = {1, 1, 2, 3, 4, 5, 6, 7, 0, 5};
  std::mt19937_64 rng(11);
  Drawn out = draw(skewed, d, rng);
  REQUIRE(out.n == d.n);
  std::vector<size_t> per_class(10, 0);
  std::map<uint32_t, size_t> per_item_of_0;
  for (size_t i = 0; i < out.n; ++i) {
    ++per_class[static_cast<size_t>(out.labels[i])];
    if (out.labels[i] == 0) ++per_item_of_0[out.ids[i]];
    REQUIRE(out.ids[i] < 1000);  // sealed items only
  }
  for (size_t k = 0; k < 10; ++k) {
    CAPTURE(k);
    const double p = k >= 8 ? 0.0 : d.class_weights[k] / 29.0;
    check_share(per_class[k], d.n, p);
  }
  CHECK(per_class[8] == 0);
  CHECK(per_class[9] == 0);
  // Within the rare class each of its 10 items is equally likely.
  REQUIRE(per_item_of_0.size() == 10);
  for (const auto& [item, count] : per_item_of_0) check_share(count, per_class[0], 0.1);

  // Chi-square over the 8 weighted classes: 7 degrees of freedom, p = 1e-4 at 29.9.
  double chi2 = 0;
  for (size_t k = 0; k < 8; ++k) {
    const double e = static_cast<double>(d.n) * d.class_weights[k] / 29.0;
    chi2 += (static_cast<double>(per_class[k]) - e) * (static_cast<double>(per_class[k]) - e) / e;
  }
  CHECK(chi2 < 29.9);

  // Equal weights (class_balanced): the 1% class gets one share in 9 among the sealed classes,
  // and with sealed_only = false class 9's fresh items count too (one share in 10).
  d.class_weights.assign(10, 1.0);
  out = draw(skewed, d, rng);
  std::fill(per_class.begin(), per_class.end(), 0);
  for (int32_t l : out.labels) ++per_class[static_cast<size_t>(l)];
  for (size_t k = 0; k < 9; ++k) check_share(per_class[k], d.n, 1.0 / 9);
  CHECK(per_class[9] == 0);
  d.sealed_only = false;
  out = draw(skewed, d, rng);
  std::fill(per_class.begin(), per_class.end(), 0);
  for (int32_t l : out.labels) ++per_class[static_cast<size_t>(l)];
  for (size_t k = 0; k < 10; ++k) check_share(per_class[k], d.n, 0.1);
}

TEST_CASE("task weights: observed task frequencies match the weights") {
  // Tasks 0..4 hold 5, 200, 300, 400, 95 items (task 0: 0.5%), classes mixed.
  CodeBuffer buf = make_buffer(10, 5, 1000, Selector::reservoir);
  const int per_task[5] = {5, 200, 300, 400, 95};
  uint32_t id = 0;
  for (int t = 0; t < 5; ++t) {
    for (int i = 0; i < per_task[t]; ++i, ++id) insert_id(buf, id, static_cast<int>(id % 10), t);
  }
  buf.seal();
  std::map<uint32_t, std::pair<int32_t, int32_t>> stored;
  for (size_t s = 0; s < buf.size(); ++s) {
    int32_t label = 0, task = 0;
    const uint32_t item = id_at(buf, s, &label, &task);
    stored[item] = {label, task};
  }
  RecallDraw d;
  d.n = 20000;
  d.task_weights = {4, 1, 0, 2, 1};
  std::mt19937_64 rng(3);
  Drawn out = draw(buf, d, rng);
  REQUIRE(out.n == d.n);
  std::vector<size_t> counts(5, 0);
  for (size_t i = 0; i < out.n; ++i) {
    ++counts[static_cast<size_t>(out.tasks[i])];
    // The label and task travel with the code.
    REQUIRE(stored.at(out.ids[i]) == std::make_pair(out.labels[i], out.tasks[i]));
  }
  for (size_t t = 0; t < 5; ++t) check_share(counts[t], d.n, d.task_weights[t] / 8.0);
  CHECK(counts[2] == 0);
}

TEST_CASE("uniform recall over sealed items, with few or many of them sealed") {
  for (size_t fresh : {size_t{30}, size_t{300}}) {  // 400 sealed + fresh: >= half and < half
    CAPTURE(fresh);
    CodeBuffer buf = make_buffer(3, 2, 1000, Selector::fifo);
    uint32_t id = 0;
    // Skewed classes among the sealed: 380, 15, 5.
    for (int i = 0; i < 400; ++i) insert_id(buf, id++, i < 380 ? 0 : i < 395 ? 1 : 2, 0);
    buf.seal();
    for (size_t i = 0; i < fresh; ++i) insert_id(buf, id++, 2, 1);
    if (fresh == 300) {  // fewer than half sealed: 400 of 1000
      for (int i = 0; i < 300; ++i) insert_id(buf, id++, 1, 1);
    }
    RecallDraw d;
    d.n = 40000;
    std::mt19937_64 rng(fresh);
    Drawn out = draw(buf, d, rng);
    REQUIRE(out.n == d.n);
    std::vector<size_t> per_item(400, 0);
    for (uint32_t i : out.ids) {
      REQUIRE(i < 400);
      ++per_item[i];
    }
    // Each sealed item 1/400 (100 expected, sd ~10).
    for (size_t i = 0; i < 400; ++i) {
      CAPTURE(i);
      check_share(per_item[i], d.n, 1.0 / 400);
    }
  }
}

// The random numbers a draw used: how far `after` is ahead of `before` (up to `limit`).
size_t numbers_used(std::mt19937_64 before, const std::mt19937_64& after, size_t limit) {
  size_t used = 0;
  while (!(before == after) && used < limit) {
    before();
    ++used;
  }
  return used;
}

TEST_CASE("a draw costs O(1) random numbers however skewed the classes and large the buffer") {
  // One item of class 1 among 100,000: rejection from all slots would need ~100,000 tries.
  CodeBuffer buf = make_buffer(2, 1, 100000, Selector::reservoir);
  for (uint32_t id = 0; id < 99999; ++id) insert_id(buf, id, 0, 0);
  insert_id(buf, 99999, 1, 0);
  buf.seal();
  RecallDraw d;
  d.n = 1000;
  d.class_weights = {0, 1};
  std::mt19937_64 rng(9);
  std::mt19937_64 start = rng;
  Drawn out = draw(buf, d, rng);
  REQUIRE(out.n == 1000);
  for (uint32_t i : out.ids) REQUIRE(i == 99999);
  // 3 per draw: group, alias coin, item.
  CHECK(numbers_used(start, rng, 100000) <= 4 * d.n);

  // Uniform over the sealed items when one item in 100,000 is sealed.
  CodeBuffer fresh = make_buffer(2, 1, 100000, Selector::fifo);
  insert_id(fresh, 0, 1, 0);
  fresh.seal();
  for (uint32_t id = 1; id < 100000; ++id) insert_id(fresh, id, static_cast<int>(id % 2), 0);
  RecallDraw u;
  u.n = 1000;
  start = rng;
  out = draw(fresh, u, rng);
  REQUIRE(out.n == 1000);
  for (uint32_t i : out.ids) REQUIRE(i == 0);
  CHECK(numbers_used(start, rng, 100000) <= 4 * u.n);
}

// Items in the buffer checked against a model: which ids were sealed, slot by slot, and the
// sealed counts per class and task recounted by brute force.
void check_against_model(const CodeBuffer& buf, const std::set<uint32_t>& sealed_ids) {
  std::vector<size_t> per_class(buf.sealed_class_counts().size(), 0);
  std::vector<size_t> per_task(buf.sealed_task_counts().size(), 0);
  std::vector<size_t> all_class(per_class.size(), 0), all_task(per_task.size(), 0);
  size_t sealed = 0;
  for (size_t s = 0; s < buf.size(); ++s) {
    int32_t label = 0, task = 0;
    const uint32_t id = id_at(buf, s, &label, &task);
    const bool expect = sealed_ids.count(id) != 0;
    REQUIRE(buf.is_sealed(s) == expect);
    ++all_class[static_cast<size_t>(label)];
    ++all_task[static_cast<size_t>(task)];
    if (expect) {
      ++sealed;
      ++per_class[static_cast<size_t>(label)];
      ++per_task[static_cast<size_t>(task)];
    }
  }
  REQUIRE(buf.sealed_size() == sealed);
  REQUIRE(buf.sealed_class_counts() == per_class);
  REQUIRE(buf.sealed_task_counts() == per_task);
  REQUIRE(buf.class_counts() == all_class);
  REQUIRE(buf.task_counts() == all_task);
}

TEST_CASE("replacement keeps the recall lists consistent with a brute-force recount") {
  for (Selector sel : {Selector::reservoir, Selector::class_balanced, Selector::fifo}) {
    CAPTURE(selector_name(sel));
    CodeBuffer buf = make_buffer(7, 4, 300, sel, 17);
    std::mt19937_64 gen(23);
    std::set<uint32_t> sealed_ids;
    std::vector<uint32_t> stored_ids;
    for (uint32_t id = 0; id < 6000; ++id) {
      // Skewed labels: class 0 rare.
      const int label = gen() % 50 == 0 ? 0 : 1 + static_cast<int>(gen() % 6);
      insert_id(buf, id, label, static_cast<int>(gen() % 4));
      if (gen() % 400 == 0) {
        buf.seal();
        sealed_ids.clear();
        for (size_t s = 0; s < buf.size(); ++s) sealed_ids.insert(id_at(buf, s));
      }
      if (id % 500 == 499) {
        check_against_model(buf, sealed_ids);
        // The snapshot reader checks every list holds exactly its slots, sealed ones first.
        const std::vector<uint8_t> blob = buf.serialize();
        auto back = CodeBuffer::deserialize(blob.data(), blob.size());
        REQUIRE_MESSAGE(back.ok(), back.status().to_string());
        // One-hot class weights draw only that class's sealed items, and all of them.
        for (int k = 0; k < 7; ++k) {
          RecallDraw d;
          d.n = 3000;
          d.class_weights.assign(7, 0.0);
          d.class_weights[static_cast<size_t>(k)] = 1;
          std::mt19937_64 rng(static_cast<uint64_t>(k) + id);
          Drawn out = draw(buf, d, rng);
          const size_t expect = buf.sealed_class_counts()[static_cast<size_t>(k)];
          REQUIRE(out.n == (expect > 0 ? d.n : 0));
          for (size_t i = 0; i < out.n; ++i) {
            REQUIRE(out.labels[i] == k);
            REQUIRE(sealed_ids.count(out.ids[i]) == 1);
          }
          // At most ~50 sealed items per class here: 3000 draws see every one.
          CHECK(std::set<uint32_t>(out.ids.begin(), out.ids.end()).size() == expect);
        }
      }
    }
  }
}

TEST_CASE("bad weights are rejected naming the problem; nothing is written or drawn") {
  CodeBuffer buf = make_buffer(3, 2, 50, Selector::reservoir);
  for (uint32_t id = 0; id < 30; ++id) insert_id(buf, id, static_cast<int>(id % 3), 0);
  buf.seal();
  const std::vector<uint8_t> before = buf.serialize();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::vector<double> cls, task;
    const char* message;
  };
  const Case cases[] = {
      {{1, nan, 1}, {}, "class weight 1 is nan"},
      {{1, 1, -0.5}, {}, "class weight 2 is -0.5"},
      {{inf, 1, 1}, {}, "class weight 0 is inf"},
      {{1, 1}, {}, "2 class weights, the buffer has 3 classes"},
      {{}, {1, -inf}, "task weight 1 is -inf"},
      {{}, {1, 1, 1}, "3 task weights, the buffer has 2 tasks"},
      {{1, 1, 1}, {1, 1}, "not both"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.message);
    RecallDraw d;
    d.n = 5;
    d.class_weights = k.cls;
    d.task_weights = k.task;
    std::mt19937_64 rng(1);
    const std::mt19937_64 rng_before = rng;
    std::vector<uint32_t> codes(10, 42);
    std::vector<int32_t> labels(5, -7);
    size_t n = 99;
    Status s = buf.sample_recall(d, rng, codes.data(), labels.data(), nullptr, &n);
    CHECK(s.code() == ErrorCode::invalid_argument);
    CHECK_MESSAGE(s.message().find(k.message) != std::string::npos, s.message());
    CHECK(n == 0);
    CHECK(rng == rng_before);
    CHECK(std::all_of(codes.begin(), codes.end(), [](uint32_t v) { return v == 42; }));
    CHECK(std::all_of(labels.begin(), labels.end(), [](int32_t v) { return v == -7; }));
  }
  // All weights 0, or only on classes with nothing eligible: nothing to recall, not an error.
  RecallDraw zero;
  zero.n = 5;
  zero.class_weights = {0, 0, 0};
  std::mt19937_64 rng(1);
  size_t n = 99;
  CHECK(buf.sample_recall(zero, rng, nullptr, nullptr, nullptr, &n).ok());
  CHECK(n == 0);
  CHECK(buf.serialize() == before);
}

TEST_CASE("snapshots keep the phase mark and the recall order: a restored buffer draws the same") {
  CodeBuffer a = make_buffer(5, 3, 200, Selector::class_balanced, 4);
  std::mt19937_64 gen(2);
  uint32_t id = 0;
  for (; id < 700; ++id) {
    insert_id(a, id, static_cast<int>(gen() % 5), static_cast<int>(gen() % 3));
    if (id == 300 || id == 650) a.seal();
  }
  REQUIRE(a.sealed_size() > 0);
  REQUIRE(a.sealed_size() < a.size());
  const std::vector<uint8_t> blob = a.serialize();
  auto b = CodeBuffer::deserialize(blob.data(), blob.size());
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  CHECK(b->serialize() == blob);
  CHECK(b->sealed_size() == a.sealed_size());
  CHECK(b->sealed_class_counts() == a.sealed_class_counts());
  CHECK(b->sealed_task_counts() == a.sealed_task_counts());
  for (size_t s = 0; s < a.size(); ++s) REQUIRE(b->is_sealed(s) == a.is_sealed(s));

  auto same_draws = [&](CodeBuffer& x, CodeBuffer& y) {
    for (int kind = 0; kind < 4; ++kind) {
      RecallDraw d;
      d.n = 500;
      if (kind == 1) d.class_weights = {1, 2, 3, 4, 5};
      if (kind == 2) d.task_weights = {3, 0, 1};
      if (kind == 3) d.sealed_only = false;
      std::mt19937_64 rx(kind), ry(kind);
      Drawn dx = draw(x, d, rx), dy = draw(y, d, ry);
      REQUIRE(dx.n == d.n);
      CHECK(dx.ids == dy.ids);
      CHECK(dx.labels == dy.labels);
      CHECK(dx.tasks == dy.tasks);
    }
  };
  same_draws(a, *b);
  // And after more replacements and a seal, both still agree.
  for (; id < 900; ++id) {
    const int label = static_cast<int>(gen() % 5), task = static_cast<int>(gen() % 3);
    insert_id(a, id, label, task);
    insert_id(*b, id, label, task);
    if (id == 800) {
      a.seal();
      b->seal();
    }
  }
  CHECK(a.serialize() == b->serialize());
  same_draws(a, *b);

  // A damaged mark or order is refused.
  const size_t storage = a.bytes_used();
  const size_t order_bytes = bytes_for_bits(2 * a.size() * bits_for_values(a.size()));
  const size_t mark_bytes = bytes_for_bits(a.size());
  REQUIRE(a.size() == 200);
  REQUIRE(mark_bytes == 25);
  REQUIRE(order_bytes == 400);
  const std::vector<uint8_t> good = a.serialize();
  const size_t order_at = good.size() - storage - 8 - order_bytes;
  const size_t mark_at = order_at - 8 - mark_bytes;
  // Class 0's list starts with a sealed slot (it has at least 2): marked fresh, it would sit
  // among the sealed part of its list.
  REQUIRE(a.sealed_class_counts()[0] >= 2);
  const size_t first_of_class_0 = good[order_at];  // 200 items: 8-bit slot numbers
  REQUIRE(a.is_sealed(first_of_class_0));
  std::vector<uint8_t> bad = good;
  bad[mark_at + first_of_class_0 / 8] ^= static_cast<uint8_t>(1 << (first_of_class_0 % 8));
  CHECK(CodeBuffer::deserialize(bad.data(), bad.size()).status().message().find("recall list") !=
        std::string::npos);
  bad = good;
  bad[order_at + 3] ^= 0x10;
  CHECK(CodeBuffer::deserialize(bad.data(), bad.size()).status().code() == ErrorCode::malformed);
  bad = good;
  bad[order_at - 8] ^= 0x01;  // order length
  CHECK(CodeBuffer::deserialize(bad.data(), bad.size()).status().message().find("order length") !=
        std::string::npos);
  bad = good;
  bad[mark_at - 8] ^= 0x01;  // mark length
  CHECK(CodeBuffer::deserialize(bad.data(), bad.size()).status().message().find("mark length") !=
        std::string::npos);
}

void put(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

TEST_CASE("version 1 bytes (before phases) are read with every item sealed") {
  // Written field by field from the v1 format: c 2, l 4096, 3 classes, 2 tasks: items of
  // 12 + 12 + 2 (label) + 1 (task) = 27 bits; a budget of 21 bytes (168 bits) holds 6. Reservoir,
  // 9 offers, 6 items.
  std::vector<uint8_t> v1 = {'E', 'N', 'G', 'R', 'A', 'M', 'C', 'B'};
  put(v1, 1, 4);
  for (uint64_t v : {2, 4096, 3, 2}) put(v1, v, 4);
  put(v1, 21, 8);
  put(v1, 0, 1);
  put(v1, 77, 8);
  put(v1, 9, 8);
  put(v1, 6, 8);
  for (uint64_t v : {4, 3, 2}) put(v1, v, 8);  // offers per class
  for (int k = 0; k < 3; ++k) put(v1, 0, 1);
  std::ostringstream rng_text;
  rng_text << std::mt19937_64(77);
  const std::string rng_state = rng_text.str();
  put(v1, rng_state.size(), 4);
  v1.insert(v1.end(), rng_state.begin(), rng_state.end());
  const int labels[6] = {0, 1, 2, 0, 1, 0}, tasks[6] = {0, 1, 1, 0, 0, 1};
  std::vector<uint8_t> items(bytes_for_bits(6 * 27), 0);
  for (size_t i = 0; i < 6; ++i) {
    write_bits(items.data(), i * 27, 12, 100 + i);
    write_bits(items.data(), i * 27 + 12, 12, i);
    write_bits(items.data(), i * 27 + 24, 2, static_cast<uint64_t>(labels[i]));
    write_bits(items.data(), i * 27 + 26, 1, static_cast<uint64_t>(tasks[i]));
  }
  put(v1, items.size(), 8);
  v1.insert(v1.end(), items.begin(), items.end());

  auto buf = CodeBuffer::deserialize(v1.data(), v1.size());
  REQUIRE_MESSAGE(buf.ok(), buf.status().to_string());
  REQUIRE(buf->bits_per_item() == 27);
  REQUIRE(buf->size() == 6);
  CHECK(buf->sealed_size() == 6);
  CHECK(buf->sealed_class_counts() == std::vector<size_t>{3, 2, 1});
  CHECK(buf->sealed_task_counts() == std::vector<size_t>{3, 3});
  for (size_t s = 0; s < 6; ++s) {
    int32_t label = 0, task = 0;
    CHECK(buf->is_sealed(s));
    CHECK(id_at(*buf, s, &label, &task) == 100 + s + s * kL);
    CHECK(label == labels[s]);
    CHECK(task == tasks[s]);
  }
  RecallDraw d;
  d.n = 600;
  d.task_weights = {0, 1};
  std::mt19937_64 rng(4);
  Drawn out = draw(*buf, d, rng);
  REQUIRE(out.n == 600);
  CHECK(std::set<uint32_t>(out.ids.begin(), out.ids.end()) ==
        std::set<uint32_t>{100 + 1 + kL, 100 + 2 + 2 * kL, 100 + 5 + 5 * kL});
  // Written back, it is version 2.
  const std::vector<uint8_t> v2 = buf->serialize();
  CHECK(v2[8] == 2);
  auto again = CodeBuffer::deserialize(v2.data(), v2.size());
  REQUIRE(again.ok());
  CHECK(again->sealed_size() == 6);
}

// The code buffer section of a snapshot in the committed fuzzing corpus.
std::vector<uint8_t> corpus_buffer(const char* name) {
  const std::filesystem::path path =
      std::filesystem::path(ENGRAM_SOURCE_DIR) / "tests/fuzz/corpus/snapshot" / name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), path.string());
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  auto sections = parse_snapshot(bytes.data(), bytes.size(), nullptr, SnapshotLimits{});
  REQUIRE_MESSAGE(sections.ok(), sections.status().to_string());
  return sections->at("code_buffer");
}

TEST_CASE("the committed snapshots of tests/fuzz/corpus load: v1 all sealed, v2 as written") {
  // Both written by tests/fuzz/snapshot_seeds.cc: 40 offers into 16 slots, v1 before phases,
  // v2 with a seal() after the 30th offer.
  const std::vector<uint8_t> v1 = corpus_buffer("with_buffer_v1.snap");
  REQUIRE(v1[8] == 1);
  auto old = CodeBuffer::deserialize(v1.data(), v1.size());
  REQUIRE_MESSAGE(old.ok(), old.status().to_string());
  CHECK(old->size() == 16);
  CHECK(old->sealed_size() == 16);
  CHECK(old->sealed_class_counts() == old->class_counts());
  CHECK(old->sealed_task_counts() == old->task_counts());

  const std::vector<uint8_t> v2 = corpus_buffer("with_buffer.snap");
  REQUIRE(v2[8] == 2);
  auto now = CodeBuffer::deserialize(v2.data(), v2.size());
  REQUIRE_MESSAGE(now.ok(), now.status().to_string());
  CHECK(now->size() == 16);
  CHECK(now->sealed_size() > 0);
  CHECK(now->sealed_size() < 16);
  MESSAGE("v2 seed: " << now->sealed_size() << " of 16 sealed");
}

TEST_CASE("the phase mark is one bit per slot; the index is reported apart from the budget") {
  CodeBuffer buf = make_buffer(10, 5, 1000, Selector::reservoir);
  CHECK(buf.phase_mark_bytes() == 0);
  for (uint32_t id = 0; id < 3000; ++id) insert_id(buf, id, static_cast<int>(id % 10), 0);
  CHECK(buf.phase_mark_bytes() == 16 * 8);  // ceil(1000 / 64) words
  CHECK(buf.storage_bytes() <= buf.config().budget_bytes);
  // 4 x 4 bytes per item at least (lists and positions), plus vector headers and counts.
  CHECK(buf.recall_index_bytes() >= 16 * 1000);
  CHECK(buf.recall_index_bytes() < 16 * 1000 * 2 + 4096);
}

}  // namespace
}  // namespace engram
