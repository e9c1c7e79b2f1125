// The hippocampus actor: owns the code buffer and answers store/sample/stats requests.
// Needs no torch.
#pragma once

#include <memory>
#include <random>

#include "modules/hippocampus/code_buffer.h"
#include "runtime/actor.h"

namespace engram {

class HippocampusActor final : public ActorBehavior {
 public:
  // The buffer is built on the controlling thread; the actor owns it afterwards.
  HippocampusActor(CodeBuffer buffer, uint64_t sample_seed);
  // Same, resuming the sampler's random stream from a snapshot.
  HippocampusActor(CodeBuffer buffer, std::mt19937_64 sampler);

  std::string name() const override { return "hippocampus"; }
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

 private:
  Status store(Message& msg);
  Message sample(const Message& request);
  Message stats() const;
  Message state() const;

  CodeBuffer buffer_;
  std::mt19937_64 rng_;
  SocketId socket_ = 0;
  std::vector<uint32_t> scratch_;
};

}  // namespace engram
