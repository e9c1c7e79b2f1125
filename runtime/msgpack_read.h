// Reading untrusted msgpack: bounded unpacking and typed field accessors, shared by the envelope
// and sensor-frame decoders.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/msgpack_limits.h"
#include "runtime/status.h"

namespace engram {

// Unpacks exactly one msgpack object filling all `size` bytes. Errors: malformed (truncated,
// invalid, trailing bytes; `what` names the document), too_large (a limit was exceeded).
Status unpack_bounded(const void* data, size_t size, const MsgpackLimits& limits, const char* what,
                      msgpack::object_handle* out);

inline std::string_view str_of(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

// Typed reads: true and *out set when `o` has the type; false otherwise (out untouched).
bool get_str(const msgpack::object& o, std::string* out);
bool get_u64(const msgpack::object& o, uint64_t* out);
bool get_i64(const msgpack::object& o, int64_t* out);  // any integer that fits int64
bool get_real(const msgpack::object& o, double* out);  // floats and integers

}  // namespace engram
