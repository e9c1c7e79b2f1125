// libFuzzer target for the envelope decoder (runtime/envelope_decode.cc): decode_message() on
// any multipart [type][header][payloads...] and decode_header() on any bytes, under default or
// tight DecodeLimits. Contract: any input gives a message or an error Status, never a crash, a
// hang or a sanitizer report; an accepted message matches its header (type frame, one frame
// per description of exactly its byte size, within the limits), and encode_header() of its
// header decodes to the same header. Input layout: byte 0 picks the mode and limits, the rest
// is split into frames by fuzz_parts.h (decode_header mode: the rest is the header). Run with
// `make fuzz`.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "runtime/envelope.h"
#include "tests/fuzz/fuzz_parts.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_real(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_round_trip(const engram::Header& h) {
  engram::DecodeLimits relaxed;
  relaxed.max_header_bytes = std::numeric_limits<size_t>::max();
  const std::string bytes = engram::encode_header(h);
  engram::Expected<engram::Header> back =
      engram::decode_header(bytes.data(), bytes.size(), relaxed);
  check(back.ok());
  check(back->version == h.version && back->type == h.type && back->seq == h.seq);
  check(back->source == h.source && back->t_acq_ns == h.t_acq_ns && back->t_send_ns == h.t_send_ns);
  check(back->ints == h.ints && back->strings == h.strings);
  check(back->reals.size() == h.reals.size());
  auto b = h.reals.begin();
  for (auto a = back->reals.begin(); a != back->reals.end(); ++a, ++b) {
    check(a->first == b->first && same_real(a->second, b->second));
  }
  check(back->payloads.size() == h.payloads.size());
  for (size_t i = 0; i < h.payloads.size(); ++i) {
    check(back->payloads[i].dtype == h.payloads[i].dtype);
    check(back->payloads[i].shape == h.payloads[i].shape);
  }
}

void check_header(const engram::Header& h, const engram::DecodeLimits& limits) {
  check(h.version == engram::kSchemaVersion);
  check(!h.type.empty());
  check(h.payloads.size() <= limits.max_payload_frames);
  for (const auto& p : h.payloads) {
    for (int64_t d : p.shape) check(d >= 0);
    engram::Expected<size_t> bytes = engram::payload_byte_size(p);
    check(bytes.ok() && *bytes <= limits.max_frame_bytes);
  }
  check_round_trip(h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  engram::DecodeLimits limits;
  if ((mode & 2) != 0) {
    limits.max_header_bytes = 256;
    limits.max_payload_frames = 2;
    limits.max_frame_bytes = 64;
    limits.max_total_bytes = 256;
    limits.max_type_bytes = 8;
    limits.msgpack.max_array = 4;
    limits.msgpack.max_map = 8;
    limits.msgpack.max_str = 32;
    limits.msgpack.max_depth = 3;
  }
  if ((mode & 1) != 0) {
    engram::Expected<engram::Header> h = engram::decode_header(data + 1, size - 1, limits);
    if (h.ok()) {
      check(size - 1 <= limits.max_header_bytes);
      check_header(*h, limits);
    }
    return 0;
  }
  std::vector<zmq::message_t> frames = engram::fuzz::split_parts(data + 1, size - 1);
  std::vector<size_t> sizes;
  for (const auto& f : frames) sizes.push_back(f.size());
  const std::string type = frames.empty() ? std::string() : frames[0].to_string();
  engram::Expected<engram::Message> m = engram::decode_message(std::move(frames), limits);
  if (!m.ok()) {
    check(!m.status().message().empty());
    return 0;
  }
  check(sizes.size() >= 2 && m->payloads.size() == sizes.size() - 2);
  check(m->header.type == type && type.size() <= limits.max_type_bytes);
  check(sizes[1] <= limits.max_header_bytes);
  check_header(m->header, limits);
  check(m->header.payloads.size() == m->payloads.size());
  size_t total = 0;
  for (size_t s : sizes) total += s;
  check(total <= limits.max_total_bytes);
  for (size_t i = 0; i < m->payloads.size(); ++i) {
    check(m->payloads[i].size() == sizes[2 + i]);
    check(m->payloads[i].size() == engram::payload_byte_size(m->header.payloads[i]).value());
  }
  return 0;
}
