#include "modules/session/stream_learning.h"

#include <ATen/ATen.h>

#include <vector>

namespace engram {

Expected<StreamLearnResult> learn_from_stream(Session& session, SensorBridge& stream,
                                              const StreamLearnOptions& o) {
  if (o.batches < 1 || o.batch < 1 || o.replay < 0 || o.timeout.count() < 0) {
    return Status(ErrorCode::invalid_argument,
                  "learn_stream: batches >= 1, batch >= 1, replay >= 0 and timeout >= 0 required");
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const int64_t pixels = session.values_per_observation();
  const size_t batch = static_cast<size_t>(o.batch);
  const int64_t num_tasks = session.config().num_tasks;
  StreamLearnResult result;
  std::vector<SensorFrame> taken;    // popped, not yet sorted into pending
  std::vector<SensorFrame> pending;  // the batch being gathered: one task
  int64_t pending_task = -1;

  // Gives every frame still held back to the stream, pending ones first (they came first).
  auto give_back_all = [&]() {
    result.given_back += static_cast<int64_t>(pending.size() + taken.size());
    pending.insert(pending.end(), std::make_move_iterator(taken.begin()),
                   std::make_move_iterator(taken.end()));
    taken.clear();
    stream.give_back(std::move(pending));
    pending.clear();
  };
  auto learn_pending = [&]() -> Status {
    if (pending.empty()) return Status();
    const int64_t n = static_cast<int64_t>(pending.size());
    at::Tensor x = at::empty({n, pixels});
    at::Tensor y = at::empty({n}, at::kLong);
    for (int64_t i = 0; i < n; ++i) {
      pending[static_cast<size_t>(i)].to_floats(x.data_ptr<float>() + i * pixels);
      y.data_ptr<int64_t>()[i] = *pending[static_cast<size_t>(i)].label;
    }
    auto stats = session.learn_batch(x, y, static_cast<int>(pending_task), o.replay);
    if (!stats.ok()) return stats.status();
    if (Status s = stream.settle(static_cast<uint64_t>(n), 0); !s.ok()) return s;
    pending.clear();
    result.loss_real = stats->loss_real;
    result.skipped_steps += stats->skipped_steps;
    result.frames += n;
    ++result.batches;
    return Status();
  };

  Status failure;
  while (result.batches < o.batches && failure.ok()) {
    // Never take more than the batch being gathered can use: what is taken beyond a task
    // change is given back below.
    if (stream.pop(&taken, batch - pending.size(), o.timeout) == 0) break;
    size_t used = 0;
    int64_t unusable = 0;
    for (; used < taken.size() && result.batches < o.batches; ++used) {
      SensorFrame& f = taken[used];
      const int64_t task = f.task.value_or(0);
      if (!f.label || f.values() != pixels || task >= num_tasks) {
        ++unusable;
        continue;
      }
      if (task != pending_task && !pending.empty()) {
        if (failure = learn_pending(); !failure.ok()) break;
        if (result.batches == o.batches) break;
      }
      pending_task = task;
      pending.push_back(std::move(f));
      if (pending.size() == batch) {
        if (failure = learn_pending(); !failure.ok()) {
          ++used;
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
  if (failure.ok() && taken.empty() && result.batches < o.batches) failure = learn_pending();
  give_back_all();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!failure.ok()) return failure;
  return result;
}

}  // namespace engram
