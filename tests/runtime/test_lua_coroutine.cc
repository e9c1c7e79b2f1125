// LuaCoroutine: scripts as coroutines the host resumes on events.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/lua_coroutine.h"
#include "runtime/lua_engine.h"

using engram::CoroutineStatus;
using engram::ErrorCode;
using engram::LuaCoroutine;
using engram::LuaEngine;
using engram::LuaLimits;
using engram::LuaValue;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("coroutine: the host resumes a yielding function until it finishes") {
  LuaEngine engine;
  REQUIRE(engine
              .run_string("function schedule(first, step)\n"
                          "  local n = first\n"
                          "  for _ = 1, 3 do\n"
                          "    local arrived = coroutine.yield(n)\n"
                          "    n = n + step + (arrived or 0)\n"
                          "  end\n"
                          "  return 'done', n\n"
                          "end\n",
                          "schedule.lua")
              .ok());
  auto made = LuaCoroutine::from_global(engine, "schedule");
  REQUIRE(made.ok());
  LuaCoroutine co = std::move(made).value();
  CHECK(co.name() == "schedule.lua");

  auto r = co.resume({int64_t{10}, int64_t{1}});
  REQUIRE(r.ok());
  CHECK(r->status == CoroutineStatus::yielded);
  REQUIRE(r->values.size() == 1);
  CHECK(r->values[0] == LuaValue(int64_t{10}));
  CHECK(co.value_count() == 1);
  CHECK(lua_tointeger(co.thread(), -1) == 10);

  std::vector<int64_t> seen;
  for (int64_t arrived : {100, 1000}) {  // e.g. "N samples arrived"
    r = co.resume({arrived});
    REQUIRE(r.ok());
    REQUIRE(r->yielded());
    seen.push_back(std::get<int64_t>(r->values.at(0)));
  }
  CHECK(seen == std::vector<int64_t>{111, 1112});

  r = co.resume();
  REQUIRE(r.ok());
  CHECK(r->finished());
  REQUIRE(r->values.size() == 2);
  CHECK(r->values[0] == LuaValue(std::string("done")));
  CHECK(r->values[1] == LuaValue(int64_t{1113}));
  CHECK(co.done());
  CHECK(co.resume().status().code() == ErrorCode::invalid_argument);
  CHECK(lua_gettop(engine.state()) == 0);
}

TEST_CASE("coroutine: from a chunk, with arguments pushed by a callback") {
  LuaEngine engine;
  auto made = LuaCoroutine::from_chunk(engine,
                                       "local batch = ...\n"
                                       "local total = 0\n"
                                       "while true do\n"
                                       "  for _, v in ipairs(batch) do total = total + v end\n"
                                       "  if total > 10 then return total end\n"
                                       "  batch = coroutine.yield(total)\n"
                                       "end\n",
                                       "sum.lua");
  REQUIRE(made.ok());
  LuaCoroutine co = std::move(made).value();
  auto push_batch = [](std::vector<int> values) {
    return [values](lua_State* L) {
      lua_createtable(L, static_cast<int>(values.size()), 0);
      for (size_t i = 0; i < values.size(); ++i) {
        lua_pushinteger(L, values[i]);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return 1;
    };
  };
  auto r = co.resume_with(push_batch({1, 2}));
  REQUIRE(r.ok());
  CHECK(r->values.at(0) == LuaValue(int64_t{3}));
  r = co.resume_with(push_batch({4}));
  REQUIRE(r.ok());
  CHECK(r->values.at(0) == LuaValue(int64_t{7}));
  r = co.resume_with(push_batch({5, 6}));
  REQUIRE(r.ok());
  CHECK(r->finished());
  CHECK(r->values.at(0) == LuaValue(int64_t{18}));
}

TEST_CASE("coroutine: errors carry name.lua:LINE and the coroutine's traceback") {
  LuaEngine engine;
  REQUIRE(engine
              .run_string("local function check(n)\n"
                          "  if n > 1 then error('too many samples: ' .. n) end\n"
                          "end\n"
                          "function watch()\n"
                          "  local n = 0\n"
                          "  while true do\n"
                          "    n = n + coroutine.yield()\n"
                          "    check(n)\n"
                          "  end\n"
                          "end\n",
                          "watch.lua")
              .ok());
  auto made = LuaCoroutine::from_global(engine, "watch");
  REQUIRE(made.ok());
  LuaCoroutine co = std::move(made).value();
  REQUIRE(co.resume().ok());
  REQUIRE(co.resume({int64_t{1}}).ok());
  auto r = co.resume({int64_t{5}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::script_error);
  const std::string msg = r.status().message();
  CHECK_MESSAGE(starts_with(msg, "watch.lua:2: too many samples: 6"), msg);
  CHECK(contains(msg, "stack traceback:"));
  CHECK(contains(msg, "watch.lua:8:"));
  CHECK(co.done());
  CHECK(engine.run_string("x = 1", "after.lua").ok());
}

TEST_CASE("coroutine: the instruction budget applies to each resume") {
  LuaLimits limits;
  limits.max_instructions = 100000;
  LuaEngine engine(limits);
  REQUIRE(engine
              .run_string("function worker()\n"
                          "  for i = 1, 5 do\n"
                          "    for j = 1, 20000 do end\n"  // well inside one budget
                          "    coroutine.yield(i)\n"
                          "  end\n"
                          "  pcall(function() while true do end end)\n"
                          "  while true do end\n"
                          "end\n",
                          "worker.lua")
              .ok());
  auto made = LuaCoroutine::from_global(engine, "worker");
  REQUIRE(made.ok());
  LuaCoroutine co = std::move(made).value();
  for (int64_t i = 1; i <= 5; ++i) {  // together far over one budget: the budget is per resume
    auto r = co.resume();
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->values.at(0) == LuaValue(i));
  }
  auto r = co.resume();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(contains(r.status().message(), "instruction budget of 100000 exceeded"),
                r.status().message());
  CHECK(starts_with(r.status().message(), "worker.lua:"));
  CHECK(co.done());
  CHECK(engine.run_string("for i = 1, 1000 do end", "after.lua").ok());
}

TEST_CASE("coroutine: the memory budget applies inside coroutines") {
  LuaLimits limits;
  limits.max_memory_bytes = size_t{16} << 20;
  LuaEngine engine(limits);
  auto made = LuaCoroutine::from_chunk(engine,
                                       "local t = {}\n"
                                       "coroutine.yield()\n"
                                       "for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n",
                                       "hog.lua");
  REQUIRE(made.ok());
  LuaCoroutine co = std::move(made).value();
  REQUIRE(co.resume().ok());
  auto r = co.resume();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(starts_with(r.status().message(), "hog.lua: memory budget of 16777216 bytes"),
                r.status().message());
  engine.collect_garbage();
  CHECK(engine.memory_used() < (size_t{1} << 20));
  CHECK(engine.run_string("local t = {} for i = 1, 100 do t[i] = i end", "after.lua").ok());
}

TEST_CASE("coroutine: creation errors and abandoned coroutines") {
  LuaEngine engine;
  CHECK(LuaCoroutine::from_global(engine, "nope").status().code() == ErrorCode::not_found);
  CHECK(LuaCoroutine::from_chunk(engine, "x = = 1", "bad.lua").status().code() ==
        ErrorCode::script_error);
  lua_pushinteger(engine.state(), 3);
  CHECK(LuaCoroutine::from_stack(engine).status().code() == ErrorCode::invalid_argument);
  CHECK(lua_gettop(engine.state()) == 0);

  REQUIRE(engine
              .run_string("closed = false\n"
                          "function held()\n"
                          "  local guard <close> = setmetatable({}, {__close = function()\n"
                          "    closed = true end})\n"
                          "  coroutine.yield()\n"
                          "end\n",
                          "held.lua")
              .ok());
  {
    auto made = LuaCoroutine::from_global(engine, "held");
    REQUIRE(made.ok());
    LuaCoroutine co = std::move(made).value();
    REQUIRE(co.resume().ok());
    LuaCoroutine moved = std::move(co);
    CHECK(co.done());
    CHECK_FALSE(moved.done());
  }  // destroyed while suspended: its to-be-closed variable is closed
  auto closed = engine.get_global("closed");
  REQUIRE(closed.ok());
  CHECK(*closed == LuaValue(true));
  engine.collect_garbage();
  CHECK(engine.run_string("x = 1", "after.lua").ok());
}
