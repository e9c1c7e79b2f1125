// The hippocampus' memory: a byte-budgeted buffer of bit-packed latent codes.
//
// A code is c categorical variables of l values each and costs exactly c*ceil(log2 l) bits;
// each item also stores its label (ceil(log2 num_classes) bits) and task id
// (ceil(log2 num_tasks) bits, 0 for a single task). With c = rows*cols and l = 256 a code is a
// raw 8-bit image, so experience replay of real images uses this same buffer and the same
// budget: comparisons between methods are at equal bytes.
//
// Item i occupies bits [i*W, (i+1)*W) of the storage, W = bits_per_item(), laid out as
// [variable 0 .. variable c-1][label][task] in the bit order of bit_packer.h.
//
// Phases. seal() marks every item stored so far as *sealed*: learned before the current phase,
// and so recallable in it. Items stored after a seal() are *fresh* until the next seal(); a
// slot whose item is replaced by a new one becomes fresh. Replay draws from sealed items only
// (sample_recall with sealed_only), whatever their task ids: tasks may come in any order and be
// revisited. The mark is one bit per slot (phase_mark_bytes()).
//
// Recall index. For O(1) weighted draws the buffer keeps, per class and per task, the list of
// its slots (sealed ones first, then fresh ones) and each slot's position in its two lists:
// 4 x 32-bit integers per stored item, 21-25 bytes per item measured with the lists' growth
// slack (recall_index_bytes()): for 45-bit codes that is about 4 times the items' own bytes, for
// raw 28x28 images under 1%. The mark and the index are bookkeeping outside budget_bytes, which
// counts the items alone (so methods are compared at equal bytes of memory content); both are
// reported separately.
//
// Not thread-safe: one owner (the hippocampus actor) at a time. Const methods that take a
// caller's RNG may run concurrently with each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// What the buffer keeps once it is full.
enum class Selector {
  reservoir,       // Algorithm R: after n offers each one is kept with probability capacity/n
  class_balanced,  // new classes evict the largest class, so classes end up equal (CBRS)
  fifo,            // ring buffer: the most recent capacity items
};

// "reservoir", "class_balanced", "fifo".
const char* selector_name(Selector s);
// Inverse of selector_name (also accepts "class-balanced"); invalid_argument otherwise.
Expected<Selector> parse_selector(const std::string& name);

// ceil(log2 n): the bits of a field holding values in [0, n); 0 when n <= 1.
int bits_for_values(uint64_t n);

struct CodeBufferConfig {
  int c = 0;                // categorical variables per code, in [1, 2^20]
  int l = 0;                // values per variable, >= 2
  int num_classes = 0;      // labels are in [0, num_classes), num_classes in [1, 2^16]
  int num_tasks = 1;        // task ids are in [0, num_tasks), num_tasks in [1, 2^16]
  size_t budget_bytes = 0;  // storage budget for the items, <= 2^40; must fit one item
  Selector selector = Selector::reservoir;
  uint64_t seed = 0;  // seeds the buffer's own RNG (selection and sample_uniform without RNG)
};

// What sample_recall() draws: n items with replacement, from the sealed items only or from all,
// either uniformly or with a share per class or per task.
struct RecallDraw {
  size_t n = 0;
  bool sealed_only = true;  // draw from sealed items only (the default) or from every item
  // Optional, at most one of the two. class_weights (size num_classes): each draw picks class k
  // with probability w_k / sum of w over the classes that have eligible items (the others are
  // dropped and the rest renormalised), then one of class k's eligible items uniformly.
  // task_weights (size num_tasks): the same per task. Neither: uniform over eligible items.
  // Entries must be finite and >= 0.
  std::vector<double> class_weights;
  std::vector<double> task_weights;
};

class CodeBuffer {
 public:
  // A buffer for this configuration, or invalid_argument naming the bad field (also when the
  // budget would hold more than 2^32 - 1 items: the recall index uses 32-bit slot numbers).
  static Expected<CodeBuffer> create(const CodeBufferConfig& config);
  // The checks create() makes.
  static Status validate(const CodeBufferConfig& config);

  const CodeBufferConfig& config() const { return config_; }
  int code_bits() const { return code_bits_; }  // c * ceil(log2 l)
  int label_bits() const { return label_bits_; }
  int task_bits() const { return task_bits_; }
  size_t bits_per_item() const { return bits_per_item_; }
  // floor(budget_bytes * 8 / bits_per_item()).
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  // Valid items offered so far (stored or not).
  uint64_t seen() const { return seen_; }
  // Bytes the stored items occupy: ceil(size() * bits_per_item() / 8).
  size_t bytes_used() const;
  // Bytes allocated for item storage; never more than budget_bytes.
  size_t storage_bytes() const { return storage_.capacity(); }
  // Stored items per class (index = label) and per task, kept incrementally.
  const std::vector<size_t>& class_counts() const { return class_counts_; }
  const std::vector<size_t>& task_counts() const { return task_counts_; }
  // Items offered per class, stored or not.
  const std::vector<uint64_t>& seen_per_class() const { return seen_per_class_; }
  // Class-balanced only: whether class k has been a largest class of the full buffer (from
  // then on its own items replace its own items).
  bool class_full(int k) const { return full_[static_cast<size_t>(k)] != 0; }

  // Sealed items in total, per class (index = label) and per task, kept incrementally.
  size_t sealed_size() const { return sealed_size_; }
  const std::vector<size_t>& sealed_class_counts() const { return class_sealed_; }
  const std::vector<size_t>& sealed_task_counts() const { return task_sealed_; }
  // Whether item i is sealed; false when i >= size().
  bool is_sealed(size_t i) const;
  // Heap bytes of the phase mark (one bit per slot, allocated as the buffer fills, at most
  // ceil(capacity / 64) 64-bit words). Not part of budget_bytes.
  size_t phase_mark_bytes() const;
  // Heap bytes of the recall index (per-class and per-task slot lists, per-slot positions,
  // per-class and per-task sealed counts). Not part of budget_bytes.
  size_t recall_index_bytes() const;

  // Ends a phase: every item stored now becomes sealed (recallable); items stored from now on
  // are fresh until the next seal(). O(size()/64 + num_classes + num_tasks). Consumes no
  // randomness.
  void seal();

  // Offers one item: code[0..c) with every value < l, label < num_classes, task <
  // num_tasks. The selector decides whether it is stored; *stored (if non-null) says so.
  // invalid_argument when a value is out of range, and then nothing changes (seen()
  // neither). O(c) per code, independent of the buffer size.
  Status insert(const uint32_t* code, int label, int task, bool* stored = nullptr);
  // Offers n items: codes is n*c values, labels n values, tasks n values or null (all 0).
  // The whole batch is validated first: on error nothing is inserted. *stored (if non-null)
  // receives how many were kept.
  Status insert_batch(const uint32_t* codes, const int32_t* labels, const int32_t* tasks, size_t n,
                      size_t* stored = nullptr);

  // Reads item i < size() into code_out[0..c) and *label_out / *task_out (each may be null).
  // invalid_argument when i >= size().
  Status get(size_t i, uint32_t* code_out, int32_t* label_out, int32_t* task_out) const;

  // Draws n items uniformly with replacement using rng: codes_out receives n*c values,
  // labels_out / tasks_out n values each (either may be null). invalid_argument when the
  // buffer is empty and n > 0.
  Status sample_uniform(size_t n, std::mt19937_64& rng, uint32_t* codes_out, int32_t* labels_out,
                        int32_t* tasks_out) const;
  // Same with the buffer's own RNG (which is part of its serialized state).
  Status sample_uniform(size_t n, uint32_t* codes_out, int32_t* labels_out, int32_t* tasks_out);

  // Draws draw.n items with replacement as `draw` says (see RecallDraw), using rng: codes_out
  // receives n*c values, labels_out / tasks_out n values each (any of the three may be null).
  // *drawn (if non-null) receives the number of items written: draw.n, or 0 when no eligible
  // item has a positive weight ("nothing to recall yet", not an error; nothing is written and
  // rng is not used). invalid_argument, naming the problem, when both weight lists are given,
  // a list has the wrong size, or a weight is negative or not finite; then nothing is written
  // and rng is not used. O(number of classes or tasks) to set up, then O(c) expected per draw,
  // independent of the buffer size and of how the items spread over classes and tasks. The
  // drawn items depend only on the buffer's serialized state and rng.
  Status sample_recall(const RecallDraw& draw, std::mt19937_64& rng, uint32_t* codes_out,
                       int32_t* labels_out, int32_t* tasks_out, size_t* drawn) const;

  // The complete state (configuration, items, counters, RNG, phase mark and the order of the
  // recall lists) as bytes, for snapshots (format version 2, code_buffer_serialize.cc).
  std::vector<uint8_t> serialize() const;
  // Rebuilds a buffer from serialize() output, version 2 or 1 (a version 1 buffer predates
  // phases: every item in it counts as sealed). Every size and value is checked against the
  // input length and the configuration; malformed or unsupported_version on bad input.
  static Expected<CodeBuffer> deserialize(const uint8_t* data, size_t size);

  // One buffer under `config` holding every item of `shares` (the code buffers of a
  // data-parallel run's ranks, rank 0 first; code_buffer_merge.cc). Items keep their sealed mark;
  // sealed items come first (rank by rank, in slot order), then fresh ones. Counters combine as
  // if one buffer had been offered every rank's stream: seen() and seen_per_class() are the
  // shares' sums (so a reservoir goes on keeping each new item with probability capacity /
  // seen, as one process would), class_full() is set where any share had it, and the buffer's
  // own RNG is shares[0]'s. The shares' capacities each round down, so the merged buffer may
  // keep up to one free slot per share after more offers than its capacity (the next offers
  // fill them). Errors: invalid_argument when shares is empty, a share's c, l,
  // classes, tasks or selector differ from config's, or their items do not fit config's
  // capacity (nothing is dropped).
  static Expected<CodeBuffer> merge(const std::vector<CodeBuffer>& shares,
                                    const CodeBufferConfig& config);

 private:
  explicit CodeBuffer(const CodeBufferConfig& config);
  Status check_item(const uint32_t* code, int label, int task) const;
  void offer(const uint32_t* code, int label, int task, bool* stored);
  void write_item(size_t slot, const uint32_t* code, int label, int task);
  // Whether the code at `slot` can be read and written with whole 64-bit words (a little-endian
  // host, values of at most 32 bits, and 8 bytes of storage past the code's last bit).
  bool whole_word_code_access(size_t slot) const;
  // Unpacks the c values of the code at `slot` into out: whole 64-bit loads where the storage
  // allows, field by field otherwise (the same values either way).
  void read_code(size_t slot, uint32_t* out) const;
  // Writes n draws to rows 0..n-1 of the outputs (any may be null), the slot of each from
  // next_slot() in order; slots are drawn a chunk ahead of the reads so that the reads of a
  // large buffer can be prefetched. Defined in code_buffer.cc, used there only.
  template <typename NextSlot>
  void gather(size_t n, NextSlot&& next_slot, uint32_t* codes_out, int32_t* labels_out,
              int32_t* tasks_out) const;
  int label_at(size_t slot) const;
  int task_at(size_t slot) const;
  void read_item(size_t slot, uint32_t* code_out, int32_t* label_out, int32_t* task_out) const;
  size_t choose_slot_class_balanced(int label);
  size_t random_slot_of_class(int label);
  void reserve_items(size_t items);
  void grow_index(size_t items);
  void set_sealed_bit(size_t slot, bool sealed);
  void index_add(size_t slot, int label, int task);
  void index_remove(size_t slot, int label, int task);
  void index_rebuild_in_slot_order();

  CodeBufferConfig config_;
  int value_bits_ = 0;  // ceil(log2 l)
  int code_bits_ = 0;
  int label_bits_ = 0;
  int task_bits_ = 0;
  size_t bits_per_item_ = 0;
  size_t capacity_ = 0;
  size_t size_ = 0;
  uint64_t seen_ = 0;
  std::vector<uint8_t> storage_;
  std::vector<size_t> class_counts_;
  std::vector<size_t> task_counts_;
  std::vector<uint64_t> seen_per_class_;
  std::vector<uint8_t> full_;  // per class, see class_full()
  std::mt19937_64 rng_;
  // Phase mark: bit (s % 64) of word s / 64 is set when slot s is sealed.
  std::vector<uint64_t> sealed_bits_;
  size_t sealed_size_ = 0;
  // Recall index: class_slots_[k] lists the slots holding class k, the class_sealed_[k]
  // sealed ones first; class_pos_[s] is slot s's position in its class list. Same per task.
  std::vector<std::vector<uint32_t>> class_slots_, task_slots_;
  std::vector<size_t> class_sealed_, task_sealed_;
  std::vector<uint32_t> class_pos_, task_pos_;
};

}  // namespace engram
