// A small Split MNIST end to end through Session (the actors, the hippocampus buffer, the
// association and the neocortex): two tasks {0,1}, {2,3} on a subset of the data. Recollections
// must keep task 0 far above fine-tuning, within the memory budget.
#include "modules/session/session.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../io/io_test_util.h"

namespace engram {
namespace {

constexpr size_t kTrainPerTask = 3000;
constexpr size_t kTestPerTask = 1000;

// The dataset shared with sessions (loaded once) and the two tasks cut down to a subset.
struct Fixture {
  std::shared_ptr<const ImageDataset> dataset;
  Scenario scenario;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    out.dataset = std::make_shared<const ImageDataset>(test::mnist());
    auto sc = split_by_classes(*out.dataset, {{0, 1}, {2, 3}});
    if (!sc.ok()) FAIL(sc.status().to_string());
    out.scenario = std::move(sc).value();
    for (Task& t : out.scenario.tasks) {
      if (t.train_idx.size() > kTrainPerTask) t.train_idx.resize(kTrainPerTask);
      if (t.test_idx.size() > kTestPerTask) t.test_idx.resize(kTestPerTask);
    }
    return out;
  }();
  return f;
}

SessionConfig config(const std::string& kind, uint64_t seed) {
  SessionConfig c;
  c.neocortex.classifier.hidden = {256, 256};
  c.memory.kind = kind;
  if (kind == "dvae") {  // the options of the dvae kind (other kinds refuse them)
    c.memory.options["c"] = 100;
    c.memory.options["l"] = 2;
    c.memory.options["hidden"] = {256};
  }
  c.memory.budget_bytes = 40000;  // ~3000 codes of 100 + 7 bits
  c.num_tasks = 2;
  c.seed = seed;
  c.threads = 1;
  return c;
}

struct Outcome {
  double task0_after_task1 = 0;  // class-IL accuracy on task 0 after learning task 1
  double task1 = 0;              // class-IL accuracy on task 1 after learning it
  double task0_after_task0 = 0;  // before task 1
  MemoryStats memory;
};

// A phase of 300 iterations recorded every 50: six points of finite figures; the association's
// -ELBO only for dvae (none has no association).
void check_curve(const PhaseStats& p, const std::string& kind) {
  const LearningCurve& c = p.curve;
  CHECK(c.every == 50);
  REQUIRE(c.iteration.size() == 6);
  CHECK(c.iteration.front() == 50);
  CHECK(c.iteration.back() == 300);
  REQUIRE(c.loss_real.size() == 6);
  REQUIRE(c.samples_per_second.size() == 6);
  for (size_t k = 0; k < 6; ++k) {
    CHECK(std::isfinite(c.loss_real[k]));
    CHECK(c.loss_real[k] > 0);
    CHECK(c.samples_per_second[k] > 0);
  }
  if (kind == "dvae") {
    CHECK(c.association_neg_elbo.size() == 6);
    CHECK(p.association_steps == 300);
    CHECK(std::isfinite(p.association_neg_elbo));
    CHECK(p.association_neg_elbo > 0);
  } else {
    CHECK(c.association_neg_elbo.empty());
    CHECK(p.association_steps == 0);
  }
}

// Recollections by class after tasks {0,1} and {2,3}: decoded images of the stored codes for
// dvae (not blank), nothing for an unlearned class, a clear error for a kind without codes.
void check_recollections(Session& session, const std::string& kind) {
  auto r = session.recollections(2, 5);
  if (kind == "none") {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    CHECK(r.status().message().find("\"none\"") != std::string::npos);
    return;
  }
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  REQUIRE(r->size() == 5 * 784);
  double sum = 0;
  for (float v : *r) {
    CHECK_FALSE((v < 0 || v > 1));
    sum += v;
  }
  const double mean = sum / static_cast<double>(r->size());
  CHECK(mean > 0.02);  // digits: mostly dark, some bright strokes
  CHECK(mean < 0.5);
  auto unlearned = session.recollections(7, 5);
  REQUIRE(unlearned.ok());
  CHECK(unlearned->empty());
  CHECK_FALSE(session.recollections(10, 5).ok());
  CHECK_FALSE(session.recollections(0, 0).ok());
}

Outcome run(const std::string& kind, uint64_t seed) {
  const Fixture& f = fixture();
  auto session = Session::create(config(kind, seed), f.dataset);
  REQUIRE_MESSAGE(session.ok(), session.status().to_string());
  LearnOptions o;
  o.iterations = 300;
  o.batch = 64;
  o.replay.per_batch = 64;
  o.record_every = 50;
  Outcome out;
  auto p0 = (*session)->learn(f.scenario.tasks[0], o);
  REQUIRE_MESSAGE(p0.ok(), p0.status().to_string());
  CHECK(p0->iterations == 300);
  check_curve(*p0, kind);
  if (kind == "dvae") {
    // The VAE's -ELBO (nats per image) falls over the first phase.
    const auto& elbo = p0->curve.association_neg_elbo;
    REQUIRE(elbo.size() == 6);
    CHECK(elbo.back() < elbo.front());
    CHECK(p0->association_steps == 300);
    CHECK(p0->association_neg_elbo ==
          doctest::Approx(p0->association_reconstruction + p0->association_kl));
  }
  auto a00 = (*session)->accuracy(f.scenario.tasks[0], true);
  REQUIRE(a00.ok());
  out.task0_after_task0 = *a00;
  auto p1 = (*session)->learn(f.scenario.tasks[1], o);
  REQUIRE_MESSAGE(p1.ok(), p1.status().to_string());
  check_curve(*p1, kind);
  check_recollections(**session, kind);
  auto a10 = (*session)->accuracy(f.scenario.tasks[0], true);
  auto a11 = (*session)->accuracy(f.scenario.tasks[1], true);
  REQUIRE(a10.ok());
  REQUIRE(a11.ok());
  out.task0_after_task1 = *a10;
  out.task1 = *a11;
  auto m = (*session)->memory_stats();
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  out.memory = *m;
  if (kind != "none") {
    // Replay happened in task 1 (the phase reports a replay loss).
    CHECK(p1->loss_replay > 0);
  } else {
    CHECK(p1->loss_replay == 0);
  }
  MESSAGE(kind << " seed " << seed << ": task0 " << out.task0_after_task0 << " -> "
               << out.task0_after_task1 << ", task1 " << out.task1 << ", codes "
               << out.memory.codes_stored << ", bytes " << out.memory.bytes_used << "/"
               << out.memory.budget_bytes);
  return out;
}

TEST_CASE("Session::create rejects invalid configurations") {
  const Fixture& f = fixture();
  SessionConfig c = config("bogus", 1);
  auto s = Session::create(c, f.dataset);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == ErrorCode::invalid_argument);
  CHECK(s.status().message().find("bogus") != std::string::npos);
  c = config("dvae", 1);
  c.memory.options["l"] = 1;
  CHECK_FALSE(Session::create(c, f.dataset).ok());
  c = config("dvae", 1);
  c.threads = 0;
  CHECK_FALSE(Session::create(c, f.dataset).ok());
  c = config("none", 1);
  c.neocortex.classifier.net = "transformer";
  CHECK_FALSE(Session::create(c, f.dataset).ok());
  CHECK_FALSE(Session::create(config("none", 1), nullptr).ok());
}

// Seed 1 by default (one seed keeps the test well under 90 s); ENGRAM_TEST_SEEDS="1,2,3" checks
// more.
std::vector<uint64_t> seeds() {
  std::vector<uint64_t> out;
  const char* env = std::getenv("ENGRAM_TEST_SEEDS");
  std::stringstream in(env != nullptr ? env : "1");
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(std::stoull(item));
  }
  REQUIRE(!out.empty());
  return out;
}

TEST_CASE("recollections keep task 0 far above fine-tuning, within the memory budget") {
  for (uint64_t seed : seeds()) {
    CAPTURE(seed);
    const Outcome ft = run("none", seed);
    const Outcome rec = run("dvae", seed);
    // Both learn each task while it is current.
    CHECK(ft.task0_after_task0 > 0.95);
    CHECK(rec.task0_after_task0 > 0.95);
    CHECK(ft.task1 > 0.9);
    CHECK(rec.task1 > 0.8);
    // Fine-tuning forgets task 0 (class-IL); recollections do not.
    CHECK(ft.task0_after_task1 < 0.2);
    // Measured 0.91-0.96 over seeds 1-5 (fine-tuning: 0).
    CHECK(rec.task0_after_task1 > 0.7);
    CHECK(rec.task0_after_task1 > ft.task0_after_task1 + 0.5);
    // Memory: fine-tuning has none; recollections stay within the budget.
    CHECK(ft.memory.codes_stored == 0);
    CHECK(ft.memory.classifier_weight_bytes > 0);
    const MemoryStats& m = rec.memory;
    CHECK(m.budget_bytes == 40000);
    CHECK(m.codes_stored > 0);
    CHECK(m.bytes_used > 0);
    CHECK(m.bytes_used <= m.budget_bytes);
    CHECK(m.codes_stored <= m.capacity);
    CHECK(m.seen == 2 * 300 * 64);
    CHECK(m.association_weight_bytes > m.decoder_weight_bytes);
    CHECK(m.decoder_weight_bytes > 0);
    // The total view counts the encoder too: it is needed to encode new observations.
    CHECK(m.memory_weight_bytes == m.association_weight_bytes);
    CHECK(m.total_bytes == m.bytes_used + m.memory_weight_bytes);
    REQUIRE(m.per_task.size() == 2);
    CHECK(m.per_task[0] > 0);
    CHECK(m.per_task[1] > 0);
    CHECK(m.per_task[0] + m.per_task[1] == m.codes_stored);
    REQUIRE(m.per_class.size() == 10);
    CHECK(m.per_class[0] + m.per_class[1] == m.per_task[0]);
    CHECK(m.per_class[4] == 0);
  }
}

}  // namespace
}  // namespace engram
