#include "bindings/lua/lua_remote.h"

#include <string>

#include "bindings/lua/lua_table.h"

namespace engram::lua {

RemoteModulesConfig remote_modules_from_lua(lua_State* L, int index, const char* what) {
  index = lua_absindex(L, index);
  RemoteModulesConfig config;
  const std::string where(what);
  const std::string placement = where + ".placement";
  if (push_subtable(L, index, what, "placement")) {
    const int t = lua_gettop(L);
    check_keys(L, t, placement.c_str(), {"hippocampus", "association", "neocortex"});
    for (const char* module : {"hippocampus", "association", "neocortex"}) {
      std::string endpoint = opt_string(L, t, placement.c_str(), module, "");
      if (!endpoint.empty()) config.placement[module] = endpoint;
    }
    lua_pop(L, 1);
  }
  const std::string curve = where + ".curve";
  if (push_subtable(L, index, what, "curve")) {
    const int t = lua_gettop(L);
    check_keys(L, t, curve.c_str(), {"server_public_key", "client_secret_key"});
    config.curve.server_public_key = opt_string(L, t, curve.c_str(), "server_public_key", "");
    config.curve.client_secret_key = opt_string(L, t, curve.c_str(), "client_secret_key", "");
    lua_pop(L, 1);
  }
  const std::string heartbeat = where + ".heartbeat";
  if (push_subtable(L, index, what, "heartbeat")) {
    const int t = lua_gettop(L);
    check_keys(L, t, heartbeat.c_str(), {"interval_ms", "timeout_ms"});
    config.heartbeat_interval_ms = opt_int<int>(L, t, heartbeat.c_str(), "interval_ms",
                                                config.heartbeat_interval_ms, 10, 60000);
    config.heartbeat_timeout_ms = opt_int<int>(L, t, heartbeat.c_str(), "timeout_ms",
                                               config.heartbeat_timeout_ms, 20, 600000);
    lua_pop(L, 1);
  }
  if (Status s = validate_remote_modules(config, where); !s.ok()) raise(L, s);
  return config;
}

}  // namespace engram::lua
