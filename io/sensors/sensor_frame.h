// The sensor wire schema: what any publisher (Python, ROS node, C) sends engram, without engram
// code. One observation per ZeroMQ multipart message:
//
//   [topic][header][payload]
//
//   topic    UTF-8 text chosen by the publisher (e.g. "camera/left"), at most 256 bytes
//   header   a msgpack map:
//              v      uint   schema version, 1
//              src    str    source id, 1..256 bytes (sequence numbers are per source)
//              seq    uint   per-source sequence number, +1 per frame (gaps are counted)
//              t_acq  int    acquisition time, ns since the Unix epoch (as ROS stamps)
//              enc    str    "u8" (pixels 0..255, scaled to [0,1]) or "f32" (little-endian,
//                            every value finite and in [0, 1]: NaN, Inf and values outside
//                            are refused, counted by cause)
//              shape  [uint] 1 to 4 positive dims, e.g. [28, 28]
//              label  int    optional: the class, for supervised learning
//              task   int    optional: the task id
//   payload  the values, row-major: product(shape) * (1 or 4) bytes
//
// Unknown keys are ignored (publishers may add their own); everything listed is validated.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

inline constexpr uint32_t kSensorSchemaVersion = 1;

enum class SensorEncoding { u8, f32 };

struct SensorFrame {
  std::string topic;
  std::string source;
  uint64_t seq = 0;
  int64_t t_acq_ns = 0;
  SensorEncoding encoding = SensorEncoding::u8;
  std::vector<int64_t> shape;
  std::optional<int64_t> label, task;
  std::string payload;  // raw bytes as sent

  // Number of values: the product of shape.
  int64_t values() const;
  // The values as floats: u8 scaled by 1/255, f32 as sent. out must hold values() floats.
  void to_floats(float* out) const;
};

// What a stream accepts.
struct SensorLimits {
  int64_t expected_values = 0;  // values per frame (e.g. 784); 0 accepts any
  int64_t num_classes = 0;      // labels must be in [0, num_classes); 0 accepts any >= 0
  size_t max_payload_bytes = size_t{16} << 20;
  size_t max_header_bytes = 4096;
};

// Why decode_sensor_frame refused a frame (the bridge counts each cause).
enum class SensorFault {
  none,
  malformed,     // the bytes do not follow the schema, or exceed a limit
  non_finite,    // an f32 value is NaN or infinite
  out_of_range,  // an f32 value is finite but outside [0, 1]
};

// Decodes and validates one multipart. Errors: malformed (wrong frame count, bad msgpack,
// missing or mistyped field, payload size not matching shape and encoding, shape or label not
// accepted by limits), unsupported_version, too_large, invalid_argument (an f32 value that is
// not finite or not in [0, 1]). The message names the problem; *fault (if non-null) receives
// the cause, none on success. A frame refused for its values has a valid header: *refused (if
// non-null) then receives it without its payload, so that its sequence number still counts
// (it was refused, not lost on the way).
Expected<SensorFrame> decode_sensor_frame(std::vector<zmq::message_t>& parts,
                                          const SensorLimits& limits, SensorFault* fault = nullptr,
                                          SensorFrame* refused = nullptr);

// The multipart of a frame (for C++ publishers and tests).
std::vector<zmq::message_t> encode_sensor_frame(const SensorFrame& frame);

// Per-source sequence tracking: counts frames missing between consecutive sequence numbers and
// frames that arrive out of order or twice.
class SequenceTracker {
 public:
  // Records frame `seq` of `source`; returns the number of frames missing just before it.
  uint64_t observe(const std::string& source, uint64_t seq);
  uint64_t gaps() const { return gaps_; }               // frames missing, summed
  uint64_t out_of_order() const { return reordered_; }  // seq <= the last seen
  size_t sources() const { return last_.size(); }

 private:
  std::vector<std::pair<std::string, uint64_t>> last_;  // few sources: a flat list
  uint64_t gaps_ = 0, reordered_ = 0;
};

}  // namespace engram
