// Integer settings read from Lua tables and arguments are range-checked on the lua_Integer,
// before they are narrowed: errors name the setting, the accepted range and the value, and
// non-integers (2.5, NaN, inf) are refused, never truncated.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "bindings/lua/lua_json.h"
#include "tests/modules/lua_test_engine.h"

namespace engram {
namespace {

using test::contains;

// An engine with the engram module and the repository's MNIST in global `ds`.
struct Lua : test::LuaTestEngine {
  Lua() : LuaTestEngine("settings.lua") {
    run("ds = engram.dataset('mnist', '" ENGRAM_SOURCE_DIR "/data/mnist')");
  }
};

}  // namespace

TEST_CASE("engram.runtime: tasks = 2^40 is refused naming the setting, range and value") {
  Lua lua;
  CHECK(contains(lua.error("engram.runtime{dataset = ds, tasks = 1 << 40}"),
                 "runtime.tasks must be in [1, 65536], got 1099511627776"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, seed = -1}"),
                 "runtime.seed must be in [0, 18446744073709551615], got -1"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memory = {c = (1 << 32) + 8}}"),
                 "runtime.memory.c must be in [1, 65536], got 4294967304"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, neocortex = {hidden = {64, 1 << 40}}}"),
                 "runtime.neocortex.hidden entry 2 must be in [1, 1048576], got 1099511627776"));
}

TEST_CASE("engram.runtime: non-integers for integer settings are refused, not truncated") {
  Lua lua;
  CHECK(contains(lua.error("engram.runtime{dataset = ds, tasks = 2.5}"),
                 "runtime.tasks must be an integer, got 2.5"));
  std::string m = lua.error("engram.runtime{dataset = ds, tasks = 0/0}");
  CHECK(contains(m, "runtime.tasks must be an integer, got "));
  CHECK(contains(m, "nan"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, threads = math.huge}"),
                 "runtime.threads must be an integer, got inf"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, tasks = '5x'}"),
                 "runtime.tasks must be an integer, got \"5x\""));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, tasks = {}}"),
                 "runtime.tasks must be an integer, got {}"));
}

TEST_CASE("engram.runtime reads the declared settings: the memory table is the kind's") {
  Lua lua;
  // The same declarations as the C API's JSON and snapshot configs (test_json_settings).
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memory = {kind = 'raw', c = 3}}"),
                 "runtime.memory.c is an option of memory kind \"dvae\", not of \"raw\" "
                 "(runtime.memory.kind)"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memory = {cc = 3}}"),
                 "unknown key 'runtime.memory.cc' (did you mean 'c'?); known: kind, budget_bytes, "
                 "selector, association_from, c, l,"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memroy = {}}"),
                 "unknown key 'runtime.memroy' (did you mean 'memory'?)"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, endpoint = {}}"),
                 "(did you mean 'endpoints'?)"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memory = 5}"),
                 "runtime.memory must be a table (an object of options), got 5"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, neocortex = {lr = 0/0}}"),
                 "runtime.neocortex.lr must be a finite number, got nan"));
  CHECK(contains(lua.error("engram.runtime{dataset = ds, memory = {kind = 'lwf', weight = -1}}"),
                 "runtime.memory.weight must be in [0, 1000000], got -1"));
  // Empty tables are every default; a kind's options reach the session.
  lua.run(
      "rt = engram.runtime{dataset = ds, neocortex = {}, memory = {kind = 'dvae', c = 12,\n"
      "                    hidden = {32}}}\n"
      "code_bits = rt:memory().code_bits\n"
      "rt:close()\n");
  CHECK(std::get<int64_t>(lua.global("code_bits")) == 12);  // c = 12 codes of l = 2: 12 bits
}

TEST_CASE("rt:learn options beyond int are refused before anything is learned") {
  Lua lua;
  lua.run(
      "rt = engram.runtime{dataset = ds, tasks = 2, memory = {kind = 'none'}}\n"
      "tasks = engram.split(ds, {{0, 1}, {2, 3}})\n");
  CHECK(contains(lua.error("rt:learn(tasks[1], {batch = 1 << 40, progress = false})"),
                 "learn options.batch must be in [1, 1048576], got 1099511627776"));
  CHECK(contains(lua.error("rt:learn(tasks[1], {iterations = 1 << 40, progress = false})"),
                 "learn options.iterations must be in [0, 100000000], got 1099511627776"));
  CHECK(contains(lua.error("rt:learn(tasks[1], {replay = 2.5, progress = false})"),
                 "learn options.replay.per_batch must be an integer, got 2.5"));
  CHECK(contains(lua.error("rt:distortion(tasks[1], 2.5)"),
                 "distortion: max_examples must be an integer, got 2.5"));
  CHECK(contains(lua.error("rt:distortion(tasks[1], 0)"),
                 "distortion: max_examples must be in [1, 9223372036854775807], got 0"));
  lua.run("rt:close()");
}

TEST_CASE("engram.split and engram.permuted check classes, counts and seeds before narrowing") {
  Lua lua;
  // Class 2^32 + 1 used to become class 1.
  CHECK(contains(lua.error("engram.split(ds, {{0, (1 << 32) + 1}})"),
                 "split: group 1 class must be in [0, 2147483647], got 4294967297"));
  CHECK(contains(lua.error("engram.split(ds, {{0.5}})"),
                 "split: group 1 class must be an integer, got 0.5"));
  CHECK(contains(lua.error("engram.permuted(ds, 1 << 40)"),
                 "permuted: n_tasks must be in [1, 1000], got 1099511627776"));
  CHECK(contains(lua.error("engram.permuted(ds, 2, -1)"),  // used to become seed 2^64 - 1
                 "permuted: seed must be in [0, 9223372036854775807], got -1"));
}

TEST_CASE("other Lua readers of integer settings name the setting and the range") {
  Lua lua;
  CHECK(contains(lua.error("engram.compression{dataset = ds, c = 1 << 40}"),
                 "compression.c must be in [-2147483648, 2147483647], got 1099511627776"));
  CHECK(contains(lua.error("engram.compression{dataset = ds, steps = -1}"),
                 "compression.steps must be in [0, 9223372036854775807], got -1"));
  CHECK(contains(lua.error("engram.latent_size{budget_bytes = 1250, examples = 1e300}"),
                 "latent_size.examples must be an integer, got 1e+300"));
}

TEST_CASE("JSON integers beyond lua_Integer reach Lua as floats, never wrapped negative") {
  LuaEngine engine;
  bool is_integer = true;
  double value = 0;
  auto r = engine.protect(0, [&](lua_State* L) {
    lua::push_json(L, nlohmann::json(UINT64_MAX));  // used to arrive as -1
    is_integer = lua_isinteger(L, -1) != 0;
    value = lua_tonumber(L, -1);
    lua::push_json(L, nlohmann::json(uint64_t{INT64_MAX}));
    CHECK(lua_isinteger(L, -1));
    CHECK(lua_tointeger(L, -1) == INT64_MAX);
    lua_pop(L, 2);
    return 0;
  });
  REQUIRE(r.ok());
  CHECK_FALSE(is_integer);
  CHECK(value == doctest::Approx(18446744073709551615.0));
}

}  // namespace engram
