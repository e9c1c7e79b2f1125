#include "runtime/msgpack_read.h"

#include <limits>

namespace engram {

Status unpack_bounded(const void* data, size_t size, const MsgpackLimits& l, const char* what,
                      msgpack::object_handle* out) {
  if (size == 0 || data == nullptr)
    return Status(ErrorCode::malformed, std::string("empty ") + what);
  try {
    size_t offset = 0;
    *out = msgpack::unpack(static_cast<const char*>(data), size, offset, nullptr, nullptr,
                           msgpack::unpack_limit(l.max_array, l.max_map, l.max_str, l.max_bin,
                                                 l.max_ext, l.max_depth));
    if (offset != size) {
      return Status(ErrorCode::malformed, std::string("trailing bytes after the ") + what);
    }
  } catch (const msgpack::size_overflow& e) {
    return Status(ErrorCode::too_large, std::string(what) + " exceeds unpack limits: " + e.what());
  } catch (const msgpack::insufficient_bytes&) {
    return Status(ErrorCode::malformed, std::string("truncated ") + what);
  } catch (const std::exception& e) {
    return Status(ErrorCode::malformed, std::string(what) + " is not valid msgpack: " + e.what());
  }
  return Status();
}

bool get_str(const msgpack::object& o, std::string* out) {
  if (o.type != msgpack::type::STR) return false;
  out->assign(o.via.str.ptr, o.via.str.size);
  return true;
}

bool get_u64(const msgpack::object& o, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return false;
  *out = o.via.u64;
  return true;
}

bool get_i64(const msgpack::object& o, int64_t* out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *out = o.via.i64;
    return true;
  }
  if (o.type == msgpack::type::POSITIVE_INTEGER &&
      o.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    *out = static_cast<int64_t>(o.via.u64);
    return true;
  }
  return false;
}

bool get_real(const msgpack::object& o, double* out) {
  switch (o.type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: *out = o.via.f64; return true;
    case msgpack::type::POSITIVE_INTEGER: *out = static_cast<double>(o.via.u64); return true;
    case msgpack::type::NEGATIVE_INTEGER: *out = static_cast<double>(o.via.i64); return true;
    default: return false;
  }
}

}  // namespace engram
