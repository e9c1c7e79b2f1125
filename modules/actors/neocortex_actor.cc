#include "modules/actors/neocortex_actor.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "modules/actors/messages.h"
#include "modules/actors/tensor_payload.h"
#include "modules/common/finite_step.h"
#include "modules/neocortex/recall_selection.h"

namespace engram {

NeocortexActor::NeocortexActor(std::unique_ptr<Learner> learner, int torch_threads)
    : learner_(std::move(learner)), torch_threads_(torch_threads) {}

Status NeocortexActor::start(ActorContext& ctx) {
  at::set_num_threads(torch_threads_);
  // Flush denormals to zero on this thread (the flag is per thread): once the losses approach 0
  // the gradients and Adam moments turn denormal and every step slowed down by a fifth.
  at::globalContext().setFlushDenormal(true);
  inbox_ = ctx.add_socket(zmq::socket_type::router, true);
  if (Status s = ctx.bind(inbox_, ctx.own_endpoint()); !s.ok()) return s;
  progress_ = ctx.add_socket(zmq::socket_type::push, false);
  return ctx.connect(progress_, ctx.endpoint_of("driver"));
}

Status NeocortexActor::on_message(ActorContext& ctx, SocketId from,
                                  std::optional<std::string> routing_id, Message&& msg) {
  const std::string& type = msg.header.type;
  if (type == msg::kTrain) return train(ctx, msg);
  Message out;
  if (type == msg::kEvaluate) {
    auto x = take_tensor(msg, 0, "x", 2, {DType::f32});
    if (!x.ok()) return x.status();
    auto y = take_tensor(msg, 1, "y", 1, {DType::i64});
    if (!y.ok()) return y.status();
    auto active = take_tensor(msg, 2, "active", 1, {DType::u8});
    if (!active.ok()) return active.status();
    if (active->size(0) != learner_->classes() || x->size(0) != y->size(0)) {
      return {ErrorCode::malformed, "evaluate: shapes do not match the classifier"};
    }
    out.header.type = msg::kAccuracy;
    out.header.reals["accuracy"] = learner_->accuracy(*x, *y, active->to(at::kBool));
  } else if (type == msg::kGetStats) {
    out.header.type = msg::kStats;
    out.header.ints["steps"] = static_cast<int64_t>(steps_);
    out.header.ints["skipped_steps"] = skipped_steps_;
    out.header.ints["weight_bytes"] = learner_->weight_bytes();
    out.header.ints["memory_extra_bytes"] = learner_->memory_extra_bytes();
  } else if (type == msg::kConsolidate) {
    out.header.type = msg::kDone;
    learner_->consolidate();
  } else if (type == msg::kSaveState) {
    out.header.type = msg::kState;
    const std::string bytes = learner_->save_state();
    add_payload(out, {DType::u8, {static_cast<int64_t>(bytes.size())}},
                make_payload_copy(bytes.data(), bytes.size()));
  } else {
    return {ErrorCode::invalid_argument, "neocortex: unknown message type '" + type + "'"};
  }
  out.header.seq = ctx.next_seq();
  return ctx.send_to(from, routing_id.value_or(""), std::move(out));
}

Status NeocortexActor::train(ActorContext& ctx, Message& m) {
  auto x = take_tensor(m, 0, "x", 2, {DType::f32});
  auto y = take_tensor(m, 1, "y", 1, {DType::i64});
  auto active = take_tensor(m, 2, "active", 1, {DType::u8});
  if (!x.ok() || !y.ok() || !active.ok()) {
    return !x.ok() ? x.status() : !y.ok() ? y.status() : active.status();
  }
  at::Tensor xr, yr;
  if (m.payloads.size() >= 5) {
    auto rx = take_tensor(m, 3, "xr", 2, {DType::f32});
    auto ry = take_tensor(m, 4, "yr", 1, {DType::i64});
    if (!rx.ok() || !ry.ok()) return rx.ok() ? ry.status() : rx.status();
    xr = *rx;
    yr = *ry;
    // Recollections of an unsupervised generator (lifelong_vae) come unlabelled (-1): the
    // classifier kept at the last consolidation labels them.
    auto labelled = learner_->label_by_teacher(xr, yr);
    if (!labelled.ok()) return labelled.status();
    yr = *labelled;
  }
  auto real = [&](const char* key, double fallback) {
    auto it = m.header.reals.find(key);
    return it == m.header.reals.end() ? fallback : it->second;
  };
  auto integer = [&](const char* key, int64_t fallback) {
    auto it = m.header.ints.find(key);
    return it == m.header.ints.end() ? fallback : it->second;
  };
  const int64_t select = integer("select", 0);
  const int64_t keep = integer("keep", 0);
  if (xr.defined() && select != 0 && keep > 0 && xr.size(0) > keep) {
    auto chosen = select_recollections(*learner_, xr, yr, active->to(at::kBool), keep, select == 2);
    if (!chosen.ok()) return chosen.status();
    xr = xr.index_select(0, *chosen);
    yr = yr.index_select(0, *chosen);
  }
  StepWeights weights;
  weights.replay_weight = real("replay_weight", 0.5);
  weights.label_weight = real("label_weight", 1);
  weights.soft_weight = real("soft_weight", 0);
  weights.temperature = real("temperature", 2);
  StepStats stats = learner_->step(*x, *y, xr, yr, active->to(at::kBool), weights);
  ++steps_;
  if (stats.skipped) log_skipped_step("neocortex", ++skipped_steps_);
  Message done;
  done.header.type = msg::kTrained;
  done.header.t_acq_ns = m.header.t_acq_ns;
  // Steps of this batch not applied, here and (as the train message says) in the association.
  auto upstream = m.header.ints.find("association_skipped");
  done.header.ints["neocortex_skipped"] = stats.skipped ? 1 : 0;
  done.header.ints["association_skipped"] = upstream == m.header.ints.end() ? 0 : upstream->second;
  // The association's negative ELBO terms on the real batch, when it reported them.
  if (integer("association_learned", 0) != 0) {
    done.header.ints["association_learned"] = 1;
    for (const char* key : {"association_reconstruction", "association_kl"}) {
      done.header.reals[key] = real(key, 0);
    }
  }
  // What was recalled, per class (after any selection): curricula and tests read it.
  const at::Tensor recalled_per_class = xr.defined()
                                            ? at::bincount(yr.cpu(), {}, learner_->classes())
                                            : at::zeros({learner_->classes()}, at::kLong);
  if (Status s = add_tensor(done, recalled_per_class.contiguous()); !s.ok()) return s;
  done.header.ints["real"] = x->size(0);
  done.header.ints["recalled"] = xr.defined() ? xr.size(0) : 0;
  done.header.reals["loss_real"] = stats.loss_real;
  done.header.reals["loss_replay"] = stats.loss_replay;
  return ctx.send(progress_, std::move(done));
}

}  // namespace engram
