// LuaEngine: sandbox, budgets, error positions, host bindings.
#include <doctest/doctest.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/lua_engine.h"

using engram::ErrorCode;
using engram::LuaEngine;
using engram::LuaLimits;
using engram::LuaValue;
using engram::Status;

namespace {

LuaValue global(LuaEngine& engine, const std::string& name) {
  auto v = engine.get_global(name);
  REQUIRE(v.ok());
  return *v;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

LuaLimits instruction_limit(uint64_t n) {
  LuaLimits limits;
  limits.max_instructions = n;
  return limits;
}

std::string temp_path(const std::string& name) {
  return std::string("/tmp/engram_test_lua_") + std::to_string(::getpid()) + "_" + name;
}

int host_fail(lua_State* L) { return luaL_error(L, "sensor %s is offline", "cam0"); }

}  // namespace

TEST_CASE("sandbox: dangerous globals are nil, safe libraries are present") {
  LuaEngine engine;
  for (const char* name : {"io", "os", "package", "debug", "require", "dofile", "loadfile"}) {
    Status s = engine.run_string(std::string("assert(") + name + " == nil, '" + name + "')", "t");
    CHECK_MESSAGE(s.ok(), s.to_string());
  }
  Status s = engine.run_string(
      "assert(string.dump == nil and getmetatable('') == false)\n"
      "assert(('abc'):upper() == 'ABC')\n"
      "assert(type(table.concat) == 'function' and type(math.floor) == 'function')\n"
      "assert(type(coroutine.wrap) == 'function' and type(utf8.char) == 'function')\n"
      "ok = string.format('%d', 42)",
      "libs.lua");
  CHECK_MESSAGE(s.ok(), s.to_string());
  CHECK(global(engine, "ok") == LuaValue(std::string("42")));
}

TEST_CASE("sandbox: load takes text only, whatever mode the script asks for") {
  LuaEngine engine;
  Status s = engine.run_string(
      "local bytecode = '\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10\\4\\8\\8'\n"
      "for _, mode in ipairs({'b', 'bt', 't'}) do\n"
      "  local f, err = load(bytecode, 'x', mode)\n"
      "  assert(f == nil, 'bytecode accepted with mode ' .. mode)\n"
      "  assert(err:find('binary chunk'), err)\n"
      "end\n"
      "local f = assert(load('return 1 + 2', 'x', 'b'))\n"
      "text_result = f()\n"
      "local g = assert(load('return y', 'env', 't', {y = 7}))\n"
      "env_result = g()\n",
      "load.lua");
  CHECK_MESSAGE(s.ok(), s.to_string());
  CHECK(global(engine, "text_result") == LuaValue(int64_t{3}));
  CHECK(global(engine, "env_result") == LuaValue(int64_t{7}));

  Status host = engine.run_string("\x1bLua\x54", "evil.luac");
  CHECK(host.code() == ErrorCode::script_error);
  CHECK(contains(host.message(), "bytecode"));
}

TEST_CASE("sandbox: xpcall and script coroutines behave as in plain Lua") {
  LuaEngine engine;
  Status s = engine.run_string(
      "local ok, msg = xpcall(function() error('x') end, function(m) return 'handled: ' .. m end)\n"
      "assert(not ok and msg == 'handled: co.lua:1: x', msg)\n"
      "local co = coroutine.create(function(a)\n"
      "  local b = coroutine.yield(a + 1)\n"
      "  local ok2, v = pcall(function() return coroutine.yield(b * 2) end)\n"
      "  assert(ok2)\n"
      "  error('inner ' .. v)\n"
      "end)\n"
      "local _, r1 = coroutine.resume(co, 1)\n"
      "local _, r2 = coroutine.resume(co, 5)\n"
      "local ok3, err = coroutine.resume(co, 'z')\n"
      "assert(r1 == 2 and r2 == 10 and not ok3, tostring(err))\n"
      "assert(err == 'co.lua:7: inner z', err)\n"
      "assert(coroutine.status(co) == 'dead')\n"
      "local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)\n"
      "assert(gen() + gen() + gen() == 6)\n"
      "assert(select('#', coroutine.wrap(function(...) return ... end)(1, nil, 3)) == 3)\n",
      "co.lua");
  CHECK_MESSAGE(s.ok(), s.to_string());
}

TEST_CASE("sandbox: collectgarbage is restricted and __gc is refused") {
  LuaEngine engine;
  CHECK(engine
            .run_string("collectgarbage(); collectgarbage('step'); "
                        "assert(collectgarbage('count') > 0)",
                        "gc.lua")
            .ok());
  Status stop = engine.run_string("\ncollectgarbage('stop')", "gc.lua");
  CHECK(stop.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(stop.message(), "gc.lua:2: collectgarbage('stop') is not allowed"),
                stop.message());
  Status gc =
      engine.run_string("setmetatable({}, {__gc = function() while true do end end})", "gc.lua");
  CHECK(gc.code() == ErrorCode::script_error);
  CHECK(contains(gc.message(), "__gc"));
  CHECK(engine.run_string("setmetatable({}, {__index = {}})", "mt.lua").ok());
}

TEST_CASE("print goes to the host sink") {
  LuaEngine engine;
  std::vector<std::string> lines;
  engine.set_print_sink([&](std::string_view line) { lines.emplace_back(line); });
  REQUIRE(engine.run_string("print('a', 1, nil, true) print()", "p.lua").ok());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "a\t1\tnil\ttrue");
  CHECK(lines[1].empty());
  engine.set_print_sink([](std::string_view) { throw std::runtime_error("sink is full"); });
  Status s = engine.run_string("\n\nprint('x')", "p.lua");
  CHECK(s.code() == ErrorCode::script_error);
  CHECK(starts_with(s.message(), "p.lua:3: sink is full"));
}

TEST_CASE("instruction budget stops loops, even behind pcall") {
  LuaEngine engine(instruction_limit(200000));
  Status s = engine.run_string("local x = 0\nwhile true do x = x + 1 end", "loop.lua");
  CHECK(s.code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(starts_with(s.message(), "loop.lua:2: instruction budget of 200000 exceeded"),
                s.message());
  CHECK(contains(s.message(), "stack traceback:"));

  const char* escapes[] = {
      "pcall(function() while true do end end)\nwhile true do end",
      "while true do pcall(function() while true do end end) end",
      "pcall(pcall, pcall, function() while true do end end)\nlocal n = 0\n"
      "while true do n = n + 1 end",
      "xpcall(function() while true do end end, function() while true do end end)\n"
      "while true do end",
      "local co = coroutine.wrap(function() while true do end end)\n"
      "while true do pcall(co) end",
      "while true do pcall(coroutine.wrap(function() while true do end end)) end",
      "while true do pcall(string.gsub, 'aaaa', 'a', function() while true do end end) end",
      // __close handlers of a coroutine killed by the budget must still be under the budget
      "local mt = {__close = function() while true do end end}\n"
      "local co = coroutine.wrap(function() local x <close> = setmetatable({}, mt)\n"
      "  while true do end end)\n"
      "pcall(co)\nwhile true do end",
      "local mt = {__close = function() while true do end end}\n"
      "local co = coroutine.create(function() local x <close> = setmetatable({}, mt)\n"
      "  while true do end end)\n"
      "coroutine.resume(co)\ncoroutine.close(co)\nwhile true do end",
  };
  for (const char* code : escapes) {
    Status e = engine.run_string(code, "escape.lua");
    CHECK_MESSAGE(e.code() == ErrorCode::budget_exceeded, code, " -> ", e.to_string());
    CHECK(contains(e.message(), "instruction budget of 200000 exceeded"));
  }

  // The budget is per entry: a fresh, short script runs fine afterwards.
  CHECK(
      engine.run_string("local s = 0 for i = 1, 1000 do s = s + i end result = s", "ok.lua").ok());
  CHECK(global(engine, "result") == LuaValue(int64_t{500500}));
  CHECK(engine.instructions_used() <= 200000);

  engine.set_max_instructions(0);  // unlimited
  CHECK(engine.run_string("for i = 1, 1000000 do end", "long.lua").ok());
}

TEST_CASE("interrupt from another thread stops a script") {
  LuaEngine engine;
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    engine.interrupt();
  });
  Status s =
      engine.run_string("pcall(function() while true do end end) while true do end", "spin.lua");
  killer.join();
  CHECK(s.code() == ErrorCode::closed);
  CHECK(contains(s.message(), "spin.lua:1: interrupted by the host"));
  CHECK(engine.run_string("x = 1", "after.lua").ok());
  engine.interrupt();
  engine.clear_interrupt();
  CHECK(engine.run_string("for i = 1, 100000 do end", "after.lua").ok());
}

TEST_CASE("memory budget: a bomb fails, memory comes back, the engine stays usable") {
  LuaLimits limits;
  limits.max_memory_bytes = size_t{32} << 20;
  LuaEngine engine(limits);
  engine.collect_garbage();
  const size_t baseline = engine.memory_used();
  CHECK(baseline > 0);
  CHECK(baseline < (size_t{1} << 20));

  Status s = engine.run_string(
      "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", "bomb.lua");
  CHECK(s.code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(starts_with(s.message(), "bomb.lua: memory budget of 33554432 bytes exceeded"),
                s.message());
  CHECK(engine.memory_used() <= limits.max_memory_bytes);
  engine.collect_garbage();
  CHECK(engine.memory_used() < baseline + (size_t{256} << 10));

  Status big = engine.run_string("local s = string.rep('x', 64 * 1024 * 1024)", "big.lua");
  CHECK(big.code() == ErrorCode::budget_exceeded);
  Status caught = engine.run_string(
      "local ok, err = pcall(string.rep, 'x', 1 << 30)\nassert(not ok)\nresult = 'survived'",
      "caught.lua");
  CHECK_MESSAGE(caught.ok(), caught.to_string());
  CHECK(
      engine.run_string("local t = {} for i = 1, 1000 do t[i] = i end result = #t", "ok.lua").ok());
  CHECK(global(engine, "result") == LuaValue(int64_t{1000}));
}

TEST_CASE("errors carry name.lua:LINE and a traceback") {
  LuaEngine engine;
  Status s = engine.run_string("local a = 1\nlocal b = 2\nerror('boom')\n", "demo.lua");
  CHECK(s.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(s.message(), "demo.lua:3: boom"), s.message());
  CHECK(contains(s.message(), "stack traceback:"));

  Status nested = engine.run_string(
      "local function inner()\n  local t = nil\n  return t.x\nend\nlocal function outer()\n"
      "  local v = inner()\n  return v\nend\nouter()\n",
      "nested.lua");
  CHECK(starts_with(nested.message(), "nested.lua:3: attempt to index a nil value"));
  CHECK(contains(nested.message(), "nested.lua:6:"));
  CHECK(contains(nested.message(), "nested.lua:9:"));

  Status syntax = engine.run_string("x = 1\ny = = 2\n", "syntax.lua");
  CHECK(syntax.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(syntax.message(), "syntax.lua:2:"), syntax.message());

  Status table_error = engine.run_string("error({code = 1})", "obj.lua");
  CHECK(contains(table_error.message(), "error object is a table value"));
}

TEST_CASE("errors raised in host functions report the calling script line") {
  LuaEngine engine;
  REQUIRE(engine.register_function("check_sensor", &host_fail).ok());
  Status s = engine.run_string("local x = 1\n\ncheck_sensor()\n", "host.lua");
  CHECK(s.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(s.message(), "host.lua:3: sensor cam0 is offline"), s.message());

  int calls = 0;
  REQUIRE(engine
              .register_closure("count",
                                [&calls](lua_State* L) {
                                  ++calls;
                                  if (lua_toboolean(L, 1)) throw std::runtime_error("bad input");
                                  lua_pushinteger(L, calls);
                                  return 1;
                                })
              .ok());
  CHECK(engine.run_string("n = count()", "c.lua").ok());
  CHECK(global(engine, "n") == LuaValue(int64_t{1}));
  Status thrown = engine.run_string("\ncount(true)", "c.lua");
  CHECK(thrown.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(thrown.message(), "c.lua:2: bad input"), thrown.message());

  static const luaL_Reg kLib[] = {
      {"twice", [](lua_State* L) { return lua_pushinteger(L, 2 * luaL_checkinteger(L, 1)), 1; }},
      {nullptr, nullptr}};
  REQUIRE(engine.register_library("engram", kLib).ok());
  CHECK(engine.run_string("v = engram.twice(21)", "lib.lua").ok());
  CHECK(global(engine, "v") == LuaValue(int64_t{42}));
  Status bad_arg = engine.run_string("\nengram.twice('x')", "lib.lua");
  CHECK_MESSAGE(starts_with(bad_arg.message(), "lib.lua:2: bad argument #1"), bad_arg.message());
}

TEST_CASE("run_file: chunk name, missing files, syntax errors, bytecode files") {
  LuaEngine engine;
  Status missing = engine.run_file("/nonexistent/dir/demo.lua");
  CHECK(missing.code() == ErrorCode::not_found);
  CHECK(contains(missing.message(), "/nonexistent/dir/demo.lua"));

  const std::string path = temp_path("demo.lua");
  {
    std::ofstream out(path);
    out << "#!/usr/bin/env engram\nlocal a = 1\nerror('line three')\n";
  }
  Status s = engine.run_file(path);
  const std::string base = path.substr(path.find_last_of('/') + 1);
  CHECK_MESSAGE(starts_with(s.message(), base + ":3: line three"), s.message());
  {
    std::ofstream out(path);
    out << "x = 1\n\nif then\n";
  }
  Status syntax = engine.run_file(path);
  CHECK(syntax.code() == ErrorCode::script_error);
  CHECK_MESSAGE(starts_with(syntax.message(), base + ":3:"), syntax.message());
  {
    std::ofstream out(path, std::ios::binary);
    out << "\x1bLuaT\x00 fake bytecode";
  }
  Status bytecode = engine.run_file(path);
  CHECK(bytecode.code() == ErrorCode::script_error);
  CHECK(contains(bytecode.message(), "bytecode"));
  std::remove(path.c_str());
  Status dir = engine.run_file("/tmp");
  CHECK(dir.code() == ErrorCode::io_error);
}

TEST_CASE("globals, call, script args and config") {
  LuaEngine engine;
  REQUIRE(engine.set_global("rate", 0.5).ok());
  REQUIRE(engine.set_global("name", std::string("mnist")).ok());
  REQUIRE(engine.set_script_args("run.lua", {"--fast", "3"}).ok());
  REQUIRE(engine.set_config({"lr=0.001", "net=mlp", "seed=1", "verbose=true", "empty="}).ok());
  CHECK(engine.set_config({"novalue"}).code() == ErrorCode::invalid_argument);
  CHECK(engine.set_config({"=1"}).code() == ErrorCode::invalid_argument);
  Status s = engine.run_string(
      "assert(rate == 0.5 and name == 'mnist')\n"
      "assert(arg[0] == 'run.lua' and arg[1] == '--fast' and arg[2] == '3' and #arg == 2)\n"
      "assert(config.lr == 0.001 and config.net == 'mlp' and math.type(config.seed) == 'integer')\n"
      "assert(config.verbose == true and config.empty == '')\n"
      "function add(a, b) return a + b, 'sum' end",
      "args.lua");
  CHECK_MESSAGE(s.ok(), s.to_string());
  auto r = engine.call_global("add", {int64_t{2}, int64_t{40}});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0] == LuaValue(int64_t{42}));
  CHECK((*r)[1] == LuaValue(std::string("sum")));
  CHECK(engine.call_global("missing").status().code() == ErrorCode::not_found);
  CHECK(lua_gettop(engine.state()) == 0);

  // Raw stack call: push function and args, get the result count back.
  lua_State* L = engine.state();
  REQUIRE(engine.load_string("return ...", "echo.lua").ok());
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 2);
  auto n = engine.call(2, LUA_MULTRET);
  REQUIRE(n.ok());
  CHECK(*n == 2);
  lua_settop(L, 0);
  CHECK(engine.call(0, 0).status().code() == ErrorCode::invalid_argument);
}
