// How far a ZeroMQ endpoint reaches: the links between engram processes bind to loopback unless
// configured otherwise, and leave the machine only with CURVE on (DESIGN.md sections 4 and 8).
#pragma once

#include <string>

#include "runtime/status.h"

namespace engram {

enum class EndpointScope {
  process,  // inproc://
  machine,  // ipc://, or tcp:// on a loopback address (127.0.0.0/8, localhost, ::1)
  network,  // tcp:// on any other address, a wildcard (*, 0.0.0.0) or an interface name
};

// The scope of `endpoint` after checking its form: "inproc://NAME", "ipc://PATH" or
// "tcp://HOST:PORT" with PORT in [1, 65535], or "*" / "0" (an ephemeral port) when `for_bind`.
// Errors: invalid_argument naming the endpoint and what is wrong with it.
Expected<EndpointScope> endpoint_scope(const std::string& endpoint, bool for_bind);

}  // namespace engram
