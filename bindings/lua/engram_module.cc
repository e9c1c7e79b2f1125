#include "bindings/lua/engram_module.h"

#include <ATen/Parallel.h>

#include "bindings/lua/lua_compression.h"
#include "bindings/lua/lua_config_values.h"
#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_distill.h"
#include "bindings/lua/lua_distillation.h"
#include "bindings/lua/lua_lifelong.h"
#include "bindings/lua/lua_reports.h"
#include "bindings/lua/lua_runtime.h"
#include "bindings/lua/lua_stream.h"
#include "runtime/system_info.h"
#include "runtime/version.h"

namespace engram {

Status install_engram_module(LuaEngine& engine) {
  auto result = engine.protect(0, [](lua_State* L) {
    lua_newtable(L);
    lua::open_data(L);
    lua::open_config_values(L);
    lua::open_runtime(L);
    lua::open_reports(L);
    lua::open_stream(L);
    lua::open_distill(L);
    lua::open_compression(L);
    lua::open_distillation(L);
    lua::open_lifelong(L);
    lua_pushstring(L, ENGRAM_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, describe_blas(probe_blas()).c_str());
    lua_setfield(L, -2, "blas");
    at::init_num_threads();
    lua_pushinteger(L, at::get_num_threads());
    lua_setfield(L, -2, "torch_threads");
    lua_setglobal(L, "engram");
    return 0;
  });
  return result.ok() ? Status() : result.status();
}

}  // namespace engram
