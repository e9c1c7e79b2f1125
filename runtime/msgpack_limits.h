// Caps on what one untrusted msgpack document may contain (see msgpack_read.h).
#pragma once

#include <cstddef>

namespace engram {

struct MsgpackLimits {
  size_t max_array = 256;      // elements of one array
  size_t max_map = 256;        // pairs of one map
  size_t max_str = 16 * 1024;  // bytes of one string
  size_t max_bin = 16 * 1024;  // bytes of one bin
  size_t max_ext = 64;         // bytes of one ext
  size_t max_depth = 8;        // nesting
};

}  // namespace engram
