#include "modules/actors/association_actor.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "modules/actors/messages.h"
#include "modules/actors/tensor_payload.h"
#include "modules/common/finite_step.h"

namespace engram {
namespace {

int64_t int_param(const Message& m, const char* key, int64_t fallback) {
  auto it = m.header.ints.find(key);
  return it == m.header.ints.end() ? fallback : it->second;
}

// Waits for the hippocampus's answer to a request (the only one in flight on this socket).
Expected<Message> await_reply(zmq::socket_t& sock, const char* expected_type) {
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(30000)) == 0) {
    return Status(ErrorCode::timeout, std::string("no reply to ") + expected_type + " in 30 s");
  }
  auto reply = recv_message(sock);
  if (!reply.ok()) return reply.status();
  if (reply->header.type != expected_type) {
    return Status(ErrorCode::malformed, "expected '" + std::string(expected_type) + "', got '" +
                                            reply->header.type + "'");
  }
  return reply;
}

}  // namespace

AssociationActor::AssociationActor(std::unique_ptr<Association> association, int torch_threads)
    : association_(std::move(association)), torch_threads_(torch_threads) {}

Status AssociationActor::start(ActorContext& ctx) {
  at::set_num_threads(torch_threads_);
  // Flush denormals to zero on this thread (the flag is per thread): once the losses approach 0
  // the gradients and Adam moments turn denormal and every step slowed down by a fifth.
  at::globalContext().setFlushDenormal(true);
  inbox_ = ctx.add_socket(zmq::socket_type::router, true);
  if (Status s = ctx.bind(inbox_, ctx.own_endpoint()); !s.ok()) return s;
  neocortex_ = ctx.add_socket(zmq::socket_type::dealer, false);
  if (Status s = ctx.connect(neocortex_, ctx.endpoint_of("neocortex")); !s.ok()) return s;
  if (association_) {
    hippocampus_ = ctx.add_socket(zmq::socket_type::dealer, false);
    if (Status s = ctx.connect(hippocampus_, ctx.endpoint_of("hippocampus")); !s.ok()) return s;
  }
  return {};
}

Status AssociationActor::reply(ActorContext& ctx, SocketId to, const std::optional<std::string>& id,
                               Message m) {
  m.header.seq = ctx.next_seq();
  return ctx.send_to(to, id.value_or(""), std::move(m));
}

Status AssociationActor::on_message(ActorContext& ctx, SocketId from,
                                    std::optional<std::string> routing_id, Message&& msg) {
  const std::string& type = msg.header.type;
  if (type == msg::kObserve) return observe(ctx, msg);
  Message out;
  out.header.type = msg::kDone;
  if (type == msg::kConsolidate) {
    if (association_) association_->consolidate();
  } else if (type == msg::kMeasureDistortion) {
    out.header.type = msg::kDistortion;
    if (association_) {
      auto x = take_tensor(msg, 0, "x", 2, {DType::f32});
      if (!x.ok()) return x.status();
      at::Tensor codes = association_->encode(*x);
      out.header.reals["l1_recall"] =
          (association_->recall(codes) - *x).abs().mean().item<double>();
      out.header.reals["l1_live"] =
          (association_->decode_live(codes) - *x).abs().mean().item<double>();
    }
  } else if (type == msg::kGetStats) {
    if (Status s = flush_stores(ctx); !s.ok()) return s;
    out.header.type = msg::kStats;
    out.header.strings["kind"] = association_ ? association_->kind() : "none";
    out.header.ints["weight_bytes"] = association_ ? association_->weight_bytes() : 0;
    out.header.ints["decoder_weight_bytes"] =
        association_ ? association_->decoder_weight_bytes() : 0;
    out.header.ints["batches"] = static_cast<int64_t>(batches_);
    out.header.ints["skipped_steps"] = skipped_steps_;
    if (association_) {
      out.header.ints["c"] = association_->code_shape().c;
      out.header.ints["l"] = association_->code_shape().l;
    }
    out.header.reals["reconstruction"] = last_reconstruction_;
    out.header.reals["distillation"] = last_distillation_;
  } else if (type == msg::kSaveState) {
    if (Status s = flush_stores(ctx); !s.ok()) return s;
    out.header.type = msg::kState;
    const std::string bytes = association_ ? association_->save_state() : std::string();
    add_payload(out, {DType::u8, {static_cast<int64_t>(bytes.size())}},
                make_payload_copy(bytes.data(), bytes.size()));
  } else {
    return {ErrorCode::invalid_argument, "association: unknown message type '" + type + "'"};
  }
  return reply(ctx, from, routing_id, std::move(out));
}

Status AssociationActor::flush_stores(ActorContext& ctx) {
  if (!association_) return {};
  // The hippocampus answers on the pipe the stores travelled, so when the answer arrives every
  // earlier store has been applied.
  Message sync;
  sync.header.type = msg::kGetStats;
  if (Status s = ctx.send(hippocampus_, std::move(sync)); !s.ok()) return s;
  auto synced = await_reply(ctx.socket(hippocampus_), msg::kStats);
  return synced.ok() ? Status() : synced.status();
}

Status AssociationActor::observe(ActorContext& ctx, Message& m) {
  const int64_t task = int_param(m, "task", 0);
  const int64_t replay = int_param(m, "replay", 0);
  const int64_t below = int_param(m, "replay_below", 0);
  auto x = take_tensor(m, 0, "x", 2, {DType::f32});
  if (!x.ok()) return x.status();
  auto y = take_tensor(m, 1, "y", 1, {DType::i64});
  if (!y.ok()) return y.status();
  auto active = take_tensor(m, 2, "active", 1, {DType::u8});
  if (!active.ok()) return active.status();
  if (x->size(0) != y->size(0)) return {ErrorCode::malformed, "observe: x and y sizes differ"};

  Message train;
  train.header.type = msg::kTrain;
  train.header.reals = m.header.reals;
  train.header.t_acq_ns = m.header.t_acq_ns;
  at::Tensor stored, recalled, recalled_labels;
  if (association_) {
    if (replay > 0 && below > 0) {
      Message request;
      request.header.type = msg::kSample;
      request.header.ints["n"] = replay;
      request.header.ints["below_task"] = below;
      if (Status s = ctx.send(hippocampus_, std::move(request)); !s.ok()) return s;
      auto codes = await_reply(ctx.socket(hippocampus_), msg::kCodes);
      if (!codes.ok()) return codes.status();
      auto c = take_tensor(*codes, 0, "codes", 2, {DType::u8, DType::i32});
      auto l = take_tensor(*codes, 1, "labels", 1, {DType::i32});
      if (!c.ok() || !l.ok()) return c.ok() ? l.status() : c.status();
      if (c->size(0) > 0) {
        stored = c->to(at::kLong);
        recalled = association_->recall(stored);
        recalled_labels = l->to(at::kLong);
      }
    }
    AssociationStats stats;
    at::Tensor codes = association_->learn(*x, stored, recalled, &stats);
    last_reconstruction_ = stats.reconstruction;
    last_distillation_ = stats.distillation;
    if (stats.skipped) log_skipped_step("association", ++skipped_steps_);
    train.header.ints["association_skipped"] = stats.skipped ? 1 : 0;
    Message store;
    store.header.type = msg::kStore;
    const bool small = association_->code_shape().l <= 256;
    if (Status s = add_tensor(store, codes.to(small ? at::kByte : at::kInt)); !s.ok()) return s;
    if (Status s = add_tensor(store, y->to(at::kInt)); !s.ok()) return s;
    if (Status s = add_tensor(store, at::full({x->size(0)}, task, at::kInt)); !s.ok()) return s;
    if (Status s = ctx.send(hippocampus_, std::move(store)); !s.ok()) return s;
  }
  ++batches_;
  for (const at::Tensor& t : {*x, *y, *active}) {
    if (Status s = add_tensor(train, t); !s.ok()) return s;
  }
  if (recalled.defined()) {
    if (Status s = add_tensor(train, recalled); !s.ok()) return s;
    if (Status s = add_tensor(train, recalled_labels); !s.ok()) return s;
  }
  return ctx.send(neocortex_, std::move(train));
}

}  // namespace engram
