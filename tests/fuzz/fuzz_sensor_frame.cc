// libFuzzer target for the sensor wire schema: decode_sensor_frame() on any multipart, under
// the limits a stream may set. Contract: any input gives a frame or an error Status, never a
// crash, a hang or a sanitizer report; a frame it accepts satisfies the schema (1..4 dims in
// [1, 2^24], payload = values * element size, labels in range, source 1..256 bytes), converts
// to floats, and encode_sensor_frame() of it decodes to the same frame. Input layout: byte 0
// picks the limits, the rest is split into frames by fuzz_parts.h. Run with `make fuzz`.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "io/sensors/sensor_frame.h"
#include "tests/fuzz/fuzz_parts.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  engram::SensorLimits limits;
  constexpr int64_t kExpected[] = {0, 4, 16, 784};
  limits.expected_values = kExpected[mode & 3];
  limits.num_classes = (mode & 4) != 0 ? 10 : 0;
  limits.max_payload_bytes = (mode & 8) != 0 ? 64 : size_t{1} << 16;
  limits.max_header_bytes = (mode & 16) != 0 ? 64 : 4096;
  std::vector<zmq::message_t> parts = engram::fuzz::split_parts(data + 1, size - 1);
  const size_t n_parts = parts.size();
  // The two-argument form: the decoder may gain defaulted options.
  engram::Expected<engram::SensorFrame> decoded = engram::decode_sensor_frame(parts, limits);
  if (!decoded.ok()) {
    check(!decoded.status().message().empty());
    return 0;
  }
  const engram::SensorFrame& f = *decoded;
  check(n_parts == 3);
  check(f.topic.size() <= 256);
  check(!f.source.empty() && f.source.size() <= 256);
  check(!f.shape.empty() && f.shape.size() <= 4);
  for (int64_t d : f.shape) check(d >= 1 && d <= (int64_t{1} << 24));
  const int64_t values = f.values();
  const size_t element = f.encoding == engram::SensorEncoding::u8 ? 1 : 4;
  check(values >= 1);
  check(f.payload.size() == static_cast<size_t>(values) * element);
  check(f.payload.size() <= limits.max_payload_bytes);
  if (limits.expected_values > 0) check(values == limits.expected_values);
  if (f.label) check(*f.label >= 0 && (limits.num_classes == 0 || *f.label < limits.num_classes));
  if (f.task) check(*f.task >= 0);

  std::vector<float> floats(static_cast<size_t>(values));
  f.to_floats(floats.data());
  if (f.encoding == engram::SensorEncoding::u8) {
    for (float x : floats) check(x >= 0.0f && x <= 1.0f);
  }

  // What a C++ publisher would send for this frame reads back the same.
  std::vector<zmq::message_t> again = engram::encode_sensor_frame(f);
  engram::SensorLimits relaxed = limits;
  relaxed.max_header_bytes = size_t{1} << 20;
  engram::Expected<engram::SensorFrame> back = engram::decode_sensor_frame(again, relaxed);
  check(back.ok());
  check(back->topic == f.topic && back->source == f.source && back->seq == f.seq);
  check(back->t_acq_ns == f.t_acq_ns && back->encoding == f.encoding && back->shape == f.shape);
  check(back->label == f.label && back->task == f.task && back->payload == f.payload);

  // Sequence tracking of this source: a successor, a gap, a replay.
  engram::SequenceTracker tracker;
  check(tracker.observe(f.source, f.seq) == 0);
  if (f.seq <= std::numeric_limits<uint64_t>::max() - 3) {
    check(tracker.observe(f.source, f.seq + 1) == 0);
    check(tracker.observe(f.source, f.seq + 3) == 1);
    check(tracker.gaps() == 1);
  }
  check(tracker.observe(f.source, f.seq) == 0);
  check(tracker.out_of_order() == 1);
  check(tracker.observe(f.topic + "/other", 0) == 0);
  check(tracker.sources() == (f.topic + "/other" == f.source ? 1u : 2u));
  return 0;
}
