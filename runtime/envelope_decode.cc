// Envelope decoding: the header frame (msgpack, untrusted) and whole multiparts.
#include <msgpack.hpp>

#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "runtime/envelope.h"
#include "runtime/msgpack_read.h"

namespace engram {
namespace {

Status bad(std::string what) { return Status(ErrorCode::malformed, std::move(what)); }

Status decode_payloads(const msgpack::object& o, const DecodeLimits& limits,
                       std::vector<PayloadDesc>* out) {
  if (o.type != msgpack::type::ARRAY) return bad("'payloads' is not an array");
  if (o.via.array.size > limits.max_payload_frames) {
    return Status(ErrorCode::too_large,
                  "'payloads' describes " + std::to_string(o.via.array.size) + " frames");
  }
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    const msgpack::object& entry = o.via.array.ptr[i];
    const std::string where = "payloads[" + std::to_string(i) + "]";
    if (entry.type != msgpack::type::ARRAY || entry.via.array.size != 2) {
      return bad(where + " is not [dtype, shape]");
    }
    const msgpack::object& dtype = entry.via.array.ptr[0];
    const msgpack::object& shape = entry.via.array.ptr[1];
    if (dtype.type != msgpack::type::STR) return bad(where + " dtype is not a string");
    std::optional<DType> parsed = parse_dtype(str_of(dtype));
    if (!parsed) return bad(where + " has unknown dtype '" + std::string(str_of(dtype)) + "'");
    if (shape.type != msgpack::type::ARRAY) return bad(where + " shape is not an array");
    PayloadDesc desc;
    desc.dtype = *parsed;
    desc.shape.reserve(shape.via.array.size);
    for (uint32_t k = 0; k < shape.via.array.size; ++k) {
      int64_t dim = 0;
      if (!get_i64(shape.via.array.ptr[k], &dim)) return bad(where + " has a non-integer dim");
      if (dim < 0) return bad(where + " has a negative dim");
      desc.shape.push_back(dim);
    }
    Expected<size_t> bytes = payload_byte_size(desc);
    if (!bytes.ok()) return bad(where + ": " + bytes.status().message());
    if (*bytes > limits.max_frame_bytes) {
      return Status(ErrorCode::too_large, where + " describes " + std::to_string(*bytes) +
                                              " bytes, over the frame limit");
    }
    out->push_back(std::move(desc));
  }
  return Status();
}

// Reads a str-keyed map whose values `get` converts; `what` names the field in errors.
template <typename T, typename Get>
Status decode_map(const msgpack::object& o, const char* what, Get get,
                  std::map<std::string, T>* out) {
  if (o.type != msgpack::type::MAP) return bad(std::string("'") + what + "' is not a map");
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const msgpack::object_kv& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR)
      return bad(std::string("'") + what + "' has a non-string key");
    T value{};
    if (!get(kv.val, &value)) {
      return bad(std::string("'") + what + "' value for '" + std::string(str_of(kv.key)) +
                 "' has the wrong type");
    }
    out->insert_or_assign(std::string(str_of(kv.key)), std::move(value));
  }
  return Status();
}

enum Field : unsigned { kV, kType, kSeq, kSrc, kTAcq, kTSend, kPayloads, kInts, kReals, kStrings };
constexpr std::string_view kFieldNames[] = {"v",      "type",     "seq",  "src",   "t_acq",
                                            "t_send", "payloads", "ints", "reals", "strings"};
constexpr unsigned kRequired =
    (1u << kV) | (1u << kType) | (1u << kSeq) | (1u << kSrc) | (1u << kTAcq) | (1u << kTSend);

Status decode_field(Field f, const msgpack::object& val, const DecodeLimits& limits, Header* h) {
  const std::string name(kFieldNames[f]);
  switch (f) {
    case kV: return Status();  // checked before any other field
    case kType:
      if (!get_str(val, &h->type)) return bad("'type' is not a string");
      if (h->type.empty()) return bad("'type' is empty");
      return Status();
    case kSeq: return get_u64(val, &h->seq) ? Status() : bad("'seq' is not an unsigned integer");
    case kSrc: return get_str(val, &h->source) ? Status() : bad("'src' is not a string");
    case kTAcq: return get_i64(val, &h->t_acq_ns) ? Status() : bad("'t_acq' is not an int64");
    case kTSend: return get_i64(val, &h->t_send_ns) ? Status() : bad("'t_send' is not an int64");
    case kPayloads: return decode_payloads(val, limits, &h->payloads);
    case kInts: return decode_map(val, "ints", get_i64, &h->ints);
    case kReals: return decode_map(val, "reals", get_real, &h->reals);
    case kStrings: return decode_map(val, "strings", get_str, &h->strings);
  }
  return bad("unknown field " + name);
}

}  // namespace

Expected<Header> decode_header(const void* data, size_t size, const DecodeLimits& limits) {
  if (size > limits.max_header_bytes) {
    return Status(ErrorCode::too_large,
                  "header of " + std::to_string(size) + " bytes exceeds the header limit");
  }
  if (size == 0 || data == nullptr) return bad("empty header frame");
  msgpack::object_handle handle;
  if (Status s = unpack_bounded(data, size, limits.msgpack, "header", &handle); !s.ok()) return s;
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) return bad("header is not a msgpack map");
  const msgpack::object_kv* fields[std::size(kFieldNames)] = {};
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return bad("header has a non-string key");
    for (unsigned f = 0; f < std::size(kFieldNames); ++f) {
      if (str_of(kv.key) != kFieldNames[f]) continue;
      if (fields[f] != nullptr) return bad("duplicate key '" + std::string(kFieldNames[f]) + "'");
      fields[f] = &kv;
    }
  }
  // The version decides how to read everything else, so it is checked first.
  if (fields[kV] == nullptr) return bad("missing key 'v'");
  uint64_t version = 0;
  if (!get_u64(fields[kV]->val, &version)) return bad("'v' is not an unsigned integer");
  if (version != kSchemaVersion) {
    return Status(ErrorCode::unsupported_version, "schema version " + std::to_string(version) +
                                                      ", this reader knows " +
                                                      std::to_string(kSchemaVersion));
  }
  Header h;
  h.version = kSchemaVersion;
  for (unsigned f = 0; f < std::size(kFieldNames); ++f) {
    if (fields[f] == nullptr) {
      if ((kRequired >> f) & 1u) return bad("missing key '" + std::string(kFieldNames[f]) + "'");
      continue;
    }
    Status st = decode_field(static_cast<Field>(f), fields[f]->val, limits, &h);
    if (!st.ok()) return st;
  }
  return h;
}

Expected<Message> decode_message(std::vector<zmq::message_t>&& frames, const DecodeLimits& limits) {
  std::vector<zmq::message_t> owned = std::move(frames);
  if (owned.size() < 2) {
    return Status(ErrorCode::malformed, "expected [type][header][payloads...], got " +
                                            std::to_string(owned.size()) + " frame(s)");
  }
  const size_t n_payloads = owned.size() - 2;
  if (n_payloads > limits.max_payload_frames) {
    return Status(ErrorCode::too_large, std::to_string(n_payloads) + " payload frames");
  }
  size_t total = 0;
  for (const auto& f : owned) {
    if (f.size() > limits.max_frame_bytes) {
      return Status(ErrorCode::too_large,
                    "frame of " + std::to_string(f.size()) + " bytes exceeds the frame limit");
    }
    total += f.size();
  }
  if (total > limits.max_total_bytes) {
    return Status(ErrorCode::too_large, "message exceeds the total size limit");
  }
  const zmq::message_t& type_frame = owned[0];
  if (type_frame.size() == 0) return Status(ErrorCode::malformed, "empty type frame");
  if (type_frame.size() > limits.max_type_bytes) {
    return Status(ErrorCode::too_large, "type frame of " + std::to_string(type_frame.size()) +
                                            " bytes exceeds the type limit");
  }
  Expected<Header> header = decode_header(owned[1].data(), owned[1].size(), limits);
  if (!header.ok()) return header.status();
  if (header->type != type_frame.to_string_view()) {
    return Status(ErrorCode::malformed,
                  "type frame does not match header type '" + header->type + "'");
  }
  if (header->payloads.size() != n_payloads) {
    return Status(ErrorCode::malformed,
                  "header describes " + std::to_string(header->payloads.size()) +
                      " payload(s), message has " + std::to_string(n_payloads) + " frame(s)");
  }
  Message msg;
  msg.payloads.reserve(n_payloads);
  for (size_t i = 0; i < n_payloads; ++i) {
    // decode_header already checked that every description has a representable size.
    const size_t expected = payload_byte_size(header->payloads[i]).value();
    if (expected != owned[2 + i].size()) {
      return Status(ErrorCode::malformed, "payload " + std::to_string(i) + " has " +
                                              std::to_string(owned[2 + i].size()) +
                                              " bytes, header says " + std::to_string(expected));
    }
    msg.payloads.push_back(std::move(owned[2 + i]));
  }
  msg.header = std::move(header.value());
  return msg;
}

}  // namespace engram
