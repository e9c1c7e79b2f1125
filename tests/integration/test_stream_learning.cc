// Frames from a sensor stream into a learning Session (modules/session/stream_learning.h): every
// accepted frame is learned exactly once even when a call ends mid-batch, a NaN frame amid valid
// ones never reaches learning, a bad batch handed to the Session directly is refused with its
// state intact, and a wildcard driver endpoint is resolved.
#include "modules/session/stream_learning.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <chrono>
#include <limits>

#include "io/datasets/scenario.h"
#include "tests/integration/stream_test_util.h"

namespace engram {
namespace {

using namespace std::chrono_literals;

using test::bars;
using test::eventually;
using test::of_classes;
using test::reconciles;
using Publisher = test::FramePublisher;

constexpr int kSide = test::kBarSide;

SessionConfig small_config() {
  SessionConfig c;
  c.neocortex.classifier.hidden = {32};
  c.memory.kind = "dvae";
  c.memory.options["c"] = 16;
  c.memory.options["l"] = 2;
  c.memory.options["hidden"] = {32};
  c.memory.budget_bytes = 2000;
  c.num_tasks = 2;
  c.threads = 1;
  return c;
}

}  // namespace

TEST_CASE("a call that ends mid-batch leaves the rest queued: every frame is learned once") {
  auto data = bars();
  auto session = Session::create(small_config(), data);
  REQUIRE(session.ok());
  auto stream = test::bars_bridge();
  Publisher pub(stream->endpoint());
  // 20 frames of task 0, then 45 of task 1: the first pop of 32 straddles the task change.
  for (size_t i : of_classes(*data, {0, 1}, 20)) pub.send(*data, i, 0);
  for (size_t i : of_classes(*data, {2, 3}, 45)) pub.send(*data, i, 1);
  REQUIRE(eventually([&] { return stream->counters().accepted == 65; }));

  StreamLearnOptions o;
  o.batches = 1;
  o.batch = 32;
  o.replay.per_batch = 8;
  o.timeout = 300ms;
  auto first = learn_from_stream(**session, *stream, o);
  REQUIRE(first.ok());
  CHECK(first->batches == 1);
  CHECK(first->frames == 20);  // task 0 ended the batch
  CHECK(first->given_back == 12);
  SensorCounters c = stream->counters();
  CHECK(c.learned == 20);
  CHECK(c.queued == 45);
  CHECK(c.held == 0);
  CHECK(reconciles(c));

  auto second = learn_from_stream(**session, *stream, o);
  REQUIRE(second.ok());
  CHECK(second->frames == 32);
  c = stream->counters();
  CHECK(c.learned == 52);
  CHECK(c.queued == 13);
  CHECK(reconciles(c));

  o.batches = 10;
  auto rest = learn_from_stream(**session, *stream, o);  // ends when the stream goes quiet
  REQUIRE(rest.ok());
  CHECK(rest->batches == 1);
  CHECK(rest->frames == 13);
  c = stream->counters();
  CHECK(c.learned == 65);
  CHECK(c.accepted == 65);
  CHECK(c.queued + c.held == 0);
  CHECK(reconciles(c));
}

TEST_CASE("NaN frames amid valid ones are refused, counted, and the model still learns") {
  auto data = bars();
  auto session = Session::create(small_config(), data);
  REQUIRE(session.ok());
  auto stream = test::bars_bridge();
  Publisher pub(stream->endpoint());
  int poisoned = 0;
  for (int task = 0; task < 2; ++task) {
    const auto idx = of_classes(*data, {2 * task, 2 * task + 1}, 400);
    for (size_t n = 0; n < idx.size(); ++n) {
      if (n % 50 == 25) {
        pub.send(*data, idx[n], task, /*poison=*/true);
        ++poisoned;
      }
      pub.send(*data, idx[n], task);
    }
  }
  // Everything queued first: on a slow machine (sanitizers, load) the bridge could otherwise
  // fall 1 s behind the learner, and the idle timeout would end learning early.
  REQUIRE(eventually([&] { return stream->counters().accepted == 800; }));
  StreamLearnOptions o;
  o.batches = 1000;
  o.batch = 16;
  o.replay.per_batch = 16;
  o.timeout = 1000ms;
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE(r.ok());
  const SensorCounters c = stream->counters();
  CHECK(c.non_finite == static_cast<uint64_t>(poisoned));
  CHECK(c.accepted == 800);
  CHECK(c.learned == 800);
  CHECK(reconciles(c));
  CHECK(r->skipped_steps == 0);
  Task all;
  all.classes = {0, 1, 2, 3};
  for (uint32_t i = 0; i < data->test_size(); ++i) all.test_idx.push_back(i);
  auto acc = (*session)->accuracy(all, true);
  REQUIRE(acc.ok());
  MESSAGE("class-IL accuracy over 4 classes after 800 frames with ", poisoned,
          " NaN frames: ", *acc);
  CHECK(*acc > 0.6);  // chance is 0.25; a NaN in the weights gives a constant prediction
}

TEST_CASE("a batch with a NaN or out-of-range value is refused before anything changes") {
  auto data = bars();
  auto session = Session::create(small_config(), data);
  REQUIRE(session.ok());
  const int64_t p = kSide * kSide;
  at::Tensor y = at::zeros({4}, at::kLong);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    1.5f, -0.1f}) {
    at::Tensor x = at::full({4, p}, 0.5f);
    x[2][9] = bad;
    auto r = (*session)->learn_batch(x, y, 0, 0);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    CHECK(r.status().message().find("value 137") != std::string::npos);
  }
  // Nothing was entered: no class seen, no step taken.
  for (uint8_t seen : (*session)->seen_classes()) CHECK(seen == 0);
  CHECK((*session)->learn_batch(at::full({4, p}, 0.5f), y, 0, 0).ok());
  CHECK((*session)->seen_classes()[0] == 1);
}

TEST_CASE("a wildcard driver endpoint is resolved before the actors connect to it") {
  auto data = bars();
  SessionConfig c = small_config();
  c.endpoints["driver"] = "tcp://127.0.0.1:*";
  c.endpoints["neocortex"] = "tcp://127.0.0.1:*";
  auto session = Session::create(c, data);
  REQUIRE(session.ok());
  const int64_t p = kSide * kSide;
  auto r = (*session)->learn_batch(at::full({4, p}, 0.5f), at::zeros({4}, at::kLong), 0, 0);
  CHECK(r.ok());
}

}  // namespace engram
