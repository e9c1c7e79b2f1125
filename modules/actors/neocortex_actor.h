// The neocortex actor: trains the classifier on real batches mixed with recollections (from the
// association), acknowledges each batch to the driver, and answers evaluation requests.
#pragma once

#include <memory>

#include "modules/neocortex/learner.h"
#include "runtime/actor.h"

namespace engram {

class NeocortexActor final : public ActorBehavior {
 public:
  NeocortexActor(std::unique_ptr<Learner> learner, int torch_threads);

  std::string name() const override { return "neocortex"; }
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

 private:
  Status train(ActorContext& ctx, Message& msg);

  std::unique_ptr<Learner> learner_;
  int torch_threads_;
  SocketId inbox_ = 0, progress_ = 0;
  uint64_t steps_ = 0;
  int64_t skipped_steps_ = 0;  // steps not applied: loss or gradients not finite
};

}  // namespace engram
