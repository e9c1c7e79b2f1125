#include "io/sensors/sensor_frame.h"

#include <msgpack.hpp>

#include <cstring>

#include "runtime/msgpack_read.h"
#include "runtime/unit_interval.h"

namespace engram {
namespace {

Status bad(const std::string& what) {
  return Status(ErrorCode::malformed, "sensor frame: " + what);
}

size_t element_size(SensorEncoding e) { return e == SensorEncoding::u8 ? 1 : 4; }

}  // namespace

int64_t SensorFrame::values() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void SensorFrame::to_floats(float* out) const {
  const int64_t n = values();
  if (encoding == SensorEncoding::u8) {
    const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]) / 255.0f;
  } else {
    std::memcpy(out, payload.data(), static_cast<size_t>(n) * sizeof(float));
  }
}

namespace {

Expected<SensorFrame> decode_frame(std::vector<zmq::message_t>& parts, const SensorLimits& limits,
                                   SensorFault* fault, SensorFrame* refused) {
  if (parts.size() != 3) {
    return bad("expected 3 frames [topic][header][payload], got " + std::to_string(parts.size()));
  }
  SensorFrame f;
  if (parts[0].size() > 256) return bad("topic longer than 256 bytes");
  f.topic = parts[0].to_string();
  if (parts[1].size() > limits.max_header_bytes) {
    return Status(ErrorCode::too_large,
                  "sensor frame: header of " + std::to_string(parts[1].size()) + " bytes");
  }
  if (parts[2].size() > limits.max_payload_bytes) {
    return Status(ErrorCode::too_large,
                  "sensor frame: payload of " + std::to_string(parts[2].size()) + " bytes");
  }
  MsgpackLimits unpack;
  unpack.max_map = 64;
  unpack.max_array = 16;
  unpack.max_str = 1024;
  unpack.max_depth = 3;
  msgpack::object_handle handle;
  if (Status s = unpack_bounded(parts[1].data(), parts[1].size(), unpack, "sensor header", &handle);
      !s.ok()) {
    return s;
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) return bad("header is not a msgpack map");
  const msgpack::object *v = nullptr, *src = nullptr, *seq = nullptr, *t_acq = nullptr,
                        *enc = nullptr, *shape = nullptr, *label = nullptr, *task = nullptr;
  const std::pair<const char*, const msgpack::object**> known[] = {
      {"v", &v},     {"src", &src},     {"seq", &seq},     {"t_acq", &t_acq},
      {"enc", &enc}, {"shape", &shape}, {"label", &label}, {"task", &task}};
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return bad("header has a non-string key");
    for (const auto& [name, slot] : known) {
      if (str_of(kv.key) != name) continue;
      if (*slot != nullptr) return bad(std::string("duplicate key '") + name + "'");
      *slot = &kv.val;
    }
  }
  uint64_t version = 0;
  if (v == nullptr || !get_u64(*v, &version))
    return bad("'v' (schema version) missing or not uint");
  if (version != kSensorSchemaVersion) {
    return Status(ErrorCode::unsupported_version,
                  "sensor frame: schema version " + std::to_string(version) +
                      ", this engram reads " + std::to_string(kSensorSchemaVersion));
  }
  if (src == nullptr || !get_str(*src, &f.source)) return bad("'src' missing or not a string");
  if (f.source.empty() || f.source.size() > 256) return bad("'src' must be 1..256 bytes");
  if (seq == nullptr || !get_u64(*seq, &f.seq)) return bad("'seq' missing or not uint");
  if (t_acq == nullptr || !get_i64(*t_acq, &f.t_acq_ns)) return bad("'t_acq' missing or not int");
  std::string encoding;
  if (enc == nullptr || !get_str(*enc, &encoding)) return bad("'enc' missing or not a string");
  if (encoding == "u8") {
    f.encoding = SensorEncoding::u8;
  } else if (encoding == "f32") {
    f.encoding = SensorEncoding::f32;
  } else {
    return bad("'enc' must be \"u8\" or \"f32\", not \"" + encoding + "\"");
  }
  if (shape == nullptr || shape->type != msgpack::type::ARRAY)
    return bad("'shape' missing or not an array");
  if (shape->via.array.size < 1 || shape->via.array.size > 4)
    return bad("'shape' must have 1 to 4 dims");
  int64_t count = 1;
  for (uint32_t i = 0; i < shape->via.array.size; ++i) {
    uint64_t d = 0;
    if (!get_u64(shape->via.array.ptr[i], &d) || d == 0 || d > (uint64_t{1} << 24)) {
      return bad("'shape' dims must be integers in [1, 2^24]");
    }
    f.shape.push_back(static_cast<int64_t>(d));
    count *= static_cast<int64_t>(d);
    if (count > (int64_t{1} << 32)) return bad("'shape' is too large");
  }
  if (parts[2].size() != static_cast<size_t>(count) * element_size(f.encoding)) {
    return bad("payload of " + std::to_string(parts[2].size()) +
               " bytes does not match shape and '" + encoding + "' (" +
               std::to_string(count * static_cast<int64_t>(element_size(f.encoding))) + " bytes)");
  }
  if (limits.expected_values > 0 && count != limits.expected_values) {
    return bad("shape holds " + std::to_string(count) + " values, this stream takes " +
               std::to_string(limits.expected_values));
  }
  for (const auto& [obj, out, name] :
       {std::tuple{label, &f.label, "label"}, std::tuple{task, &f.task, "task"}}) {
    if (obj == nullptr || obj->type == msgpack::type::NIL) continue;
    int64_t value = 0;
    if (!get_i64(*obj, &value) || value < 0)
      return bad(std::string("'") + name + "' must be an int >= 0");
    *out = value;
  }
  if (f.label && limits.num_classes > 0 && *f.label >= limits.num_classes) {
    return bad("'label' " + std::to_string(*f.label) + " outside [0, " +
               std::to_string(limits.num_classes) + ")");
  }
  if (f.encoding == SensorEncoding::f32) {
    const UnitIntervalCheck check =
        check_unit_interval(parts[2].data(), static_cast<size_t>(count));
    if (!check.ok()) {
      *fault = check.fault == ValueFault::non_finite ? SensorFault::non_finite
                                                     : SensorFault::out_of_range;
      *refused = std::move(f);
      return Status(ErrorCode::invalid_argument, "sensor frame: f32 " + check.describe());
    }
  }
  f.payload.assign(static_cast<const char*>(parts[2].data()), parts[2].size());
  return f;
}

}  // namespace

Expected<SensorFrame> decode_sensor_frame(std::vector<zmq::message_t>& parts,
                                          const SensorLimits& limits, SensorFault* fault,
                                          SensorFrame* refused) {
  SensorFault cause = SensorFault::malformed;
  SensorFrame refused_frame;
  Expected<SensorFrame> frame = decode_frame(parts, limits, &cause, &refused_frame);
  if (fault != nullptr) *fault = frame.ok() ? SensorFault::none : cause;
  if (refused != nullptr && !frame.ok() && cause != SensorFault::malformed) {
    *refused = std::move(refused_frame);
  }
  return frame;
}

std::vector<zmq::message_t> encode_sensor_frame(const SensorFrame& f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(6 + (f.label ? 1 : 0) + (f.task ? 1 : 0));
  pk.pack(std::string("v"));
  pk.pack(kSensorSchemaVersion);
  pk.pack(std::string("src"));
  pk.pack(f.source);
  pk.pack(std::string("seq"));
  pk.pack(f.seq);
  pk.pack(std::string("t_acq"));
  pk.pack(f.t_acq_ns);
  pk.pack(std::string("enc"));
  pk.pack(std::string(f.encoding == SensorEncoding::u8 ? "u8" : "f32"));
  pk.pack(std::string("shape"));
  pk.pack(f.shape);
  if (f.label) {
    pk.pack(std::string("label"));
    pk.pack(*f.label);
  }
  if (f.task) {
    pk.pack(std::string("task"));
    pk.pack(*f.task);
  }
  std::vector<zmq::message_t> parts;
  parts.emplace_back(f.topic.data(), f.topic.size());
  parts.emplace_back(buf.data(), buf.size());
  parts.emplace_back(f.payload.data(), f.payload.size());
  return parts;
}

uint64_t SequenceTracker::observe(const std::string& source, uint64_t seq) {
  for (auto& [name, last] : last_) {
    if (name != source) continue;
    if (seq <= last) {
      ++reordered_;
      return 0;
    }
    const uint64_t missing = seq - last - 1;
    gaps_ += missing;
    last = seq;
    return missing;
  }
  last_.emplace_back(source, seq);
  return 0;
}

}  // namespace engram
