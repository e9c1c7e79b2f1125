// Code buffer snapshots: serialize/deserialize round trip and rejection of bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "modules/hippocampus/code_buffer.h"

namespace engram {
namespace {

CodeBuffer make_buffer(int c, int l, int classes, int tasks, size_t budget, Selector sel,
                       uint64_t seed) {
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

TEST_CASE("serialize/deserialize round-trips the whole state") {
  CodeBuffer a = make_buffer(7, 5, 10, 3, 60, Selector::class_balanced, 21);  // 7*3+4+2=27 bits
  REQUIRE(a.capacity() == 17);                                                // 480 / 27
  auto feed = [](CodeBuffer& buf, std::mt19937_64 r, int n) {
    std::vector<uint32_t> code(7);
    for (int i = 0; i < n; ++i) {
      for (auto& v : code) v = static_cast<uint32_t>(r() % 5);
      REQUIRE(buf.insert(code.data(), static_cast<int>(r() % 10), static_cast<int>(r() % 3)).ok());
    }
  };
  feed(a, std::mt19937_64(1), 300);
  const std::vector<uint8_t> blob = a.serialize();
  auto b = CodeBuffer::deserialize(blob.data(), blob.size());
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  CHECK(b->size() == a.size());
  CHECK(b->seen() == 300);
  CHECK(b->class_counts() == a.class_counts());
  CHECK(b->task_counts() == a.task_counts());
  CHECK(b->seen_per_class() == a.seen_per_class());
  CHECK(b->bits_per_item() == 27);
  CHECK(b->config().selector == Selector::class_balanced);
  for (size_t i = 0; i < a.size(); ++i) {
    uint32_t ca[7], cb[7];
    int32_t la, lb, ta, tb;
    REQUIRE(a.get(i, ca, &la, &ta).ok());
    REQUIRE(b->get(i, cb, &lb, &tb).ok());
    REQUIRE(std::equal(ca, ca + 7, cb));
    REQUIRE(la == lb);
    REQUIRE(ta == tb);
  }
  CHECK(b->serialize() == blob);
  // The RNG travels too: both make the same choices from here on.
  feed(a, std::mt19937_64(2), 200);
  feed(*b, std::mt19937_64(2), 200);
  CHECK(a.serialize() == b->serialize());
}

TEST_CASE("deserialize rejects truncated and corrupt input") {
  CodeBuffer a = make_buffer(7, 5, 10, 3, 60, Selector::reservoir, 3);
  std::mt19937_64 rng(8);
  std::vector<uint32_t> code(7);
  for (int i = 0; i < 50; ++i) {
    for (auto& v : code) v = static_cast<uint32_t>(rng() % 5);
    REQUIRE(a.insert(code.data(), i % 10, i % 3).ok());
  }
  const std::vector<uint8_t> blob = a.serialize();
  REQUIRE(CodeBuffer::deserialize(blob.data(), blob.size()).ok());
  for (size_t cut = 0; cut < blob.size(); cut += (cut < 200 || cut + 200 > blob.size()) ? 1 : 53) {
    CAPTURE(cut);
    REQUIRE_FALSE(CodeBuffer::deserialize(blob.data(), cut).ok());
  }
  auto corrupt = [&blob](size_t pos, uint8_t x) {
    std::vector<uint8_t> b = blob;
    b[pos] ^= x;
    return CodeBuffer::deserialize(b.data(), b.size()).status();
  };
  CHECK(corrupt(0, 0x20).code() == ErrorCode::malformed);            // magic
  CHECK(corrupt(8, 0x01).code() == ErrorCode::unsupported_version);  // version
  CHECK(corrupt(12, 0x40).code() == ErrorCode::malformed);  // c = 71: 17 items no longer fit
  CHECK(corrupt(36, 0x03).code() == ErrorCode::malformed);  // selector byte -> 3
  CHECK(corrupt(45, 0x01).code() == ErrorCode::malformed);  // seen
  // Storage is last: its first 3 bits are variable 0 of item 0; 7 is not < l = 5.
  const size_t used = a.bytes_used();
  REQUIRE(used == (17 * 27 + 7) / 8);
  std::vector<uint8_t> b = blob;
  b[blob.size() - used] |= 0x07;
  Status s = CodeBuffer::deserialize(b.data(), b.size()).status();
  CHECK(s.message().find("value out of range") != std::string::npos);
  b = blob;  // 17 * 27 = 459 bits: the top 5 bits of the last byte are padding
  b.back() |= 0x80;
  CHECK(CodeBuffer::deserialize(b.data(), b.size()).status().message().find("padding") !=
        std::string::npos);
  b = blob;
  b.push_back(0);
  CHECK(CodeBuffer::deserialize(b.data(), b.size()).status().message().find("trailing") !=
        std::string::npos);
}

}  // namespace
}  // namespace engram
