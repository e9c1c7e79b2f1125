#include "modules/session/stream_learning.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;

bool task_learned_before(const Session& session, int64_t task) {
  const std::vector<int>& learned = session.learned_tasks();
  return std::find(learned.begin(), learned.end(), static_cast<int>(task)) != learned.end();
}

}  // namespace

Expected<StreamLearnResult> learn_from_stream(Session& session, SensorBridge& stream,
                                              const StreamLearnOptions& o) {
  if (o.batches < 1 || o.batch < 1 || o.timeout.count() < 0) {
    return Status(ErrorCode::invalid_argument,
                  "learn_stream: batches >= 1, batch >= 1 and timeout >= 0 required");
  }
  if (o.every_examples < 0 || o.quiet.count() < 0) {
    return Status(ErrorCode::invalid_argument,
                  "learn_stream: every >= 0 and quiet >= 0 required (0 = no such event)");
  }
  if (o.quiet.count() > 0 && o.quiet >= o.timeout) {
    return Status(ErrorCode::invalid_argument,
                  "learn_stream: quiet (" + std::to_string(o.quiet.count()) +
                      " ms) must be below timeout (" + std::to_string(o.timeout.count()) +
                      " ms): the call would end before the stream counted as quiet");
  }
  const auto start = Clock::now();
  const int64_t pixels = session.values_per_observation();
  const size_t batch = static_cast<size_t>(o.batch);
  const int64_t num_tasks = session.config().num_tasks;
  if (Status s = session.check_replay(o.replay); !s.ok()) {
    return Status(s.code(), "learn_stream: " + s.message());
  }
  const bool quiet_events = o.on_event && o.quiet.count() > 0;
  StreamLearnResult result;
  std::vector<SensorFrame> taken;    // popped, not yet sorted into pending
  std::vector<SensorFrame> pending;  // the batch being gathered: one task
  int64_t pending_task = -1;
  ReplayOptions replay = o.replay;  // the hook may change it

  // Gives every frame still held back to the stream, pending ones first (they came first).
  auto give_back_all = [&]() {
    result.given_back += static_cast<int64_t>(pending.size() + taken.size());
    pending.insert(pending.end(), std::make_move_iterator(taken.begin()),
                   std::make_move_iterator(taken.end()));
    taken.clear();
    stream.give_back(std::move(pending));
    pending.clear();
  };
  // Passes one event to the hook and applies its reply. After a stop only phase_end is passed.
  auto deliver = [&](LearningEventKind kind, int64_t task, int64_t class_id) -> Status {
    if (!o.on_event || (result.stopped && kind != LearningEventKind::phase_end)) return Status();
    LearningEvent event;
    event.kind = kind;
    event.learned = result.frames;
    event.batches = result.batches;
    event.task = task;
    event.class_id = class_id;
    ++result.events;
    auto reply = o.on_event(event);
    if (!reply.ok()) return reply.status();
    if (reply->replay) {
      Status valid = session.check_replay(*reply->replay);
      if (!valid.ok()) {
        return Status(valid.code(), std::string("learn_stream: the reply to event \"") +
                                        event_name(kind) + "\": " + valid.message());
      }
      replay = std::move(*reply->replay);
    }
    if (reply->stop) result.stopped = true;
    return Status();
  };
  // Learns the gathered batch, then passes the events it caused.
  auto learn_pending = [&]() -> Status {
    if (pending.empty()) return Status();
    const int64_t n = static_cast<int64_t>(pending.size());
    at::Tensor x = at::empty({n, pixels});
    at::Tensor y = at::empty({n}, at::kLong);
    for (int64_t i = 0; i < n; ++i) {
      pending[static_cast<size_t>(i)].to_floats(x.data_ptr<float>() + i * pixels);
      y.data_ptr<int64_t>()[i] = *pending[static_cast<size_t>(i)].label;
    }
    // What is new is known only before the session learns it.
    std::vector<int64_t> new_classes;
    bool new_task = false;
    if (o.on_event) {
      const std::vector<uint8_t>& seen = session.seen_classes();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = y.data_ptr<int64_t>()[i];
        if (c >= 0 && static_cast<size_t>(c) < seen.size() && seen[static_cast<size_t>(c)] == 0) {
          new_classes.push_back(c);
        }
      }
      std::sort(new_classes.begin(), new_classes.end());
      new_classes.erase(std::unique(new_classes.begin(), new_classes.end()), new_classes.end());
      new_task = !task_learned_before(session, pending_task);
    }
    auto stats = session.learn_batch(x, y, static_cast<int>(pending_task), replay);
    if (!stats.ok()) return stats.status();
    if (Status s = stream.settle(static_cast<uint64_t>(n), 0); !s.ok()) return s;
    pending.clear();
    result.loss_real = stats->loss_real;
    result.recalled += stats->recalled_examples;
    result.skipped_steps += stats->skipped_steps;
    const int64_t before = result.frames;
    result.frames += n;
    ++result.batches;
    if (o.on_batch) o.on_batch(result);
    if (new_task) {
      if (Status s = deliver(LearningEventKind::new_task, pending_task, -1); !s.ok()) return s;
    }
    for (int64_t c : new_classes) {
      if (Status s = deliver(LearningEventKind::new_class, pending_task, c); !s.ok()) return s;
    }
    if (o.every_examples > 0 && before / o.every_examples != result.frames / o.every_examples) {
      return deliver(LearningEventKind::examples, pending_task, -1);
    }
    return Status();
  };
  auto done = [&]() { return result.batches >= o.batches || result.stopped; };

  Status failure;
  // Waits for frames (into `taken`) and returns how many came: 0 when the timeout passed with
  // none, the hook stopped the call or failed (then `failure` says why). When the stream stays
  // quiet for o.quiet, the partial batch is learned and a quiet event passed, once per spell.
  auto wait_for_frames = [&]() -> size_t {
    const auto spell = Clock::now();
    bool told = false;
    for (;;) {
      const auto limit = quiet_events && !told ? o.quiet : o.timeout;
      const auto left =
          std::max(std::chrono::milliseconds(0),
                   std::chrono::ceil<std::chrono::milliseconds>(limit - (Clock::now() - spell)));
      // Never take more than the batch being gathered can use: what is taken beyond a task
      // change is given back by the caller.
      if (const size_t n = stream.pop(&taken, batch - pending.size(), left); n > 0) return n;
      const auto quiet_for = Clock::now() - spell;
      if (quiet_events && !told && quiet_for >= o.quiet) {
        told = true;
        if (failure = learn_pending(); !failure.ok() || done()) return 0;
        if (failure = deliver(LearningEventKind::quiet, -1, -1); !failure.ok() || done()) return 0;
        continue;  // one more look (frames may have come while the hook ran), then the timeout
      }
      if (quiet_for >= o.timeout) return 0;
    }
  };

  while (!done() && failure.ok()) {
    if (wait_for_frames() == 0) break;
    size_t used = 0;
    int64_t unusable = 0;
    for (; used < taken.size() && !done(); ++used) {
      SensorFrame& f = taken[used];
      const int64_t task = f.task.value_or(0);
      if (!f.label || f.values() != pixels || task >= num_tasks) {
        ++unusable;
        continue;
      }
      if (task != pending_task && !pending.empty()) {
        if (failure = learn_pending(); !failure.ok() || done()) break;
      }
      pending_task = task;
      pending.push_back(std::move(f));
      if (pending.size() == batch) {
        if (failure = learn_pending(); !failure.ok() || done()) {
          ++used;  // f is in the batch (learned, or given back with pending on failure)
          break;
        }
      }
    }
    if (unusable > 0) {
      (void)stream.settle(0, static_cast<uint64_t>(unusable));
      result.skipped += unusable;
    }
    taken.erase(taken.begin(), taken.begin() + static_cast<std::ptrdiff_t>(used));
    // Unusable frames among the ones left untouched stay in `taken`: they go back too.
    if (!taken.empty() || !failure.ok()) break;
  }
  // A partial batch at the end (the stream went quiet) is learned rather than held.
  if (failure.ok() && taken.empty() && !done()) failure = learn_pending();
  give_back_all();
  if (failure.ok()) failure = deliver(LearningEventKind::phase_end, -1, -1);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!failure.ok()) return failure;
  return result;
}

}  // namespace engram
