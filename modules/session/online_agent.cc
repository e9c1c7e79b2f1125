#include "modules/session/online_agent.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "modules/session/json_integer.h"
#include "runtime/observation_ring.h"
#include "runtime/snapshot_file.h"
#include "runtime/unit_interval.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Writes `count` checked values into dst as floats in [0, 1].
void convert(const void* data, size_t count, PixelEncoding encoding, float* dst) {
  if (encoding == PixelEncoding::f32) {
    std::memcpy(dst, data, count * sizeof(float));
    return;
  }
  const auto* src = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
}

// The counters a snapshot carries over. Those added after the first version are optional
// when reading, so older snapshots still restore.
json counters_to_json(const AgentCounters& c) {
  return {{"observed", c.observed},
          {"learned", c.learned},
          {"batches", c.batches},
          {"predictions", c.predictions},
          {"rejected_full", c.rejected_full},
          {"rejected_invalid", c.rejected_invalid},
          {"rejected_non_finite", c.rejected_non_finite},
          {"rejected_out_of_range", c.rejected_out_of_range},
          {"skipped_steps", c.skipped_steps}};
}

// Every counter a non-negative integer (negative or fractional values are refused, never
// wrapped); the ones added after the first version default to 0.
Expected<AgentCounters> counters_from_json(const json& j) {
  if (!j.is_object()) return Status(ErrorCode::malformed, "counters: not an object");
  AgentCounters c;
  const std::pair<const char*, uint64_t*> required[] = {{"observed", &c.observed},
                                                        {"learned", &c.learned},
                                                        {"batches", &c.batches},
                                                        {"predictions", &c.predictions},
                                                        {"rejected_full", &c.rejected_full},
                                                        {"rejected_invalid", &c.rejected_invalid}};
  const std::pair<const char*, uint64_t*> optional[] = {
      {"rejected_non_finite", &c.rejected_non_finite},
      {"rejected_out_of_range", &c.rejected_out_of_range},
      {"skipped_steps", &c.skipped_steps}};
  for (const auto& entry : required) {
    if (!j.contains(entry.first))
      return Status(ErrorCode::malformed, std::string("counters.") + entry.first + " missing");
  }
  auto read = [&](const char* name, uint64_t* field) -> Status {
    if (!j.contains(name)) return Status();
    auto v = json_integer<uint64_t>(j.at(name), std::string("counters.") + name);
    if (!v.ok()) return v.status();
    *field = *v;
    return Status();
  };
  for (const auto& [name, field] : required) {
    if (Status s = read(name, field); !s.ok()) return s;
  }
  for (const auto& [name, field] : optional) {
    if (Status s = read(name, field); !s.ok()) return s;
  }
  return c;
}

}  // namespace

struct OnlineAgent::Impl {
  Impl(const AgentConfig& c, std::unique_ptr<Session> s)
      : config(c),
        pixels(static_cast<size_t>(c.rows) * static_cast<size_t>(c.cols)),
        session(std::move(s)),
        ring(c.learning.queue, pixels) {}

  const AgentConfig config;
  const size_t pixels;
  AgentCounters base;  // counts carried over from a snapshot

  std::mutex session_mutex;  // Session is single-threaded: learning, refreshes, snapshots
  std::unique_ptr<Session> session;
  ObservationRing ring;

  std::mutex wake_mutex;             // guards stop, flush_target, failure
  std::condition_variable wake;      // the learning thread waits here for observations
  std::condition_variable progress;  // flush() waits here for the learning thread
  bool stop = false;
  uint64_t flush_target = 0;  // ring.pushed() value flush() waits to see learned
  std::string failure;
  std::atomic<bool> failed{false};
  std::thread learner;

  std::atomic<uint64_t> learned{0}, batches{0}, predictions{0}, rejected_full{0},
      rejected_invalid{0}, rejected_non_finite{0}, rejected_out_of_range{0}, model_updates{0},
      skipped_steps{0};
  // interrupt() was called. Set with wake_mutex held (so waiters see it), read without.
  std::atomic<bool> interrupted{false};
  std::mutex loss_mutex;
  double loss_real = 0, loss_replay = 0;

  std::mutex replica_mutex;          // guards the members below up to last_refresh
  std::unique_ptr<Learner> replica;  // the classifier copy predict() uses; null until a class
  at::Tensor replica_active;         // is learned; the classes it predicts among
  // The same copy as a one-example inference path (nets that are a stack of dense layers, the
  // mlp); predict() uses it when present and the torch replica otherwise (same answers).
  std::optional<DensePredictor> dense;
  std::vector<uint8_t> dense_active;
  std::vector<float> dense_input, dense_probs;
  Clock::time_point last_refresh{};

  Status reject(Status s) {
    rejected_invalid.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  // f32 values must be finite and in [0, 1] (u8 values always are). Counts a refusal by cause;
  // the error names the first bad value.
  Status check_values(const void* data, size_t count, PixelEncoding encoding, bool count_refusal) {
    if (encoding == PixelEncoding::u8) return Status();
    const UnitIntervalCheck check = check_unit_interval(data, count);
    if (check.ok()) return Status();
    if (count_refusal) {
      (check.fault == ValueFault::non_finite ? rejected_non_finite : rejected_out_of_range)
          .fetch_add(1, std::memory_order_relaxed);
      rejected_invalid.fetch_add(1, std::memory_order_relaxed);
    }
    return Status(ErrorCode::invalid_argument, "f32 " + check.describe());
  }

  Status check_input(const void* data, size_t count) const {
    if (data == nullptr) return Status(ErrorCode::invalid_argument, "data is null");
    if (count != pixels) {
      return Status(ErrorCode::invalid_argument, "expected " + std::to_string(pixels) +
                                                     " values (rows*cols), got " +
                                                     std::to_string(count));
    }
    return Status();
  }

  Status closed_status() {
    std::lock_guard<std::mutex> lock(wake_mutex);
    return closed_status_locked();
  }
  // With wake_mutex held: closed, and why (a failure, or the handle is closing).
  Status closed_status_locked() const {
    return Status(ErrorCode::closed, failed.load() ? "learning stopped: " + failure
                                                   : std::string("the learner is closing"));
  }
  bool closing() const { return interrupted.load(); }

  // Replaces the classifier copy predict() uses with the session's current one.
  Status refresh_replica() {
    std::unique_ptr<Learner> copy;
    at::Tensor active = at::zeros({config.classes}, at::kBool);
    bool any = false;
    {
      std::lock_guard<std::mutex> lock(session_mutex);
      const auto& seen = session->seen_classes();
      for (int k = 0; k < config.classes; ++k) {
        active[k] = seen[static_cast<size_t>(k)] != 0;
        any = any || seen[static_cast<size_t>(k)] != 0;
      }
      if (!any) return Status();  // nothing learned: predict() keeps saying so
      auto c = session->classifier_copy();
      if (!c.ok()) return c.status();
      copy = std::move(*c);
    }
    auto dense_copy = copy->dense_predictor();
    std::vector<uint8_t> dense_mask(static_cast<size_t>(config.classes));
    for (int k = 0; k < config.classes; ++k)
      dense_mask[static_cast<size_t>(k)] = active[k].item<bool>();
    {
      std::lock_guard<std::mutex> lock(replica_mutex);
      replica = std::move(copy);
      replica_active = active;
      if (dense_copy.ok()) {
        dense = std::move(*dense_copy);
        dense_active = std::move(dense_mask);
      } else {
        dense.reset();
      }
      last_refresh = Clock::now();
    }
    model_updates.fetch_add(1, std::memory_order_relaxed);
    return Status();
  }

  bool refresh_due(Clock::duration every) {
    std::lock_guard<std::mutex> lock(replica_mutex);
    return !replica || Clock::now() - last_refresh >= every;
  }

  void fail_learning(const Status& s) {
    {
      std::lock_guard<std::mutex> lock(wake_mutex);
      failure = s.message();
      failed.store(true);
    }
    progress.notify_all();
  }

  // The learning thread: batches of one task from the ring into the session.
  void run() {
    const size_t batch = static_cast<size_t>(config.learning.batch);
    const auto refresh_every = std::chrono::milliseconds(config.learning.predict_refresh_ms);
    for (;;) {
      bool flushing;
      {
        std::unique_lock<std::mutex> lock(wake_mutex);
        // Producers signal only when a batch is complete; the timeout covers missed signals
        // and flush requests.
        wake.wait_for(lock, std::chrono::milliseconds(10), [&] {
          return stop || ring.available() >= batch ||
                 (flush_target > ring.popped() && ring.available() > 0);
        });
        if (stop) return;
        flushing = flush_target > ring.popped();
      }
      const size_t available = ring.available();
      if (available == 0) continue;
      const int task = ring.task(0);
      size_t take = 0;
      while (take < available && take < batch && ring.task(take) == task) ++take;
      const bool task_changes = take < available && take < batch;
      if (take < batch && !task_changes && !flushing) continue;  // wait for a full batch

      const int64_t n = static_cast<int64_t>(take);
      at::Tensor x = at::empty({n, static_cast<int64_t>(pixels)});
      at::Tensor y = at::empty({n}, at::kLong);
      for (size_t i = 0; i < take; ++i) {
        std::memcpy(x.data_ptr<float>() + i * pixels, ring.values(i), pixels * sizeof(float));
        y.data_ptr<int64_t>()[i] = ring.label(i);
      }
      ring.pop(take);
      Expected<PhaseStats> stats = Status();
      {
        std::lock_guard<std::mutex> lock(session_mutex);
        stats = session->learn_batch(x, y, task, config.learning.replay);
      }
      if (!stats.ok()) return fail_learning(stats.status());
      skipped_steps.fetch_add(static_cast<uint64_t>(stats->skipped_steps),
                              std::memory_order_relaxed);
      {
        std::lock_guard<std::mutex> lock(loss_mutex);
        loss_real = stats->loss_real;
        loss_replay = stats->loss_replay;
      }
      batches.fetch_add(1, std::memory_order_relaxed);
      if (refresh_due(refresh_every)) {
        if (Status s = refresh_replica(); !s.ok()) return fail_learning(s);
      }
      {
        std::lock_guard<std::mutex> lock(wake_mutex);
        learned.fetch_add(take);
      }
      progress.notify_all();
    }
  }

  void start() {
    learner = std::thread([this] { run(); });
  }

  void halt() {
    {
      std::lock_guard<std::mutex> lock(wake_mutex);
      stop = true;
    }
    wake.notify_all();
    if (learner.joinable()) learner.join();
  }
};

OnlineAgent::OnlineAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OnlineAgent::~OnlineAgent() { impl_->halt(); }

void OnlineAgent::interrupt() {
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mutex);
    impl_->interrupted.store(true);
  }
  impl_->progress.notify_all();
}

namespace {

std::shared_ptr<const ImageDataset> input_shape(const AgentConfig& c) {
  auto d = std::make_shared<ImageDataset>();
  d->name = c.name;
  d->rows = c.rows;
  d->cols = c.cols;
  d->num_classes = c.classes;
  return d;
}

}  // namespace

Expected<std::unique_ptr<OnlineAgent>> OnlineAgent::open(const AgentConfig& config) {
  auto session = Session::create(config.session, input_shape(config));
  if (!session.ok()) return session.status();
  auto impl = std::make_unique<Impl>(config, std::move(*session));
  impl->start();
  return std::unique_ptr<OnlineAgent>(new OnlineAgent(std::move(impl)));
}

Expected<std::unique_ptr<OnlineAgent>> OnlineAgent::restore(const std::string& path) {
  auto sections = read_snapshot(path);
  if (!sections.ok()) return sections.status();
  auto script = sections->find("script");
  if (script == sections->end()) {
    return Status(ErrorCode::malformed, path + ": no 'script' section");
  }
  json state = json::parse(script->second.begin(), script->second.end(), nullptr, false);
  if (state.is_discarded() || !state.is_object() || !state.contains("agent") ||
      !state.contains("counters")) {
    return Status(ErrorCode::invalid_argument,
                  path + ": not a snapshot of an online agent (written by engram_snapshot)");
  }
  auto config = agent_config_from_stored_json(state["agent"].dump());
  if (!config.ok()) return Status(config.status().code(), path + ": " + config.status().message());
  auto base = counters_from_json(state["counters"]);
  if (!base.ok()) {
    return Status(base.status().code(),
                  path + ": snapshot section 'script': " + base.status().message());
  }
  auto session = Session::restore_sections(*sections, input_shape(*config));
  if (!session.ok())
    return Status(session.status().code(), path + ": " + session.status().message());
  auto impl = std::make_unique<Impl>(*config, std::move(*session));
  impl->base = *base;
  if (Status s = impl->refresh_replica(); !s.ok()) return s;
  impl->start();
  return std::unique_ptr<OnlineAgent>(new OnlineAgent(std::move(impl)));
}

Status OnlineAgent::observe(const void* data, size_t count, PixelEncoding encoding, int label,
                            int task) {
  Impl& m = *impl_;
  if (m.failed.load() || m.closing()) return m.closed_status();
  if (Status s = m.check_input(data, count); !s.ok()) return m.reject(s);
  if (label < 0 || label >= m.config.classes) {
    return m.reject(Status(ErrorCode::invalid_argument,
                           "label " + std::to_string(label) + " outside [0, classes)"));
  }
  if (task < 0 || task >= m.config.session.num_tasks) {
    return m.reject(Status(ErrorCode::invalid_argument,
                           "task " + std::to_string(task) + " outside [0, tasks)"));
  }
  // Checked before taking a slot, so that a bad value leaves the queue untouched.
  if (Status s = m.check_values(data, count, encoding, true); !s.ok()) return s;
  const bool pushed =
      m.ring.try_push([&](float* dst) { convert(data, count, encoding, dst); }, label, task);
  if (!pushed) {
    m.rejected_full.fetch_add(1, std::memory_order_relaxed);
    return Status(ErrorCode::full, "observation queue full (" + std::to_string(m.ring.capacity()) +
                                       " observations)");
  }
  // Wake the learner once per completed batch rather than on every observation.
  if (m.ring.available() >= static_cast<size_t>(m.config.learning.batch)) m.wake.notify_one();
  return Status();
}

Status OnlineAgent::predict(const void* data, size_t count, PixelEncoding encoding, int* label,
                            float* probs, size_t probs_len) {
  Impl& m = *impl_;
  if (Status s = m.check_input(data, count); !s.ok()) return s;
  if (label == nullptr) return Status(ErrorCode::invalid_argument, "label is null");
  if (probs != nullptr && probs_len != static_cast<size_t>(m.config.classes)) {
    return Status(ErrorCode::invalid_argument,
                  "probs must hold exactly " + std::to_string(m.config.classes) + " values");
  }
  if (Status s = m.check_values(data, count, encoding, false); !s.ok()) return s;
  const auto answer = [&](const float* row) {
    int best = 0;
    for (int k = 1; k < m.config.classes; ++k) best = row[k] > row[best] ? k : best;
    *label = best;
    if (probs != nullptr) std::memcpy(probs, row, probs_len * sizeof(float));
    m.predictions.fetch_add(1, std::memory_order_relaxed);
  };
  {
    std::lock_guard<std::mutex> lock(m.replica_mutex);
    if (!m.replica) return Status(ErrorCode::not_found, "nothing learned yet");
    if (m.dense) {
      // The one-example path: no torch call, no allocation once the buffers have grown.
      m.dense_input.resize(m.pixels);
      convert(data, count, encoding, m.dense_input.data());
      m.dense_probs.resize(static_cast<size_t>(m.config.classes));
      m.dense->predict(m.dense_input.data(), m.dense_active.data(), m.dense_probs.data());
      answer(m.dense_probs.data());
      return Status();
    }
  }
  at::Tensor x = at::empty({1, static_cast<int64_t>(m.pixels)});
  convert(data, count, encoding, x.data_ptr<float>());
  at::Tensor p;
  {
    std::lock_guard<std::mutex> lock(m.replica_mutex);
    p = m.replica->predict(x, m.replica_active).contiguous();
  }
  answer(p.data_ptr<float>());
  return Status();
}

Status OnlineAgent::flush(double timeout_s) {
  Impl& m = *impl_;
  if (!(timeout_s >= 0)) return Status(ErrorCode::invalid_argument, "timeout must be >= 0");
  const uint64_t target = m.ring.pushed();
  {
    std::unique_lock<std::mutex> lock(m.wake_mutex);
    if (m.interrupted.load()) return m.closed_status_locked();
    m.flush_target = std::max(m.flush_target, target);
  }
  m.wake.notify_all();
  {
    std::unique_lock<std::mutex> lock(m.wake_mutex);
    const bool done = m.progress.wait_for(
        lock, std::chrono::duration<double>(std::min(timeout_s, 1e6)),
        [&] { return m.failed.load() || m.interrupted.load() || m.learned.load() >= target; });
    if (m.failed.load() || m.interrupted.load()) return m.closed_status_locked();
    if (!done) {
      return Status(ErrorCode::timeout, "flush: " + std::to_string(target - m.learned.load()) +
                                            " observations still to learn");
    }
  }
  return m.refresh_replica();
}

Status OnlineAgent::snapshot(const std::string& path) {
  Impl& m = *impl_;
  if (Status s = flush(600); !s.ok()) return s;
  json state = {{"agent", json::parse(agent_config_to_json(m.config))},
                {"counters", counters_to_json(counters())}};
  std::lock_guard<std::mutex> lock(m.session_mutex);
  return m.session->snapshot(path, state.dump());
}

Status OnlineAgent::consolidate() {
  Impl& m = *impl_;
  if (Status s = flush(600); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(m.session_mutex);
  return m.session->consolidate();
}

AgentCounters OnlineAgent::counters() const {
  Impl& m = *impl_;
  AgentCounters c;
  c.observed = m.base.observed + m.ring.pushed();
  c.rejected_full = m.base.rejected_full + m.rejected_full.load();
  c.rejected_invalid = m.base.rejected_invalid + m.rejected_invalid.load();
  c.rejected_non_finite = m.base.rejected_non_finite + m.rejected_non_finite.load();
  c.rejected_out_of_range = m.base.rejected_out_of_range + m.rejected_out_of_range.load();
  c.skipped_steps = m.base.skipped_steps + m.skipped_steps.load();
  c.learned = m.base.learned + m.learned.load();
  c.batches = m.base.batches + m.batches.load();
  c.predictions = m.base.predictions + m.predictions.load();
  c.queued = m.ring.pushed() - m.ring.popped();
  c.queue_capacity = m.ring.capacity();
  c.model_updates = m.model_updates.load();
  {
    std::lock_guard<std::mutex> lock(m.loss_mutex);
    c.loss_real = m.loss_real;
    c.loss_replay = m.loss_replay;
  }
  return c;
}

const AgentConfig& OnlineAgent::config() const { return impl_->config; }

}  // namespace engram
