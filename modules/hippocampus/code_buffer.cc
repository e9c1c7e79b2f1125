#include "modules/hippocampus/code_buffer.h"

#include <algorithm>
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

Status invalid(const std::string& msg) { return Status(ErrorCode::invalid_argument, msg); }

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
      rng_(cfg.seed) {}

Expected<CodeBuffer> CodeBuffer::create(const CodeBufferConfig& config) {
  Status st = validate(config);
  if (!st.ok()) return st;
  return CodeBuffer(config);
}

size_t CodeBuffer::bytes_used() const { return bytes_for_bits(size_ * bits_per_item_); }

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

void CodeBuffer::write_item(size_t slot, const uint32_t* code, int label, int task) {
  uint8_t* data = storage_.data();
  size_t off = slot * bits_per_item_;
  for (int v = 0; v < config_.c; ++v, off += static_cast<size_t>(value_bits_)) {
    write_bits(data, off, value_bits_, code[v]);
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

void CodeBuffer::read_item(size_t slot, uint32_t* code_out, int32_t* label_out,
                           int32_t* task_out) const {
  const uint8_t* data = storage_.data();
  size_t off = slot * bits_per_item_;
  if (code_out != nullptr) {
    for (int v = 0; v < config_.c; ++v, off += static_cast<size_t>(value_bits_)) {
      code_out[v] = static_cast<uint32_t>(read_bits(data, off, value_bits_));
    }
  }
  if (label_out != nullptr) *label_out = label_at(slot);
  if (task_out != nullptr) *task_out = task_at(slot);
}

// A uniformly random stored slot holding `label`, by rejection: the expected number of draws
// is size/count(label), at most num_classes for the largest class, and it needs no per-class
// index (which would cost more memory than the codes themselves).
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
    --class_counts_[static_cast<size_t>(label_at(slot))];
    --task_counts_[static_cast<size_t>(task_at(slot))];
  }
  write_item(slot, code, label, task);
  ++class_counts_[static_cast<size_t>(label)];
  ++task_counts_[static_cast<size_t>(task)];
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
  const size_t c = static_cast<size_t>(config_.c);
  for (size_t i = 0; i < n; ++i) {
    const size_t slot = static_cast<size_t>(uniform_below(rng, size_));
    read_item(slot, codes_out != nullptr ? codes_out + i * c : nullptr,
              labels_out != nullptr ? labels_out + i : nullptr,
              tasks_out != nullptr ? tasks_out + i : nullptr);
  }
  return Status();
}

Status CodeBuffer::sample_uniform(size_t n, uint32_t* codes_out, int32_t* labels_out,
                                  int32_t* tasks_out) {
  return sample_uniform(n, rng_, codes_out, labels_out, tasks_out);
}

}  // namespace engram
