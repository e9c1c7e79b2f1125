// The driver's relay for modules served by other processes (served_module.h): a served module
// never dials out, so what its actor sends to a peer (the association to the hippocampus and
// the neocortex, the neocortex to the driver) comes back over a link the relay opens to it,
// tagged with the peer's name (strings "relay"); the relay passes it on to that peer, a thread
// of this process or another served module, and sends the peer's replies back over the link,
// tagged the same way.
//
// One socket per (served module, peer) pair, so each path keeps its order (the association's
// stores reach the hippocampus before its later seal or sample) and each reply comes back to the
// module that asked. Peers are reached through the host's wiring (ActorContext::endpoint_of:
// the connect options of a served peer apply, e.g. CURVE client keys). The relay never waits
// for a peer's answer: a module that dies is noticed by the driver's heartbeat monitors.
//
// The links open when the driver asks (kLink on the relay's own ROUTER, after the modules have
// adopted their state, so their processes answer): the relay sends kLink over each link, and
// reconnects a link that does not take it within a second (a connection whose handshake failed
// keeps no queue), up to `link_attempts` times. Reply kDone, or kError naming the module.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "runtime/actor.h"

namespace engram {

class ModuleRelay final : public ActorBehavior {
 public:
  // links: served module -> the peers its actor reaches. Peers named "driver" are pushed to
  // (the neocortex's progress, PUSH -> the driver's PULL); the others are asked (DEALER).
  explicit ModuleRelay(std::map<std::string, std::vector<std::string>> links,
                       int link_attempts = 10);

  std::string name() const override { return "relay"; }
  // Binds its ROUTER on its own endpoint, connects a link to every served module and a socket
  // to every peer.
  Status start(ActorContext& ctx) override;
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                    Message&& msg) override;

  // Messages passed on so far, both ways. Any thread.
  uint64_t relayed() const { return relayed_.load(); }

 private:
  struct Route {
    std::string module, peer;
  };
  // Sends kLink over every link (see above). Errors name the module.
  Status open_links(ActorContext& ctx);

  std::map<std::string, std::vector<std::string>> links_;
  int link_attempts_;
  SocketId inbox_ = 0;
  std::map<std::string, SocketId> link_of_;         // served module -> its link
  std::map<SocketId, std::string> module_of_link_;  // the reverse
  std::map<std::pair<std::string, std::string>, SocketId> peer_socket_;  // (module, peer)
  std::map<SocketId, Route> route_of_;  // peer socket -> (module, peer)
  std::atomic<uint64_t> relayed_{0};
};

}  // namespace engram
