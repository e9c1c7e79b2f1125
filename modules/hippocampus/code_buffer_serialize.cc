// CodeBuffer::serialize / deserialize.
//
// Format v2, integers little-endian:
//   "ENGRAMCB"  u32 version=2
//   u32 c, l, num_classes, num_tasks   u64 budget_bytes   u8 selector   u64 seed
//   u64 seen   u64 size   u64 seen_per_class[num_classes]   u8 class_full[num_classes] (0/1)
//   u32 rng_length, rng text (std::mt19937_64 written with operator<<)
//   u64 mark_length = ceil(size / 8), the phase mark: bit s (bit order of bit_packer.h) is set
//       when item s is sealed; padding bits zero
//   u64 order_length = ceil(2 * size * W / 8), W = ceil(log2 size): the recall lists as W-bit
//       slot numbers, class 0's list, class 1's, ..., then task 0's, task 1's, ...; each list
//       holds the slots of its class (task), sealed ones first; padding bits zero. The order is
//       stored so a restored buffer draws exactly what the original would have drawn.
//   u64 storage_length, the packed items (exactly ceil(size * bits_per_item / 8) bytes)
// Format v1 is v2 without the mark and the order; its items all count as sealed (v1 predates
// phases) and its lists are rebuilt in slot order.
// Per-class and per-task counts are not stored: they are recomputed from the items.
#include <cstring>
#include <sstream>

#include "modules/hippocampus/bit_packer.h"
#include "modules/hippocampus/code_buffer.h"

namespace engram {
namespace {

constexpr char kMagic[8] = {'E', 'N', 'G', 'R', 'A', 'M', 'C', 'B'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kOldestVersion = 1;
constexpr uint32_t kMaxRngText = 1 << 16;

void put_u64(std::vector<uint8_t>& out, uint64_t v, int bytes = 8) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Bounds-checked little-endian reader over untrusted bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool read(uint64_t* v, int bytes) {
    if (size_ - pos_ < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) *v |= uint64_t{data_[pos_ + static_cast<size_t>(i)]} << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    return true;
  }
  const uint8_t* take(size_t n) {
    if (size_ - pos_ < n) return nullptr;
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

Status bad(const std::string& what) {
  return Status(ErrorCode::malformed, "code buffer snapshot: " + what);
}

}  // namespace

std::vector<uint8_t> CodeBuffer::serialize() const {
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  put_u64(out, kVersion, 4);
  put_u64(out, static_cast<uint32_t>(config_.c), 4);
  put_u64(out, static_cast<uint32_t>(config_.l), 4);
  put_u64(out, static_cast<uint32_t>(config_.num_classes), 4);
  put_u64(out, static_cast<uint32_t>(config_.num_tasks), 4);
  put_u64(out, config_.budget_bytes);
  put_u64(out, static_cast<uint8_t>(config_.selector), 1);
  put_u64(out, config_.seed);
  put_u64(out, seen_);
  put_u64(out, size_);
  for (uint64_t n : seen_per_class_) put_u64(out, n);
  out.insert(out.end(), full_.begin(), full_.end());
  std::ostringstream rng_text;
  rng_text << rng_;
  const std::string rng = rng_text.str();
  put_u64(out, rng.size(), 4);
  out.insert(out.end(), rng.begin(), rng.end());
  put_u64(out, bytes_for_bits(size_));
  for (size_t j = 0; j < bytes_for_bits(size_); ++j) {
    out.push_back(static_cast<uint8_t>(sealed_bits_[j / 8] >> (8 * (j % 8))));
  }
  const int width = bits_for_values(size_);
  BitPacker order;
  for (const auto* lists : {&class_slots_, &task_slots_}) {
    for (const std::vector<uint32_t>& list : *lists) {
      for (uint32_t slot : list) order.put(slot, width);
    }
  }
  put_u64(out, order.bytes().size());
  out.insert(out.end(), order.bytes().begin(), order.bytes().end());
  const size_t used = bytes_used();
  put_u64(out, used);
  out.insert(out.end(), storage_.begin(), storage_.begin() + static_cast<long>(used));
  return out;
}

Expected<CodeBuffer> CodeBuffer::deserialize(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const uint8_t* magic = in.take(sizeof kMagic);
  if (magic == nullptr || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return bad("does not start with the ENGRAMCB magic");
  }
  uint64_t version = 0, c = 0, l = 0, classes = 0, tasks = 0, budget = 0, selector = 0, seed = 0;
  uint64_t seen = 0, count = 0;
  if (!in.read(&version, 4)) return bad("truncated header");
  if (version < kOldestVersion || version > kVersion) {
    return Status(ErrorCode::unsupported_version,
                  "code buffer snapshot: format version " + std::to_string(version) +
                      ", this build reads versions " + std::to_string(kOldestVersion) + " to " +
                      std::to_string(kVersion));
  }
  if (!in.read(&c, 4) || !in.read(&l, 4) || !in.read(&classes, 4) || !in.read(&tasks, 4) ||
      !in.read(&budget, 8) || !in.read(&selector, 1) || !in.read(&seed, 8) || !in.read(&seen, 8) ||
      !in.read(&count, 8)) {
    return bad("truncated header");
  }
  if (c > INT32_MAX || l > INT32_MAX || classes > INT32_MAX || tasks > INT32_MAX || selector > 2) {
    return bad("configuration out of range");
  }
  CodeBufferConfig cfg;
  cfg.c = static_cast<int>(c);
  cfg.l = static_cast<int>(l);
  cfg.num_classes = static_cast<int>(classes);
  cfg.num_tasks = static_cast<int>(tasks);
  cfg.budget_bytes = static_cast<size_t>(budget);
  cfg.selector = static_cast<Selector>(selector);
  cfg.seed = seed;
  Status st = validate(cfg);
  if (!st.ok()) return bad("invalid configuration: " + st.message());
  CodeBuffer buf(cfg);
  if (count > buf.capacity_ || count > seen) return bad("item count exceeds capacity or offers");
  // Nothing is ever removed, so a buffer holds min(offers, capacity) items; one merged from the
  // shares of data-parallel ranks (CodeBuffer::merge) may also have a few slots free after more
  // offers than its capacity (each share's capacity rounds down), but never fewer items than
  // offers below it.
  if (seen <= buf.capacity_ && count != seen) return bad("inconsistent item count");

  uint64_t seen_sum = 0;
  for (uint64_t& n : buf.seen_per_class_) {
    if (!in.read(&n, 8)) return bad("truncated per-class counters");
    if (n > seen) return bad("per-class offers exceed total offers");
    seen_sum += n;
  }
  if (seen_sum != seen) return bad("per-class offers do not add up to total offers");
  for (uint8_t& f : buf.full_) {
    uint64_t v = 0;
    if (!in.read(&v, 1)) return bad("truncated per-class flags");
    if (v > 1) return bad("per-class flag is not 0 or 1");
    f = static_cast<uint8_t>(v);
  }

  uint64_t rng_len = 0;
  if (!in.read(&rng_len, 4) || rng_len > kMaxRngText) return bad("bad RNG state length");
  const uint8_t* rng_text = in.take(static_cast<size_t>(rng_len));
  if (rng_text == nullptr) return bad("truncated RNG state");
  std::istringstream rng_in(std::string(reinterpret_cast<const char*>(rng_text), rng_len));
  rng_in >> buf.rng_;
  if (rng_in.fail() || !(rng_in >> std::ws).eof()) return bad("RNG state does not parse");

  // v2: the phase mark and the order of the recall lists, checked once the items are read.
  const uint8_t* mark = nullptr;
  const uint8_t* order = nullptr;
  const int width = bits_for_values(count);
  if (version >= 2) {
    uint64_t mark_len = 0, order_len = 0;
    if (!in.read(&mark_len, 8)) return bad("truncated phase mark length");
    if (mark_len != bytes_for_bits(static_cast<size_t>(count))) {
      return bad("phase mark length does not match the item count");
    }
    mark = in.take(static_cast<size_t>(mark_len));
    if (mark == nullptr) return bad("truncated phase mark");
    if (!in.read(&order_len, 8)) return bad("truncated recall order length");
    if (order_len != bytes_for_bits(2 * static_cast<size_t>(count) * static_cast<size_t>(width))) {
      return bad("recall order length does not match the item count");
    }
    order = in.take(static_cast<size_t>(order_len));
    if (order == nullptr) return bad("truncated recall order");
  }

  uint64_t storage_len = 0;
  if (!in.read(&storage_len, 8)) return bad("truncated storage length");
  const size_t used = bytes_for_bits(static_cast<size_t>(count) * buf.bits_per_item_);
  if (storage_len != used) return bad("storage length does not match the item count");
  if (in.remaining() != used) {
    return bad(in.remaining() < used ? "truncated storage" : "trailing bytes after the storage");
  }
  const uint8_t* items = in.take(used);
  buf.storage_.assign(items, items + used);
  buf.size_ = static_cast<size_t>(count);
  buf.seen_ = seen;
  const size_t item_bits = buf.size_ * buf.bits_per_item_;
  if (item_bits % 8 != 0 && (buf.storage_.back() >> (item_bits % 8)) != 0) {
    return bad("padding bits are not zero");
  }

  // Every stored value must be in range; the counts follow from the labels and tasks.
  const uint32_t lmax = static_cast<uint32_t>(cfg.l);
  for (size_t s = 0; s < buf.size_; ++s) {
    size_t off = s * buf.bits_per_item_;
    for (int v = 0; v < cfg.c; ++v, off += static_cast<size_t>(buf.value_bits_)) {
      if (read_bits(buf.storage_.data(), off, buf.value_bits_) >= lmax) {
        return bad("item " + std::to_string(s) + " has a value out of range");
      }
    }
    const int label = buf.label_at(s);
    const int task = buf.task_at(s);
    if (label >= cfg.num_classes || task >= cfg.num_tasks) {
      return bad("item " + std::to_string(s) + " has a label or task out of range");
    }
    ++buf.class_counts_[static_cast<size_t>(label)];
    ++buf.task_counts_[static_cast<size_t>(task)];
  }
  for (size_t k = 0; k < buf.class_counts_.size(); ++k) {
    if (buf.class_counts_[k] > buf.seen_per_class_[k]) {
      return bad("class " + std::to_string(k) + " holds more items than it offered");
    }
  }

  buf.grow_index(buf.size_);
  if (version < 2) {  // v1: everything learned so far is recallable
    buf.index_rebuild_in_slot_order();
    buf.seal();
    return buf;
  }
  const size_t n = buf.size_;
  if (n % 8 != 0 && (mark[n / 8] >> (n % 8)) != 0) return bad("phase mark padding is not zero");
  for (size_t s = 0; s < n; ++s) {
    if ((mark[s / 8] >> (s % 8)) & 1) {
      buf.set_sealed_bit(s, true);
      ++buf.sealed_size_;
      ++buf.class_sealed_[static_cast<size_t>(buf.label_at(s))];
      ++buf.task_sealed_[static_cast<size_t>(buf.task_at(s))];
    }
  }
  const size_t order_bits = 2 * n * static_cast<size_t>(width);
  if (order_bits % 8 != 0 && (order[order_bits / 8] >> (order_bits % 8)) != 0) {
    return bad("recall order padding is not zero");
  }
  // Each list must hold exactly the slots of its class (task), sealed ones first.
  size_t offset = 0;
  std::vector<uint8_t> placed(n);
  for (int pass = 0; pass < 2; ++pass) {
    const bool tasks = pass == 1;
    auto& lists = tasks ? buf.task_slots_ : buf.class_slots_;
    auto& pos = tasks ? buf.task_pos_ : buf.class_pos_;
    const auto& counts = tasks ? buf.task_counts_ : buf.class_counts_;
    const auto& sealed = tasks ? buf.task_sealed_ : buf.class_sealed_;
    const std::string what = tasks ? "task " : "class ";
    std::fill(placed.begin(), placed.end(), 0);
    for (size_t g = 0; g < lists.size(); ++g) {
      for (size_t j = 0; j < counts[g]; ++j, offset += static_cast<size_t>(width)) {
        const uint64_t slot = read_bits(order, offset, width);
        const bool ok = slot < n && placed[slot] == 0 &&
                        static_cast<size_t>(tasks ? buf.task_at(slot) : buf.label_at(slot)) == g &&
                        buf.is_sealed(slot) == (j < sealed[g]);
        if (!ok) {
          return bad("recall list of " + what + std::to_string(g) + " is not its slots, sealed " +
                     "ones first");
        }
        placed[slot] = 1;
        pos[slot] = static_cast<uint32_t>(j);
        lists[g].push_back(static_cast<uint32_t>(slot));
      }
    }
  }
  return buf;
}

}  // namespace engram
