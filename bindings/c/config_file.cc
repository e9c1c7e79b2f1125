#include "bindings/c/config_file.h"

#include "bindings/lua/engram_module.h"
#include "bindings/lua/lua_json.h"
#include "runtime/atomic_file.h"
#include "runtime/lua_engine.h"

namespace engram {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Expected<std::string> run_config_script(const std::string& path) {
  LuaEngine engine;
  if (Status s = install_engram_module(engine); !s.ok()) return s;
  if (Status s = engine.load_file(path); !s.ok()) return s;
  auto results = engine.call(0, 1);
  if (!results.ok()) return results.status();
  std::string text;
  auto converted = engine.protect(1, [&](lua_State* L) {
    if (!lua_istable(L, 1))
      luaL_error(L, "%s: the script must return the configuration table", path.c_str());
    text = lua::to_json(L, 1, "configuration").dump();
    return 0;
  });
  if (!converted.ok()) return converted.status();
  return text;
}

}  // namespace

Expected<AgentConfig> read_agent_config_file(const std::string& path) {
  Expected<std::string> text = Status();
  if (ends_with(path, ".json")) {
    std::string bytes;
    if (Status s = read_file(path, &bytes, size_t{1} << 24); !s.ok()) return s;
    text = std::move(bytes);
  } else if (ends_with(path, ".lua")) {
    text = run_config_script(path);
  } else {
    return Status(ErrorCode::invalid_argument, path + ": configuration files end in .json or .lua");
  }
  if (!text.ok()) return text.status();
  auto config = agent_config_from_json(*text);
  if (!config.ok()) return Status(config.status().code(), path + ": " + config.status().message());
  return config;
}

}  // namespace engram
