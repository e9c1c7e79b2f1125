// Integer settings read from JSON (the C API's agent configuration, a snapshot's config and
// session sections) are range-checked on the JSON number, before they are narrowed to the
// field's type: 2^40 is refused as 2^40 and never arrives as 0, 2.5 is refused, not truncated.
// Torch headers first (session_impl.h): with Debian's LibTorch they pull in glog, whose CHECK
// macro must not replace doctest's.
#include "modules/session/agent_config.h"
#include "modules/session/json_integer.h"
#include "modules/session/session_config_json.h"
#include "modules/session/session_impl.h"
// clang-format off
#include <doctest/doctest.h>
// clang-format on
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace engram {
namespace {

using nlohmann::json;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The message of the error agent_config_from_json gives for `text` (which must fail).
Status agent_error(const std::string& text) {
  auto c = agent_config_from_json(text);
  REQUIRE_FALSE(c.ok());
  return c.status();
}

// session_config_to_json of the defaults with `edit` applied, read back.
template <typename Edit>
Expected<SessionConfig> edited_session_config(Edit edit) {
  json j = json::parse(session_config_to_json(SessionConfig{}));
  edit(j);
  return session_config_from_json(j.dump());
}

}  // namespace

TEST_CASE("json_integer checks the range on the JSON number, before narrowing") {
  CHECK(json_integer<int>(json(7), "n").value() == 7);
  CHECK(json_integer<int>(json(-7), "n").value() == -7);
  CHECK(json_integer<int>(json(1000.0), "n").value() == 1000);  // an integral float is an integer
  CHECK(json_integer<uint64_t>(json(UINT64_MAX), "n").value() == UINT64_MAX);
  CHECK(json_integer<int64_t>(json(INT64_MIN), "n").value() == INT64_MIN);
  CHECK(json_integer<uint8_t>(json(255), "n").value() == 255);

  Status s = json_integer<int>(json(int64_t{1} << 40), "tasks", 1, 65536).status();
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "tasks must be in [1, 65536], got 1099511627776");
  s = json_integer<int>(json(int64_t{1} << 32), "n").status();  // would narrow to 0
  CHECK(s.message() == "n must be in [-2147483648, 2147483647], got 4294967296");
  s = json_integer<uint8_t>(json(256), "n").status();  // would narrow to 0
  CHECK(s.message() == "n must be in [0, 255], got 256");
  s = json_integer<uint64_t>(json(-1), "seed").status();  // would wrap to 2^64 - 1
  CHECK(s.message() == "seed must be in [0, 18446744073709551615], got -1");
  s = json_integer<int64_t>(json(UINT64_MAX), "n").status();  // would wrap to -1
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(json_integer<int64_t>(json(1e300), "n").status().code() == ErrorCode::invalid_argument);

  s = json_integer<int>(json(2.5), "tasks").status();
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "tasks must be an integer, got 2.5");
  CHECK(json_integer<int>(json("5"), "n").status().message() == "n must be an integer, got \"5\"");
  CHECK(json_integer<int>(json(true), "n").status().code() == ErrorCode::malformed);
  CHECK(json_integer<int>(json(nullptr), "n").status().message() ==
        "n must be an integer, got null");
  // NaN and infinities cannot be written in JSON, but a json value can hold them.
  CHECK(json_integer<int>(json(std::nan("")), "n").status().code() == ErrorCode::malformed);
  CHECK(json_integer<int>(json(HUGE_VAL), "n").status().code() == ErrorCode::malformed);
}

TEST_CASE("agent config: integers beyond int are refused naming the key, range and value") {
  Status s = agent_error(R"({"tasks": 1099511627776})");
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "agent config: config.tasks must be in [1, 65536], got 1099511627776");
  s = agent_error(R"({"seed": 18446744073709551615})");  // read as -1 before
  CHECK(contains(s.message(),
                 "config.seed must be in [0, 9223372036854775807], got "
                 "18446744073709551615"));
  s = agent_error(R"({"learning": {"queue": 1099511627776}})");
  CHECK(contains(s.message(), "learning.queue must be in [1, 16777216], got 1099511627776"));
  s = agent_error(R"({"memory": {"budget_bytes": -1}})");
  CHECK(contains(s.message(), "memory.budget_bytes must be in [1, 1099511627776], got -1"));
  s = agent_error(R"({"neocortex": {"hidden": [64, 4294967360]}})");  // 2^32 + 64
  CHECK(contains(s.message(), "neocortex.hidden[1] must be in [1, 1048576], got 4294967360"));
}

TEST_CASE("agent config: non-integers for integer keys are refused, integral floats read") {
  Status s = agent_error(R"({"tasks": 2.5})");
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "agent config: config.tasks must be an integer, got 2.5");
  s = agent_error(R"({"learning": {"batch": "8"}})");
  CHECK(contains(s.message(), "learning.batch must be an integer, got \"8\""));
  s = agent_error(R"({"memory": {"hidden": [32.5]}})");
  CHECK(contains(s.message(), "memory.hidden[0] must be an integer, got 32.5"));
  CHECK(agent_error(R"({"memory": {"hidden": []}})").code() == ErrorCode::malformed);
  // 3.0 (e.g. a Lua configuration script's 6/2) and 1e3 are integers.
  auto c = agent_config_from_json(R"({"tasks": 3.0, "learning": {"queue": 1e3}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->session.num_tasks == 3);
  CHECK(c->learning.queue == 1000);
}

TEST_CASE("snapshot config: an out-of-range integer is refused, not narrowed") {
  auto round_trip = edited_session_config([](json&) {});
  REQUIRE_MESSAGE(round_trip.ok(), round_trip.status().to_string());

  // num_tasks = 2^40 used to arrive as 0 ("num_tasks must be >= 1" from Session::create).
  auto c = edited_session_config([](json& j) { j["num_tasks"] = int64_t{1} << 40; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::malformed);
  CHECK(c.status().message() ==
        "config: num_tasks must be in [-2147483648, 2147483647], got 1099511627776");
  c = edited_session_config([](json& j) { j["memory"]["dvae"]["c"] = (int64_t{1} << 32) + 8; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "memory.dvae.c must be in [-2147483648, 2147483647]"));
  c = edited_session_config([](json& j) {
    j["neocortex"]["hidden"] = json::array({400, (int64_t{1} << 32) + 400});
  });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "neocortex.hidden[1] must be in ["));
  c = edited_session_config([](json& j) { j["seed"] = -1; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "seed must be in [0, 18446744073709551615], got -1"));
  c = edited_session_config([](json& j) { j["memory"]["budget_bytes"] = -5; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "memory.budget_bytes must be in [0, "));
  c = edited_session_config([](json& j) { j["format"] = (int64_t{1} << 32) + 1; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::malformed);  // not read as format 1
}

TEST_CASE("snapshot config: non-integers are refused, not truncated; full-width seeds survive") {
  auto c = edited_session_config([](json& j) { j["num_tasks"] = 2.5; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "config: num_tasks must be an integer, got 2.5");
  c = edited_session_config([](json& j) { j["threads"] = "4"; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "threads must be an integer, got \"4\""));

  SessionConfig config;
  config.seed = UINT64_MAX;
  config.memory.budget_bytes = size_t{1} << 40;
  auto back = session_config_from_json(session_config_to_json(config));
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(back->seed == UINT64_MAX);
  CHECK(back->memory.budget_bytes == size_t{1} << 40);
}

TEST_CASE("snapshot session section: task ids and flags are range-checked before narrowing") {
  ImageDataset ds;
  ds.name = "tiny";
  ds.rows = 2;
  ds.cols = 2;
  ds.num_classes = 2;
  auto section = [](const json& j) {
    const std::string text = j.dump();
    return SnapshotSections{{"session", std::vector<uint8_t>(text.begin(), text.end())}};
  };
  const json good = {{"dataset", {{"name", "tiny"}, {"rows", 2}, {"cols", 2}, {"classes", 2}}},
                     {"seen_classes", {1, 0}},
                     {"learned_tasks", {0}},
                     {"last_task", 0},
                     {"seed_counter", 3}};
  auto p = session_detail::restore_driver_position(section(good), ds, 2);
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  CHECK(p->last_task == 0);
  CHECK(p->seed_counter == 3);

  auto error = [&](const char* key, const json& value) {
    json j = good;
    j[key] = value;
    auto r = session_detail::restore_driver_position(section(j), ds, 2);
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  // 2^32 used to arrive as task 0, 256 as flag 0, -1 as seed counter 2^64 - 1.
  CHECK(contains(error("last_task", int64_t{1} << 32), "last_task must be in [-1, 1], got "));
  CHECK(contains(error("learned_tasks", json::array({int64_t{1} << 32})),
                 "learned_tasks[0] must be in [0, 1], got 4294967296"));
  CHECK(contains(error("seen_classes", json::array({256, 0})),
                 "seen_classes[0] must be in [0, 1], got 256"));
  CHECK(contains(error("seed_counter", -1), "seed_counter must be in [0, "));
  CHECK(contains(error("last_task", 0.5), "last_task must be an integer, got 0.5"));
  json other = good;
  other["dataset"]["classes"] = (int64_t{1} << 32) + 2;  // used to read as 2: the same dataset
  auto r = session_detail::restore_driver_position(section(other), ds, 2);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), "classes must be in ["));
}

}  // namespace engram
