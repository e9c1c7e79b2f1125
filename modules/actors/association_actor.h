// The association actor: for each observed batch it recalls stored codes from the hippocampus,
// learns (the "dual purpose" buffer: real data plus decoder distillation on stored codes), sends
// the new codes to the hippocampus and the real+recalled batch to the neocortex.
#pragma once

#include <memory>

#include "modules/association/association.h"
#include "runtime/actor.h"

namespace engram {

class AssociationActor final : public ActorBehavior {
 public:
  // association may be null: no memory (fine-tuning); batches then pass straight through.
  explicit AssociationActor(std::unique_ptr<Association> association, int torch_threads);

  std::string name() const override { return "association"; }
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

 private:
  Status observe(ActorContext& ctx, Message& msg);
  // Returns once the hippocampus has applied every store this actor sent (a round trip).
  Status flush_stores(ActorContext& ctx);
  Status reply(ActorContext& ctx, SocketId to, const std::optional<std::string>& id, Message m);

  std::unique_ptr<Association> association_;
  int torch_threads_;
  SocketId inbox_ = 0, hippocampus_ = 0, neocortex_ = 0;
  uint64_t batches_ = 0;
  int64_t skipped_steps_ = 0;  // learning steps not applied: loss or gradients not finite
  double last_reconstruction_ = 0, last_distillation_ = 0;
};

}  // namespace engram
