// The `engram` Lua module that curriculum scripts use (see README "Lua API").
#pragma once

#include "runtime/lua_engine.h"

namespace engram {

// Installs global table `engram` into the engine: datasets and scenarios, engram.runtime, the
// metrics and report writers, engram.clock(), engram.version, engram.blas.
Status install_engram_module(LuaEngine& engine);

}  // namespace engram
