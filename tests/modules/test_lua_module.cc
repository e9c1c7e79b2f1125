// Functions of the engram Lua module seen from a script: engram.latent_size (the table it
// returns and the errors it raises; the budgets are the hand-checked cases of
// test_latent_budget.cc), and engram.settings, engram.integer, engram.number, engram.list and
// engram.numbers (reading `--set` settings).
#include <doctest/doctest.h>

#include <string>

#include "tests/modules/lua_test_engine.h"

namespace engram {
namespace {

using test::contains;

// An engine with the engram module installed.
struct Lua : test::LuaTestEngine {
  Lua() : LuaTestEngine("latent.lua") {}
};

}  // namespace

TEST_CASE("engram.latent_size returns the optimum as a table") {
  Lua lua;
  SUBCASE("incremental: 100 bits per stored code -> c=100, l=2") {
    lua.run(
        "local s = engram.latent_size{budget_bytes = 1250, rho = 0.1, examples = 1000}\n"
        "c, l, cap, bits, params, bytes = s.c, s.l, s.capacity_bits, s.bits_per_code,\n"
        "  s.parameter_bits, s.bytes\n");
    CHECK(std::get<int64_t>(lua.global("c")) == 100);
    CHECK(std::get<int64_t>(lua.global("l")) == 2);
    CHECK(std::get<double>(lua.global("cap")) == doctest::Approx(100));
    CHECK(std::get<int64_t>(lua.global("bits")) == 100);
    CHECK(std::get<double>(lua.global("params")) == 0.0);
    CHECK(std::get<double>(lua.global("bytes")) == doctest::Approx(1250));
  }
  SUBCASE("max_c = 30 moves to c=25, l=16") {
    lua.run(
        "local s = engram.latent_size{budget_bytes = 1250, examples = 100, max_c = 30}\n"
        "c, l = s.c, s.l\n");
    CHECK(std::get<int64_t>(lua.global("c")) == 25);
    CHECK(std::get<int64_t>(lua.global("l")) == 16);
  }
  SUBCASE("total with |theta| = (cl)^2 bits -> c=39, l=2, 6084 parameter bits") {
    lua.run(
        "local s = engram.latent_size{budget_bytes = 1250, examples = 100, kind = 'total',\n"
        "  param_quadratic_bits = 1}\n"
        "c, l, params, bytes = s.c, s.l, s.parameter_bits, s.bytes\n");
    CHECK(std::get<int64_t>(lua.global("c")) == 39);
    CHECK(std::get<int64_t>(lua.global("l")) == 2);
    CHECK(std::get<double>(lua.global("params")) == 6084.0);
    CHECK(std::get<double>(lua.global("bytes")) == doctest::Approx(1248));
  }
}

TEST_CASE("engram.latent_size raises errors that say what is wrong") {
  Lua lua;
  std::string m = lua.error("engram.latent_size{examples = 100}");
  CHECK(contains(m, "latent_size.budget_bytes is required"));
  CHECK(contains(m, "latent.lua:1"));
  m = lua.error("engram.latent_size{budget_bytes = 1250}");
  CHECK(contains(m, "latent_size.examples is required"));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 100, budget = 3}");
  CHECK(contains(m, "unknown field 'budget'"));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 100, kind = 'overall'}");
  CHECK(contains(m, "overall"));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 100, rho = 2}");
  CHECK(contains(m, "rho"));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 0}");
  CHECK(contains(m, "examples (N) must be >= 1, got 0"));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 100, max_l = 1}");
  CHECK(contains(m, "max_l must be in [2, "));
  m = lua.error("engram.latent_size{budget_bytes = 1250, examples = 1.5}");
  CHECK(contains(m, "latent_size.examples must be an integer"));
  m = lua.error("engram.latent_size{budget_bytes = 1, examples = 100}");
  CHECK(contains(m, "0.08 bits"));
  m = lua.error(
      "engram.latent_size{budget_bytes = 1250, examples = 100, kind = 'total',\n"
      "  param_quadratic_bits = 1, param_fixed_bits = 9900}");
  CHECK(contains(m, "total budget"));
}

TEST_CASE("engram.settings refuses a setting the script does not take") {
  Lua lua;
  SUBCASE("no --set at all: an empty table") {
    lua.run("local cfg = engram.settings{'seed'}\nn = 0\nfor _ in pairs(cfg) do n = n + 1 end\n");
    CHECK(std::get<int64_t>(lua.global("n")) == 0);
  }
  SUBCASE("known settings pass through") {
    REQUIRE(lua.engine.set_config({"seed=3", "columns=real,buffer_10x"}).ok());
    lua.run(
        "local cfg = engram.settings{'seed', 'columns', 'lr'}\nseed, cols = cfg.seed, "
        "cfg.columns\n");
    CHECK(std::get<int64_t>(lua.global("seed")) == 3);
    CHECK(std::get<std::string>(lua.global("cols")) == "real,buffer_10x");
  }
  SUBCASE("a typo is an error naming it, the closest name and the known ones") {
    REQUIRE(lua.engine.set_config({"vae_epoch=30"}).ok());
    const std::string m = lua.error("local cfg = engram.settings{'vae_epochs', 'seed'}");
    CHECK(contains(m, "latent.lua:1: unknown setting 'vae_epoch' (did you mean 'vae_epochs'?)"));
    CHECK(contains(m, "this script takes: vae_epochs, seed"));
  }
  SUBCASE("no suggestion when nothing is close") {
    REQUIRE(lua.engine.set_config({"colour=red"}).ok());
    const std::string m = lua.error("engram.settings{'seed', 'lr'}");
    CHECK(contains(m, "unknown setting 'colour'; this script takes: seed, lr"));
  }
  CHECK(contains(lua.error("engram.settings{'seed', 3}"), "entry 2 of the names is not a string"));
}

TEST_CASE("engram.integer and engram.number read scalar settings or refuse them") {
  Lua lua;
  lua.run(
      "a, b, c, d = engram.integer('500'), engram.integer('1e3'), engram.integer(nil, 7),\n"
      "  engram.integer(12.0)\n"
      "ta, tb = math.type(b), math.type(d)\n"
      "x, y, z = engram.number('1e-4'), engram.number(nil, 0.5), engram.number(3)\n");
  CHECK(std::get<int64_t>(lua.global("a")) == 500);
  CHECK(std::get<int64_t>(lua.global("b")) == 1000);
  CHECK(std::get<int64_t>(lua.global("c")) == 7);
  CHECK(std::get<int64_t>(lua.global("d")) == 12);
  CHECK(std::get<std::string>(lua.global("ta")) == "integer");
  CHECK(std::get<std::string>(lua.global("tb")) == "integer");
  CHECK(std::get<double>(lua.global("x")) == doctest::Approx(1e-4));
  CHECK(std::get<double>(lua.global("y")) == 0.5);
  CHECK(std::get<int64_t>(lua.global("z")) == 3);
  // Before these, `math.tointeger(cfg.iterations or 2000)` turned "500x" into nil and the
  // runtime's default silently took its place.
  CHECK(contains(lua.error("engram.integer('500x', 2000)"),
                 "latent.lua:1: engram.integer: '500x' is not an integer"));
  CHECK(contains(lua.error("engram.integer('2.5')"), "'2.5' is not an integer"));
  CHECK(contains(lua.error("engram.integer(true)"), "'true' is not an integer"));
  CHECK(contains(lua.error("engram.number('fast', 1)"), "engram.number: 'fast' is not a number"));
}

TEST_CASE("engram.boolean reads yes/no settings or refuses them") {
  Lua lua;
  lua.run(
      "a, b, c, d = engram.boolean('true'), engram.boolean('yes'), engram.boolean(1),\n"
      "  engram.boolean(true)\n"
      "e, f, g, h = engram.boolean('false'), engram.boolean('no'), engram.boolean('0'),\n"
      "  engram.boolean(false, true)\n"
      "i, j = engram.boolean(nil, true), engram.boolean(nil, false)\n");
  for (const char* yes : {"a", "b", "c", "d", "i"}) CHECK(std::get<bool>(lua.global(yes)));
  for (const char* no : {"e", "f", "g", "h", "j"}) CHECK_FALSE(std::get<bool>(lua.global(no)));
  // Before it, scripts read `cfg.quick == "true"`, so quick=yes silently meant false.
  CHECK(contains(lua.error("engram.boolean('maybe', false)"),
                 "latent.lua:1: engram.boolean: 'maybe' is not true or false"));
  CHECK(contains(lua.error("engram.boolean(2)"), "'2' is not true or false"));
  CHECK(
      contains(lua.error("engram.boolean(nil, 'sometimes')"), "'sometimes' is not true or false"));
}

TEST_CASE("engram.list and engram.numbers read list-valued settings") {
  Lua lua;
  lua.run(
      "local a = engram.list('real, buffer_10x,,codes_10x ')\n"
      "n_a, first, last = #a, a[1], a[3]\n"
      "local d = engram.list(nil, 'x y')\n"
      "n_d, second = #d, d[2]\n"
      "local num = engram.numbers('100,1e5, 0.25')\n"
      "n1, n2, n3, t2 = num[1], num[2], num[3], math.type(num[2])\n"
      "local one = engram.numbers(7)\n"
      "n_one, seven = #one, one[1]\n"
      "n_empty = #engram.list('')\n");
  CHECK(std::get<int64_t>(lua.global("n_a")) == 3);
  CHECK(std::get<std::string>(lua.global("first")) == "real");
  CHECK(std::get<std::string>(lua.global("last")) == "codes_10x");
  CHECK(std::get<int64_t>(lua.global("n_d")) == 2);
  CHECK(std::get<std::string>(lua.global("second")) == "y");
  CHECK(std::get<int64_t>(lua.global("n1")) == 100);
  CHECK(std::get<int64_t>(lua.global("n2")) == 100000);  // integral: an integer
  CHECK(std::get<std::string>(lua.global("t2")) == "integer");
  CHECK(std::get<double>(lua.global("n3")) == 0.25);
  CHECK(std::get<int64_t>(lua.global("n_one")) == 1);
  CHECK(std::get<int64_t>(lua.global("seven")) == 7);
  CHECK(std::get<int64_t>(lua.global("n_empty")) == 0);
  CHECK(
      contains(lua.error("engram.numbers('100,1o00')"), "engram.numbers: '1o00' is not a number"));
  CHECK(contains(lua.error("engram.list(true)"), "expected a comma-separated string, got boolean"));
  CHECK(contains(lua.error("engram.list(nil, nil)"), "got nil"));
}

}  // namespace engram

namespace engram {

TEST_CASE("Lua integer fields out of range say which field and the range") {
  LuaEngine engine;
  REQUIRE(install_engram_module(engine).ok());
  Status s = engine.run_string("engram.stream{ queue = 0 }", "range.lua");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("stream.queue must be in [1, 16777216], got 0") != std::string::npos);
}

}  // namespace engram

namespace engram {

TEST_CASE("engram.metrics computes FWT when given the accuracies of the untrained model") {
  test::LuaTestEngine lua("metrics.lua");
  lua.run(
      "local R = {{0.9, 0.6, 0.2}, {0.8, 0.9, 0.5}, {0.7, 0.8, 0.9}}\n"
      "m = engram.metrics(R, {0.1, 0.5, 0.3})\n"
      "fwt, bwt = m.fwt, m.bwt\n"
      "no_fwt = engram.metrics(R).fwt == nil");
  // FWT = ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.6 - 0.5) + (0.5 - 0.3)) / 2.
  CHECK(std::get<double>(lua.global("fwt")) == doctest::Approx(0.15));
  CHECK(std::get<double>(lua.global("bwt")) == doctest::Approx(-0.15));
  CHECK(std::get<bool>(lua.global("no_fwt")));
  CHECK(test::contains(lua.error("engram.metrics({{0.5}, {0.5}}, {0.1})"), "row"));
  CHECK(test::contains(lua.error("engram.metrics({{1, 0}, {1, 1}}, {0.1})"), "baseline"));
}

}  // namespace engram
