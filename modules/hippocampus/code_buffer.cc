#include "modules/hippocampus/code_buffer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "modules/hippocampus/bit_packer.h"

namespace engram {
namespace {

constexpr size_t kNoSlot = std::numeric_limits<size_t>::max();
constexpr int kMaxVariables = 1 << 20;
constexpr int kMaxClasses = 1 << 16;
constexpr int kMaxTasks = 1 << 16;
constexpr size_t kMaxBudgetBytes = size_t{1} << 40;

// A uniform integer in [0, n), n > 0, by rejection. Not std::uniform_int_distribution: its
// algorithm differs between standard libraries, and selection must replay identically from a
// snapshot on any platform.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

// Byte b as 8 values, bit 0 first: what binary codes unpack to.
const std::array<std::array<uint32_t, 8>, 256>& byte_to_bits() {
  static const auto table = [] {
    std::array<std::array<uint32_t, 8>, 256> t{};
    for (size_t b = 0; b < 256; ++b) {
      for (size_t j = 0; j < 8; ++j) t[b][j] = static_cast<uint32_t>((b >> j) & 1);
    }
    return t;
  }();
  return table;
}

Status invalid(const std::string& msg) { return Status(ErrorCode::invalid_argument, msg); }

// A uniform double in [0, 1) from the top 53 bits of one draw (same on every platform).
double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Appends `slot` to a recall list (as a fresh entry: after the sealed ones).
void list_add(std::vector<uint32_t>& list, std::vector<uint32_t>& pos, size_t slot) {
  pos[slot] = static_cast<uint32_t>(list.size());
  list.push_back(static_cast<uint32_t>(slot));
}

// Removes `slot` from a recall list whose first `sealed` entries are the sealed slots, keeping
// that order: a sealed slot first trades places with the last sealed entry, then (now the
// first fresh entry) with the last entry, which is popped. O(1).
void list_remove(std::vector<uint32_t>& list, std::vector<uint32_t>& pos, size_t& sealed,
                 size_t slot, bool was_sealed) {
  size_t p = pos[slot];
  if (was_sealed) {
    const size_t last_sealed = --sealed;
    const uint32_t other = list[last_sealed];
    list[p] = other;
    pos[other] = static_cast<uint32_t>(p);
    list[last_sealed] = static_cast<uint32_t>(slot);
    p = last_sealed;
  }
  const uint32_t back = list.back();
  list[p] = back;
  pos[back] = static_cast<uint32_t>(p);
  list.pop_back();
}

// Walker's alias method (Vose's construction): after an O(m) build over m groups of positive
// weight, each draw picks group g with probability weight_g / sum in O(1).
class AliasTable {
 public:
  // groups[i] has weight weights[i] > 0 (finite); at least one group.
  AliasTable(std::vector<uint32_t> groups, const std::vector<double>& weights)
      : groups_(std::move(groups)), prob_(groups_.size(), 1.0), alias_(groups_.size()) {
    const size_t m = groups_.size();
    // Scaled by the largest weight first, so the sum cannot overflow.
    const double top = *std::max_element(weights.begin(), weights.end());
    double sum = 0;
    for (double w : weights) sum += w / top;
    std::vector<double> p(m);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < m; ++i) {
      p[i] = weights[i] / top * static_cast<double>(m) / sum;
      (p[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
      alias_[i] = static_cast<uint32_t>(i);
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      large.pop_back();
      prob_[s] = p[s];
      alias_[s] = l;
      p[l] = (p[l] + p[s]) - 1.0;
      (p[l] < 1.0 ? small : large).push_back(l);
    }
    // What is left has probability 1 up to rounding.
  }
  uint32_t draw(std::mt19937_64& rng) const {
    const size_t i = static_cast<size_t>(uniform_below(rng, groups_.size()));
    return groups_[uniform_unit(rng) < prob_[i] ? i : alias_[i]];
  }

 private:
  std::vector<uint32_t> groups_;
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

}  // namespace

const char* selector_name(Selector s) {
  switch (s) {
    case Selector::reservoir: return "reservoir";
    case Selector::class_balanced: return "class_balanced";
    case Selector::fifo: return "fifo";
  }
  return "unknown";
}

Expected<Selector> parse_selector(const std::string& name) {
  if (name == "reservoir") return Selector::reservoir;
  if (name == "class_balanced" || name == "class-balanced") return Selector::class_balanced;
  if (name == "fifo") return Selector::fifo;
  return invalid("unknown selector '" + name + "' (expected reservoir, class_balanced or fifo)");
}

int bits_for_values(uint64_t n) {
  int bits = 0;
  while (bits < 64 && (uint64_t{1} << bits) < n) ++bits;
  return bits;
}

Status CodeBuffer::validate(const CodeBufferConfig& cfg) {
  if (cfg.c < 1 || cfg.c > kMaxVariables) {
    return invalid("code buffer: c (variables per code) must be in [1, " +
                   std::to_string(kMaxVariables) + "], got " + std::to_string(cfg.c));
  }
  if (cfg.l < 2) {
    return invalid("code buffer: l (values per variable) must be >= 2, got " +
                   std::to_string(cfg.l));
  }
  if (cfg.num_classes < 1 || cfg.num_classes > kMaxClasses) {
    return invalid("code buffer: num_classes must be in [1, " + std::to_string(kMaxClasses) +
                   "], got " + std::to_string(cfg.num_classes));
  }
  if (cfg.num_tasks < 1 || cfg.num_tasks > kMaxTasks) {
    return invalid("code buffer: num_tasks must be in [1, " + std::to_string(kMaxTasks) +
                   "], got " + std::to_string(cfg.num_tasks));
  }
  if (cfg.budget_bytes > kMaxBudgetBytes) {
    return invalid("code buffer: budget_bytes " + std::to_string(cfg.budget_bytes) +
                   " exceeds the limit " + std::to_string(kMaxBudgetBytes));
  }
  if (cfg.selector != Selector::reservoir && cfg.selector != Selector::class_balanced &&
      cfg.selector != Selector::fifo) {
    return invalid("code buffer: unknown selector");
  }
  const size_t item_bits = static_cast<size_t>(cfg.c) * bits_for_values(cfg.l) +
                           bits_for_values(cfg.num_classes) + bits_for_values(cfg.num_tasks);
  if (cfg.budget_bytes * 8 < item_bits) {
    return invalid("code buffer: a budget of " + std::to_string(cfg.budget_bytes) +
                   " bytes cannot hold one item of " + std::to_string(item_bits) + " bits (needs " +
                   std::to_string(bytes_for_bits(item_bits)) + " bytes)");
  }
  // The recall index addresses slots with 32-bit integers.
  const size_t items = cfg.budget_bytes * 8 / item_bits;
  if (items > std::numeric_limits<uint32_t>::max()) {
    return invalid("code buffer: a budget of " + std::to_string(cfg.budget_bytes) +
                   " bytes holds " + std::to_string(items) + " items of " +
                   std::to_string(item_bits) + " bits; at most 4294967295 items are supported");
  }
  return Status();
}

CodeBuffer::CodeBuffer(const CodeBufferConfig& cfg)
    : config_(cfg),
      value_bits_(bits_for_values(cfg.l)),
      code_bits_(cfg.c * value_bits_),
      label_bits_(bits_for_values(cfg.num_classes)),
      task_bits_(bits_for_values(cfg.num_tasks)),
      bits_per_item_(static_cast<size_t>(code_bits_) + label_bits_ + task_bits_),
      capacity_(cfg.budget_bytes * 8 / bits_per_item_),
      class_counts_(static_cast<size_t>(cfg.num_classes), 0),
      task_counts_(static_cast<size_t>(cfg.num_tasks), 0),
      seen_per_class_(static_cast<size_t>(cfg.num_classes), 0),
      full_(static_cast<size_t>(cfg.num_classes), 0),
      rng_(cfg.seed),
      class_slots_(static_cast<size_t>(cfg.num_classes)),
      task_slots_(static_cast<size_t>(cfg.num_tasks)),
      class_sealed_(static_cast<size_t>(cfg.num_classes), 0),
      task_sealed_(static_cast<size_t>(cfg.num_tasks), 0) {}

Expected<CodeBuffer> CodeBuffer::create(const CodeBufferConfig& config) {
  Status st = validate(config);
  if (!st.ok()) return st;
  return CodeBuffer(config);
}

size_t CodeBuffer::bytes_used() const { return bytes_for_bits(size_ * bits_per_item_); }

bool CodeBuffer::is_sealed(size_t i) const {
  return i < size_ && ((sealed_bits_[i / 64] >> (i % 64)) & 1) != 0;
}

size_t CodeBuffer::phase_mark_bytes() const { return sealed_bits_.capacity() * 8; }

size_t CodeBuffer::recall_index_bytes() const {
  size_t bytes = (class_pos_.capacity() + task_pos_.capacity()) * 4 +
                 (class_sealed_.capacity() + task_sealed_.capacity()) * sizeof(size_t);
  for (const auto* lists : {&class_slots_, &task_slots_}) {
    bytes += lists->capacity() * sizeof(std::vector<uint32_t>);
    for (const std::vector<uint32_t>& list : *lists) bytes += list.capacity() * 4;
  }
  return bytes;
}

void CodeBuffer::set_sealed_bit(size_t slot, bool sealed) {
  const uint64_t bit = uint64_t{1} << (slot % 64);
  if (sealed) {
    sealed_bits_[slot / 64] |= bit;
  } else {
    sealed_bits_[slot / 64] &= ~bit;
  }
}

// Makes room in the per-slot arrays (positions, mark) for `items` slots, growing geometrically
// but never past a full buffer.
void CodeBuffer::grow_index(size_t items) {
  auto grow = [](auto& v, size_t needed, size_t full, size_t least) {
    if (v.size() >= needed) return;
    if (v.capacity() < needed) {
      v.reserve(std::min(full, std::max({needed, v.size() * 2, least})));
    }
    v.resize(needed, 0);
  };
  grow(class_pos_, items, capacity_, 64);
  grow(task_pos_, items, capacity_, 64);
  grow(sealed_bits_, (items + 63) / 64, (capacity_ + 63) / 64, 1);
}

// A new item in `slot` is fresh: it goes at the end of its class and task lists.
void CodeBuffer::index_add(size_t slot, int label, int task) {
  list_add(class_slots_[static_cast<size_t>(label)], class_pos_, slot);
  list_add(task_slots_[static_cast<size_t>(task)], task_pos_, slot);
}

// The item in `slot` (of this label and task) leaves the buffer: out of its lists, mark cleared.
void CodeBuffer::index_remove(size_t slot, int label, int task) {
  const bool was_sealed = is_sealed(slot);
  list_remove(class_slots_[static_cast<size_t>(label)], class_pos_,
              class_sealed_[static_cast<size_t>(label)], slot, was_sealed);
  list_remove(task_slots_[static_cast<size_t>(task)], task_pos_,
              task_sealed_[static_cast<size_t>(task)], slot, was_sealed);
  if (was_sealed) {
    set_sealed_bit(slot, false);
    --sealed_size_;
  }
}

// The lists from the items and the mark alone, each in slot order (sealed slots, then fresh).
void CodeBuffer::index_rebuild_in_slot_order() {
  for (auto& list : class_slots_) list.clear();
  for (auto& list : task_slots_) list.clear();
  std::fill(class_sealed_.begin(), class_sealed_.end(), 0);
  std::fill(task_sealed_.begin(), task_sealed_.end(), 0);
  grow_index(size_);
  sealed_size_ = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const bool sealed = pass == 0;
    for (size_t s = 0; s < size_; ++s) {
      if (is_sealed(s) != sealed) continue;
      const int label = label_at(s), task = task_at(s);
      index_add(s, label, task);
      if (sealed) {
        ++class_sealed_[static_cast<size_t>(label)];
        ++task_sealed_[static_cast<size_t>(task)];
        ++sealed_size_;
      }
    }
  }
}

void CodeBuffer::seal() {
  const size_t whole = size_ / 64;
  std::fill(sealed_bits_.begin(), sealed_bits_.begin() + static_cast<long>(whole), ~uint64_t{0});
  if (size_ % 64 != 0) sealed_bits_[whole] = (uint64_t{1} << (size_ % 64)) - 1;
  // Each list holds its sealed slots first: now all of them are.
  for (size_t k = 0; k < class_slots_.size(); ++k) class_sealed_[k] = class_slots_[k].size();
  for (size_t t = 0; t < task_slots_.size(); ++t) task_sealed_[t] = task_slots_[t].size();
  sealed_size_ = size_;
}

Status CodeBuffer::check_item(const uint32_t* code, int label, int task) const {
  if (label < 0 || label >= config_.num_classes) {
    return invalid("code buffer: label " + std::to_string(label) + " is not in [0, " +
                   std::to_string(config_.num_classes) + ")");
  }
  if (task < 0 || task >= config_.num_tasks) {
    return invalid("code buffer: task " + std::to_string(task) + " is not in [0, " +
                   std::to_string(config_.num_tasks) + ")");
  }
  const uint32_t l = static_cast<uint32_t>(config_.l);
  // A branch-free pass first (it vectorises): when l is a power of two, a value is out of range
  // exactly when it has a bit at or above log2 l, so OR-ing them all decides. The loop below
  // then finds and names the value.
  if ((l & (l - 1)) == 0) {
    uint64_t pairs = 0;  // two values per load
    int v = 0;
    for (; v + 2 <= config_.c; v += 2) {
      uint64_t two;
      std::memcpy(&two, code + v, sizeof two);
      pairs |= two;
    }
    uint32_t bits = static_cast<uint32_t>(pairs) | static_cast<uint32_t>(pairs >> 32);
    if (v < config_.c) bits |= code[v];
    if (bits < l) return Status();
  }
  for (int v = 0; v < config_.c; ++v) {
    if (code[v] >= l) {
      return invalid("code buffer: variable " + std::to_string(v) + " has value " +
                     std::to_string(code[v]) + ", not < l = " + std::to_string(l));
    }
  }
  return Status();
}

// Grows the storage to hold `items` items: geometrically (amortized O(1) inserts) but never
// past the bytes of a full buffer, and with exact allocations so the budget is never exceeded.
void CodeBuffer::reserve_items(size_t items) {
  const size_t needed = bytes_for_bits(items * bits_per_item_);
  if (storage_.size() >= needed) return;
  const size_t full = bytes_for_bits(capacity_ * bits_per_item_);
  const size_t target = std::min(full, std::max({needed, storage_.size() * 2, size_t{64}}));
  if (storage_.capacity() < target) {
    std::vector<uint8_t> grown;
    grown.reserve(target);
    grown.assign(storage_.begin(), storage_.end());
    storage_.swap(grown);
  }
  storage_.resize(target, 0);
}

bool CodeBuffer::whole_word_code_access(size_t slot) const {
  // Bit k of the stream is bit k % 8 of byte k / 8: on a little-endian host, a 64-bit load at
  // byte b holds stream bits [8b, 8b + 64) in order. After the up to 7 bits before a field, 57
  // bits remain, so one load serves 57 / w values. The last load must stay inside the storage.
  const size_t start = slot * bits_per_item_;
  return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && value_bits_ <= 32 &&
         (start + static_cast<size_t>(code_bits_)) / 8 + 8 <= storage_.size();
}

void CodeBuffer::write_item(size_t slot, const uint32_t* code, int label, int task) {
  uint8_t* data = storage_.data();
  const int c = config_.c;
  const int w = value_bits_;
  size_t off = slot * bits_per_item_;
  if (whole_word_code_access(slot)) {
    const int per_load = 57 / w;
    for (int v = 0; v < c;) {
      const int k = std::min(per_load, c - v);
      uint64_t chunk = 0;  // values are < l <= 2^w (check_item)
      int j = 0;
      if (w == 1) {  // binary codes: 8 values into a byte with constant shifts
        for (; j + 8 <= k; j += 8) {
          const uint32_t* p = code + v + j;
          const uint64_t byte = p[0] | (p[1] << 1) | (p[2] << 2) | (p[3] << 3) | (p[4] << 4) |
                                (p[5] << 5) | (p[6] << 6) | (p[7] << 7);
          chunk |= byte << j;
        }
      }
      for (; j < k; ++j) chunk |= uint64_t{code[v + j]} << (j * w);
      const int shift = static_cast<int>(off % 8);
      const uint64_t mask = ((uint64_t{1} << (k * w)) - 1) << shift;
      uint64_t word;
      std::memcpy(&word, data + off / 8, sizeof word);
      word = (word & ~mask) | (chunk << shift);
      std::memcpy(data + off / 8, &word, sizeof word);
      v += k;
      off += static_cast<size_t>(k) * static_cast<size_t>(w);
    }
  } else {
    for (int v = 0; v < c; ++v, off += static_cast<size_t>(w)) write_bits(data, off, w, code[v]);
  }
  write_bits(data, off, label_bits_, static_cast<uint64_t>(label));
  write_bits(data, off + static_cast<size_t>(label_bits_), task_bits_, static_cast<uint64_t>(task));
}

int CodeBuffer::label_at(size_t slot) const {
  return static_cast<int>(
      read_bits(storage_.data(), slot * bits_per_item_ + code_bits_, label_bits_));
}

int CodeBuffer::task_at(size_t slot) const {
  const size_t off = slot * bits_per_item_ + static_cast<size_t>(code_bits_ + label_bits_);
  return static_cast<int>(read_bits(storage_.data(), off, task_bits_));
}

void CodeBuffer::read_code(size_t slot, uint32_t* out) const {
  const uint8_t* data = storage_.data();
  const size_t start = slot * bits_per_item_;
  const int c = config_.c;
  const int w = value_bits_;
  if (w == 1 && whole_word_code_access(slot)) {  // binary codes: 8 values per table lookup
    const auto& table = byte_to_bits();
    size_t off = start;
    for (int v = 0; v < c;) {
      uint64_t word;
      std::memcpy(&word, data + off / 8, sizeof word);
      word >>= off % 8;
      const int k = std::min(56, c - v);
      int j = 0;
      for (; j + 8 <= k; j += 8) {
        std::memcpy(out + v + j, table[(word >> j) & 0xff].data(), 8 * sizeof(uint32_t));
      }
      for (; j < k; ++j) out[v + j] = static_cast<uint32_t>((word >> j) & 1);
      v += k;
      off += static_cast<size_t>(k);
    }
    return;
  }
  if (!whole_word_code_access(slot)) {
    size_t off = start;
    for (int v = 0; v < c; ++v, off += static_cast<size_t>(w)) {
      out[v] = static_cast<uint32_t>(read_bits(data, off, w));
    }
    return;
  }
  const uint64_t mask = (uint64_t{1} << w) - 1;
  const int per_load = 57 / w;
  size_t off = start;
  for (int v = 0; v < c;) {
    uint64_t word;
    std::memcpy(&word, data + off / 8, sizeof word);
    word >>= off % 8;
    const int k = std::min(per_load, c - v);
    for (int j = 0; j < k; ++j) out[v + j] = static_cast<uint32_t>((word >> (j * w)) & mask);
    v += k;
    off += static_cast<size_t>(k) * static_cast<size_t>(w);
  }
}

void CodeBuffer::read_item(size_t slot, uint32_t* code_out, int32_t* label_out,
                           int32_t* task_out) const {
  if (code_out != nullptr) read_code(slot, code_out);
  if (label_out != nullptr) *label_out = label_at(slot);
  if (task_out != nullptr) *task_out = task_at(slot);
}

template <typename NextSlot>
void CodeBuffer::gather(size_t n, NextSlot&& next_slot, uint32_t* codes_out, int32_t* labels_out,
                        int32_t* tasks_out) const {
  constexpr size_t kChunk = 64;
  const size_t c = static_cast<size_t>(config_.c);
  const size_t item_bytes = bits_per_item_ / 8 + 1;
  size_t slots[kChunk];
  for (size_t first = 0; first < n; first += kChunk) {
    const size_t k = std::min(kChunk, n - first);
    for (size_t i = 0; i < k; ++i) {
      slots[i] = next_slot();
      // The item's first and last bytes: a large buffer misses the cache on most draws, and
      // the misses of a chunk then overlap instead of queueing one behind the other.
      const uint8_t* p = storage_.data() + slots[i] * bits_per_item_ / 8;
      __builtin_prefetch(p);
      __builtin_prefetch(p + item_bytes - 1);
    }
    for (size_t i = 0; i < k; ++i) {
      const size_t row = first + i;
      read_item(slots[i], codes_out != nullptr ? codes_out + row * c : nullptr,
                labels_out != nullptr ? labels_out + row : nullptr,
                tasks_out != nullptr ? tasks_out + row : nullptr);
    }
  }
}

// A uniformly random stored slot holding `label`, by rejection: the expected number of draws
// is size/count(label), at most num_classes for the largest class. It does not use the recall
// index, so that what class-balanced selection keeps for a seed is what it kept before the
// index existed.
size_t CodeBuffer::random_slot_of_class(int label) {
  for (;;) {
    const size_t s = static_cast<size_t>(uniform_below(rng_, size_));
    if (label_at(s) == label) return s;
  }
}

// Class-balanced reservoir sampling (CBRS, Chrysakis & Moens 2020). Once the buffer is full,
// every class that is a largest class becomes "full" for good. An item of a class that is not
// full replaces a random item of a random largest class; an item of a full class goes through
// reservoir sampling within its own class (kept with probability stored/offered, replacing a
// random item of its class). Why full is sticky: with "currently largest" instead, a class
// that dips one below the maximum would have its next items kept with probability 1, and the
// items it keeps would no longer be a uniform sample of what it offered.
size_t CodeBuffer::choose_slot_class_balanced(int label) {
  const size_t largest = *std::max_element(class_counts_.begin(), class_counts_.end());
  size_t ties = 0;
  for (size_t k = 0; k < class_counts_.size(); ++k) {
    if (class_counts_[k] == largest) {
      full_[k] = 1;
      ++ties;
    }
  }
  const size_t mine = class_counts_[static_cast<size_t>(label)];
  if (full_[static_cast<size_t>(label)] == 0) {
    size_t pick = static_cast<size_t>(uniform_below(rng_, ties));
    for (size_t k = 0; k < class_counts_.size(); ++k) {
      if (class_counts_[k] == largest && pick-- == 0) {
        return random_slot_of_class(static_cast<int>(k));
      }
    }
  }
  const uint64_t offered = seen_per_class_[static_cast<size_t>(label)];
  if (mine > 0 && uniform_below(rng_, offered) < mine) return random_slot_of_class(label);
  return kNoSlot;
}

void CodeBuffer::offer(const uint32_t* code, int label, int task, bool* stored) {
  ++seen_;
  ++seen_per_class_[static_cast<size_t>(label)];
  size_t slot = kNoSlot;
  bool replace = false;
  if (size_ < capacity_) {
    slot = size_;
    reserve_items(size_ + 1);
    grow_index(size_ + 1);
    ++size_;
  } else {
    replace = true;
    switch (config_.selector) {
      case Selector::reservoir: {
        const uint64_t j = uniform_below(rng_, seen_);
        if (j < capacity_) slot = static_cast<size_t>(j);
        break;
      }
      case Selector::fifo: slot = static_cast<size_t>((seen_ - 1) % capacity_); break;
      case Selector::class_balanced: slot = choose_slot_class_balanced(label); break;
    }
  }
  if (stored != nullptr) *stored = slot != kNoSlot;
  if (slot == kNoSlot) return;
  if (replace) {
    const int old_label = label_at(slot), old_task = task_at(slot);
    --class_counts_[static_cast<size_t>(old_label)];
    --task_counts_[static_cast<size_t>(old_task)];
    index_remove(slot, old_label, old_task);
  }
  write_item(slot, code, label, task);
  ++class_counts_[static_cast<size_t>(label)];
  ++task_counts_[static_cast<size_t>(task)];
  index_add(slot, label, task);
}

Status CodeBuffer::insert(const uint32_t* code, int label, int task, bool* stored) {
  if (stored != nullptr) *stored = false;
  Status st = check_item(code, label, task);
  if (!st.ok()) return st;
  offer(code, label, task, stored);
  return Status();
}

Status CodeBuffer::insert_batch(const uint32_t* codes, const int32_t* labels, const int32_t* tasks,
                                size_t n, size_t* stored) {
  if (stored != nullptr) *stored = 0;
  const size_t c = static_cast<size_t>(config_.c);
  for (size_t i = 0; i < n; ++i) {
    Status st = check_item(codes + i * c, labels[i], tasks != nullptr ? tasks[i] : 0);
    if (!st.ok()) return Status(st.code(), "item " + std::to_string(i) + ": " + st.message());
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    bool s = false;
    offer(codes + i * c, labels[i], tasks != nullptr ? tasks[i] : 0, &s);
    kept += s;
  }
  if (stored != nullptr) *stored = kept;
  return Status();
}

Status CodeBuffer::get(size_t i, uint32_t* code_out, int32_t* label_out, int32_t* task_out) const {
  if (i >= size_) {
    return invalid("code buffer: index " + std::to_string(i) + " >= size " + std::to_string(size_));
  }
  read_item(i, code_out, label_out, task_out);
  return Status();
}

Status CodeBuffer::sample_uniform(size_t n, std::mt19937_64& rng, uint32_t* codes_out,
                                  int32_t* labels_out, int32_t* tasks_out) const {
  if (n > 0 && size_ == 0) return invalid("code buffer: cannot sample from an empty buffer");
  gather(
      n, [&] { return static_cast<size_t>(uniform_below(rng, size_)); }, codes_out, labels_out,
      tasks_out);
  return Status();
}

Status CodeBuffer::sample_uniform(size_t n, uint32_t* codes_out, int32_t* labels_out,
                                  int32_t* tasks_out) {
  return sample_uniform(n, rng_, codes_out, labels_out, tasks_out);
}

Status CodeBuffer::sample_recall(const RecallDraw& draw, std::mt19937_64& rng, uint32_t* codes_out,
                                 int32_t* labels_out, int32_t* tasks_out, size_t* drawn) const {
  if (drawn != nullptr) *drawn = 0;
  const bool by_class = !draw.class_weights.empty();
  const bool by_task = !draw.task_weights.empty();
  if (by_class && by_task) {
    return invalid("recall: give class weights or task weights, not both");
  }
  const std::vector<double>& weights = by_class ? draw.class_weights : draw.task_weights;
  if (by_class || by_task) {
    const std::string what = by_class ? "class" : "task";
    const size_t groups = by_class ? class_slots_.size() : task_slots_.size();
    if (weights.size() != groups) {
      return invalid("recall: " + std::to_string(weights.size()) + " " + what + " weights, the " +
                     "buffer has " + std::to_string(groups) + " " + what + (by_class ? "es" : "s"));
    }
    for (size_t g = 0; g < groups; ++g) {
      if (!std::isfinite(weights[g]) || weights[g] < 0) {
        char value[32];
        std::snprintf(value, sizeof value, "%g", weights[g]);
        return invalid("recall: " + what + " weight " + std::to_string(g) + " is " + value +
                       " (weights must be finite and >= 0)");
      }
    }
  }
  if (draw.n == 0) return Status();

  const size_t eligible_total = draw.sealed_only ? sealed_size_ : size_;
  if (eligible_total == 0) return Status();
  if (!by_class && !by_task) {
    if (eligible_total == size_) {
      gather(
          draw.n, [&] { return static_cast<size_t>(uniform_below(rng, size_)); }, codes_out,
          labels_out, tasks_out);
      if (drawn != nullptr) *drawn = draw.n;
      return Status();
    }
    if (eligible_total * 2 >= size_) {
      // At least half the slots are sealed: by rejection, at most 2 tries per draw expected.
      auto sealed_slot = [&] {
        size_t slot = 0;
        do {
          slot = static_cast<size_t>(uniform_below(rng, size_));
        } while (!is_sealed(slot));
        return slot;
      };
      gather(draw.n, sealed_slot, codes_out, labels_out, tasks_out);
      if (drawn != nullptr) *drawn = draw.n;
      return Status();
    }
  }
  // Per group (class or task): a group with probability (weight, or for a uniform draw its
  // number of sealed items) over the groups with eligible items, then one of those uniformly.
  const bool tasks = by_task;
  const auto& lists = tasks ? task_slots_ : class_slots_;
  const auto& sealed = tasks ? task_sealed_ : class_sealed_;
  auto eligible = [&](size_t g) { return draw.sealed_only ? sealed[g] : lists[g].size(); };
  std::vector<uint32_t> groups;
  std::vector<double> group_weights;
  for (size_t g = 0; g < lists.size(); ++g) {
    const size_t e = eligible(g);
    const double w = (by_class || by_task) ? weights[g] : static_cast<double>(e);
    if (e > 0 && w > 0) {
      groups.push_back(static_cast<uint32_t>(g));
      group_weights.push_back(w);
    }
  }
  if (groups.empty()) return Status();
  const AliasTable table(std::move(groups), group_weights);
  auto group_slot = [&] {
    const uint32_t g = table.draw(rng);
    return static_cast<size_t>(lists[g][static_cast<size_t>(uniform_below(rng, eligible(g)))]);
  };
  gather(draw.n, group_slot, codes_out, labels_out, tasks_out);
  if (drawn != nullptr) *drawn = draw.n;
  return Status();
}

}  // namespace engram
