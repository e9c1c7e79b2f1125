// How the multipart fuzz targets (fuzz_sensor_frame, fuzz_envelope) turn one fuzz input into
// ZeroMQ frames, and how their seed writers do the reverse.
//
// The input is a sequence of parts, each a 2-byte little-endian length followed by that many
// bytes. A length running past the end takes what is left; a lone trailing byte is an empty
// part. Every input maps to some list of 0..kMaxFuzzParts frames, so no input is wasted.
#pragma once

#include <zmq.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace engram::fuzz {

inline constexpr size_t kMaxFuzzParts = 20;

inline std::vector<zmq::message_t> split_parts(const uint8_t* data, size_t size) {
  std::vector<zmq::message_t> parts;
  size_t at = 0;
  while (at < size && parts.size() < kMaxFuzzParts) {
    size_t len = data[at];
    if (at + 1 < size) len |= static_cast<size_t>(data[at + 1]) << 8;
    at += 2;
    if (at > size) at = size;
    if (len > size - at) len = size - at;
    parts.emplace_back(data + at, len);
    at += len;
  }
  return parts;
}

// The input that split_parts() turns back into `parts` (each at most 65535 bytes).
inline std::string join_parts(const std::vector<zmq::message_t>& parts) {
  std::string out;
  for (const auto& p : parts) {
    const size_t len = p.size() < 0xFFFF ? p.size() : 0xFFFF;
    out.push_back(static_cast<char>(len & 0xFF));
    out.push_back(static_cast<char>(len >> 8));
    out.append(static_cast<const char*>(p.data()), len);
  }
  return out;
}

}  // namespace engram::fuzz
