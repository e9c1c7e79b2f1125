// Hundreds of classes (Omniglot: 242 characters in 8 alphabets as tasks): the label bits of the
// code buffer, class-balanced selection and recall, per-class counts, and the classifier's
// output layer all hold labels far above MNIST's 10, through the Session.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "modules/session/session.h"

namespace engram {
namespace {

const std::shared_ptr<const ImageDataset>& omniglot() {
  static const std::shared_ptr<const ImageDataset> ds = [] {
    auto r = load_dataset("omniglot", std::string(ENGRAM_SOURCE_DIR) + "/data/omniglot");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::make_shared<const ImageDataset>(std::move(*r));
  }();
  return ds;
}

TEST_CASE("242 classes: codes keep labels above 127, recall balances them, the head has them all") {
  const ImageDataset& ds = *omniglot();
  REQUIRE(ds.num_classes > 200);
  auto scenario = split_by_groups(ds);
  REQUIRE(scenario.ok());
  const std::vector<Task>& tasks = scenario->tasks;
  REQUIRE(tasks.size() == 8);
  const Task& last = tasks.back();  // the highest labels
  REQUIRE(last.classes.front() > 127);
  const Task& first = tasks.front();

  SessionConfig c;
  c.neocortex.classifier.hidden = {64};
  c.memory.kind = "dvae";
  c.memory.budget_bytes = 60000;
  c.memory.selector = Selector::class_balanced;
  c.memory.options["c"] = 16;
  c.memory.options["hidden"] = {32};
  c.num_tasks = static_cast<int>(tasks.size());
  c.seed = 3;
  auto s = Session::create(c, omniglot());
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  LearnOptions o;
  o.iterations = 40;
  o.batch = 16;
  o.replay.per_batch = 0;
  REQUIRE((*s)->learn(last, o).ok());
  // Recalled while learning the first alphabet: every recollection carries a label of the last
  // alphabet, none wrapped into another class, and class_balanced spreads them over its classes.
  o.replay.per_batch = 32;
  o.replay.sampler = RecallSampler::class_balanced;
  auto p = (*s)->learn(first, o);
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  REQUIRE(p->recalled_per_class.size() == static_cast<size_t>(ds.num_classes));
  CHECK(p->recalled_examples == 40 * 32);
  int64_t in_last = 0;
  int classes_recalled = 0;
  for (int k : last.classes) {
    in_last += p->recalled_per_class[static_cast<size_t>(k)];
    classes_recalled += p->recalled_per_class[static_cast<size_t>(k)] > 0 ? 1 : 0;
  }
  CHECK(in_last == p->recalled_examples);
  CHECK(classes_recalled == static_cast<int>(last.classes.size()));
  const int64_t most =
      *std::max_element(p->recalled_per_class.begin(), p->recalled_per_class.end());
  CHECK(most < 3 * p->recalled_examples / static_cast<int64_t>(last.classes.size()));
  auto m = (*s)->memory_stats();
  REQUIRE(m.ok());
  CHECK(m->bits_per_item >= 16 + 8);  // the code, 8 bits of label, and the task
  // Class-incremental accuracy over every character seen so far is defined and in range.
  auto acc = (*s)->accuracy(last, true);
  REQUIRE(acc.ok());
  CHECK(*acc >= 0.0);
  CHECK(*acc <= 1.0);
}

}  // namespace
}  // namespace engram
