// memory.association_from: a new session's association starts from the one in a snapshot file
// (pretrained elsewhere); what does not fit is refused by name and nothing is created.
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "modules/session/session.h"
#include "tests/shared_mnist.h"
#include "tests/temp_dir.h"

using namespace engram;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const ImageDataset> mnist() { return test::shared_mnist(); }

std::vector<Task> two_tasks() {
  auto s = split_by_classes(*mnist(), {{0, 1}, {2, 3}});
  REQUIRE(s.ok());
  return s->tasks;
}

SessionConfig config_of(const std::string& kind, const std::string& association_from = "") {
  SessionConfig c;
  c.num_tasks = 2;
  c.seed = 7;
  c.memory.kind = kind;
  c.memory.budget_bytes = 20000;
  c.memory.association_from = association_from;
  if (kind == "dvae") {
    c.memory.options["hidden"] = {64};
    c.memory.options["c"] = 32;
  }
  c.neocortex.classifier.hidden = {64};
  return c;
}

LearnOptions quick() {
  LearnOptions o;
  o.iterations = 60;
  o.batch = 32;
  o.replay.per_batch = 32;
  return o;
}

// A session of `kind` that learned the first task, snapshotted to `path`.
void pretrain(const std::string& kind, const std::string& path, double* distortion = nullptr,
              double* accuracy = nullptr) {
  auto s = Session::create(config_of(kind), mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  const Task first = two_tasks()[0];
  REQUIRE((*s)->learn(first, quick()).ok());
  if (distortion) *distortion = (*s)->distortion(first, 200).value();
  if (accuracy) *accuracy = (*s)->accuracy(first, false).value();
  REQUIRE((*s)->snapshot(path).ok());
}

}  // namespace

TEST_CASE(
    "a new session's association starts from a snapshot's; its classifier and buffer start "
    "empty") {
  const auto tasks = two_tasks();
  test::TempDir dir;
  const std::string pretrained = dir.file("pretrained.snap");
  double pretrained_distortion = 0, pretrained_accuracy = 0;
  pretrain("dvae", pretrained, &pretrained_distortion, &pretrained_accuracy);

  auto fresh = Session::create(config_of("dvae"), mnist());
  REQUIRE(fresh.ok());
  const double fresh_distortion = (*fresh)->distortion(tasks[0], 200).value();
  CHECK(fresh_distortion > pretrained_distortion + 0.05);

  auto warm = Session::create(config_of("dvae", pretrained), mnist());
  REQUIRE_MESSAGE(warm.ok(), warm.status().to_string());
  // The same association: it reconstructs exactly as the pretrained one did.
  CHECK((*warm)->distortion(tasks[0], 200).value() == pretrained_distortion);
  // Only the association: no codes stored, the classifier untrained.
  auto stats = (*warm)->memory_stats();
  REQUIRE(stats.ok());
  CHECK(stats->codes_stored == 0);
  CHECK((*warm)->accuracy(tasks[0], false).value() < pretrained_accuracy - 0.2);

  // It learns on, and its own snapshot restores without the pretrained file.
  REQUIRE((*warm)->learn(tasks[1], quick()).ok());
  const std::string own = dir.file("warm.snap");
  REQUIRE((*warm)->snapshot(own).ok());
  fs::remove(pretrained);
  auto restored = Session::restore(own, mnist());
  REQUIRE_MESSAGE(restored.ok(), restored.status().to_string());
  CHECK((*restored)->config().memory.association_from == pretrained);
  CHECK((*restored)->distortion(tasks[1], 200).value() ==
        (*warm)->distortion(tasks[1], 200).value());
}

TEST_CASE(
    "association_from refuses a missing file, another kind, another architecture and a "
    "kind without an association, naming the setting") {
  test::TempDir dir;
  const std::string dvae = dir.file("from_dvae.snap");
  const std::string raw = dir.file("from_raw.snap");
  pretrain("dvae", dvae);
  pretrain("raw", raw);
  auto refused = [](const SessionConfig& config) {
    auto s = Session::create(config, mnist());
    REQUIRE(!s.ok());
    CHECK(s.status().message().find("memory.association_from") != std::string::npos);
    return s.status();
  };

  Status missing = refused(config_of("dvae", dir.file("nowhere.snap")));
  CHECK(missing.code() == ErrorCode::not_found);

  Status other_kind = refused(config_of("dvae", raw));
  CHECK(other_kind.code() == ErrorCode::invalid_argument);
  CHECK(other_kind.message().find("\"raw\"") != std::string::npos);

  SessionConfig wider = config_of("dvae", dvae);
  wider.memory.options["c"] = 48;
  Status architecture = refused(wider);
  CHECK(architecture.code() == ErrorCode::invalid_argument);
  CHECK(architecture.message().find("c 32 there, 48 here") != std::string::npos);

  Status no_association = refused(config_of("raw", raw));
  CHECK(no_association.code() == ErrorCode::invalid_argument);
  CHECK(no_association.message().find("no association") != std::string::npos);

  // A file that is not a snapshot.
  const std::string junk = dir.file("junk.snap");
  std::ofstream(junk) << "not an engram snapshot, only some text that is long enough";
  CHECK(refused(config_of("dvae", junk)).code() == ErrorCode::malformed);
}
