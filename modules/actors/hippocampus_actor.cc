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
  if (type == msg::kSample) {
    reply = sample(msg);
  } else if (type == msg::kGetStats) {
    reply = stats();
  } else if (type == msg::kSaveState) {
    reply = state();
  } else {
    return {ErrorCode::invalid_argument, "hippocampus: unknown message type '" + type + "'"};
  }
  reply.header.seq = ctx.next_seq();
  return ctx.send_to(from, routing_id.value_or(""), std::move(reply));
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

Message HippocampusActor::sample(const Message& request) {
  auto get = [&](const char* k, int64_t d) {
    auto it = request.header.ints.find(k);
    return it == request.header.ints.end() ? d : it->second;
  };
  const int64_t want = std::max<int64_t>(0, std::min<int64_t>(get("n", 0), 1 << 20));
  const int64_t below = get("below_task", INT32_MAX);
  const int c = buffer_.config().c;
  const bool small = buffer_.config().l <= 256;
  std::vector<uint32_t> code(static_cast<size_t>(c));
  std::vector<uint8_t> codes;
  std::vector<int32_t> labels, tasks;
  // Uniform over the stored codes of tasks < below_task, by rejection. Task counts tell up front
  // whether any qualify, so this never spins on an empty set.
  size_t eligible = 0;
  for (int t = 0; t < static_cast<int>(buffer_.task_counts().size()) && t < below; ++t) {
    eligible += buffer_.task_counts()[static_cast<size_t>(t)];
  }
  if (eligible > 0) {
    std::uniform_int_distribution<size_t> pick(0, buffer_.size() - 1);
    codes.reserve(static_cast<size_t>(want * c) * (small ? 1 : 4));
    while (static_cast<int64_t>(labels.size()) < want) {
      int32_t label = 0, task = 0;
      (void)buffer_.get(pick(rng_), code.data(), &label, &task);
      if (task >= below) continue;
      for (uint32_t v : code) {
        if (small) {
          codes.push_back(static_cast<uint8_t>(v));
        } else {
          const int32_t w = static_cast<int32_t>(v);
          const auto* b = reinterpret_cast<const uint8_t*>(&w);
          codes.insert(codes.end(), b, b + 4);
        }
      }
      labels.push_back(label);
      tasks.push_back(task);
    }
  }
  Message reply;
  reply.header.type = msg::kCodes;
  const int64_t n = static_cast<int64_t>(labels.size());
  add_payload(reply, {small ? DType::u8 : DType::i32, {n, c}},
              make_payload_copy(codes.data(), codes.size()));
  add_payload(reply, {DType::i32, {n}}, make_payload_copy(labels.data(), labels.size() * 4));
  add_payload(reply, {DType::i32, {n}}, make_payload_copy(tasks.data(), tasks.size() * 4));
  return reply;
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
  std::vector<int64_t> per_class(buffer_.class_counts().begin(), buffer_.class_counts().end());
  std::vector<int64_t> per_task(buffer_.task_counts().begin(), buffer_.task_counts().end());
  add_payload(reply, {DType::i64, {static_cast<int64_t>(per_class.size())}},
              make_payload_copy(per_class.data(), per_class.size() * 8));
  add_payload(reply, {DType::i64, {static_cast<int64_t>(per_task.size())}},
              make_payload_copy(per_task.data(), per_task.size() * 8));
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
