// What a curriculum script sees of replay options, sampler functions and consolidation phases:
// they work, and mistakes (unknown options, wrong types, bad weights, a failing sampler) are
// refused with the option or the script line named, leaving the runtime usable.
#include <doctest/doctest.h>

#include <string>

#include "tests/modules/lua_test_engine.h"

namespace engram {
namespace {

using test::contains;

// An engine with a small raw-memory runtime `rt` over the repository's MNIST and two tasks.
struct Lua : test::LuaTestEngine {
  Lua() : LuaTestEngine("curriculum.lua") {
    run("ds = engram.dataset('mnist', '" ENGRAM_SOURCE_DIR "/data/mnist')\n"
        "tasks = engram.split(ds, {{0, 1}, {2, 3}})\n"
        "rt = engram.runtime{dataset = ds, tasks = 2, seed = 3,\n"
        "  neocortex = {hidden = {32}}, memory = {kind = 'raw', budget_bytes = 300 * 784}}\n"
        "rt:learn(tasks[1], {iterations = 10, batch = 16, progress = false})");
  }
};

TEST_CASE("a sampler function is called once per phase and its class weights are followed") {
  Lua lua;
  lua.run(
      "calls = 0\n"
      "local function favour_ones(info)\n"
      "  calls = calls + 1\n"
      "  seen = #info.seen_classes; stored0 = info.per_class[1]\n"
      "  return { class = { [0] = 1, [1] = 3 } }\n"
      "end\n"
      "p = rt:learn(tasks[2], {iterations = 40, batch = 16, progress = false,\n"
      "  replay = {per_batch = 32, sampler = favour_ones, targets = {label = 1, soft = 0.5}}})\n"
      "ones = p.recalled_examples");
  CHECK(std::get<int64_t>(lua.global("calls")) == 1);
  CHECK(std::get<int64_t>(lua.global("seen")) == 2);
  CHECK(std::get<int64_t>(lua.global("stored0")) > 0);
  CHECK(std::get<int64_t>(lua.global("ones")) == 40 * 32);
}

TEST_CASE("replay options and consolidation phases refuse mistakes naming them") {
  Lua lua;
  const char* learn2 = "rt:learn(tasks[2], {iterations = 2, progress = false, replay = ";
  CHECK(contains(lua.error(std::string(learn2) + "{per_bach = 3}})"), "per_bach"));
  CHECK(contains(lua.error(std::string(learn2) + "{sampler = 'hardest'}})"), "sampler"));
  CHECK(contains(lua.error(std::string(learn2) + "{delay = 0}})"), "delay"));
  CHECK(contains(lua.error(std::string(learn2) + "{targets = {label = 0, soft = 0}}})"),
                 "targets"));
  CHECK(contains(lua.error(std::string(learn2) + "'many'})"), "replay"));
  // Sampler functions: bad weights and their own errors, with the script line.
  CHECK(contains(lua.error(std::string(learn2) +
                           "{sampler = function() return {class = {[0] = 0/0}} end}})"),
                 "class 0"));
  CHECK(contains(lua.error(std::string(learn2) +
                           "{sampler = function() return {class = {[12] = 1}} end}})"),
                 "class 12 is unknown"));
  CHECK(contains(lua.error(std::string(learn2) +
                           "{sampler = function() return {class = {[1] = -2}} end}})"),
                 "class 1"));
  CHECK(contains(lua.error(std::string(learn2) + "{sampler = function() return 3 end}})"),
                 "must return a table"));
  CHECK(contains(lua.error(std::string(learn2) +
                           "{sampler = function()\n error('no idea') end}})"),
                 "curriculum.lua:2: no idea"));
  CHECK(contains(lua.error("rt:consolidate{steps = 5, bacth = 3}"), "bacth"));
  CHECK(contains(lua.error("rt:consolidate{steps = -1}"), "steps"));
  // Still usable: a consolidation phase and learning.
  lua.run(
      "c = rt:consolidate{steps = 6, batch = 20, sampler = 'class_balanced', progress = false}\n"
      "idle = rt:consolidate{steps = 0}\n"
      "rt:consolidate()\n"
      "p = rt:learn(tasks[2], {iterations = 3, batch = 8, progress = false, replay = 4})");
  lua.run("real, recalled = c.real_examples, c.recalled_examples; idle_its = idle.iterations");
  CHECK(std::get<int64_t>(lua.global("real")) == 0);
  CHECK(std::get<int64_t>(lua.global("recalled")) == 6 * 20);
  CHECK(std::get<int64_t>(lua.global("idle_its")) == 0);
}

}  // namespace
}  // namespace engram
