// apply_settings: every reader of configuration (Lua tables, the C API's JSON, snapshot
// configs) checks values through one declaration per setting. Unknown keys, wrong types, values
// out of range (integers compared exactly, before narrowing) and missing required keys are
// refused naming the key; absent keys get their defaults.
#include "runtime/settings.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace engram {
namespace {

using nlohmann::json;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const std::vector<Setting>& declared() {
  static const std::vector<Setting> d = {
      {"c", SettingType::integer, 100, "latent variables", 1, 65536},
      {"lr", SettingType::number, 1e-3, "learning rate", 1e-12, 1e3},
      {"arch", SettingType::choice, "mlp", "the encoder", 0, 0, {"mlp", "conv"}},
      {"hidden", SettingType::integer_list, json::array({256}), "widths", 1, 1 << 20},
      {"quiet", SettingType::boolean, false, "say nothing"},
      {"name", SettingType::string, "host", "names the stream"},
      {"sub", SettingType::table, json::object(), "nested options"},
  };
  return d;
}

// The error apply_settings gives for `input` (which must fail).
Status error(const json& input, const std::vector<Setting>& d = declared()) {
  auto r = apply_settings(d, input, "runtime.memory");
  REQUIRE_FALSE(r.ok());
  return r.status();
}

}  // namespace

TEST_CASE("apply_settings fills every default and keeps the given values") {
  auto r = apply_settings(declared(), json::object(), "m");
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(*r == json{{"c", 100},
                   {"lr", 1e-3},
                   {"arch", "mlp"},
                   {"hidden", {256}},
                   {"quiet", false},
                   {"name", "host"},
                   {"sub", json::object()}});
  CHECK(apply_settings(declared(), nullptr, "m").value() == *r);  // null = empty

  r = apply_settings(declared(),
                     {{"c", 7},
                      {"lr", 1},
                      {"arch", "conv"},
                      {"hidden", {64, 32}},
                      {"quiet", true},
                      {"name", "arm"},
                      {"sub", {{"x", 1}}}},
                     "m");
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->at("c") == 7);
  CHECK(r->at("lr").is_number_float());  // numbers come back as doubles
  CHECK(r->at("lr") == 1.0);
  CHECK(r->at("arch") == "conv");
  CHECK(r->at("hidden") == json::array({64, 32}));
  CHECK(r->at("quiet") == true);
  CHECK(r->at("name") == "arm");
  CHECK(r->at("sub") == json{{"x", 1}});  // a table is passed on as it is
}

TEST_CASE("apply_settings: an unknown key names it, suggests the closest and lists the known") {
  Status s = error({{"cc", 5}});
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() ==
        "unknown key 'runtime.memory.cc' (did you mean 'c'?); known: c, lr, arch, hidden, quiet, "
        "name, sub");
  s = error({{"budget", 5}});
  CHECK(contains(s.message(), "unknown key 'runtime.memory.budget'; known: c, lr,"));
  // Without `where`, the key alone.
  auto r = apply_settings(declared(), {{"zzz", 1}}, "");
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), "unknown key 'zzz'"));
}

TEST_CASE("apply_settings: wrong types are malformed and name the key and the value") {
  CHECK(error(json(5)).message() == "runtime.memory must be a table (an object of options), got 5");
  CHECK(error(json(5)).code() == ErrorCode::malformed);
  Status s = error({{"c", "5"}});
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "runtime.memory.c must be an integer, got \"5\"");
  CHECK(error({{"c", nullptr}}).message() == "runtime.memory.c must be an integer, got null");
  CHECK(error({{"c", true}}).code() == ErrorCode::malformed);
  CHECK(error({{"lr", "fast"}}).message() == "runtime.memory.lr must be a number, got \"fast\"");
  CHECK(error({{"quiet", 1}}).message() == "runtime.memory.quiet must be true or false, got 1");
  CHECK(error({{"name", 1}}).message() == "runtime.memory.name must be a string, got 1");
  CHECK(error({{"arch", 1}}).message() ==
        "runtime.memory.arch must be one of \"mlp\", \"conv\", got 1");
  CHECK(error({{"hidden", 256}}).message() ==
        "runtime.memory.hidden must be a non-empty list of integers, got 256");
  CHECK(error({{"hidden", json::array()}}).code() == ErrorCode::malformed);
  CHECK(error({{"hidden", {64, "x"}}}).message() ==
        "runtime.memory.hidden entry 2 must be an integer, got \"x\"");
  CHECK(error({{"sub", 3}}).message() ==
        "runtime.memory.sub must be a table (an object of options), got 3");
}

TEST_CASE("apply_settings: integers are exact, never narrowed or truncated") {
  // 2.5 for an integer is refused, an integral float is an integer and comes back as one.
  Status s = error({{"c", 2.5}});
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "runtime.memory.c must be an integer, got 2.5");
  auto r = apply_settings(declared(), {{"c", 5.0}, {"hidden", {1e3}}}, "m");
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->at("c").is_number_integer());
  CHECK(r->at("c") == 5);
  CHECK(r->at("hidden") == json::array({1000}));
  // Out of range, below and above, also far beyond int (2^32 + 8 must not become 8).
  s = error({{"c", 0}});
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "runtime.memory.c must be in [1, 65536], got 0");
  CHECK(error({{"c", (int64_t{1} << 32) + 8}}).message() ==
        "runtime.memory.c must be in [1, 65536], got 4294967304");
  CHECK(error({{"c", -1}}).message() == "runtime.memory.c must be in [1, 65536], got -1");
  CHECK(error({{"c", UINT64_MAX}}).message() ==
        "runtime.memory.c must be in [1, 65536], got 18446744073709551615");
  CHECK(error({{"c", 1e300}}).message() == "runtime.memory.c must be in [1, 65536], got 1e+300");
  CHECK(error({{"hidden", {64, int64_t{1} << 40}}}).message() ==
        "runtime.memory.hidden entry 2 must be in [1, 1048576], got 1099511627776");
  CHECK(error({{"hidden", {0}}}).message() ==
        "runtime.memory.hidden entry 1 must be in [1, 1048576], got 0");
}

TEST_CASE("apply_settings: integer ranges beyond 2^53 compare exactly, full int64 and uint64") {
  const std::vector<Setting> wide = {
      {"big", SettingType::integer, 0, "up to 2^60", 0, 1152921504606846976.0},  // 2^60
      {"seed", SettingType::integer, 1, "all of uint64", 0, 18446744073709551616.0},
      {"i64", SettingType::integer, 0, "all of int64", -9223372036854775808.0,
       9223372036854775808.0},
  };
  auto ok = [&](const json& input) {
    auto r = apply_settings(wide, input, "w");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return *r;
  };
  auto fails = [&](const json& input) {
    auto r = apply_settings(wide, input, "w");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    return r.status().message();
  };
  // 2^60 + 1 is not a double; a double comparison would take it for 2^60 and let it pass.
  CHECK(ok({{"big", int64_t{1} << 60}}).at("big") == int64_t{1} << 60);
  CHECK(fails({{"big", (int64_t{1} << 60) + 1}}) ==
        "w.big must be in [0, 1152921504606846976], got 1152921504606846977");
  CHECK(ok({{"big", (int64_t{1} << 53) + 1}}).at("big") == (int64_t{1} << 53) + 1);
  // A seed takes all of uint64; -1 must not wrap to 2^64 - 1.
  CHECK(ok({{"seed", UINT64_MAX}}).at("seed").get<uint64_t>() == UINT64_MAX);
  CHECK(fails({{"seed", -1}}) == "w.seed must be in [0, 18446744073709551615], got -1");
  CHECK(fails({{"seed", 18446744073709551616.0}}) ==  // 2^64 read as a float
        "w.seed must be in [0, 18446744073709551615], got 1.8446744073709552e+19");
  // All of int64, and nothing beyond it.
  CHECK(ok({{"i64", INT64_MIN}}).at("i64").get<int64_t>() == INT64_MIN);
  CHECK(ok({{"i64", INT64_MAX}}).at("i64").get<int64_t>() == INT64_MAX);
  CHECK(fails({{"i64", uint64_t{INT64_MAX} + 1}}) ==
        "w.i64 must be in [-9223372036854775808, 9223372036854775807], got "
        "9223372036854775808");
}

TEST_CASE("apply_settings: numbers must be finite and in range; choices must be listed") {
  Status s = error({{"lr", 0}});
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "runtime.memory.lr must be in [1e-12, 1000], got 0");
  CHECK(error({{"lr", 1e4}}).message() == "runtime.memory.lr must be in [1e-12, 1000], got 10000");
  // A Lua table can hold NaN and infinities (JSON text cannot); they are named, not null.
  s = error({{"lr", std::nan("")}});
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "runtime.memory.lr must be a finite number, got nan");
  CHECK(error({{"lr", HUGE_VAL}}).message() ==
        "runtime.memory.lr must be a finite number, got inf");
  CHECK(error({{"c", -HUGE_VAL}}).message() == "runtime.memory.c must be an integer, got -inf");
  s = error({{"arch", "cnn"}});
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "runtime.memory.arch must be one of \"mlp\", \"conv\", got \"cnn\"");
}

TEST_CASE("apply_settings: a required setting (null default) must be given") {
  const std::vector<Setting> d = {
      {"path", SettingType::string, nullptr, "where the data is"},
      {"n", SettingType::integer, 3, "count", 0, 10},
  };
  auto r = apply_settings(d, json::object(), "dataset");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message() == "dataset.path is required (where the data is)");
  CHECK_FALSE(apply_settings(d, nullptr, "dataset").ok());
  r = apply_settings(d, {{"path", "/data"}}, "dataset");
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(*r == json{{"path", "/data"}, {"n", 3}});
}

TEST_CASE("settings_table: one Markdown row per setting with type, default, range and doc") {
  const std::vector<Setting> d = {
      {"c", SettingType::integer, 100, "latent variables", 1, 65536},
      {"lr", SettingType::number, 1e-3, "learning rate", 1e-12, 1e3},
      {"arch", SettingType::choice, "mlp", "mlp | conv encoder", 0, 0, {"mlp", "conv"}},
      {"hidden", SettingType::integer_list, json::array({256}), "widths", 0, 16384},
      {"seed", SettingType::integer, 1, "seed", 0, 18446744073709551616.0},
      {"path", SettingType::string, nullptr, "data"},
      {"quiet", SettingType::boolean, false, "say nothing"},
      {"sub", SettingType::table, json::object(), "see below"},
  };
  CHECK(settings_table(d) ==
        "| option | type | default | range | description |\n"
        "|---|---|---|---|---|\n"
        "| `c` | integer | `100` | [1, 65536] | latent variables |\n"
        "| `lr` | number | `0.001` | [1e-12, 1000] | learning rate |\n"
        "| `arch` | choice | `\"mlp\"` | `mlp`, `conv` | mlp \\| conv encoder |\n"
        "| `hidden` | list of integers | `[256]` | each in [0, 16384] | widths |\n"
        "| `seed` | integer | `1` | [0, 18446744073709551615] | seed |\n"
        "| `path` | string | required |  | data |\n"
        "| `quiet` | boolean | `false` |  | say nothing |\n"
        "| `sub` | table | `{}` |  | see below |\n");
}

}  // namespace engram
