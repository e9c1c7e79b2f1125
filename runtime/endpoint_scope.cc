#include "runtime/endpoint_scope.h"

#include <charconv>

namespace engram {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "[::1]" || host == "::1" || starts_with(host, "127.");
}

}  // namespace

Expected<EndpointScope> endpoint_scope(const std::string& endpoint, bool for_bind) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::invalid_argument, "endpoint \"" + endpoint + "\": " + why);
  };
  if (starts_with(endpoint, "inproc://")) {
    if (endpoint.size() == 9) return bad("inproc:// needs a name");
    return EndpointScope::process;
  }
  if (starts_with(endpoint, "ipc://")) {
    if (endpoint.size() == 6) return bad("ipc:// needs a path");
    return EndpointScope::machine;
  }
  if (!starts_with(endpoint, "tcp://")) {
    return bad("expected tcp://HOST:PORT (or ipc://PATH, inproc://NAME)");
  }
  const std::string rest = endpoint.substr(6);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("expected tcp://HOST:PORT");
  const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (port == "*" || port == "0") {
    if (!for_bind) return bad("a peer's port must be a number in [1, 65535]");
  } else {
    unsigned value = 0;
    auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (err != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return bad("the port must be a number in [1, 65535]" +
                 std::string(for_bind ? " or * (any free port)" : ""));
    }
  }
  return is_loopback_host(host) ? EndpointScope::machine : EndpointScope::network;
}

}  // namespace engram
