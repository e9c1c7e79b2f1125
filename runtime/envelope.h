// Envelope: the one message format every engram actor speaks over ZeroMQ.
//
// Wire format (schema version 1)
// ------------------------------
// One ZeroMQ multipart message:
//
//   frame 0      type      UTF-8 message type, e.g. "observe" (1..DecodeLimits::max_type_bytes)
//   frame 1      header    a msgpack map with string keys (below)
//   frame 2+i    payload i raw bytes, little-endian host layout, described by header.payloads[i]
//
// On a ROUTER socket the routing id frame precedes frame 0 (no empty delimiter: engram peers are
// DEALERs, never REQ sockets).
//
// Header keys (unknown keys are ignored so that newer writers stay readable):
//
//   "v"        uint      schema version; required; a reader rejects versions it does not know
//                        with ErrorCode::unsupported_version before looking at other keys
//   "type"     str       required; must equal frame 0
//   "seq"      uint      required; per-source sequence number (uint64)
//   "src"      str       required; source id (the sending actor's name)
//   "t_acq"    int       required; acquisition time, ns since the Unix epoch (int64)
//   "t_send"   int       required; send time, ns since the Unix epoch (int64), set by the sender
//   "payloads" array     optional (default empty); one [dtype, [dim, ...]] per payload frame,
//                        dtype one of "u8", "i32", "i64", "f32", dims non-negative ints; the frame
//                        must hold exactly dtype_size * product(dims) bytes
//   "ints"     map       optional; str -> int (int64)  message-specific parameters ("task",
//   "count") "reals"    map       optional; str -> float or int (read as double) "strings"  map
//   optional; str -> str
//
// Decoding never throws and never trusts the sender: sizes are checked against DecodeLimits and
// every msgpack unpack uses an explicit msgpack::unpack_limit built from them. A malformed
// multipart is always drained from the socket completely, so the next receive starts at the
// next message.
//
// Zero-copy: make_payload() hands a buffer to ZeroMQ together with a shared owner. Over inproc://
// the receiver's frame points at the sender's buffer; the owner is released when the last frame
// referring to it is closed (possibly on a ZeroMQ I/O thread). Receivers must treat payload
// bytes as read-only: in one process they may alias the sender's memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "runtime/msgpack_limits.h"
#include "runtime/status.h"

namespace engram {

constexpr uint32_t kSchemaVersion = 1;

enum class DType : uint8_t { u8, i32, i64, f32 };

// Bytes per element of `dtype` (1, 4, 8, 4).
size_t dtype_size(DType dtype);
// Stable wire name: "u8", "i32", "i64", "f32".
const char* dtype_name(DType dtype);
// The dtype named `name`, or nullopt for any other string.
std::optional<DType> parse_dtype(std::string_view name);

// Element type and shape of one payload frame.
struct PayloadDesc {
  DType dtype = DType::u8;
  std::vector<int64_t> shape;
};

// dtype_size * product(shape). invalid_argument for a negative dim or a product that overflows.
Expected<size_t> payload_byte_size(const PayloadDesc& desc);

struct Header {
  uint32_t version = kSchemaVersion;
  std::string type;
  uint64_t seq = 0;
  std::string source;
  int64_t t_acq_ns = 0;
  int64_t t_send_ns = 0;
  std::vector<PayloadDesc> payloads;
  std::map<std::string, int64_t> ints;
  std::map<std::string, double> reals;
  std::map<std::string, std::string> strings;
};

// A decoded envelope. payloads[i] is described by header.payloads[i].
struct Message {
  Header header;
  std::vector<zmq::message_t> payloads;
};

// A message received on a ROUTER socket together with the peer's routing id.
struct RoutedMessage {
  std::string routing_id;
  Message message;
};

// Bounds applied to everything received. `msgpack` bounds every header unpack (element counts
// for array/map, bytes for str/bin/ext, nesting depth).
struct DecodeLimits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_payload_frames = 16;
  size_t max_frame_bytes = size_t{256} << 20;
  size_t max_total_bytes = size_t{512} << 20;
  size_t max_type_bytes = 256;
  MsgpackLimits msgpack;
};

// Frames and bytes (all frames, routing id included) that one send or receive moved.
struct WireStats {
  size_t frames = 0;
  size_t bytes = 0;
};

// Wall clock in ns since the Unix epoch (the clock of t_acq/t_send).
int64_t now_ns();

// A payload frame that references `data` without copying. `owner` keeps the bytes alive; a
// heap copy of it travels with the frame and is released by ZeroMQ's free function when the
// frame is closed (any thread). Zero-sized payloads hold no owner. Throws only on allocation
// failure (std::bad_alloc or zmq::error_t).
zmq::message_t make_payload(std::shared_ptr<const void> owner, const void* data, size_t size);

// A payload frame holding a copy of `size` bytes at `data`.
zmq::message_t make_payload_copy(const void* data, size_t size);

// Appends a payload frame and its description to `msg`.
void add_payload(Message& msg, PayloadDesc desc, zmq::message_t frame);

// The msgpack header bytes of `header` (no validation beyond what msgpack needs).
std::string encode_header(const Header& header);

// Parses and validates a header frame (see the wire format above). Never throws.
Expected<Header> decode_header(const void* data, size_t size, const DecodeLimits& limits = {});

// Decodes a complete multipart [type][header][payloads...] (no routing id). Checks the payload
// frames against the header's descriptions and `limits`. Consumes `frames`. Never throws.
Expected<Message> decode_message(std::vector<zmq::message_t>&& frames,
                                 const DecodeLimits& limits = {});

// Sends `msg` on `sock` (any socket type that is not a ROUTER). Sets header.t_send_ns, checks the
// payloads against their descriptions (invalid_argument, nothing sent) and sends all frames.
// dont_wait: if the socket cannot take the message now, returns ErrorCode::full without sending.
// Never throws: ZeroMQ failures become closed (context terminated) or io_error. Not thread-safe
// with respect to `sock` (ZeroMQ sockets belong to one thread at a time).
Status send_message(zmq::socket_t& sock, Message&& msg, bool dont_wait = false);

// As send_message, prefixed with the routing id frame, for ROUTER sockets. A ROUTER with
// ZMQ_ROUTER_MANDATORY set reports an unknown peer as ErrorCode::closed.
Status send_routed(zmq::socket_t& sock, const std::string& routing_id, Message&& msg,
                   bool dont_wait = false);
Status send_routed(zmq::socket_t& sock, zmq::message_t routing_id, Message&& msg,
                   bool dont_wait = false);

// Receives one envelope (blocking unless dont_wait). Errors: timeout (nothing available with
// dont_wait, or ZMQ_RCVTIMEO expired), malformed / too_large / unsupported_version (the whole
// multipart has been drained), closed (context terminated), io_error. Never throws.
Expected<Message> recv_message(zmq::socket_t& sock, const DecodeLimits& limits = {},
                               bool dont_wait = false);

// As recv_message for ROUTER sockets: the first frame is the peer's routing id.
Expected<RoutedMessage> recv_routed(zmq::socket_t& sock, const DecodeLimits& limits = {},
                                    bool dont_wait = false);

// Lower-level forms used by actors. send_envelope prefixes `routing_id` when non-null; on
// ErrorCode::full nothing was sent and `msg` is left intact for a retry; on success its payload
// frames are consumed. recv_envelope stores the routing id (when non-null, the first frame is
// taken as one) even if decoding then fails. `stats` (optional) receives the wire size.
Status send_envelope(zmq::socket_t& sock, const std::string* routing_id, Message& msg,
                     bool dont_wait, WireStats* stats = nullptr);
Expected<Message> recv_envelope(zmq::socket_t& sock, std::string* routing_id,
                                const DecodeLimits& limits, bool dont_wait,
                                WireStats* stats = nullptr);

}  // namespace engram
