// The hippocampus served by a process of its own (`engram serve hippocampus`): the hippocampus
// actor's handlers behind a ROUTER bound to a tcp:// or ipc:// endpoint, which a driver in
// another process fills with its state (kAdopt) before it learns, and which answers heartbeats
// (kPing -> kPong with its counters). Every other message is the hippocampus actor's
// (hippocampus_actor.h, messages.h); before the first kAdopt they get a kError reply.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "modules/actors/hippocampus_actor.h"
#include "runtime/actor.h"

namespace engram {

class ServedHippocampus final : public ActorBehavior {
 public:
  // server_options: applied to the ROUTER before it binds (CURVE server keys; may be empty).
  // denied: how many peers the CURVE handler refused so far, reported in kPong (may be empty).
  ServedHippocampus(SocketOptions server_options, std::function<uint64_t()> denied);

  std::string name() const override { return "hippocampus"; }
  // Binds the ROUTER on the actor's own endpoint (the --bind of `engram serve`).
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

  // Whether a driver has sent its state. Actor thread only.
  bool adopted() const { return inner_ != nullptr; }

 private:
  Status adopt(Message& msg);

  SocketOptions server_options_;
  std::function<uint64_t()> denied_;
  std::unique_ptr<HippocampusActor> inner_;
  SocketId socket_ = 0;
};

}  // namespace engram
