// Settings read from JSON (the C API's agent configuration, a snapshot's config and session
// sections) go through their declarations (modules/session/session_settings.h): integers are
// range-checked on the JSON number, before they are narrowed to the field's type (2^40 is
// refused as 2^40 and never arrives as 0, 2.5 is refused, not truncated), the memory table's
// keys are the kind's, and snapshot configs of format 1 still read.
// Torch headers first (session_impl.h): with Debian's LibTorch they pull in glog, whose CHECK
// macro must not replace doctest's.
#include "modules/session/agent_config.h"
#include "modules/session/json_integer.h"
#include "modules/session/session_config_json.h"
#include "modules/session/session_impl.h"
#include "modules/session/session_settings.h"
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
  CHECK(s.message() == "agent config: tasks must be in [1, 65536], got 1099511627776");
  s = agent_error(R"({"seed": -1})");  // must not wrap to 2^64 - 1
  CHECK(s.message() == "agent config: seed must be in [0, 18446744073709551615], got -1");
  s = agent_error(R"({"learning": {"queue": 1099511627776}})");
  CHECK(contains(s.message(), "learning.queue must be in [1, 16777216], got 1099511627776"));
  s = agent_error(R"({"memory": {"budget_bytes": -1}})");
  CHECK(contains(s.message(), "memory.budget_bytes must be in [1, 1099511627776], got -1"));
  s = agent_error(R"({"neocortex": {"hidden": [64, 4294967360]}})");  // 2^32 + 64
  CHECK(contains(s.message(), "neocortex.hidden entry 2 must be in [1, 1048576], got 4294967360"));
  s = agent_error(R"({"memory": {"c": 4294967304}})");  // 2^32 + 8, would narrow to 8
  CHECK(s.message() == "agent config: memory.c must be in [1, 65536], got 4294967304");
  // A seed takes all of uint64.
  auto c = agent_config_from_json(R"({"seed": 18446744073709551615})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->session.seed == UINT64_MAX);
}

TEST_CASE("agent config: non-integers for integer keys are refused, integral floats read") {
  Status s = agent_error(R"({"tasks": 2.5})");
  CHECK(s.code() == ErrorCode::malformed);
  CHECK(s.message() == "agent config: tasks must be an integer, got 2.5");
  s = agent_error(R"({"learning": {"batch": "8"}})");
  CHECK(contains(s.message(), "learning.batch must be an integer, got \"8\""));
  s = agent_error(R"({"memory": {"hidden": [32.5]}})");
  CHECK(contains(s.message(), "memory.hidden entry 1 must be an integer, got 32.5"));
  CHECK(agent_error(R"({"memory": {"hidden": []}})").code() == ErrorCode::malformed);
  CHECK(agent_error(R"({"classes": "ten"})").code() == ErrorCode::malformed);
  // 3.0 (e.g. a Lua configuration script's 6/2) and 1e3 are integers.
  auto c = agent_config_from_json(R"({"tasks": 3.0, "learning": {"queue": 1e3}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->session.num_tasks == 3);
  CHECK(c->learning.queue == 1000);
}

TEST_CASE("agent config: the memory table is flat; its keys are the common ones and the kind's") {
  auto c = agent_config_from_json(
      R"({"device": "cpu", "memory": {"kind": "dvae", "budget_bytes": 5000, "c": 16, "hidden": [32]}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  const MemoryConfig& m = c->session.memory;
  CHECK(m.kind == "dvae");
  CHECK(m.budget_bytes == 5000);
  CHECK(m.options.at("c") == 16);
  CHECK(m.options.at("hidden") == json::array({32}));
  CHECK(m.options.at("l") == 2);  // every option of the kind, defaults filled in
  CHECK(m.options.at("arch") == "mlp");
  CHECK(m.options.size() == 10);
  CHECK(c->session.device == "cpu");
  CHECK(c->session.neocortex.device == "cpu");

  // An option of another kind is refused, naming the kind it belongs to.
  Status s = agent_error(R"({"memory": {"kind": "raw", "c": 5}})");
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() ==
        "agent config: memory.c is an option of memory kind \"dvae\", not of \"raw\" "
        "(memory.kind)");
  // A typo is unknown: the closest name and every key the kind takes.
  s = agent_error(R"({"memory": {"cc": 5}})");
  CHECK(s.message() ==
        "agent config: unknown key 'memory.cc' (did you mean 'c'?); known: kind, budget_bytes, "
        "selector, association_from, c, l, arch, hidden, kl_weight, distill_weight, lr, steps, "
        "tau, weights");
  s = agent_error(R"({"memory": {"kind": "lwf", "temperature": 0}})");
  CHECK(contains(s.message(), "memory.temperature must be in [0.01, 100], got 0"));
  s = agent_error(R"({"memory": {"kind": "vae"}})");
  CHECK(contains(s.message(), "memory.kind must be one of \"dvae\", \"raw\""));
  s = agent_error(R"({"tasks2": 1})");  // the top level lists the agent's keys too
  CHECK(contains(s.message(),
                 "unknown key 'tasks2' (did you mean 'tasks'?); known: tasks, seed, "
                 "threads, device, neocortex, memory, name, input, classes, learning"));

  // A stored configuration (an agent snapshot of an earlier version wrote the dvae options for
  // every kind) drops them instead.
  c = agent_config_from_stored_json(R"({"memory": {"kind": "raw", "c": 5, "tau": 1}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->session.memory.options == json::object());
  CHECK_FALSE(agent_config_from_stored_json(R"({"memory": {"kind": "raw", "cc": 5}})").ok());
}

TEST_CASE("agent config: learning.replay is a number or a replay table, and round-trips") {
  auto c = agent_config_from_json(R"({"learning": {"replay": 7}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->learning.replay.per_batch == 7);
  CHECK(c->learning.replay.sampler == RecallSampler::uniform);
  c = agent_config_from_json(R"({})");
  REQUIRE(c.ok());
  CHECK(c->learning.replay.per_batch == 32);  // the agent's default

  c = agent_config_from_json(
      R"({"memory": {"kind": "none"}, "learning": {"replay": {"per_batch": 8,
          "sampler": "class_balanced", "targets": {"label": 1, "soft": 0.5}, "delay": 2}}})");
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->learning.replay.per_batch == 8);
  CHECK(c->learning.replay.sampler == RecallSampler::class_balanced);
  CHECK(c->learning.replay.soft_weight == 0.5);
  CHECK(c->learning.replay.delay == 2);
  const std::string text = agent_config_to_json(*c);
  auto back = agent_config_from_json(text);
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(agent_config_to_json(*back) == text);
  CHECK(back->learning.replay.sampler == RecallSampler::class_balanced);

  Status s = agent_error(R"({"learning": {"replay": {"sampler": "loudest"}}})");
  CHECK(contains(s.message(), "learning.replay.sampler must be one of"));
  s = agent_error(R"({"learning": {"replay": -1}})");
  CHECK(contains(s.message(), "learning.replay.per_batch must be in [0, "));
  s = agent_error(R"({"learning": {"replays": 1}})");
  CHECK(contains(s.message(), "unknown key 'learning.replays' (did you mean 'replay'?)"));
}

TEST_CASE("snapshot config: format 2 is the settings tree, every option of the kind written") {
  SessionConfig config;
  config.memory.kind = "dvae";
  config.memory.options = {{"c", 16}};  // the rest take their defaults
  config.device = "cpu";
  config.endpoints["hippocampus"] = "tcp://127.0.0.1:5701";
  const json j = json::parse(session_config_to_json(config));
  CHECK(j.at("format") == 2);
  CHECK(j.at("tasks") == config.num_tasks);
  CHECK(j.at("device") == "cpu");
  CHECK(j.at("endpoints").at("hippocampus") == "tcp://127.0.0.1:5701");
  CHECK(j.at("memory").at("c") == 16);
  CHECK(j.at("memory").at("l") == 2);  // written, so a later default cannot change the session
  CHECK(j.at("memory").at("tau") == 1.0);
  CHECK_FALSE(j.at("neocortex").contains("rows"));  // the dataset decides: not written

  auto back = session_config_from_json(j.dump());
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(back->memory.options.at("c") == 16);
  CHECK(back->memory.options.size() == 10);
  CHECK(back->endpoints == config.endpoints);
  CHECK(session_config_to_json(*back) == j.dump());
}

TEST_CASE("snapshot config: format 1 (earlier versions) still reads") {
  // What session_config_to_json wrote before the memory-kind registry.
  json v1 = json::parse(R"({"format": 1, "num_tasks": 3, "seed": 5, "threads": 2,
      "endpoints": {"driver": "inproc://d"},
      "neocortex": {"net": "mlp", "hidden": [64], "rows": 28, "cols": 28, "classes": 10,
                    "lr": 0.002, "seed": 5, "device": "cpu"},
      "memory": {"kind": "dvae", "budget_bytes": 20000, "selector": "fifo",
                 "dvae": {"c": 40, "l": 4, "arch": "mlp", "hidden": [64], "rows": 28, "cols": 28,
                          "tau": 0.5, "kl_weight": 0.0, "distill_weight": 1.0, "lr": 0.001,
                          "seed": 5000016, "device": "cpu"}}})");
  auto c = session_config_from_json(v1.dump());
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->num_tasks == 3);
  CHECK(c->seed == 5);
  CHECK(c->threads == 2);
  CHECK(c->device == "cpu");
  CHECK(c->endpoints.at("driver") == "inproc://d");
  CHECK(c->neocortex.classifier.hidden == std::vector<int>{64});
  CHECK(c->neocortex.lr == 0.002);
  CHECK(c->memory.kind == "dvae");
  CHECK(c->memory.budget_bytes == 20000);
  CHECK(c->memory.selector == Selector::fifo);
  CHECK(c->memory.association_from.empty());  // not in format 1: a fresh association
  CHECK(c->memory.options == json{{"c", 40},
                                  {"l", 4},
                                  {"arch", "mlp"},
                                  {"hidden", {64}},
                                  {"kl_weight", 0.0},
                                  {"distill_weight", 1.0},
                                  {"lr", 0.001},
                                  {"steps", 1},  // not in format 1: its default
                                  {"tau", 0.5},
                                  {"weights", "f32"}});  // not in format 1: its default

  // Format 1 wrote the dvae section for every kind: for another kind it is ignored.
  json raw = v1;
  raw["memory"]["kind"] = "raw";
  c = session_config_from_json(raw.dump());
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK(c->memory.kind == "raw");
  CHECK(c->memory.options == json::object());

  // Its fields are still required and checked.
  json missing = v1;
  missing["memory"].erase("dvae");
  c = session_config_from_json(missing.dump());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::malformed);
  CHECK(c.status().message() == "config: memory.dvae is missing");
  json bad = v1;
  bad["memory"]["dvae"]["c"] = (int64_t{1} << 32) + 8;
  c = session_config_from_json(bad.dump());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "config: memory.c must be in [1, 65536], got 4294967304");
}

TEST_CASE("snapshot config: an out-of-range integer is refused, not narrowed") {
  auto round_trip = edited_session_config([](json&) {});
  REQUIRE_MESSAGE(round_trip.ok(), round_trip.status().to_string());

  // tasks = 2^40 used to arrive as 0 ("num_tasks must be >= 1" from Session::create).
  auto c = edited_session_config([](json& j) { j["tasks"] = int64_t{1} << 40; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::invalid_argument);
  CHECK(c.status().message() == "config: tasks must be in [1, 65536], got 1099511627776");
  c = edited_session_config([](json& j) { j["memory"]["c"] = (int64_t{1} << 32) + 8; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "config: memory.c must be in [1, 65536], got 4294967304");
  c = edited_session_config([](json& j) {
    j["neocortex"]["hidden"] = json::array({400, (int64_t{1} << 32) + 400});
  });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "neocortex.hidden entry 2 must be in [1, 1048576]"));
  c = edited_session_config([](json& j) { j["seed"] = -1; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "seed must be in [0, 18446744073709551615], got -1"));
  c = edited_session_config([](json& j) { j["memory"]["budget_bytes"] = -5; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "memory.budget_bytes must be in [1, "));
  c = edited_session_config([](json& j) { j["format"] = (int64_t{1} << 32) + 2; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::unsupported_version);  // not read as format 2
  c = edited_session_config([](json& j) { j["format"] = 3; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == ErrorCode::unsupported_version);
  c = edited_session_config([](json& j) { j["memory"]["kind"] = "raw"; });
  REQUIRE_FALSE(c.ok());  // the dvae options written for kind dvae do not fit raw
  CHECK(contains(c.status().message(), "is an option of memory kind \"dvae\", not of \"raw\""));
}

TEST_CASE("snapshot config: non-integers are refused, not truncated; full-width seeds survive") {
  auto c = edited_session_config([](json& j) { j["tasks"] = 2.5; });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "config: tasks must be an integer, got 2.5");
  c = edited_session_config([](json& j) { j["threads"] = "4"; });
  REQUIRE_FALSE(c.ok());
  CHECK(contains(c.status().message(), "threads must be an integer, got \"4\""));
  c = edited_session_config([](json& j) { j.erase("endpoints"); });
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "config: endpoints is missing");

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
