// Writes valid snapshots into a directory: the seed corpus of fuzz_snapshot.
// Usage: snapshot_seeds DIR
#include <cstdio>
#include <string>

#include "modules/hippocampus/code_buffer.h"
#include "runtime/snapshot_file.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  engram::CodeBufferConfig config;
  config.c = 12;
  config.l = 4;
  config.num_classes = 10;
  config.num_tasks = 5;
  config.budget_bytes = 64;
  config.selector = engram::Selector::class_balanced;
  auto buffer = engram::CodeBuffer::create(config);
  if (!buffer.ok()) return 1;
  // Sealed and fresh items (format v2 carries the phase mark and the recall order);
  // with_buffer_v1.snap is the same buffer as written before phases existed (format v1).
  for (uint32_t i = 0; i < 40; ++i) {
    std::vector<uint32_t> code(12, i % 4);
    (void)buffer->insert(code.data(), static_cast<int>(i % 10), static_cast<int>(i % 5));
    if (i == 29) buffer->seal();
  }
  const auto bytes = buffer->serialize();
  engram::SnapshotSections with_buffer{{"code_buffer", bytes}, {"config", {'{', '}'}}};
  engram::SnapshotSections several{{"a", {1, 2, 3}}, {"b", {}}, {"script", {'[', ']'}}};
  int failures = 0;
  failures += !engram::write_snapshot(dir + "/with_buffer.snap", with_buffer).ok();
  failures += !engram::write_snapshot(dir + "/several.snap", several).ok();
  failures += !engram::write_snapshot(dir + "/empty.snap", {}).ok();
  return failures == 0 ? 0 : 1;
}
