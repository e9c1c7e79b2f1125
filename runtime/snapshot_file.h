// The snapshot container: one file holding named sections, each a zstd frame with a content
// checksum, behind a fixed header and a section table (DESIGN.md section 7). No torch here:
// modules contribute their sections as bytes.
//
// Layout (all integers little-endian):
//   header    magic "ENGRAMSN" (8) | format version u32 | section count u32 |
//             created-at u64 (ns since the Unix epoch) | engram version (16 bytes, NUL-padded)
//   table     per section: name (32 bytes, NUL-padded) | offset u64 | stored size u64 |
//             raw size u64 | crc32 of the stored bytes u32 | reserved u32
//   table crc crc32 of header and table, u32
//   sections  the zstd frames at their offsets, in table order, back to back
//
// Every section is verified twice: the crc32 of its stored bytes (names the damaged section
// without decompressing) and zstd's own content checksum after decompression.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr size_t kSnapshotMaxSections = 256;
inline constexpr size_t kSnapshotMaxNameLength = 31;

struct SnapshotSectionInfo {
  std::string name;
  uint64_t offset = 0;       // of the zstd frame in the file
  uint64_t stored_size = 0;  // compressed bytes
  uint64_t raw_size = 0;     // decompressed bytes
  uint32_t crc32 = 0;        // of the stored bytes
};

struct SnapshotInfo {
  uint32_t format_version = 0;
  std::string engram_version;
  uint64_t created_ns = 0;
  uint64_t file_size = 0;
  std::vector<SnapshotSectionInfo> sections;
};

// Named sections, decompressed and verified.
using SnapshotSections = std::map<std::string, std::vector<uint8_t>>;

struct SnapshotLimits {
  uint64_t max_section_bytes = uint64_t{16} << 30;  // per decompressed section
};

// Writes `sections` to `path` atomically: a temporary file beside it, fsync, rename over
// `path`, fsync of the directory. A crash at any moment leaves the old file or the new one under
// `path`, never a partial one. level: zstd level (1..19). Errors: invalid_argument (bad name,
// too many sections), io_error (naming the failing call). The temporary file is removed on error.
Status write_snapshot(const std::string& path, const SnapshotSections& sections, int level = 3);

// Reads and checks the header and section table only (magic, version, table checksum, offsets
// within the file); reads no section data. For `engram inspect`.
Expected<SnapshotInfo> read_snapshot_info(const std::string& path);

// Reads the whole file and verifies everything (header, table, each section's crc32, zstd frame
// and content checksum, raw size) before returning any section. Errors name the section.
Expected<SnapshotSections> read_snapshot(const std::string& path, SnapshotInfo* info = nullptr,
                                         const SnapshotLimits& limits = {});

// The same checks on bytes already in memory (used by the fuzzer and by read_snapshot).
Expected<SnapshotSections> parse_snapshot(const uint8_t* data, size_t size, SnapshotInfo* info,
                                          const SnapshotLimits& limits = {});

}  // namespace engram
