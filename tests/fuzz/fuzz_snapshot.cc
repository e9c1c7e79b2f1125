// libFuzzer target for the snapshot loader: the container (header, table, checksums, zstd
// frames) and the code buffer section it carries. Any input must give a value or an error,
// never a crash, a hang or a sanitizer report. Run with `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "modules/hippocampus/code_buffer.h"
#include "runtime/snapshot_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  engram::SnapshotLimits limits;
  limits.max_section_bytes = 64 << 20;
  engram::SnapshotInfo info;
  auto sections = engram::parse_snapshot(data, size, &info, limits);
  if (!sections.ok()) return 0;
  auto it = sections->find("code_buffer");
  if (it != sections->end()) {
    auto buffer = engram::CodeBuffer::deserialize(it->second.data(), it->second.size());
    if (buffer.ok() && buffer->size() > 0) {
      std::vector<uint32_t> code(static_cast<size_t>(buffer->config().c));
      int32_t label = 0, task = 0;
      (void)buffer->get(buffer->size() - 1, code.data(), &label, &task);
      // Recall through the rebuilt index: uniform, then per class and per task.
      std::mt19937_64 rng(size);
      std::vector<uint32_t> codes(4 * code.size());
      std::vector<int32_t> labels(4), tasks(4);
      engram::RecallDraw draw;
      draw.n = 4;
      for (int kind = 0; kind < 3; ++kind) {
        draw.sealed_only = kind != 0;
        draw.class_weights.assign(kind == 1 ? buffer->config().num_classes : 0, 1.0);
        draw.task_weights.assign(kind == 2 ? buffer->config().num_tasks : 0, 1.0);
        (void)buffer->sample_recall(draw, rng, codes.data(), labels.data(), tasks.data(), nullptr);
      }
    }
  }
  return 0;
}
