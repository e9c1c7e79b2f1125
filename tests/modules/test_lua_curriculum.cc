// What a curriculum script sees of replay options, sampler functions and consolidation phases:
// they work, and mistakes (unknown options, wrong types, bad weights, a failing sampler) are
// refused with the option or the script line named, leaving the runtime usable.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "tests/modules/lua_test_engine.h"

namespace engram {
namespace {

using test::contains;

// An engine with a small raw-memory runtime `rt` over the repository's MNIST and two tasks.
struct Lua : test::LuaTestEngine {
  Lua() : LuaTestEngine("curriculum.lua") {
    run("ds = engram.dataset('mnist', '" ENGRAM_SOURCE_DIR
        "/data/mnist')\n"
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
      "ones = p.recalled_examples\n"
      "zeros_recalled, ones_recalled = p.recalled_per_class[1], p.recalled_per_class[2]");
  CHECK(std::get<int64_t>(lua.global("calls")) == 1);
  // Shares 1:3 between classes 0 and 1: binomial(1280, 3/4), 5 sigma.
  const double n = 40 * 32,
               ones = static_cast<double>(std::get<int64_t>(lua.global("ones_recalled")));
  CHECK(std::get<int64_t>(lua.global("zeros_recalled")) + ones == n);
  CHECK(std::abs(ones - 0.75 * n) < 5 * std::sqrt(n * 0.75 * 0.25));
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
  CHECK(
      contains(lua.error(std::string(learn2) + "{targets = {label = 0, soft = 0}}})"), "targets"));
  CHECK(contains(lua.error(std::string(learn2) + "'many'})"), "replay"));
  // Sampler functions: bad weights and their own errors, with the script line.
  CHECK(contains(
      lua.error(std::string(learn2) + "{sampler = function() return {class = {[0] = 0/0}} end}})"),
      "class 0"));
  CHECK(contains(
      lua.error(std::string(learn2) + "{sampler = function() return {class = {[12] = 1}} end}})"),
      "class 12 is unknown"));
  CHECK(contains(
      lua.error(std::string(learn2) + "{sampler = function() return {class = {[1] = -2}} end}})"),
      "class 1"));
  CHECK(contains(lua.error(std::string(learn2) + "{sampler = function() return 3 end}})"),
                 "must return a table"));
  CHECK(contains(lua.error(std::string(learn2) + "{sampler = function()\n error('no idea') end}})"),
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

TEST_CASE("rt:learn and rt:consolidate resume an event handler; it may change replay or stop") {
  Lua lua;
  lua.run(
      "kinds = {}\n"
      "p = rt:learn(tasks[2], {iterations = 40, batch = 16, progress = false, replay = 8,\n"
      "  every = 320, on = function(e)\n"
      "    while true do\n"
      "      kinds[#kinds + 1] = e.kind .. ':' .. (e.class or e.task or '-')\n"
      "      if e.kind == 'examples' then e = coroutine.yield({replay = 24})\n"
      "      else e = coroutine.yield() end\n"
      "    end\n"
      "  end})\n"
      "seen = table.concat(kinds, ' ')\n"
      "recalled, events = p.recalled_examples, p.events");
  // Before the first batch: the new task and its new classes; 640 examples: two `examples`.
  CHECK(std::get<std::string>(lua.global("seen")) ==
        "new_task:1 new_class:2 new_class:3 examples:1 examples:1 phase_end:-");
  // 8 per batch until the first `examples` event (20 batches, minus those in flight), then 24.
  const int64_t recalled = std::get<int64_t>(lua.global("recalled"));
  CHECK(recalled > 40 * 8);
  CHECK(recalled < 40 * 24);
  CHECK(std::get<int64_t>(lua.global("events")) == 6);

  lua.run(
      "q = rt:learn(tasks[2], {iterations = 100, batch = 16, progress = false, every = 16,\n"
      "  on = function(e) return 'stop' end})\n"
      "its, stopped = q.iterations, q.stopped\n"
      "c = rt:consolidate{steps = 50, batch = 10, progress = false, every = 100,\n"
      "  on = function(e) coroutine.yield(); return 'stop' end}\n"
      "c_its = c.iterations");
  CHECK(std::get<bool>(lua.global("stopped")));
  CHECK(std::get<int64_t>(lua.global("its")) < 100);
  CHECK(std::get<int64_t>(lua.global("c_its")) < 50);
  CHECK(contains(lua.error("rt:learn(tasks[2], {iterations = 5, progress = false, every = 16,\n"
                           "  on = function(e) error('handler broke') end})"),
                 "curriculum.lua:2: handler broke"));
  CHECK(contains(lua.error("rt:learn(tasks[2], {iterations = 5, every = 3})"), "every needs"));
  lua.run("rt:learn(tasks[2], {iterations = 3, batch = 8, progress = false})");  // still usable
}

}  // namespace
}  // namespace engram
