#include "modules/actors/hippocampus_actor.h"

#include <cstring>
#include <sstream>

#include "modules/actors/messages.h"

namespace engram {
namespace {

template <typename T>
const T* frame_as(const Message& m, size_t i) {
  return static_cast<const T*>(m.payloads[i].data());
}

Status expect_payload(const Message& m, size_t i, DType dtype, std::vector<int64_t> shape,
                      const char* what) {
  if (i >= m.header.payloads.size()) {
    return {ErrorCode::malformed, std::string("store: missing ") + what};
  }
  const PayloadDesc& d = m.header.payloads[i];
  if (d.dtype != dtype || d.shape != shape) {
    return {ErrorCode::malformed, std::string("store: ") + what + " has the wrong dtype or shape"};
  }
  return {};
}

// The kCodes reply for n drawn items: codes u8 (l <= 256) or i32 [n, c], labels, tasks i32 [n].
Message codes_reply(const uint32_t* codes, const int32_t* labels, const int32_t* tasks, size_t n,
                    int c, bool small) {
  const size_t values = n * static_cast<size_t>(c);
  Message reply;
  reply.header.type = msg::kCodes;
  const int64_t rows = static_cast<int64_t>(n);
  if (small) {
    std::vector<uint8_t> bytes(values);
    for (size_t i = 0; i < values; ++i) bytes[i] = static_cast<uint8_t>(codes[i]);
    add_payload(reply, {DType::u8, {rows, c}}, make_payload_copy(bytes.data(), bytes.size()));
  } else {
    std::vector<int32_t> words(values);
    for (size_t i = 0; i < values; ++i) words[i] = static_cast<int32_t>(codes[i]);
    add_payload(reply, {DType::i32, {rows, c}}, make_payload_copy(words.data(), values * 4));
  }
  add_payload(reply, {DType::i32, {rows}}, make_payload_copy(labels, n * 4));
  add_payload(reply, {DType::i32, {rows}}, make_payload_copy(tasks, n * 4));
  return reply;
}

std::string shape_text(const PayloadDesc& d) {
  std::string text = std::string(dtype_name(d.dtype)) + " [";
  for (size_t i = 0; i < d.shape.size(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(d.shape[i]);
  }
  return text + "]";
}

}  // namespace

HippocampusActor::HippocampusActor(CodeBuffer buffer, uint64_t sample_seed)
    : buffer_(std::move(buffer)), rng_(sample_seed) {}

HippocampusActor::HippocampusActor(CodeBuffer buffer, std::mt19937_64 sampler)
    : buffer_(std::move(buffer)), rng_(sampler) {}

Status HippocampusActor::start(ActorContext& ctx) {
  socket_ = ctx.add_socket(zmq::socket_type::router, true);
  return ctx.bind(socket_, ctx.own_endpoint());
}

Status HippocampusActor::on_message(ActorContext& ctx, SocketId from,
                                    std::optional<std::string> routing_id, Message&& msg) {
  const std::string& type = msg.header.type;
  if (type == msg::kStore) return store(msg);
  Message reply;
  Status failed;
  if (type == msg::kSample) {
    auto drawn = sample(msg);
    if (drawn.ok()) {
      reply = std::move(drawn).value();
    } else {
      failed = drawn.status();
    }
  } else if (type == msg::kSeal) {
    if (!msg.header.payloads.empty()) {
      failed = {ErrorCode::malformed, "seal: takes no payload"};
    } else {
      buffer_.seal();
      reply.header.type = msg::kDone;
    }
  } else if (type == msg::kGetStats) {
    reply = stats();
  } else if (type == msg::kSaveState) {
    reply = state();
  } else {
    return {ErrorCode::invalid_argument, "hippocampus: unknown message type '" + type + "'"};
  }
  if (!failed.ok()) {
    reply = Message();
    reply.header.type = msg::kError;
    reply.header.strings["error"] = "hippocampus: " + failed.message();
  }
  reply.header.seq = ctx.next_seq();
  Status sent = ctx.send_to(from, routing_id.value_or(""), std::move(reply));
  return failed.ok() ? sent : failed;
}

Status HippocampusActor::store(Message& m) {
  if (m.header.payloads.empty() || m.header.payloads[0].shape.size() != 2) {
    return {ErrorCode::malformed, "store: codes must be [n, c]"};
  }
  const int64_t n = m.header.payloads[0].shape[0];
  const int64_t c = m.header.payloads[0].shape[1];
  if (c != buffer_.config().c) {
    return {ErrorCode::malformed, "store: codes have " + std::to_string(c) +
                                      " variables, the buffer holds " +
                                      std::to_string(buffer_.config().c)};
  }
  const DType code_type = m.header.payloads[0].dtype;
  if (code_type != DType::u8 && code_type != DType::i32) {
    return {ErrorCode::malformed, "store: codes must be u8 or i32"};
  }
  if (Status s = expect_payload(m, 1, DType::i32, {n}, "labels"); !s.ok()) return s;
  if (Status s = expect_payload(m, 2, DType::i32, {n}, "tasks"); !s.ok()) return s;
  scratch_.resize(static_cast<size_t>(n * c));
  for (size_t i = 0; i < scratch_.size(); ++i) {
    scratch_[i] = code_type == DType::u8 ? frame_as<uint8_t>(m, 0)[i]
                                         : static_cast<uint32_t>(frame_as<int32_t>(m, 0)[i]);
  }
  return buffer_.insert_batch(scratch_.data(), frame_as<int32_t>(m, 1), frame_as<int32_t>(m, 2),
                              static_cast<size_t>(n));
}

Expected<Message> HippocampusActor::sample(const Message& request) {
  auto get = [&](const char* k, int64_t d) {
    auto it = request.header.ints.find(k);
    return it == request.header.ints.end() ? d : it->second;
  };
  constexpr int64_t kMaxDraw = 1 << 20;
  auto bad = [](const std::string& what) {
    return Status(ErrorCode::malformed, "sample: " + what);
  };
  const int64_t n = get("n", 0);
  if (n < 0 || n > kMaxDraw) {
    return bad("n is " + std::to_string(n) + ", expected 0 to " + std::to_string(kMaxDraw));
  }
  const int64_t sealed_only = get("sealed_only", 1);
  if (sealed_only != 0 && sealed_only != 1) {
    return bad("sealed_only is " + std::to_string(sealed_only) + ", expected 0 or 1");
  }
  RecallDraw draw;
  draw.n = static_cast<size_t>(n);
  draw.sealed_only = sealed_only == 1;
  const auto by = request.header.strings.find("weights_by");
  const size_t payloads = request.header.payloads.size();
  if (by == request.header.strings.end()) {
    if (payloads != 0) return bad("a weights payload needs weights_by (\"class\" or \"task\")");
  } else {
    const bool by_class = by->second == "class";
    if (!by_class && by->second != "task") {
      return bad("weights_by is \"" + by->second + "\", expected \"class\" or \"task\"");
    }
    const int64_t groups = by_class ? buffer_.config().num_classes : buffer_.config().num_tasks;
    if (payloads != 1) {
      return bad("weights_by needs exactly one payload (the weights), got " +
                 std::to_string(payloads));
    }
    const PayloadDesc& d = request.header.payloads[0];
    if (d.dtype != DType::f32 || d.shape != std::vector<int64_t>{groups}) {
      return bad("weights must be f32 [" + std::to_string(groups) + "] (one per " + by->second +
                 "), got " + shape_text(d));
    }
    const float* w = frame_as<float>(request, 0);
    std::vector<double>& out = by_class ? draw.class_weights : draw.task_weights;
    out.assign(w, w + groups);
  }
  const int c = buffer_.config().c;
  std::vector<uint32_t> codes(draw.n * static_cast<size_t>(c));
  std::vector<int32_t> labels(draw.n), tasks(draw.n);
  size_t drawn = 0;
  Status st = buffer_.sample_recall(draw, rng_, codes.data(), labels.data(), tasks.data(), &drawn);
  if (!st.ok()) return Status(st.code(), "sample: " + st.message());
  return codes_reply(codes.data(), labels.data(), tasks.data(), drawn, c,
                     buffer_.config().l <= 256);
}

Message HippocampusActor::stats() const {
  Message reply;
  reply.header.type = msg::kStats;
  auto& ints = reply.header.ints;
  ints["size"] = static_cast<int64_t>(buffer_.size());
  ints["capacity"] = static_cast<int64_t>(buffer_.capacity());
  ints["seen"] = static_cast<int64_t>(buffer_.seen());
  ints["bits_per_item"] = static_cast<int64_t>(buffer_.bits_per_item());
  ints["code_bits"] = buffer_.code_bits();
  ints["bytes_used"] = static_cast<int64_t>(buffer_.bytes_used());
  ints["budget_bytes"] = static_cast<int64_t>(buffer_.config().budget_bytes);
  ints["sealed"] = static_cast<int64_t>(buffer_.sealed_size());
  ints["phase_mark_bytes"] = static_cast<int64_t>(buffer_.phase_mark_bytes());
  ints["recall_index_bytes"] = static_cast<int64_t>(buffer_.recall_index_bytes());
  for (const std::vector<size_t>* counts :
       {&buffer_.class_counts(), &buffer_.task_counts(), &buffer_.sealed_class_counts(),
        &buffer_.sealed_task_counts()}) {
    std::vector<int64_t> values(counts->begin(), counts->end());
    add_payload(reply, {DType::i64, {static_cast<int64_t>(values.size())}},
                make_payload_copy(values.data(), values.size() * 8));
  }
  return reply;
}

Message HippocampusActor::state() const {
  Message reply;
  reply.header.type = msg::kState;
  std::vector<uint8_t> buffer = buffer_.serialize();
  std::ostringstream rng;
  rng << rng_;
  const std::string rng_text = rng.str();
  add_payload(reply, {DType::u8, {static_cast<int64_t>(buffer.size())}},
              make_payload_copy(buffer.data(), buffer.size()));
  add_payload(reply, {DType::u8, {static_cast<int64_t>(rng_text.size())}},
              make_payload_copy(rng_text.data(), rng_text.size()));
  return reply;
}

}  // namespace engram
