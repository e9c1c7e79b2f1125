// A Lua engine with the engram module installed, for tests of what scripts see: run code that
// must succeed, run code that must fail and get its message, read globals.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "bindings/lua/engram_module.h"
#include "runtime/lua_engine.h"

namespace engram::test {

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class LuaTestEngine {
 public:
  // Chunks run under `chunk_name` (what error messages cite, e.g. "latent.lua:1: ...").
  explicit LuaTestEngine(std::string chunk_name) : chunk_(std::move(chunk_name)) {
    Status s = install_engram_module(engine);
    REQUIRE_MESSAGE(s.ok(), s.to_string());
  }
  // Runs code that must succeed.
  void run(const std::string& code) {
    Status s = engine.run_string(code, chunk_);
    REQUIRE_MESSAGE(s.ok(), s.to_string());
  }
  // Runs code that must fail with a script error; returns its message.
  std::string error(const std::string& code) {
    Status s = engine.run_string(code, chunk_);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == ErrorCode::script_error);
    return s.message();
  }
  LuaValue global(const std::string& name) {
    auto v = engine.get_global(name);
    REQUIRE(v.ok());
    return *v;
  }

  LuaEngine engine;

 private:
  std::string chunk_;
};

}  // namespace engram::test
