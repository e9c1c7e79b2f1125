// Snapshots of learning state: module state round trips, resume equivalence, and rejection of
// damaged snapshots with the running state untouched.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "modules/association/discrete_vae.h"
#include "modules/neocortex/learner.h"
#include "modules/session/session.h"
#include "runtime/atomic_file.h"
#include "runtime/snapshot_file.h"
#include "tests/shared_mnist.h"

using namespace engram;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const ImageDataset> mnist() { return test::shared_mnist(); }

std::vector<Task> three_tasks() {
  auto s = split_by_classes(*mnist(), {{0, 1}, {2, 3}, {4, 5}});
  REQUIRE(s.ok());
  return s->tasks;
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("engram_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

SessionConfig small_config(const std::string& memory) {
  SessionConfig c;
  c.num_tasks = 3;
  c.seed = 5;
  c.memory.kind = memory;
  c.memory.budget_bytes = 20000;
  if (memory == "dvae") c.memory.options["hidden"] = {64};  // other kinds refuse dvae options
  c.neocortex.classifier.hidden = {64};
  return c;
}

LearnOptions quick() {
  LearnOptions o;
  o.iterations = 40;
  o.batch = 32;
  o.replay.per_batch = 32;
  return o;
}

std::vector<double> accuracy_row(Session& s, const std::vector<Task>& tasks) {
  std::vector<double> row;
  for (const Task& t : tasks) {
    auto a = s.accuracy(t, true);
    REQUIRE(a.ok());
    row.push_back(*a);
  }
  return row;
}

at::Tensor images(int n) {
  at::manual_seed(3);
  return at::rand({n, 784});
}

}  // namespace

TEST_CASE("learner state round trip; bad state is rejected and changes nothing") {
  at::set_num_threads(1);
  LearnerConfig cfg;
  cfg.classifier.hidden = {32};
  auto a = Learner::create(cfg);
  REQUIRE(a.ok());
  at::Tensor x = images(16), y = at::randint(0, 10, {16}, at::kLong);
  at::Tensor all = at::ones({10}, at::kBool);
  for (int i = 0; i < 5; ++i) (*a)->step(x, y, {}, {}, all, 0);
  const std::string state = (*a)->save_state();

  cfg.seed = 99;
  auto b = Learner::create(cfg);
  REQUIRE(b.ok());
  const at::Tensor before = (*b)->predict(x);
  CHECK((*b)->load_state("not an archive").code() == ErrorCode::malformed);
  CHECK(at::equal((*b)->predict(x), before));

  LearnerConfig wider = cfg;
  wider.classifier.hidden = {48};
  auto c = Learner::create(wider);
  REQUIRE(c.ok());
  const at::Tensor c_before = (*c)->predict(x);
  Status mismatch = (*c)->load_state(state);
  CHECK(mismatch.code() == ErrorCode::malformed);
  CHECK(mismatch.message().find("shape") != std::string::npos);
  CHECK(at::equal((*c)->predict(x), c_before));

  REQUIRE((*b)->load_state(state).ok());
  CHECK(at::equal((*b)->predict(x), (*a)->predict(x)));
  // The optimiser moments came along: the next step moves both the same way.
  (*a)->step(x, y, {}, {}, all, 0);
  (*b)->step(x, y, {}, {}, all, 0);
  CHECK(at::equal((*b)->predict(x), (*a)->predict(x)));
}

TEST_CASE("discrete VAE state round trip keeps weights, frozen copy, optimiser and noise") {
  at::set_num_threads(1);
  DiscreteVaeConfig cfg;
  cfg.c = 20;
  cfg.hidden = {32};
  auto a = DiscreteVae::create(cfg);
  REQUIRE(a.ok());
  at::Tensor x = images(16);
  for (int i = 0; i < 5; ++i) (*a)->learn(x, {}, {}, nullptr);
  (*a)->consolidate();
  for (int i = 0; i < 5; ++i) (*a)->learn(x, {}, {}, nullptr);
  const std::string state = (*a)->save_state();

  cfg.seed = 42;
  auto b = DiscreteVae::create(cfg);
  REQUIRE(b.ok());
  const at::Tensor codes = (*a)->encode(x);
  const at::Tensor b_recall = (*b)->recall(codes);
  std::string damaged = state;
  damaged.resize(damaged.size() / 2);
  CHECK(!(*b)->load_state(damaged).ok());
  CHECK(at::equal((*b)->recall(codes), b_recall));

  REQUIRE((*b)->load_state(state).ok());
  CHECK(at::equal((*b)->recall(codes), (*a)->recall(codes)));            // frozen copy
  CHECK(at::equal((*b)->decode_live(codes), (*a)->decode_live(codes)));  // live decoder
  CHECK(!at::equal((*a)->recall(codes), (*a)->decode_live(codes)));
  // Same Gumbel noise stream and optimiser state: identical learning from here on.
  AssociationStats sa, sb;
  (*a)->learn(x, {}, {}, &sa);
  (*b)->learn(x, {}, {}, &sb);
  CHECK(sa.reconstruction == sb.reconstruction);
  CHECK(at::equal((*b)->decode_live(codes), (*a)->decode_live(codes)));
}

TEST_CASE(
    "a session restored from a snapshot after task 2 ends exactly where an unbroken one does") {
  const auto tasks = three_tasks();
  std::vector<std::vector<double>> unbroken, resumed;
  {
    auto s = Session::create(small_config("dvae"), mnist());
    REQUIRE(s.ok());
    for (const Task& t : tasks) {
      REQUIRE((*s)->learn(t, quick()).ok());
      unbroken.push_back(accuracy_row(**s, tasks));
    }
  }
  const std::string path = temp_path("resume.snap");
  {
    auto s = Session::create(small_config("dvae"), mnist());
    REQUIRE(s.ok());
    for (int i = 0; i < 2; ++i) {
      REQUIRE((*s)->learn(tasks[static_cast<size_t>(i)], quick()).ok());
      resumed.push_back(accuracy_row(**s, tasks));
    }
    REQUIRE((*s)->snapshot(path, R"({"next_task": 3})").ok());
  }
  std::string script;
  auto r = Session::restore(path, mnist(), &script);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(script == R"({"next_task":3})");
  REQUIRE((*r)->learn(tasks[2], quick()).ok());
  resumed.push_back(accuracy_row(**r, tasks));
  CHECK(resumed == unbroken);
  auto stats = (*r)->memory_stats();
  REQUIRE(stats.ok());
  CHECK(stats->per_task[2] > 0);
  fs::remove(path);
}

TEST_CASE("a snapshot whose config section is format 1 (earlier versions) resumes the same") {
  const auto tasks = three_tasks();
  SessionConfig config = small_config("dvae");
  config.memory.options["c"] = 24;
  config.memory.options["tau"] = 0.75;
  const std::string path = temp_path("format1.snap");
  {
    auto s = Session::create(config, mnist());
    REQUIRE(s.ok());
    REQUIRE((*s)->learn(tasks[0], quick()).ok());
    REQUIRE((*s)->snapshot(path).ok());
  }
  auto sections = read_snapshot(path);
  REQUIRE_MESSAGE(sections.ok(), sections.status().to_string());
  const std::vector<uint8_t>& bytes = sections->at("config");
  const nlohmann::json v2 = nlohmann::json::parse(bytes.begin(), bytes.end());
  REQUIRE(v2.at("format") == 2);
  // The layout session_config_to_json wrote before the memory-kind registry.
  const nlohmann::json& n = v2.at("neocortex");
  const nlohmann::json& m = v2.at("memory");
  nlohmann::json dvae = {{"rows", 28}, {"cols", 28}, {"seed", 5000016}, {"device", "cpu"}};
  for (const char* k : {"c", "l", "arch", "hidden", "kl_weight", "distill_weight", "lr", "tau"}) {
    dvae[k] = m.at(k);
  }
  const nlohmann::json v1 = {{"format", 1},
                             {"num_tasks", v2.at("tasks")},
                             {"seed", v2.at("seed")},
                             {"threads", v2.at("threads")},
                             {"endpoints", v2.at("endpoints")},
                             {"neocortex",
                              {{"net", n.at("net")},
                               {"hidden", n.at("hidden")},
                               {"rows", 28},
                               {"cols", 28},
                               {"classes", 10},
                               {"lr", n.at("lr")},
                               {"seed", v2.at("seed")},
                               {"device", "cpu"}}},
                             {"memory",
                              {{"kind", "dvae"},
                               {"budget_bytes", m.at("budget_bytes")},
                               {"selector", m.at("selector")},
                               {"dvae", dvae}}}};
  const std::string path1 = temp_path("format1_old.snap");
  SnapshotSections old = *sections;
  const std::string text = v1.dump();
  old["config"] = std::vector<uint8_t>(text.begin(), text.end());
  REQUIRE(write_snapshot(path1, old).ok());

  std::vector<std::vector<double>> rows;
  for (const std::string& p : {path, path1}) {
    auto r = Session::restore(p, mnist());
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK((*r)->config().memory.options.at("c") == 24);
    CHECK((*r)->config().memory.options.at("tau") == 0.75);
    REQUIRE((*r)->learn(tasks[1], quick()).ok());
    rows.push_back(accuracy_row(**r, tasks));
  }
  CHECK(rows[0] == rows[1]);
  fs::remove(path);
  fs::remove(path1);
}

TEST_CASE("damaged snapshots are rejected naming the section, and the running session goes on") {
  const auto tasks = three_tasks();
  auto s = Session::create(small_config("raw"), mnist());
  REQUIRE(s.ok());
  REQUIRE((*s)->learn(tasks[0], quick()).ok());
  const std::string path = temp_path("damaged.snap");
  CHECK((*s)->snapshot(path, "{not json").code() == ErrorCode::invalid_argument);
  REQUIRE((*s)->snapshot(path).ok());
  auto stats_before = (*s)->memory_stats();
  REQUIRE(stats_before.ok());

  std::string bytes;
  REQUIRE(read_file(path, &bytes).ok());
  // Flip one byte in the middle of the file (inside a section's frame).
  std::string damaged = bytes;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x10);
  REQUIRE(write_file_atomically(path, damaged.data(), damaged.size()).ok());
  auto r = Session::restore(path, mnist());
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("section '") != std::string::npos);
  REQUIRE(write_file_atomically(path, bytes.data(), bytes.size() - 7).ok());
  CHECK(!Session::restore(path, mnist()).ok());
  CHECK(Session::restore(temp_path("missing.snap"), mnist()).status().code() ==
        ErrorCode::not_found);

  // The running session is untouched and keeps learning.
  auto stats_after = (*s)->memory_stats();
  REQUIRE(stats_after.ok());
  CHECK(stats_after->codes_stored == stats_before->codes_stored);
  REQUIRE((*s)->learn(tasks[1], quick()).ok());
  CHECK((*s)->accuracy(tasks[1], false).value() > 0.8);

  // An intact snapshot of a memory-less session restores too.
  auto none = Session::create(small_config("none"), mnist());
  REQUIRE(none.ok());
  REQUIRE((*none)->snapshot(path).ok());
  CHECK(Session::restore(path, mnist()).ok());
  fs::remove(path);
}
