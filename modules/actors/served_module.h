// One module actor served by a process of its own (`engram serve MODULE`), for a driver in
// another process. Any module: what is specific to one (how to build its actor from the state
// a driver sends) is a factory; the rest is here.
//
// The wrapper binds a ROUTER on the actor's own endpoint (the --bind of `engram serve`; CURVE
// server keys when configured). A driver
//  - sends kAdopt with the module's state: the factory builds the module's actor from it, which
//    then runs on a thread of its own (so heartbeats are answered while it learns or waits);
//    a later kAdopt replaces it. Reply kDone, or kError naming the problem;
//  - pings it (kPing -> kPong with the wrapper's counters, `adopted`, refused CURVE peers, and
//    module_errors: the failures of the module's actor since its adoption, with the last one's
//    message in strings module_error; a driver's heartbeat monitor stops on them);
//  - sends the module's own requests (messages.h), which the wrapper passes to the actor, one
//    inproc DEALER per peer (so each peer's requests stay in order and replies find their way
//    back); before the first kAdopt they get kError;
//  - opens the relay link (kLink, relay_link.h): a served module never dials out. The links
//    its actor makes to its peers (the association to the hippocampus and the neocortex, the
//    neocortex's progress PUSH to the driver) end at inproc sockets the wrapper binds; what the
//    actor sends there goes to the driver over the link, tagged with the peer's name (strings
//    "relay"), and the driver's relay (module_relay.h) passes it on and tags the replies back.
//    Messages sent before a link exists wait for it, in order.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/actor.h"

namespace engram {

// Builds a module's actor from a kAdopt message (its state). Errors name the problem; the
// wrapper replies with them as kError.
using ModuleFactory = std::function<Expected<std::unique_ptr<ActorBehavior>>(const Message&)>;

struct ServedModuleSpec {
  std::string name;     // the module (the actor's name, checked by heartbeats)
  ModuleFactory adopt;  // builds the actor from a kAdopt
  // The peers the actor reaches through ActorContext::endpoint_of: those it asks and expects
  // replies from (DEALER -> ROUTER, e.g. the association's hippocampus and neocortex) and
  // those it only pushes to (PUSH -> PULL, the neocortex's "driver").
  std::vector<std::string> request_peers;
  std::vector<std::string> push_peers;
};

class ServedModule final : public ActorBehavior {
 public:
  // server_options: applied to the ROUTER before it binds (CURVE server keys; may be empty).
  // denied: how many peers the CURVE handler refused so far, reported in kPong (may be empty).
  ServedModule(ServedModuleSpec spec, SocketOptions server_options,
               std::function<uint64_t()> denied);
  ~ServedModule() override;

  std::string name() const override { return spec_.name; }
  // Binds the ROUTER on the actor's own endpoint and the inproc sockets of the peers.
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;
  // Stops the module's actor.
  void stop(ActorContext& ctx) override;

 private:
  Status adopt(ActorContext& ctx, const Message& msg);
  // A message from a driver (the ROUTER).
  Status from_driver(ActorContext& ctx, const std::string& peer, Message&& msg);
  // Sends a message of the module's actor to the driver's relay (or queues it until a link).
  Status to_link(ActorContext& ctx, Message&& msg);

  ServedModuleSpec spec_;
  SocketOptions server_options_;
  std::function<uint64_t()> denied_;
  std::unique_ptr<Actor> inner_;  // the module's actor, after a kAdopt
  uint64_t generation_ = 0;       // adoptions so far (each inner actor has its own inbox)
  SocketId socket_ = 0;
  std::string link_;              // routing id of the driver's relay link ("" before kLink)
  std::deque<Message> unlinked_;  // the actor's messages to peers before any link
  std::map<std::string, SocketId> peer_sockets_;  // peer name -> the socket the actor reaches
  std::map<SocketId, std::string> socket_peers_;  // the reverse
  std::map<SocketId, std::string> peer_ids_;      // the actor's routing id at each peer ROUTER
  std::map<std::string, SocketId> to_inner_;      // driver peer -> DEALER to the actor's inbox
  std::map<SocketId, std::string> from_inner_;    // the reverse
};

}  // namespace engram
