#include "io/datasets/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace engram {
namespace {

constexpr unsigned kChunk = 1u << 20;
constexpr int64_t kInitialReserve = int64_t{1} << 26;

// Owns a zlib file handle opened for reading.
class GzReader {
 public:
  explicit GzReader(gzFile f) : f_(f) {}
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() {
    if (f_ != nullptr) gzclose_r(f_);
  }
  gzFile get() const { return f_; }

  // Reads up to n bytes; returns how many arrived (fewer only at end of data or on error),
  // or -1 when zlib reports a hard error before anything was read.
  int64_t read(uint8_t* dst, int64_t n) {
    int64_t got = 0;
    while (got < n) {
      const unsigned want = static_cast<unsigned>(std::min<int64_t>(n - got, kChunk));
      const int r = gzread(f_, dst + got, want);
      if (r < 0) return got > 0 ? got : -1;
      if (r == 0) break;
      got += r;
    }
    return got;
  }

  // The zlib error state: Z_OK, Z_BUF_ERROR (the compressed stream ended early), Z_DATA_ERROR
  // (corrupt data or checksum), Z_ERRNO (the OS refused a read), ...
  int error(const std::string& path, std::string* message) const {
    int code = Z_OK;
    const char* text = gzerror(f_, &code);
    if (code == Z_ERRNO) {
      *message = std::strerror(errno);
    } else {
      *message = text != nullptr ? text : "";
      // zlib prefixes its messages with the path; callers add it themselves.
      if (message->compare(0, path.size() + 2, path + ": ") == 0)
        message->erase(0, path.size() + 2);
    }
    return code;
  }

 private:
  gzFile f_;
};

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Status fail(ErrorCode code, const std::string& path, const std::string& what) {
  return Status(code, path + ": " + what);
}

// Turns a short read into the most precise error: a corrupt gzip stream, an OS error, or a
// plain truncation (with the compressed stream ending early when zlib says so).
// `expected` names what was wanted, e.g. "47040000 pixel bytes".
Status short_read(const std::string& path, GzReader& gz, const std::string& expected, int64_t got) {
  std::string msg;
  const int code = gz.error(path, &msg);
  if (code == Z_ERRNO) return fail(ErrorCode::io_error, path, "read failed: " + msg);
  if (code != Z_OK && code != Z_BUF_ERROR) {
    // zlib decompresses ahead, so how far the good data went is not known here.
    return fail(ErrorCode::malformed, path, "corrupt gzip stream: " + msg);
  }
  std::string what =
      "truncated: expected " + expected + ", got " + std::to_string(std::max<int64_t>(got, 0));
  if (code == Z_BUF_ERROR) what += " (the gzip stream ends early)";
  return fail(ErrorCode::malformed, path, what);
}

struct RawIdx {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads and validates one IDX file with `ndims` dimensions named by `dim_names`.
Expected<RawIdx> read_idx(const std::string& path, int ndims, const char* const* dim_names,
                          const char* unit, const IdxLimits& limits) {
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    if (err == ENOENT) return fail(ErrorCode::not_found, path, "no such file");
    return fail(ErrorCode::io_error, path,
                std::string("cannot open: ") + (err != 0 ? std::strerror(err) : "out of memory"));
  }
  GzReader gz(f);
  gzbuffer(f, 1u << 17);

  const int64_t header_size = 4 + 4 * int64_t{ndims};
  uint8_t header[16];
  const int64_t got_magic = gz.read(header, 4);
  if (got_magic != 4) {
    return short_read(path, gz, std::to_string(header_size) + " header bytes", got_magic);
  }
  const uint32_t magic = be32(header);
  if (header[0] != 0 || header[1] != 0) {
    return fail(ErrorCode::malformed, path,
                "bad magic " + hex32(magic) + ": not an IDX file (expected " +
                    hex32(0x800u | static_cast<uint32_t>(ndims)) + ")");
  }
  if (header[2] != 0x08) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "data type 0x%02X is not unsigned byte (0x08)", header[2]);
    return fail(ErrorCode::malformed, path, "bad magic " + hex32(magic) + ": " + buf);
  }
  if (header[3] != ndims) {
    return fail(ErrorCode::malformed, path,
                "bad magic " + hex32(magic) + ": " + std::to_string(header[3]) +
                    " dimensions, expected " + std::to_string(ndims) + " (magic " +
                    hex32(0x800u | static_cast<uint32_t>(ndims)) + ")");
  }
  const int64_t got_dims = gz.read(header + 4, 4 * int64_t{ndims});
  if (got_dims != 4 * int64_t{ndims}) {
    return short_read(path, gz, std::to_string(header_size) + " header bytes",
                      4 + std::max<int64_t>(got_dims, 0));
  }

  RawIdx out;
  int64_t total = 1;
  for (int i = 0; i < ndims; ++i) {
    const int64_t d = be32(header + 4 + 4 * i);
    const int64_t max = i == 0 ? limits.max_count : limits.max_side;
    if (d == 0) return fail(ErrorCode::malformed, path, std::string(dim_names[i]) + " is 0");
    if (d > max) {
      return fail(ErrorCode::too_large, path,
                  std::string(dim_names[i]) + " " + std::to_string(d) + " exceeds the limit " +
                      std::to_string(max));
    }
    out.dims.push_back(d);
    total *= d;  // cannot overflow: at most 3 factors below 2^32 and checked each step
    if (total > limits.max_bytes) {
      return fail(
          ErrorCode::too_large, path,
          "declared payload exceeds the limit of " + std::to_string(limits.max_bytes) + " bytes");
    }
  }

  // Grow with the data actually read, not with what the header claims.
  out.data.reserve(static_cast<size_t>(std::min(total, kInitialReserve)));
  int64_t got = 0;
  while (got < total) {
    const int64_t want = std::min<int64_t>(total - got, kChunk);
    out.data.resize(static_cast<size_t>(got + want));
    const int64_t r = gz.read(out.data.data() + got, want);
    if (r > 0) got += r;
    if (r != want) break;
  }
  if (got < total) {
    return short_read(path, gz, std::to_string(total) + " " + unit + " bytes", got);
  }

  // Reading one byte more both detects trailing bytes and makes zlib verify the gzip trailer
  // (CRC-32 and length), which it only does once it reaches the end of the stream.
  uint8_t probe[4096];
  const int64_t extra = gz.read(probe, sizeof probe);
  std::string msg;
  const int code = gz.error(path, &msg);
  if (extra > 0) {
    int64_t more = extra;
    while (more < (int64_t{1} << 20)) {
      const int64_t r = gz.read(probe, sizeof probe);
      if (r <= 0) break;
      more += r;
    }
    return fail(ErrorCode::malformed, path,
                std::string(more >= (int64_t{1} << 20) ? "at least " : "") + std::to_string(more) +
                    " trailing bytes after the " + std::to_string(total) + " " + unit + " bytes");
  }
  if (code == Z_BUF_ERROR) {
    return fail(ErrorCode::malformed, path,
                "truncated: the gzip stream ends before its trailer (all " + std::to_string(total) +
                    " " + unit + " bytes were read)");
  }
  if (code == Z_ERRNO) return fail(ErrorCode::io_error, path, "read failed: " + msg);
  if (code != Z_OK) return fail(ErrorCode::malformed, path, "corrupt gzip stream: " + msg);
  return out;
}

}  // namespace

Expected<IdxImages> read_idx_images(const std::string& path, const IdxLimits& limits) {
  static const char* const kNames[] = {"image count", "rows", "cols"};
  auto raw = read_idx(path, 3, kNames, "pixel", limits);
  if (!raw) return raw.status();
  IdxImages img;
  img.count = raw->dims[0];
  img.rows = raw->dims[1];
  img.cols = raw->dims[2];
  img.pixels = std::move(raw->data);
  return img;
}

Expected<std::vector<uint8_t>> read_idx_labels(const std::string& path, const IdxLimits& limits) {
  static const char* const kNames[] = {"label count"};
  auto raw = read_idx(path, 1, kNames, "label", limits);
  if (!raw) return raw.status();
  return std::move(raw->data);
}

}  // namespace engram
