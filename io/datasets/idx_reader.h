// Reader for IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
//
// IDX: a big-endian u32 magic 0x000008NN (0x08 = unsigned byte data, NN = number of
// dimensions), then one big-endian u32 per dimension, then the raw bytes in row-major order.
// engram reads two kinds: images (3 dimensions: count, rows, cols) and labels (1 dimension).
// Every error message starts with the file's path, e.g.
//   ".../train-images-idx3-ubyte.gz: truncated: expected 47040000 pixel bytes, got 1234".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// Upper bounds on what a header may declare. They protect against absurd or hostile
// headers; real datasets are far below them. Memory grows only as data actually arrives,
// so a lying header cannot make the reader allocate more than the file really holds.
struct IdxLimits {
  int64_t max_count = int64_t{1} << 26;  // items in one file
  int64_t max_side = 1 << 14;            // rows or cols of one image
  int64_t max_bytes = int64_t{1} << 32;  // payload bytes in one file
};

// A stack of count images of rows x cols unsigned bytes, row-major, image after image.
struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols bytes
};

// Reads an IDX image file (magic 0x00000803). The file may be gzip-compressed or raw (zlib
// reads both transparently). The payload must be exactly count*rows*cols bytes: a short
// file, trailing bytes and a corrupt gzip stream are errors (malformed); a file that cannot
// be opened is not_found or io_error. Thread-safe (no shared state).
Expected<IdxImages> read_idx_images(const std::string& path, const IdxLimits& limits = {});

// Reads an IDX label file (magic 0x00000801): one unsigned byte per item. Same rules and
// errors as read_idx_images. Thread-safe.
Expected<std::vector<uint8_t>> read_idx_labels(const std::string& path,
                                               const IdxLimits& limits = {});

}  // namespace engram
