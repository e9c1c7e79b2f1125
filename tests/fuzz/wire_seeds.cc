// Writes valid multiparts (in the fuzz_parts.h layout, after the mode byte) into two
// directories: the seed corpora of fuzz_sensor_frame and fuzz_envelope.
// Usage: wire_seeds SENSOR_DIR ENVELOPE_DIR
#include <msgpack.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "io/sensors/sensor_frame.h"
#include "runtime/envelope.h"
#include "tests/fuzz/fuzz_parts.h"

namespace {

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

bool write_seed(const std::string& path, uint8_t mode, const std::vector<zmq::message_t>& parts) {
  return write_file(path,
                    std::string(1, static_cast<char>(mode)) + engram::fuzz::join_parts(parts));
}

engram::SensorFrame sensor(engram::SensorEncoding enc, std::vector<int64_t> shape) {
  engram::SensorFrame f;
  f.topic = "camera/left";
  f.source = "cam0";
  f.seq = 41;
  f.t_acq_ns = 1700000000000000000;
  f.encoding = enc;
  f.shape = std::move(shape);
  const int64_t n = f.values();
  if (enc == engram::SensorEncoding::u8) {
    for (int64_t i = 0; i < n; ++i) f.payload.push_back(static_cast<char>((i * 37) & 0xFF));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float x = static_cast<float>(i) / static_cast<float>(n);
      f.payload.append(reinterpret_cast<const char*>(&x), sizeof x);
    }
  }
  return f;
}

int sensor_seeds(const std::string& dir) {
  using engram::SensorEncoding;
  int failures = 0;
  auto put = [&](const char* name, uint8_t mode, const std::vector<zmq::message_t>& parts) {
    failures += !write_seed(dir + "/" + name, mode, parts);
  };
  // mode: bits 0-1 expected values {any, 4, 16, 784}, bit 2 ten classes, bit 3 tiny payload
  // limit, bit 4 tiny header limit (see fuzz_sensor_frame.cc).
  engram::SensorFrame small = sensor(SensorEncoding::u8, {2, 2});
  small.label = 3;
  small.task = 1;
  put("u8_2x2_labelled", 1 | 4, engram::encode_sensor_frame(small));
  put("f32_4", 1, engram::encode_sensor_frame(sensor(SensorEncoding::f32, {4})));
  put("f32_1x1x4x4", 2, engram::encode_sensor_frame(sensor(SensorEncoding::f32, {1, 1, 4, 4})));
  engram::SensorFrame mnist = sensor(SensorEncoding::u8, {28, 28});
  mnist.label = 9;
  put("u8_28x28", 3 | 4, engram::encode_sensor_frame(mnist));
  put("u8_any_3x5", 0, engram::encode_sensor_frame(sensor(SensorEncoding::u8, {3, 5})));
  put("tiny_limits", 8 | 16, engram::encode_sensor_frame(sensor(SensorEncoding::u8, {2, 3})));
  // A header with a nil label and a key engram does not know (publishers may add their own).
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(9);
  pk.pack(std::string("v"));
  pk.pack(1u);
  pk.pack(std::string("src"));
  pk.pack(std::string("ros"));
  pk.pack(std::string("seq"));
  pk.pack(uint64_t{18446744073709551615u});
  pk.pack(std::string("t_acq"));
  pk.pack(int64_t{-1});
  pk.pack(std::string("enc"));
  pk.pack(std::string("u8"));
  pk.pack(std::string("shape"));
  pk.pack(std::vector<uint32_t>{2, 2});
  pk.pack(std::string("label"));
  pk.pack_nil();
  pk.pack(std::string("task"));
  pk.pack(0);
  pk.pack(std::string("frame_id"));
  pk.pack(std::string("base_link"));
  std::vector<zmq::message_t> extra;
  extra.emplace_back(std::string("imu"));
  extra.emplace_back(buf.data(), buf.size());
  extra.emplace_back(std::string("\x01\x02\x03\x04"));
  put("extra_key_nil_label", 1, extra);
  return failures;
}

engram::Message envelope(const std::string& type) {
  engram::Message m;
  m.header.type = type;
  m.header.seq = 7;
  m.header.source = "hippocampus";
  m.header.t_acq_ns = 1700000000000000000;
  m.header.t_send_ns = 1700000000000000123;
  return m;
}

std::vector<zmq::message_t> frames_of(engram::Message& m) {
  std::vector<zmq::message_t> frames;
  frames.emplace_back(m.header.type.data(), m.header.type.size());
  const std::string header = engram::encode_header(m.header);
  frames.emplace_back(header.data(), header.size());
  for (auto& p : m.payloads) frames.push_back(std::move(p));
  return frames;
}

int envelope_seeds(const std::string& dir) {
  using engram::DType;
  int failures = 0;
  auto put = [&](const char* name, uint8_t mode, engram::Message m) {
    failures += !write_seed(dir + "/" + name, mode, frames_of(m));
  };
  // mode: bit 0 decode_header only, bit 1 tight limits (see fuzz_envelope.cc).
  put("bare", 0, envelope("ping"));
  engram::Message full = envelope("observe");
  const float xs[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
  engram::add_payload(full, {DType::f32, {2, 3}}, engram::make_payload_copy(xs, sizeof xs));
  const int64_t ys[2] = {3, -1};
  engram::add_payload(full, {DType::i64, {2}}, engram::make_payload_copy(ys, sizeof ys));
  const uint8_t code[5] = {1, 2, 3, 4, 5};
  engram::add_payload(full, {DType::u8, {5}}, engram::make_payload_copy(code, sizeof code));
  engram::add_payload(full, {DType::i32, {0, 4}}, zmq::message_t());
  full.header.ints = {{"task", 2}, {"count", -7}};
  full.header.reals = {{"lr", 1e-3}, {"tau", 1.0}};
  full.header.strings = {{"kind", "dvae"}, {"note", ""}};
  put("payloads_and_maps", 0, std::move(full));
  engram::Message tight = envelope("t");
  tight.header.source = "s";
  const int32_t one[2] = {1, 2};
  engram::add_payload(tight, {DType::i32, {2}}, engram::make_payload_copy(one, sizeof one));
  tight.header.ints = {{"n", 1}};
  put("tight_limits", 2, std::move(tight));
  // decode_header mode: the header bytes alone.
  engram::Message h = envelope("recall");
  h.header.payloads = {{DType::u8, {4, 12}}, {DType::f32, {4, 784}}};
  h.header.reals = {{"w", 0.5}};
  failures += !write_file(dir + "/header_only", "\x01" + engram::encode_header(h.header));
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SENSOR_DIR ENVELOPE_DIR\n", argv[0]);
    return 2;
  }
  const int failures = sensor_seeds(argv[1]) + envelope_seeds(argv[2]);
  return failures == 0 ? 0 : 1;
}
