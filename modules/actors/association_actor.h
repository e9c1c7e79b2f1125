// The association actor: for each observed batch it recalls stored codes from the hippocampus,
// learns (the "dual purpose" buffer: real data plus decoder distillation on stored codes), sends
// the new codes to the hippocampus and the real+recalled batch to the neocortex.
#pragma once

#include <deque>
#include <memory>

#include <ATen/core/Tensor.h>

#include "modules/association/association.h"
#include "runtime/actor.h"

namespace engram {

class AssociationActor final : public ActorBehavior {
 public:
  // association may be null (kinds without one: none, lwf); batches then pass straight through.
  // has_buffer: the hippocampus holds the association's codes (connect to it, store, recall).
  AssociationActor(std::unique_ptr<Association> association, bool has_buffer, int torch_threads);

  std::string name() const override { return "association"; }
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

 private:
  // One decoded batch of recollections: the stored codes [R, c], their decodes [R, P], labels [R].
  struct Recalled {
    at::Tensor codes, x, labels;
  };
  Status observe(ActorContext& ctx, Message& msg);
  // The next batch of recollections for an observe message (empty when nothing is stored yet):
  // from the decoded-ahead queue, refilled with `delay` batches at once (N-step delayed replay).
  Expected<Recalled> next_recollections(ActorContext& ctx, Message& m, int64_t draw, int64_t delay);
  // Decoded recollections of one class for a kRecollect request (messages.h).
  Expected<at::Tensor> recollect(ActorContext& ctx, const Message& request);
  // Seals the hippocampus's buffer (a consolidation boundary), after every store sent so far.
  Status seal(ActorContext& ctx);
  // Returns once the hippocampus has applied every store this actor sent (a round trip).
  Status flush_stores(ActorContext& ctx);
  Status reply(ActorContext& ctx, SocketId to, const std::optional<std::string>& id, Message m);

  std::unique_ptr<Association> association_;
  bool has_buffer_;
  int torch_threads_;
  std::deque<Recalled> ahead_;  // decoded ahead for the coming batches of phase ahead_phase_
  int64_t ahead_phase_ = -1;
  SocketId inbox_ = 0, hippocampus_ = 0, neocortex_ = 0;
  uint64_t batches_ = 0;
  int64_t skipped_steps_ = 0;  // learning steps not applied: loss or gradients not finite
  double last_reconstruction_ = 0, last_distillation_ = 0;
};

}  // namespace engram
