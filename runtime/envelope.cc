// Envelope: dtypes, payload frames, header encoding, sending and receiving multiparts.
// Decoding lives in envelope_decode.cc.
#include "runtime/envelope.h"

#include <cerrno>
#include <chrono>
#include <utility>

#include <msgpack.hpp>

#if defined(__SANITIZE_THREAD__)
#define ENGRAM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ENGRAM_TSAN 1
#endif
#endif
#ifdef ENGRAM_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace engram {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::u8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::f32: return 4;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::u8: return "u8";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::f32: return "f32";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType d : {DType::u8, DType::i32, DType::i64, DType::f32}) {
    if (name == dtype_name(d)) return d;
  }
  return std::nullopt;
}

Expected<size_t> payload_byte_size(const PayloadDesc& desc) {
  size_t bytes = dtype_size(desc.dtype);
  for (int64_t dim : desc.shape) {
    if (dim < 0) {
      return Status(ErrorCode::invalid_argument, "negative dimension " + std::to_string(dim));
    }
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) {
      return Status(ErrorCode::invalid_argument, "payload shape overflows size_t");
    }
  }
  return bytes;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Why: libzmq (not built with TSan) passes frames between threads through lock-free pipes, so
// TSan cannot see that the sender's writes to a frame happen before the receiver's reads. These
// annotations state exactly that edge, per frame buffer; they compile to nothing otherwise.
// Writes to a buffer after it was sent are still reported.
inline void tsan_publish(const zmq::message_t& frame) {
#ifdef ENGRAM_TSAN
  if (frame.size() > 0) __tsan_release(const_cast<void*>(frame.data()));
#else
  (void)frame;
#endif
}

inline void tsan_consume(const zmq::message_t& frame) {
#ifdef ENGRAM_TSAN
  if (frame.size() > 0) __tsan_acquire(const_cast<void*>(frame.data()));
#else
  (void)frame;
#endif
}

// ZeroMQ free function of make_payload frames: drops the frame's reference on the owner.
void release_owner(void* /*data*/, void* hint) {
  delete static_cast<std::shared_ptr<const void>*>(hint);
}

Status zmq_failure(const zmq::error_t& e) {
  switch (e.num()) {
    case ETERM:
    case ENOTSOCK: return Status(ErrorCode::closed, std::string("socket closed: ") + e.what());
    case EHOSTUNREACH: return Status(ErrorCode::closed, "no route to peer (peer gone or unknown)");
    case ENOTSUP:
    case EFSM: return Status(ErrorCode::invalid_argument, std::string("socket: ") + e.what());
    default: return Status(ErrorCode::io_error, std::string("zmq: ") + e.what());
  }
}

// Writes `h` as the msgpack map of the wire format; "v" first so readers can stop early.
template <typename Stream>
void pack_header(msgpack::packer<Stream>& pk, const Header& h) {
  pk.pack_map(10);
  pk.pack("v");
  pk.pack(h.version);
  pk.pack("type");
  pk.pack(h.type);
  pk.pack("seq");
  pk.pack(h.seq);
  pk.pack("src");
  pk.pack(h.source);
  pk.pack("t_acq");
  pk.pack(h.t_acq_ns);
  pk.pack("t_send");
  pk.pack(h.t_send_ns);
  pk.pack("payloads");
  pk.pack_array(static_cast<uint32_t>(h.payloads.size()));
  for (const PayloadDesc& d : h.payloads) {
    pk.pack_array(2);
    pk.pack(dtype_name(d.dtype));
    pk.pack(d.shape);
  }
  pk.pack("ints");
  pk.pack(h.ints);
  pk.pack("reals");
  pk.pack(h.reals);
  pk.pack("strings");
  pk.pack(h.strings);
}

// The header as a ZeroMQ frame. The scratch buffer is per thread so that steady-state sends do
// not allocate msgpack buffers.
zmq::message_t encode_header_frame(const Header& h) {
  thread_local msgpack::sbuffer scratch(1024);
  scratch.clear();
  msgpack::packer<msgpack::sbuffer> pk(scratch);
  pack_header(pk, h);
  return zmq::message_t(scratch.data(), scratch.size());
}

Status check_outgoing(const Message& msg) {
  if (msg.header.type.empty()) return Status(ErrorCode::invalid_argument, "empty message type");
  if (msg.payloads.size() != msg.header.payloads.size()) {
    return Status(ErrorCode::invalid_argument,
                  "message has " + std::to_string(msg.payloads.size()) + " payload frames but " +
                      std::to_string(msg.header.payloads.size()) + " descriptions");
  }
  for (size_t i = 0; i < msg.payloads.size(); ++i) {
    Expected<size_t> bytes = payload_byte_size(msg.header.payloads[i]);
    if (!bytes.ok()) return bytes.status();
    if (*bytes != msg.payloads[i].size()) {
      return Status(ErrorCode::invalid_argument, "payload " + std::to_string(i) + " has " +
                                                     std::to_string(msg.payloads[i].size()) +
                                                     " bytes, its description needs " +
                                                     std::to_string(*bytes));
    }
  }
  return Status();
}

// Receives every part of one multipart message. Keeps the parts while they fit `limits`; once
// one does not, the rest is still received (and dropped) so the socket is left at a message
// boundary, and the first violation is returned.
Status recv_parts(zmq::socket_t& sock, size_t prefix, const DecodeLimits& limits, bool dont_wait,
                  std::vector<zmq::message_t>& frames, WireStats* stats) {
  frames.clear();
  zmq::message_t part;
  if (!sock.recv(part, dont_wait ? zmq::recv_flags::dontwait : zmq::recv_flags::none)) {
    return Status(ErrorCode::timeout, "no message available");
  }
  tsan_consume(part);
  const size_t max_frames = prefix + 2 + limits.max_payload_frames;
  size_t count = 0;
  size_t total = 0;
  Status first_error;
  for (;;) {
    const bool more = part.more();
    ++count;
    total += part.size();
    if (first_error.ok()) {
      if (count > max_frames) {
        first_error = Status(ErrorCode::too_large,
                             "more than " + std::to_string(max_frames) + " frames in one message");
      } else if (part.size() > limits.max_frame_bytes) {
        first_error = Status(ErrorCode::too_large, "frame of " + std::to_string(part.size()) +
                                                       " bytes exceeds the frame limit");
      } else if (total > limits.max_total_bytes) {
        first_error = Status(ErrorCode::too_large, "message exceeds the total size limit");
      }
    }
    if (first_error.ok()) {
      frames.push_back(std::move(part));
      part = zmq::message_t();
    }
    if (!more) break;
    // The remaining parts of a multipart are already queued: this never waits.
    if (!sock.recv(part, zmq::recv_flags::none)) {
      return Status(ErrorCode::internal, "multipart ended early");
    }
    tsan_consume(part);
  }
  if (stats != nullptr) {
    stats->frames = count;
    stats->bytes = total;
  }
  if (!first_error.ok()) frames.clear();
  return first_error;
}

}  // namespace

zmq::message_t make_payload(std::shared_ptr<const void> owner, const void* data, size_t size) {
  if (size == 0) return zmq::message_t();
  auto* hint = new std::shared_ptr<const void>(std::move(owner));
  try {
    // ZeroMQ never writes through the pointer it is given; receivers are told to treat payload
    // bytes as read-only.
    return zmq::message_t(const_cast<void*>(data), size, &release_owner, hint);
  } catch (...) {
    delete hint;
    throw;
  }
}

zmq::message_t make_payload_copy(const void* data, size_t size) {
  return zmq::message_t(data, size);
}

std::string encode_header(const Header& header) {
  msgpack::sbuffer buf(256);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_header(pk, header);
  return std::string(buf.data(), buf.size());
}

void add_payload(Message& msg, PayloadDesc desc, zmq::message_t frame) {
  msg.header.payloads.push_back(std::move(desc));
  msg.payloads.push_back(std::move(frame));
}

Status send_envelope(zmq::socket_t& sock, const std::string* routing_id, Message& msg,
                     bool dont_wait, WireStats* stats) {
  Status valid = check_outgoing(msg);
  if (!valid.ok()) return valid;
  msg.header.t_send_ns = now_ns();
  try {
    zmq::message_t header_frame = encode_header_frame(msg.header);
    zmq::message_t type_frame(msg.header.type.data(), msg.header.type.size());
    const size_t n_payloads = msg.payloads.size();
    const auto more = zmq::send_flags::sndmore;
    const auto first_flags = dont_wait ? (more | zmq::send_flags::dontwait) : more;
    tsan_publish(header_frame);
    for (const auto& p : msg.payloads) tsan_publish(p);
    size_t frames = 2 + n_payloads;
    size_t bytes = type_frame.size() + header_frame.size();
    for (const auto& p : msg.payloads) bytes += p.size();
    if (routing_id != nullptr) {
      zmq::message_t id_frame(routing_id->data(), routing_id->size());
      if (!sock.send(id_frame, first_flags)) return Status(ErrorCode::full, "peer queue is full");
      if (!sock.send(type_frame, more)) return Status(ErrorCode::internal, "type frame refused");
      frames += 1;
      bytes += routing_id->size();
    } else if (!sock.send(type_frame, first_flags)) {
      return Status(ErrorCode::full, "socket cannot take the message now");
    }
    // Once the first part is accepted the rest of the multipart is accepted without waiting.
    if (!sock.send(header_frame, n_payloads > 0 ? more : zmq::send_flags::none)) {
      return Status(ErrorCode::internal, "header frame refused");
    }
    for (size_t i = 0; i < n_payloads; ++i) {
      if (!sock.send(msg.payloads[i], i + 1 < n_payloads ? more : zmq::send_flags::none)) {
        return Status(ErrorCode::internal, "payload frame refused");
      }
    }
    if (stats != nullptr) {
      stats->frames = frames;
      stats->bytes = bytes;
    }
    return Status();
  } catch (const zmq::error_t& e) {
    return zmq_failure(e);
  } catch (const std::exception& e) {
    return Status(ErrorCode::internal, std::string("send: ") + e.what());
  }
}

Status send_message(zmq::socket_t& sock, Message&& msg, bool dont_wait) {
  return send_envelope(sock, nullptr, msg, dont_wait);
}

Status send_routed(zmq::socket_t& sock, const std::string& routing_id, Message&& msg,
                   bool dont_wait) {
  return send_envelope(sock, &routing_id, msg, dont_wait);
}

Status send_routed(zmq::socket_t& sock, zmq::message_t routing_id, Message&& msg, bool dont_wait) {
  const std::string id = routing_id.to_string();
  return send_envelope(sock, &id, msg, dont_wait);
}

Expected<Message> recv_envelope(zmq::socket_t& sock, std::string* routing_id,
                                const DecodeLimits& limits, bool dont_wait, WireStats* stats) {
  std::vector<zmq::message_t> frames;
  const size_t prefix = routing_id != nullptr ? 1 : 0;
  try {
    Status received = recv_parts(sock, prefix, limits, dont_wait, frames, stats);
    if (!received.ok()) return received;
  } catch (const zmq::error_t& e) {
    return zmq_failure(e);
  } catch (const std::exception& e) {
    return Status(ErrorCode::internal, std::string("recv: ") + e.what());
  }
  if (routing_id != nullptr) {
    routing_id->assign(frames[0].data<char>(), frames[0].size());
    frames.erase(frames.begin());
  }
  return decode_message(std::move(frames), limits);
}

Expected<Message> recv_message(zmq::socket_t& sock, const DecodeLimits& limits, bool dont_wait) {
  return recv_envelope(sock, nullptr, limits, dont_wait);
}

Expected<RoutedMessage> recv_routed(zmq::socket_t& sock, const DecodeLimits& limits,
                                    bool dont_wait) {
  RoutedMessage out;
  Expected<Message> msg = recv_envelope(sock, &out.routing_id, limits, dont_wait);
  if (!msg.ok()) return msg.status();
  out.message = std::move(msg.value());
  return out;
}

}  // namespace engram
