// CodeBuffer::merge: the code buffers of a data-parallel run's ranks as one buffer.
#include <algorithm>
#include <string>

#include "modules/hippocampus/code_buffer.h"

namespace engram {

Expected<CodeBuffer> CodeBuffer::merge(const std::vector<CodeBuffer>& shares,
                                       const CodeBufferConfig& config) {
  if (shares.empty()) return Status(ErrorCode::invalid_argument, "merge: no code buffers");
  auto merged = CodeBuffer::create(config);
  if (!merged.ok()) return merged.status();
  CodeBuffer& out = *merged;
  size_t items = 0;
  for (size_t r = 0; r < shares.size(); ++r) {
    const CodeBufferConfig& c = shares[r].config();
    if (c.c != config.c || c.l != config.l || c.num_classes != config.num_classes ||
        c.num_tasks != config.num_tasks || c.selector != config.selector) {
      return Status(ErrorCode::invalid_argument,
                    "merge: the code buffer of rank " + std::to_string(r) +
                        " has another code shape, class or task count, or selector");
    }
    items += shares[r].size();
  }
  if (items > out.capacity()) {
    return Status(ErrorCode::invalid_argument,
                  "merge: the ranks hold " + std::to_string(items) +
                      " items, more than one buffer of " + std::to_string(config.budget_bytes) +
                      " bytes can (" + std::to_string(out.capacity()) + ")");
  }
  std::vector<uint32_t> code(static_cast<size_t>(config.c));
  // Sealed items first, then seal, then fresh ones: every item keeps its mark. The buffer is not
  // full until the last item, so every offer stores it and none draws from the RNG.
  for (const bool sealed : {true, false}) {
    for (const CodeBuffer& share : shares) {
      for (size_t i = 0; i < share.size(); ++i) {
        if (share.is_sealed(i) != sealed) continue;
        int32_t label = 0, task = 0;
        if (Status s = share.get(i, code.data(), &label, &task); !s.ok()) return s;
        out.offer(code.data(), label, task, nullptr);
      }
    }
    if (sealed) out.seal();
  }
  out.seen_ = 0;
  std::fill(out.seen_per_class_.begin(), out.seen_per_class_.end(), 0);
  std::fill(out.full_.begin(), out.full_.end(), 0);
  for (const CodeBuffer& share : shares) {
    out.seen_ += share.seen_;
    for (size_t k = 0; k < out.seen_per_class_.size(); ++k) {
      out.seen_per_class_[k] += share.seen_per_class_[k];
      out.full_[k] = static_cast<uint8_t>(out.full_[k] | share.full_[k]);
    }
  }
  out.rng_ = shares[0].rng_;
  return merged;
}

}  // namespace engram
