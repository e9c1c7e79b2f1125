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

// Waits for the hippocampus's answer to a request (the only one in flight on socket `id`).
// Returns at once when the actor is told to stop, so a hippocampus in another process that
// died never holds up stop().
Expected<Message> await_reply(ActorContext& ctx, SocketId id, const char* expected_type) {
  if (Status s = ctx.wait_readable(id, std::chrono::milliseconds(30000)); !s.ok()) {
    if (s.code() != ErrorCode::timeout) return s;
    return Status(ErrorCode::timeout, std::string("no reply to ") + expected_type + " in 30 s");
  }
  auto reply = recv_message(ctx.socket(id));
  if (!reply.ok()) return reply.status();
  if (reply->header.type == msg::kError) {
    auto why = reply->header.strings.find("error");
    return Status(ErrorCode::invalid_argument,
                  std::string("hippocampus refused the request: ") +
                      (why == reply->header.strings.end() ? "no reason given" : why->second));
  }
  if (reply->header.type != expected_type) {
    return Status(ErrorCode::malformed, "expected '" + std::string(expected_type) + "', got '" +
                                            reply->header.type + "'");
  }
  return reply;
}

}  // namespace

AssociationActor::AssociationActor(std::unique_ptr<Association> association, bool has_buffer,
                                   int torch_threads)
    : association_(std::move(association)),
      has_buffer_(has_buffer && association_ != nullptr),
      torch_threads_(torch_threads) {}

Status AssociationActor::start(ActorContext& ctx) {
  at::set_num_threads(torch_threads_);
  // Flush denormals to zero on this thread (the flag is per thread): once the losses approach 0
  // the gradients and Adam moments turn denormal and every step slowed down by a fifth.
  at::globalContext().setFlushDenormal(true);
  inbox_ = ctx.add_socket(zmq::socket_type::router, true);
  if (Status s = ctx.bind(inbox_, ctx.own_endpoint()); !s.ok()) return s;
  neocortex_ = ctx.add_socket(zmq::socket_type::dealer, false);
  if (Status s = ctx.connect(neocortex_, ctx.endpoint_of("neocortex")); !s.ok()) return s;
  if (has_buffer_) {
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
    ahead_.clear();  // decoded by the copy that is now replaced
    if (Status s = seal(ctx); !s.ok()) return s;
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
  } else if (type == msg::kRecollect) {
    // A failure is the reply (strings: error), so the driver never waits for a lost answer.
    auto x = recollect(ctx, msg);
    out.header.type = msg::kRecollections;
    if (!x.ok()) {
      out.header.strings["error"] = x.status().to_string();
    } else if (Status s = add_tensor(out, x->contiguous()); !s.ok()) {
      return s;
    }
  } else if (type == msg::kGetStats) {
    if (Status s = flush_stores(ctx); !s.ok()) return s;
    out.header.type = msg::kStats;
    out.header.strings["kind"] = association_ ? association_->kind() : "none";
    out.header.ints["weight_bytes"] = association_ ? association_->weight_bytes() : 0;
    out.header.ints["decoder_weight_bytes"] =
        association_ ? association_->decoder_weight_bytes() : 0;
    out.header.ints["memory_weight_bytes"] = association_ ? association_->memory_weight_bytes() : 0;
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

Expected<at::Tensor> AssociationActor::recollect(ActorContext& ctx, const Message& request) {
  const int64_t n = int_param(request, "n", 0), cls = int_param(request, "class", -1);
  if (!has_buffer_ && association_ && association_->generates_by_class() && cls >= 0 && n >= 1 &&
      n <= (1 << 16)) {
    // A generator by class (papers/004): n samples of the class (none before it is learned).
    std::vector<double> weights(static_cast<size_t>(cls) + 1, 0.0);
    weights.back() = 1.0;
    auto generated = association_->generate(n, weights);
    if (!generated.ok()) return generated.status();
    return generated->first;
  }
  if (!has_buffer_) {
    return Status(ErrorCode::invalid_argument, "recollect: the association stores no codes");
  }
  if (n < 1 || n > (1 << 16)) {
    return Status(ErrorCode::invalid_argument, "recollect: n must be in [1, 65536]");
  }
  // The hippocampus's stats (a round trip, as flush_stores: every code stored so far is in the
  // buffer) give the number of classes (payload 0: codes per class).
  Message sync;
  sync.header.type = msg::kGetStats;
  if (Status s = ctx.send(hippocampus_, std::move(sync)); !s.ok()) return s;
  auto stats = await_reply(ctx, hippocampus_, msg::kStats);
  if (!stats.ok()) return stats.status();
  const auto& payloads = stats->header.payloads;
  const int64_t classes = payloads.empty() || payloads[0].shape.empty() ? 0 : payloads[0].shape[0];
  if (cls < 0 || cls >= classes) {
    return Status(ErrorCode::invalid_argument, "recollect: class " + std::to_string(cls) +
                                                   " outside [0, " + std::to_string(classes) + ")");
  }
  Message ask;
  ask.header.type = msg::kSample;
  ask.header.ints["n"] = n;
  ask.header.ints["sealed_only"] = 0;
  ask.header.strings["weights_by"] = "class";
  at::Tensor weights = at::zeros({classes}, at::kFloat);
  weights[cls] = 1.0f;
  if (Status s = add_tensor(ask, weights); !s.ok()) return s;
  if (Status s = ctx.send(hippocampus_, std::move(ask)); !s.ok()) return s;
  auto codes = await_reply(ctx, hippocampus_, msg::kCodes);
  if (!codes.ok()) return codes.status();
  auto c = take_tensor(*codes, 0, "codes", 2, {DType::u8, DType::i32});
  if (!c.ok()) return c.status();
  if (c->size(0) == 0) return at::empty({0, 0}, at::kFloat);
  return association_->decode_live(c->to(at::kLong)).to(at::kFloat);
}

Status AssociationActor::seal(ActorContext& ctx) {
  if (!has_buffer_) return {};
  Message seal;
  seal.header.type = msg::kSeal;
  if (Status s = ctx.send(hippocampus_, std::move(seal)); !s.ok()) return s;
  auto done = await_reply(ctx, hippocampus_, msg::kDone);
  return done.ok() ? Status() : done.status();
}

Status AssociationActor::flush_stores(ActorContext& ctx) {
  if (!has_buffer_) return {};
  // The hippocampus answers on the pipe the stores travelled, so when the answer arrives every
  // earlier store has been applied.
  Message sync;
  sync.header.type = msg::kGetStats;
  if (Status s = ctx.send(hippocampus_, std::move(sync)); !s.ok()) return s;
  auto synced = await_reply(ctx, hippocampus_, msg::kStats);
  return synced.ok() ? Status() : synced.status();
}

Expected<AssociationActor::Recalled> AssociationActor::next_recollections(ActorContext& ctx,
                                                                          Message& m, int64_t draw,
                                                                          int64_t delay) {
  const int64_t phase = int_param(m, "phase", 0);
  if (phase != ahead_phase_) {
    ahead_.clear();
    ahead_phase_ = phase;
  }
  if (ahead_.empty()) {
    Message request;
    request.header.type = msg::kSample;
    request.header.ints["n"] = draw * delay;
    request.header.ints["sealed_only"] = 1;
    if (auto by = m.header.strings.find("weights_by"); by != m.header.strings.end()) {
      auto w = take_tensor(m, 3, "weights", 1, {DType::f32});
      if (!w.ok()) return w.status();
      request.header.strings["weights_by"] = by->second;
      if (Status s = add_tensor(request, *w); !s.ok()) return s;
    }
    if (Status s = ctx.send(hippocampus_, std::move(request)); !s.ok()) return s;
    auto codes = await_reply(ctx, hippocampus_, msg::kCodes);
    if (!codes.ok()) return codes.status();
    auto c = take_tensor(*codes, 0, "codes", 2, {DType::u8, DType::i32});
    auto l = take_tensor(*codes, 1, "labels", 1, {DType::i32});
    if (!c.ok() || !l.ok()) return c.ok() ? l.status() : c.status();
    const int64_t n = c->size(0);
    if (n == 0) return Recalled{};
    // Decoded all at once: the next `delay` batches use recollections decoded now, while the
    // association goes on learning (papers/000's N-step delayed replay).
    const at::Tensor stored = c->to(at::kLong);
    const at::Tensor decoded = association_->recall(stored);
    const at::Tensor labels = l->to(at::kLong);
    const int64_t chunk = (n + delay - 1) / delay;
    for (int64_t begin = 0; begin < n; begin += chunk) {
      const int64_t len = std::min(chunk, n - begin);
      ahead_.push_back(Recalled{stored.narrow(0, begin, len), decoded.narrow(0, begin, len),
                                labels.narrow(0, begin, len)});
    }
  }
  Recalled next = std::move(ahead_.front());
  ahead_.pop_front();
  return next;
}

Status AssociationActor::observe(ActorContext& ctx, Message& m) {
  const int64_t task = int_param(m, "task", 0);
  const int64_t per_batch = int_param(m, "replay", 0);
  const int64_t draw = std::max(per_batch, int_param(m, "draw", per_batch));
  const int64_t delay = std::max<int64_t>(1, int_param(m, "delay", 1));
  const bool learn_association = int_param(m, "learn_association", 1) != 0;
  auto x = take_tensor(m, 0, "x", 2, {DType::f32});
  if (!x.ok()) return x.status();
  auto y = take_tensor(m, 1, "y", 1, {DType::i64});
  if (!y.ok()) return y.status();
  auto active = take_tensor(m, 2, "active", 1, {DType::u8});
  if (!active.ok()) return active.status();
  if (x->size(0) != y->size(0)) return {ErrorCode::malformed, "observe: x and y sizes differ"};
  const bool real = x->size(0) > 0;

  Message train;
  train.header.type = msg::kTrain;
  train.header.reals = m.header.reals;
  train.header.t_acq_ns = m.header.t_acq_ns;
  train.header.ints["select"] = int_param(m, "select", 0);
  train.header.ints["keep"] = per_batch;
  Recalled recalled;
  if (has_buffer_ && per_batch > 0) {
    auto r = next_recollections(ctx, m, draw, delay);
    if (!r.ok()) return r.status();
    recalled = std::move(*r);
  } else if (association_ && per_batch > 0) {
    // A generator (no buffer): class weights pass on as they are; task weights have no meaning.
    std::vector<double> weights;
    if (auto by = m.header.strings.find("weights_by"); by != m.header.strings.end()) {
      if (by->second != "class") {
        return {ErrorCode::invalid_argument,
                "association: a generator draws by class; task weights need a buffer"};
      }
      auto w = take_tensor(m, 3, "weights", 1, {DType::f32});
      if (!w.ok()) return w.status();
      const at::Tensor wd = w->to(at::kDouble).contiguous();
      weights.assign(wd.data_ptr<double>(), wd.data_ptr<double>() + wd.numel());
    }
    auto generated = association_->generate(draw, weights);
    if (!generated.ok()) return generated.status();
    recalled.x = generated->first;
    recalled.labels = generated->second;
  }
  train.header.ints["association_skipped"] = 0;
  if (association_ && (real || (learn_association && recalled.x.defined()))) {
    // The "dual purpose" buffer: the association learns the real batch (in a consolidation
    // phase, its own recollections) while its live decoder keeps decoding stored codes as the
    // frozen copy does (at most per_batch of them, whatever the candidates drawn).
    at::Tensor codes_in, decoded;
    if (recalled.codes.defined()) {
      const int64_t k = std::min(per_batch, recalled.x.size(0));
      codes_in = recalled.codes.narrow(0, 0, k);
      decoded = recalled.x.narrow(0, 0, k);
    }
    AssociationStats stats;
    // In a consolidation phase the association learns its own recollections.
    const at::Tensor learn_x = real ? *x : (decoded.defined() ? decoded : recalled.x);
    at::Tensor codes =
        association_->learn_labelled(learn_x, real ? *y : at::Tensor(), codes_in, decoded, &stats);
    last_reconstruction_ = stats.reconstruction;
    last_distillation_ = stats.distillation;
    if (stats.skipped) log_skipped_step("association", ++skipped_steps_);
    train.header.ints["association_skipped"] = stats.skipped ? 1 : 0;
    if (real && stats.elbo) {  // the association's negative ELBO on the real batch
      train.header.ints["association_learned"] = 1;
      train.header.reals["association_reconstruction"] = stats.reconstruction;
      train.header.reals["association_kl"] = stats.kl;
    }
    if (real && has_buffer_ && int_param(m, "store", 1) != 0) {
      Message store;
      store.header.type = msg::kStore;
      const bool small = association_->code_shape().l <= 256;
      if (Status s = add_tensor(store, codes.to(small ? at::kByte : at::kInt)); !s.ok()) return s;
      if (Status s = add_tensor(store, y->to(at::kInt)); !s.ok()) return s;
      if (Status s = add_tensor(store, at::full({x->size(0)}, task, at::kInt)); !s.ok()) return s;
      if (Status s = ctx.send(hippocampus_, std::move(store)); !s.ok()) return s;
    }
  }
  ++batches_;
  for (const at::Tensor& t : {*x, *y, *active}) {
    if (Status s = add_tensor(train, t); !s.ok()) return s;
  }
  if (recalled.x.defined()) {
    if (Status s = add_tensor(train, recalled.x.contiguous()); !s.ok()) return s;
    if (Status s = add_tensor(train, recalled.labels.contiguous()); !s.ok()) return s;
  }
  return ctx.send(neocortex_, std::move(train));
}

}  // namespace engram
