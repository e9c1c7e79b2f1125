#include "runtime/snapshot_file.h"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <memory>

#include "runtime/atomic_file.h"
#include "runtime/version.h"

namespace engram {
namespace {

constexpr char kMagic[8] = {'E', 'N', 'G', 'R', 'A', 'M', 'S', 'N'};
constexpr size_t kVersionField = 16;
constexpr size_t kNameField = kSnapshotMaxNameLength + 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + kVersionField;
constexpr size_t kEntryBytes = kNameField + 8 + 8 + 8 + 4 + 4;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_fixed(std::string& out, const std::string& s, size_t width) {
  std::string field = s.substr(0, width);
  field.resize(width, '\0');
  out += field;
}

// Bounds-checked little-endian reads over the file bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool u32(uint32_t* v) {
    if (size_ - pos_ < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t{data_[pos_ + i]} << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t* v) {
    if (size_ - pos_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t{data_[pos_ + i]} << (8 * i);
    pos_ += 8;
    return true;
  }
  // A NUL-padded text field; false if it has no terminating NUL within `width` when required.
  bool fixed(size_t width, std::string* s) {
    if (size_ - pos_ < width) return false;
    const char* p = reinterpret_cast<const char*>(data_ + pos_);
    *s = std::string(p, strnlen(p, width));
    pos_ += width;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

uint32_t crc32_of(const void* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

Status malformed(const std::string& what) {
  return Status(ErrorCode::malformed, "snapshot: " + what);
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > kSnapshotMaxNameLength) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

Expected<std::string> compress_section(const std::string& name, const std::vector<uint8_t>& raw,
                                       int level) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return Status(ErrorCode::internal, "snapshot: cannot create a zstd context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) {
    return Status(ErrorCode::internal, fmt::format("snapshot: compressing section '{}': {}", name,
                                                   ZSTD_getErrorName(n)));
  }
  out.resize(n);
  return out;
}

// Parses header and table; checks the table checksum and that every section lies inside the
// file, after the table, in order and without overlap.
Status parse_table(const uint8_t* data, size_t size, SnapshotInfo* info) {
  Reader r(data, size);
  if (size < kHeaderBytes || std::memcmp(data, kMagic, sizeof kMagic) != 0) {
    return malformed("not an engram snapshot (bad magic)");
  }
  std::string skip;
  r.fixed(sizeof kMagic, &skip);
  uint32_t count = 0;
  r.u32(&info->format_version);
  r.u32(&count);
  r.u64(&info->created_ns);
  r.fixed(kVersionField, &info->engram_version);
  if (info->format_version > kSnapshotFormatVersion || info->format_version == 0) {
    return Status(ErrorCode::unsupported_version,
                  fmt::format("snapshot: format version {} (written by engram {}); this engram {} "
                              "reads version {}",
                              info->format_version, info->engram_version, ENGRAM_VERSION,
                              kSnapshotFormatVersion));
  }
  if (count > kSnapshotMaxSections) {
    return malformed(fmt::format("{} sections (at most {})", count, kSnapshotMaxSections));
  }
  const size_t table_end = kHeaderBytes + size_t{count} * kEntryBytes;
  if (size < table_end + 4) return malformed("file ends inside the section table (truncated)");
  uint64_t next = table_end + 4;
  info->sections.clear();
  for (uint32_t i = 0; i < count; ++i) {
    SnapshotSectionInfo s;
    uint32_t reserved = 0;
    r.fixed(kNameField, &s.name);
    r.u64(&s.offset);
    r.u64(&s.stored_size);
    r.u64(&s.raw_size);
    r.u32(&s.crc32);
    r.u32(&reserved);
    info->sections.push_back(std::move(s));
  }
  uint32_t table_crc = 0;
  r.u32(&table_crc);
  if (crc32_of(data, table_end) != table_crc) {
    return malformed("header or section table checksum mismatch (corrupt header)");
  }
  for (const auto& s : info->sections) {
    if (!valid_name(s.name)) return malformed(fmt::format("invalid section name '{}'", s.name));
    if (s.offset != next || s.stored_size > size || s.offset > size - s.stored_size) {
      return malformed(
          fmt::format("section '{}' lies outside the file (truncated at {} bytes)", s.name, size));
    }
    next = s.offset + s.stored_size;
  }
  if (next != size) {
    return malformed(fmt::format("{} unexpected bytes after the last section", size - next));
  }
  info->file_size = size;
  return Status();
}

}  // namespace

Status write_snapshot(const std::string& path, const SnapshotSections& sections, int level) {
  if (sections.size() > kSnapshotMaxSections) {
    return Status(ErrorCode::invalid_argument, fmt::format("snapshot: {} sections (at most {})",
                                                           sections.size(), kSnapshotMaxSections));
  }
  if (level < 1 || level > ZSTD_maxCLevel()) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("snapshot: zstd level {} outside 1..{}", level, ZSTD_maxCLevel()));
  }
  std::vector<std::string> frames;
  for (const auto& [name, raw] : sections) {
    if (!valid_name(name)) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("snapshot: section name '{}' must be 1..{} characters of "
                                "[A-Za-z0-9_.-]",
                                name, kSnapshotMaxNameLength));
    }
    auto frame = compress_section(name, raw, level);
    if (!frame) return frame.status();
    frames.push_back(std::move(frame.value()));
  }
  const uint64_t created =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, kSnapshotFormatVersion);
  put_u32(out, static_cast<uint32_t>(sections.size()));
  put_u64(out, created);
  put_fixed(out, ENGRAM_VERSION, kVersionField - 1);
  out.push_back('\0');
  uint64_t offset = kHeaderBytes + sections.size() * kEntryBytes + 4;
  size_t i = 0;
  for (const auto& [name, raw] : sections) {
    put_fixed(out, name, kNameField);
    put_u64(out, offset);
    put_u64(out, frames[i].size());
    put_u64(out, raw.size());
    put_u32(out, crc32_of(frames[i].data(), frames[i].size()));
    put_u32(out, 0);
    offset += frames[i].size();
    ++i;
  }
  put_u32(out, crc32_of(out.data(), out.size()));
  for (const auto& f : frames) out += f;
  return write_file_atomically(path, out.data(), out.size());
}

Expected<SnapshotSections> parse_snapshot(const uint8_t* data, size_t size, SnapshotInfo* info,
                                          const SnapshotLimits& limits) {
  SnapshotInfo local;
  SnapshotInfo& meta = info ? *info : local;
  if (Status st = parse_table(data, size, &meta); !st.ok()) return st;
  SnapshotSections out;
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Status(ErrorCode::internal, "snapshot: cannot create a zstd context");
  for (const auto& s : meta.sections) {
    const uint8_t* frame = data + s.offset;
    if (crc32_of(frame, s.stored_size) != s.crc32) {
      return malformed(fmt::format("section '{}' is corrupt (checksum mismatch)", s.name));
    }
    if (s.raw_size > limits.max_section_bytes) {
      return Status(ErrorCode::too_large,
                    fmt::format("snapshot: section '{}' holds {} bytes, above the limit of {}",
                                s.name, s.raw_size, limits.max_section_bytes));
    }
    const unsigned long long declared = ZSTD_getFrameContentSize(frame, s.stored_size);
    if (declared != s.raw_size) {
      return malformed(
          fmt::format("section '{}': zstd frame size does not match the table", s.name));
    }
    std::vector<uint8_t> raw(s.raw_size);
    const size_t n = ZSTD_decompressDCtx(dctx.get(), raw.data(), raw.size(), frame, s.stored_size);
    if (ZSTD_isError(n) || n != s.raw_size) {
      return malformed(fmt::format("section '{}': {}", s.name,
                                   ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
    }
    if (!out.emplace(s.name, std::move(raw)).second) {
      return malformed(fmt::format("section '{}' appears twice", s.name));
    }
  }
  return out;
}

Expected<SnapshotInfo> read_snapshot_info(const std::string& path) {
  std::string bytes;
  if (Status st = read_file(path, &bytes); !st.ok()) return st;
  SnapshotInfo info;
  Status st = parse_table(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &info);
  if (!st.ok()) return Status(st.code(), path + ": " + st.message());
  return info;
}

Expected<SnapshotSections> read_snapshot(const std::string& path, SnapshotInfo* info,
                                         const SnapshotLimits& limits) {
  std::string bytes;
  if (Status st = read_file(path, &bytes); !st.ok()) return st;
  auto sections =
      parse_snapshot(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), info, limits);
  if (!sections) return Status(sections.status().code(), path + ": " + sections.status().message());
  return sections;
}

}  // namespace engram
