// The curriculum layer through Session: recall samplers keep their promises, consolidation
// phases train on recollections only, replay follows what was learned before (not task ids),
// and snapshots between phases resume identically with the new options in use. Experience
// replay ("raw") keeps these fast: nothing but the classifier learns.
#include "modules/session/session.h"

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../io/io_test_util.h"
#include "../temp_dir.h"

namespace engram {
namespace {

const std::shared_ptr<const ImageDataset>& mnist() {
  static const auto ds = std::make_shared<const ImageDataset>(test::mnist());
  return ds;
}

// A task of `id` holding, of each class in `classes`, the first share[i] training examples.
Task task_of(int id, const std::vector<int>& classes, const std::vector<size_t>& share) {
  const ImageDataset& ds = *mnist();
  Task t;
  t.id = id;
  t.classes = classes;
  std::vector<size_t> taken(classes.size(), 0);
  for (size_t i = 0; i < ds.train_size(); ++i) {
    for (size_t k = 0; k < classes.size(); ++k) {
      if (ds.train_y[i] == classes[k] && taken[k] < share[k]) {
        t.train_idx.push_back(static_cast<uint32_t>(i));
        ++taken[k];
      }
    }
  }
  for (size_t i = 0; i < ds.test_size() && t.test_idx.size() < 500; ++i) {
    for (int c : classes) {
      if (ds.test_y[i] == c) t.test_idx.push_back(static_cast<uint32_t>(i));
    }
  }
  return t;
}

std::unique_ptr<Session> raw_session(int tasks = 3, size_t budget = 400 * 784) {
  SessionConfig c;
  c.neocortex.classifier.hidden = {64};
  c.memory.kind = "raw";
  c.memory.budget_bytes = budget;
  c.num_tasks = tasks;
  c.seed = 7;
  auto s = Session::create(c, mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  return std::move(*s);
}

PhaseStats learn(Session& s, const Task& t, int iterations, const ReplayOptions& r = {}) {
  LearnOptions o;
  o.iterations = iterations;
  o.batch = 32;
  o.replay = r;
  auto p = s.learn(t, o);
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  return *p;
}

std::string classifier_state(Session& s) {
  auto copy = s.classifier_copy();
  REQUIRE(copy.ok());
  return (*copy)->save_state();
}

TEST_CASE(
    "class_balanced recall gives every stored class an equal share; uniform follows the "
    "buffer") {
  auto s = raw_session();
  // 90% of task 0's examples (and so of the buffer) are zeros.
  learn(*s, task_of(0, {0, 1}, {360, 40}), 40);
  ReplayOptions r;
  r.per_batch = 64;
  r.sampler = RecallSampler::class_balanced;
  const PhaseStats balanced = learn(*s, task_of(1, {2, 3}, {200, 200}), 60, r);
  r.sampler = RecallSampler::uniform;
  const PhaseStats uniform = learn(*s, task_of(2, {4, 5}, {200, 200}), 60, r);
  REQUIRE(balanced.recalled_per_class.size() == 10);
  const double n = static_cast<double>(balanced.recalled_examples);
  CHECK(n == 60 * 64);
  // Binomial(n, 1/2) per class: 5 sigma bounds.
  const double sigma = std::sqrt(n * 0.25);
  CHECK(std::abs(balanced.recalled_per_class[0] - n / 2) < 5 * sigma);
  CHECK(std::abs(balanced.recalled_per_class[1] - n / 2) < 5 * sigma);
  // Uniform over the buffer: zeros dominate (task 1's codes are recallable now too).
  CHECK(uniform.recalled_per_class[0] > 3 * uniform.recalled_per_class[1]);
  CHECK(uniform.recalled_per_class[2] + uniform.recalled_per_class[3] > 0);
  CHECK(uniform.recalled_per_class[4] + uniform.recalled_per_class[5] == 0);  // not yet sealed
}

TEST_CASE(
    "task_balanced gives every task an equal share; recent favours recently learned "
    "tasks 1:2") {
  auto s = raw_session(4);
  learn(*s, task_of(0, {0, 1}, {300, 300}), 40);  // task 0 fills most of the buffer
  learn(*s, task_of(1, {2, 3}, {50, 50}), 8);
  ReplayOptions r;
  r.per_batch = 64;
  r.sampler = RecallSampler::task_balanced;
  const PhaseStats balanced = learn(*s, task_of(2, {4, 5}, {200, 200}), 50, r);
  const auto& b = balanced.recalled_per_class;
  const double n = static_cast<double>(balanced.recalled_examples);
  // Task shares among the tasks sealed so far (0 and 1): binomial(n, 1/2).
  CHECK(std::abs((b[0] + b[1]) - n / 2) < 5 * std::sqrt(n * 0.25));
  r.sampler = RecallSampler::recent;  // tasks 0, 1, 2 learned in that order: shares 1:2:3
  const PhaseStats recent = learn(*s, task_of(3, {6, 7}, {200, 200}), 60, r);
  const auto& c = recent.recalled_per_class;
  const double m = static_cast<double>(recent.recalled_examples);
  CHECK(std::abs((c[0] + c[1]) - m / 6) < 5 * std::sqrt(m * (1.0 / 6) * (5.0 / 6)));
  CHECK(std::abs((c[4] + c[5]) - m / 2) < 5 * std::sqrt(m * 0.25));
}

TEST_CASE("weighted recall follows the weights of a sampler; bad weights are refused") {
  auto s = raw_session();
  learn(*s, task_of(0, {0, 1}, {200, 200}), 30);
  ReplayOptions r;
  r.per_batch = 64;
  r.sampler = RecallSampler::weighted;
  r.class_weights = std::vector<double>(10, 0.0);
  r.class_weights[0] = 3;
  r.class_weights[1] = 1;
  const PhaseStats p = learn(*s, task_of(1, {2, 3}, {200, 200}), 50, r);
  const double n = static_cast<double>(p.recalled_examples);
  const double sigma = std::sqrt(n * 0.75 * 0.25);
  CHECK(std::abs(p.recalled_per_class[0] - 0.75 * n) < 5 * sigma);
  CHECK(p.recalled_per_class[0] + p.recalled_per_class[1] == n);

  const std::string before = classifier_state(*s);
  r.class_weights[2] = std::nan("");
  LearnOptions o;
  o.iterations = 5;
  o.replay = r;
  auto refused = s->learn(task_of(1, {2, 3}, {50, 50}), o);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("class 2") != std::string::npos);
  r.class_weights = std::vector<double>(3, 1.0);  // not one per class
  o.replay = r;
  CHECK_FALSE(s->learn(task_of(1, {2, 3}, {50, 50}), o).ok());
  CHECK(classifier_state(*s) == before);  // nothing learned
}

TEST_CASE("a consolidation phase: steps = 0 changes nothing; otherwise recollections only") {
  auto s = raw_session();
  learn(*s, task_of(0, {0, 1}, {200, 200}), 30);
  const std::string before = classifier_state(*s);
  ConsolidateOptions none;
  none.steps = 0;
  auto idle = s->consolidate(none);
  REQUIRE(idle.ok());
  CHECK(idle->iterations == 0);
  CHECK(classifier_state(*s) == before);

  ConsolidateOptions sleep;
  sleep.steps = 20;
  sleep.batch = 48;
  sleep.replay.sampler = RecallSampler::class_balanced;
  auto p = s->consolidate(sleep);
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  CHECK(p->iterations == 20);
  CHECK(p->real_examples == 0);
  CHECK(p->recalled_examples == 20 * 48);
  CHECK(p->recalled_per_class[0] + p->recalled_per_class[1] == 20 * 48);
  CHECK(classifier_state(*s) != before);  // it learned, from recollections alone

  sleep.steps = -1;
  CHECK_FALSE(s->consolidate(sleep).ok());
}

TEST_CASE(
    "replay follows what was learned before, in any task order: a revisited task gets "
    "replay") {
  auto s = raw_session();
  ReplayOptions r;
  r.per_batch = 32;
  // Task ids out of order: 2 first. Nothing is recallable during the first phase.
  const PhaseStats first = learn(*s, task_of(2, {0, 1}, {200, 200}), 20, r);
  CHECK(first.recalled_examples == 0);
  const PhaseStats second = learn(*s, task_of(0, {2, 3}, {200, 200}), 20, r);
  CHECK(second.recalled_examples == 20 * 32);
  CHECK(second.recalled_per_class[2] + second.recalled_per_class[3] == 0);
  // Back to task 2: task 0's codes (a smaller id, stored before) are recalled too.
  const PhaseStats revisit = learn(*s, task_of(2, {0, 1}, {200, 200}), 20, r);
  CHECK(revisit.recalled_examples == 20 * 32);
  CHECK(revisit.recalled_per_class[2] + revisit.recalled_per_class[3] > 0);
}

TEST_CASE("snapshots between phases resume to identical results with the new options in use") {
  test::TempDir dir;
  const std::string path = dir.path() + "/mid.engram";
  const Task t0 = task_of(0, {0, 1}, {200, 200});
  const Task t1 = task_of(1, {2, 3}, {200, 200});
  ReplayOptions r;
  r.per_batch = 32;
  r.sampler = RecallSampler::active;
  r.candidates = 3;
  r.label_weight = 0.5;
  r.soft_weight = 0.5;
  r.delay = 3;
  auto a = raw_session();
  learn(*a, t0, 20, r);
  REQUIRE(a->snapshot(path).ok());
  learn(*a, t1, 20, r);
  ConsolidateOptions sleep;
  sleep.steps = 5;
  sleep.batch = 32;
  sleep.replay = r;
  REQUIRE(a->consolidate(sleep).ok());
  auto b = Session::restore(path, mnist());
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  learn(**b, t1, 20, r);
  REQUIRE((*b)->consolidate(sleep).ok());
  CHECK(classifier_state(*a) == classifier_state(**b));
  auto acc_a = a->accuracy(t0, true);
  auto acc_b = (*b)->accuracy(t0, true);
  REQUIRE((acc_a.ok() && acc_b.ok()));
  CHECK(*acc_a == *acc_b);
}

// The association's state as stored in a snapshot.
std::vector<uint8_t> association_state(Session& s, const std::string& path) {
  REQUIRE(s.snapshot(path).ok());
  auto sections = read_snapshot(path);
  REQUIRE(sections.ok());
  return sections->at("association");
}

TEST_CASE("a lifelong_vae session resumes from a snapshot taken mid-task to identical results") {
  test::TempDir dir;
  const std::string path = dir.path() + "/lifelong.engram";
  SessionConfig c;
  c.neocortex.classifier.hidden = {64};
  c.memory.kind = "lifelong_vae";
  c.memory.options["hidden"] = {32, 32};
  c.memory.options["f"] = 4;
  c.num_tasks = 2;
  c.seed = 5;
  auto a = Session::create(c, mnist());
  REQUIRE_MESSAGE(a.ok(), a.status().to_string());
  ReplayOptions r;
  r.per_batch = 16;
  const Task t0 = task_of(0, {0, 1}, {200, 200});
  const Task t1 = task_of(1, {2, 3}, {200, 200});
  learn(**a, t0, 10, r);
  // Mid-task: the student has learned, no teacher yet; the next task's boundary must grow J.
  REQUIRE((*a)->snapshot(path).ok());
  learn(**a, t1, 10, r);
  auto b = Session::restore(path, mnist());
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  const PhaseStats pb = learn(**b, t1, 10, r);
  CHECK(pb.recalled_examples == 10 * 16);  // the restored boundary made a teacher
  CHECK(classifier_state(**a) == classifier_state(**b));
  // The grown student too: its fresh latent layers come from the VAE's own noise stream.
  CHECK(association_state(**a, dir.path() + "/a.engram") ==
        association_state(**b, dir.path() + "/b.engram"));
}

TEST_CASE("a lifelong_vae session reports its negative ELBO on the real batches of each phase") {
  SessionConfig c;
  c.neocortex.classifier.hidden = {32};
  c.memory.kind = "lifelong_vae";
  c.memory.options["hidden"] = {32, 32};
  c.memory.options["f"] = 4;
  c.num_tasks = 2;
  auto s = Session::create(c, mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  ReplayOptions r;
  r.per_batch = 16;
  // Task 1 learns real batches alone; task 2 mixes in the teacher's samples, which the ELBO
  // reported for the real batches leaves out.
  for (const Task& t : {task_of(0, {0, 1}, {200, 200}), task_of(1, {2, 3}, {200, 200})}) {
    const PhaseStats p = learn(**s, t, 10, r);
    CHECK(p.association_steps == 10);
    CHECK(std::isfinite(p.association_neg_elbo));
    CHECK(p.association_reconstruction > 0);
    CHECK(p.association_kl >= 0);
    CHECK(p.association_neg_elbo ==
          doctest::Approx(p.association_reconstruction + p.association_kl));
  }
}

TEST_CASE(
    "a consolidation phase trains the association on its own recollections only when "
    "asked") {
  test::TempDir dir;
  SessionConfig c;
  c.neocortex.classifier.hidden = {32};
  c.memory.kind = "dvae";
  c.memory.options = {{"c", 16}, {"l", 2}, {"hidden", {32}}};
  c.memory.budget_bytes = 4000;
  c.num_tasks = 2;
  auto s = Session::create(c, mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  learn(**s, task_of(0, {0, 1}, {200, 200}), 20);
  ConsolidateOptions sleep;
  sleep.steps = 5;
  sleep.batch = 16;
  // The first boundary freezes the decoder copy; after it, a classifier-only phase leaves the
  // association exactly as it was (its boundary re-freezes the same weights).
  REQUIRE((*s)->consolidate(sleep).ok());
  const auto first = association_state(**s, dir.path() + "/a.engram");
  REQUIRE((*s)->consolidate(sleep).ok());
  CHECK(association_state(**s, dir.path() + "/b.engram") == first);
  sleep.association = true;
  auto p = (*s)->consolidate(sleep);
  REQUIRE(p.ok());
  CHECK(p->real_examples == 0);
  CHECK(p->recalled_examples == 5 * 16);
  CHECK(association_state(**s, dir.path() + "/c.engram") != first);
}

TEST_CASE("steps_per_batch: each real batch learned that many times, its codes stored once") {
  auto s = raw_session(2);
  LearnOptions o;
  o.iterations = 30;
  o.batch = 16;
  o.steps_per_batch = 3;
  auto p = s->learn(task_of(0, {0, 1}, {200, 200}), o);
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  CHECK(p->iterations == 30);
  auto m = s->memory_stats();
  REQUIRE(m.ok());
  CHECK(m->codes_stored == 10 * 16);
  // A phase that ends inside a batch's repeats still stores that batch (at the phase's end).
  o.iterations = 31;
  REQUIRE(s->learn(task_of(0, {0, 1}, {200, 200}), o).ok());
  m = s->memory_stats();
  REQUIRE(m.ok());
  CHECK(m->codes_stored == 10 * 16 + 11 * 16);
  o.steps_per_batch = 0;
  auto bad = s->learn(task_of(0, {0, 1}, {200, 200}), o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("steps_per_batch") != std::string::npos);
}

TEST_CASE("the lwf kind keeps a teacher and reports it in the total view; no buffer") {
  SessionConfig c;
  c.neocortex.classifier.hidden = {64};
  c.memory.kind = "lwf";
  c.memory.options["temperature"] = 2.0;
  c.num_tasks = 2;
  auto s = Session::create(c, mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  const PhaseStats p0 = learn(**s, task_of(0, {0, 1}, {200, 200}), 20);
  const PhaseStats p1 = learn(**s, task_of(1, {2, 3}, {200, 200}), 20);
  CHECK(p1.recalled_examples == 0);
  auto m = (*s)->memory_stats();
  REQUIRE(m.ok());
  CHECK(m->kind == "lwf");
  CHECK(m->incremental_bytes == 0);
  CHECK(m->total_bytes == m->classifier_weight_bytes);
  CHECK_FALSE((*s)->distortion(task_of(0, {0, 1}, {10, 10}), 10).ok());

  c.memory.options["temperature"] = -1.0;
  auto bad = Session::create(c, mnist());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("memory.temperature") != std::string::npos);
  c.memory.options = {{"c", 10}};  // a dvae option
  CHECK_FALSE(Session::create(c, mnist()).ok());
  c.memory.kind = "nonesuch";
  auto unknown = Session::create(c, mnist());
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("dvae") != std::string::npos);  // lists the kinds
}

TEST_CASE(
    "the lifelong_vae kind: teacher samples labelled by the classifier kept at consolidation") {
  SessionConfig c;
  c.neocortex.classifier.hidden = {64};
  c.memory.kind = "lifelong_vae";
  c.memory.options["hidden"] = {64, 64};
  c.memory.options["f"] = 4;
  c.num_tasks = 2;
  auto s = Session::create(c, mnist());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  ReplayOptions r;
  r.per_batch = 16;
  const PhaseStats p0 = learn(**s, task_of(0, {0, 1}, {200, 200}), 20, r);
  CHECK(p0.recalled_examples == 0);  // nothing learned before the first consolidation
  const PhaseStats p1 = learn(**s, task_of(1, {2, 3}, {200, 200}), 20, r);
  CHECK(p1.recalled_examples == 20 * 16);
  // Unlabelled samples take the old classifier's answers: classes 0 and 1 only.
  REQUIRE(p1.recalled_per_class.size() == 10);
  CHECK(p1.recalled_per_class[0] + p1.recalled_per_class[1] == p1.recalled_examples);
  auto m = (*s)->memory_stats();
  REQUIRE(m.ok());
  CHECK(m->kind == "lifelong_vae");
  CHECK(m->incremental_bytes == 0);
  CHECK(m->total_bytes > 0);
  CHECK(m->total_bytes == m->decoder_weight_bytes);
  // An unsupervised generator cannot draw by class: a clear error, not a silent uniform draw.
  r.sampler = RecallSampler::class_balanced;
  LearnOptions o;
  o.iterations = 2;
  o.batch = 32;
  o.replay = r;
  // Refused by the session before anything is sent (not inside the association actor), so
  // nothing changes and the session goes on learning.
  const std::string before = classifier_state(**s);
  auto balanced = (*s)->learn(task_of(1, {2, 3}, {200, 200}), o);
  REQUIRE_FALSE(balanced.ok());
  CHECK(balanced.status().message().find("uniform") != std::string::npos);
  CHECK(balanced.status().message().find("lifelong_vae") != std::string::npos);
  for (RecallSampler refused : {RecallSampler::task_balanced, RecallSampler::recent}) {
    o.replay.sampler = refused;
    CHECK_FALSE((*s)->check_replay(o.replay).ok());
    ConsolidateOptions sleep;
    sleep.steps = 2;
    sleep.replay.sampler = refused;
    CHECK_FALSE((*s)->consolidate(sleep).ok());
  }
  o.replay.sampler = RecallSampler::weighted;
  o.replay.class_weights = std::vector<double>(10, 1.0);
  auto weighted = (*s)->learn(task_of(1, {2, 3}, {200, 200}), o);
  REQUIRE_FALSE(weighted.ok());
  CHECK(weighted.status().message().find("class") != std::string::npos);
  CHECK(classifier_state(**s) == before);
  auto counters = (*s)->counters();
  for (const auto& k : counters) CHECK_MESSAGE(k.errors == 0, k.actor);
  o.replay = r;
  o.replay.sampler = RecallSampler::uniform;
  const PhaseStats p2 = learn(**s, task_of(1, {2, 3}, {200, 200}), 2, o.replay);
  CHECK(p2.recalled_examples == 2 * 16);

  c.memory.options["j"] = 0;
  auto bad = Session::create(c, mnist());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("memory.j") != std::string::npos);
}

}  // namespace
}  // namespace engram
