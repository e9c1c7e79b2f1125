// The event hook of stream learning (modules/session/stream_learning.h), over a real socket:
// events come between batches in the documented order with the documented figures, a reply
// stops the call or changes the replay of the following batches, and a hook that fails ends the
// call with its error while every frame not learned goes back to the stream.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "modules/session/stream_learning.h"
#include "tests/integration/stream_test_util.h"

namespace engram {
namespace {

using namespace std::chrono_literals;
using test::bars;
using test::bars_bridge;
using test::eventually;
using test::FramePublisher;
using test::of_classes;
using test::reconciles;

// A small classifier over the bars images with experience replay (cheap, deterministic).
SessionConfig raw_config() {
  SessionConfig c;
  c.neocortex.classifier.hidden = {32};
  c.memory.kind = "raw";
  c.memory.budget_bytes = 4000;
  c.num_tasks = 2;
  c.threads = 1;
  return c;
}

// "kind:learned" plus ":tTASK" / ":cCLASS" when the event names them.
std::string describe(const LearningEvent& e) {
  std::string s = std::string(event_name(e.kind)) + ":" + std::to_string(e.learned);
  if (e.task >= 0) s += ":t" + std::to_string(e.task);
  if (e.class_id >= 0) s += ":c" + std::to_string(e.class_id);
  return s;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

}  // namespace

TEST_CASE("events come between batches, in order, and a quiet stream is told once per spell") {
  auto data = bars();
  auto session = Session::create(raw_config(), data);
  REQUIRE(session.ok());
  auto stream = bars_bridge();
  FramePublisher pub(stream->endpoint());
  pub.send_all(*data, of_classes(*data, {0, 1}, 20), 0);
  REQUIRE(eventually([&] { return stream->counters().accepted == 20; }));

  std::vector<std::string> seen;
  int quiet = 0;
  StreamLearnOptions o;
  o.batches = 100;
  o.batch = 8;
  o.replay.per_batch = 4;
  o.timeout = 5000ms;
  o.quiet = 300ms;
  o.every_examples = 16;
  o.on_event = [&](const LearningEvent& e) -> Expected<EventReply> {
    seen.push_back(describe(e));
    EventReply reply;
    if (e.kind == LearningEventKind::quiet && ++quiet == 1) {
      // Task 1 starts arriving while the call waits: it goes on learning.
      pub.send_all(*data, of_classes(*data, {2, 3}, 16), 1);
    } else if (e.kind == LearningEventKind::quiet) {
      reply.stop = true;
    }
    return reply;
  };
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  // Batches of 8: 8, 16 (examples), then 4 left when the stream goes quiet (learned first),
  // then task 1: 28, 36 (examples), quiet again -> stop, then phase_end.
  CHECK(join(seen) ==
        "new_task:8:t0 new_class:8:t0:c0 new_class:8:t0:c1 examples:16:t0 quiet:20 "
        "new_task:28:t1 new_class:28:t1:c2 new_class:28:t1:c3 examples:36:t1 quiet:36 "
        "phase_end:36");
  CHECK(r->stopped);
  CHECK(r->events == 11);
  CHECK(r->batches == 5);
  CHECK(r->frames == 36);
  const SensorCounters c = stream->counters();
  CHECK(c.learned == 36);
  CHECK(c.queued + c.held == 0);
  CHECK(reconciles(c));

  // A later call: nothing is new any more, so only the end is told.
  seen.clear();
  pub.send_all(*data, of_classes(*data, {0, 1, 2, 3}, 8), 1);
  REQUIRE(eventually([&] { return stream->counters().accepted == 44; }));
  o.every_examples = 0;
  o.quiet = 0ms;
  o.timeout = 300ms;
  r = learn_from_stream(**session, *stream, o);
  REQUIRE(r.ok());
  CHECK(join(seen) == "phase_end:8");
  CHECK_FALSE(r->stopped);
}

TEST_CASE("a stop reply ends the call after the batch; the frames not learned stay queued") {
  auto data = bars();
  auto session = Session::create(raw_config(), data);
  REQUIRE(session.ok());
  auto stream = bars_bridge();
  FramePublisher pub(stream->endpoint());
  pub.send_all(*data, of_classes(*data, {0, 1}, 40), 0);
  REQUIRE(eventually([&] { return stream->counters().accepted == 40; }));

  std::vector<std::string> seen;
  StreamLearnOptions o;
  o.batch = 8;
  o.timeout = 300ms;
  o.every_examples = 8;
  o.on_event = [&](const LearningEvent& e) -> Expected<EventReply> {
    seen.push_back(describe(e));
    EventReply reply;
    // Stopping on new_class: the rest of the batch's events are not passed, phase_end is.
    reply.stop = e.kind == LearningEventKind::new_class;
    return reply;
  };
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE(r.ok());
  CHECK(join(seen) == "new_task:8:t0 new_class:8:t0:c0 phase_end:8");
  CHECK(r->stopped);
  CHECK(r->frames == 8);
  SensorCounters c = stream->counters();
  CHECK(c.learned == 8);
  CHECK(c.queued == 32);
  CHECK(reconciles(c));
}

TEST_CASE("replay options in a reply apply to the batches that follow it") {
  auto data = bars();
  auto session = Session::create(raw_config(), data);
  REQUIRE(session.ok());
  auto stream = bars_bridge();
  FramePublisher pub(stream->endpoint());
  pub.send_all(*data, of_classes(*data, {0, 1}, 16), 0);
  pub.send_all(*data, of_classes(*data, {2, 3}, 32), 1);
  REQUIRE(eventually([&] { return stream->counters().accepted == 48; }));

  StreamLearnOptions o;
  o.batch = 8;
  o.replay.per_batch = 0;
  o.timeout = 300ms;
  o.every_examples = 8;
  o.on_event = [&](const LearningEvent& e) -> Expected<EventReply> {
    EventReply reply;
    if (e.kind == LearningEventKind::examples && e.learned == 24) {  // the first batch of task 1
      ReplayOptions replay;
      replay.per_batch = 5;
      replay.sampler = RecallSampler::class_balanced;
      reply.replay = replay;
    }
    return reply;
  };
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE(r.ok());
  CHECK(r->batches == 6);
  // Task 0 (2 batches) and the first batch of task 1 without replay, 3 batches with 5 each.
  CHECK(r->recalled == 15);
  CHECK(reconciles(stream->counters()));
}

TEST_CASE("a failing hook ends the call with its error and gives back every frame not learned") {
  auto data = bars();
  auto session = Session::create(raw_config(), data);
  REQUIRE(session.ok());
  auto stream = bars_bridge();
  FramePublisher pub(stream->endpoint());
  pub.send_all(*data, of_classes(*data, {0, 1}, 40), 0);
  REQUIRE(eventually([&] { return stream->counters().accepted == 40; }));

  StreamLearnOptions o;
  o.batch = 8;
  o.timeout = 300ms;
  o.every_examples = 16;
  o.on_event = [](const LearningEvent& e) -> Expected<EventReply> {
    if (e.kind == LearningEventKind::examples) {
      return Status(ErrorCode::script_error, "curriculum.lua:7: no consolidation today");
    }
    return EventReply{};
  };
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::script_error);
  CHECK(r.status().message() == "curriculum.lua:7: no consolidation today");
  SensorCounters c = stream->counters();
  CHECK(c.learned == 16);
  CHECK(c.queued == 24);
  CHECK(c.held == 0);
  CHECK(reconciles(c));

  SUBCASE("replay options the session would refuse are refused in the reply") {
    o.on_event = [](const LearningEvent&) -> Expected<EventReply> {
      EventReply reply;
      reply.replay = replay_per_batch(-3);
      return reply;
    };
    r = learn_from_stream(**session, *stream, o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    // Task 0 was learned before: the first event is examples, after 16 more frames.
    CHECK_MESSAGE(
        r.status().message().find(
            "the reply to event \"examples\": replay: per_batch must be in") != std::string::npos,
        r.status().message());
    c = stream->counters();
    CHECK(c.learned == 32);
    CHECK(c.queued == 8);
    CHECK(reconciles(c));
  }
  SUBCASE("the same session learns the rest afterwards") {
    o.on_event = nullptr;
    r = learn_from_stream(**session, *stream, o);
    REQUIRE(r.ok());
    CHECK(r->frames == 24);
    c = stream->counters();
    CHECK(c.learned == 40);
    CHECK(c.queued + c.held == 0);
    CHECK(reconciles(c));
  }
}

TEST_CASE("event options are checked") {
  auto data = bars(10, 5);
  auto session = Session::create(raw_config(), data);
  REQUIRE(session.ok());
  auto stream = bars_bridge();
  StreamLearnOptions o;
  o.on_event = [](const LearningEvent&) -> Expected<EventReply> { return EventReply{}; };
  o.timeout = 1000ms;
  o.quiet = 1000ms;
  auto r = learn_from_stream(**session, *stream, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("quiet (1000 ms) must be below timeout (1000 ms)") !=
        std::string::npos);
  o.quiet = 0ms;
  o.every_examples = -1;
  CHECK(learn_from_stream(**session, *stream, o).status().code() == ErrorCode::invalid_argument);
  o.every_examples = 0;
  o.replay.per_batch = -1;
  CHECK(learn_from_stream(**session, *stream, o).status().code() == ErrorCode::invalid_argument);
}

}  // namespace engram
