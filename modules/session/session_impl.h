// Session internals shared by session.cc, session_snapshot.cc and association_from.cc (not a
// public header).
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "modules/actors/messages.h"
#include "modules/actors/tensor_payload.h"
#include "modules/distributed/process_group.h"
#include "modules/distributed/session_ranks.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/session/session.h"
#include "runtime/actor_host.h"
#include "runtime/unit_interval.h"

namespace engram {
namespace session_detail {

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// Adds the figures of one trained batch (the neocortex's kTrained ack) to *stats: losses of the
// last batch, examples, steps not applied (neocortex and association).
inline void account(Message& ack, PhaseStats* stats) {
  auto get_int = [&](const char* key) {
    auto it = ack.header.ints.find(key);
    return it == ack.header.ints.end() ? int64_t{0} : it->second;
  };
  auto get_real = [&](const char* key) {
    auto it = ack.header.reals.find(key);
    return it == ack.header.reals.end() ? 0.0 : it->second;
  };
  stats->loss_real = get_real("loss_real");
  stats->loss_replay = get_real("loss_replay");
  stats->real_examples += get_int("real");
  stats->recalled_examples += get_int("recalled");
  stats->skipped_steps += get_int("neocortex_skipped") + get_int("association_skipped");
  if (get_int("association_learned") != 0) {
    // Running means over the phase's steps of the association's negative ELBO terms.
    const double n = static_cast<double>(++stats->association_steps);
    const double rec = get_real("association_reconstruction"), kl = get_real("association_kl");
    stats->association_reconstruction += (rec - stats->association_reconstruction) / n;
    stats->association_kl += (kl - stats->association_kl) / n;
    stats->association_neg_elbo = stats->association_reconstruction + stats->association_kl;
  }
  if (!ack.payloads.empty()) {
    auto per_class = take_tensor(ack, 0, "recalled_per_class", 1, {DType::i64});
    if (per_class.ok()) {
      const int64_t* counts = per_class->data_ptr<int64_t>();
      stats->recalled_per_class.resize(static_cast<size_t>(per_class->numel()), 0);
      for (int64_t k = 0; k < per_class->numel(); ++k) stats->recalled_per_class[k] += counts[k];
    }
  }
}

// Snapshot helpers (session_snapshot.cc). Each checks its section and names it in errors.
// The bytes of a required section, as text.
Expected<std::string> section(const SnapshotSections& state, const std::string& name);
// Where the driver stands between learn() phases.
struct DriverPosition {
  std::vector<uint8_t> seen_classes;  // per class: learned in some task
  std::vector<int> learned_tasks;     // task ids in the order first learned
  std::vector<int> recency;           // task ids, least recently learned first
  int last_task = -1;
  uint64_t seed_counter = 0;  // batch samplers created so far (seeds the next)
};
// The driver's position from the "session" section, after checking that `dataset` matches the
// one the snapshot was taken on and that task ids are in [0, num_tasks).
Expected<DriverPosition> restore_driver_position(const SnapshotSections& state,
                                                 const ImageDataset& dataset, int num_tasks);
// Data-parallel runs (modules/distributed/snapshot_ranks.h): a snapshot taken by N > 1 ranks
// has a "ranks" section {"world_size": N} and each rank's code buffer and sampler, rank 0's in
// "code_buffer" and "rng", rank r's in "code_buffer.r" and "rng.r". `name` of rank `rank`.
std::string rank_section(const char* name, int rank);
// The world size the snapshot was taken with (1 without a "ranks" section).
Expected<int> snapshot_world_size(const SnapshotSections& state);
// The code buffer of rank `rank` of `world_size` (the session's); its configuration must equal
// `expected` (which holds that rank's budget share). A snapshot of the same world size gives
// each rank its own share; one of N ranks restored into one process (world_size 1) gives every
// share merged into one buffer of the whole budget (CodeBuffer::merge: nothing is dropped, the
// counters are summed). Other world sizes are refused (invalid_argument naming both): a
// one-process snapshot is not split into shares, and N ranks do not restore into M > 1.
Expected<CodeBuffer> restore_buffer(const SnapshotSections& state, const CodeBufferConfig& expected,
                                    int rank = 0, int world_size = 1);
// The hippocampus sampler's random stream of rank `rank` (rank 0's when restoring into one
// process).
Expected<std::mt19937_64> restore_sampler(const SnapshotSections& state, int rank = 0,
                                          int world_size = 1);
// Every rank's code buffer and sampler bytes on rank 0 (index = rank), this rank's alone with one
// rank; other ranks get empty lists. Collective across the ranks (gather_bytes): every rank
// passes its bytes or its error, and an error on any rank is an error on all.
struct RankMemory {
  std::vector<std::vector<uint8_t>> buffers, samplers;
};
Expected<RankMemory> gather_rank_memory(const Expected<std::vector<uint8_t>>& buffer,
                                        const Expected<std::vector<uint8_t>>& sampler, int rank,
                                        int world_size);

}  // namespace session_detail

struct Session::Impl {
  SessionConfig config;
  LearnerConfig learner_config;  // config.neocortex completed with the dataset's shape and seed
  std::shared_ptr<const ImageDataset> dataset;
  std::unique_ptr<ActorHost> host;
  zmq::socket_t progress, to_association, to_neocortex, to_hippocampus;
  std::vector<std::unique_ptr<HeartbeatMonitor>> monitors;  // of modules in other processes
  bool has_association = false;     // the kind placed a model in the association actor
  bool has_buffer = false;          // ... and a code buffer in the hippocampus
  bool generates_by_class = false;  // without a buffer: the generator draws by class
  std::string kind;
  std::vector<uint8_t> seen_classes;
  std::vector<int> learned_tasks;
  std::vector<int> recency;  // task ids, least recently learned first (the "recent" sampler)
  int last_task = -1;
  uint64_t seed_counter = 0;
  int rank = 0, world_size = 1;  // data-parallel learning (modules/distributed): this rank's shard
  // Learning phases begun (each learn(), consolidation, or change of a stream's replay options):
  // recollections decoded ahead (delayed replay) do not outlive their phase.
  uint64_t phase = 0;
  nlohmann::json last_replay;  // the replay options of the last learn_batch

  // Returns an error naming the failed actors, if any failed.
  Status check_actors() const {
    if (std::string lost = lost_module(monitors); !lost.empty()) {
      return {ErrorCode::closed, "lost " + lost};
    }
    auto failures = host->failures();
    if (failures.empty()) return {};
    return {ErrorCode::internal, "actor failed: " + session_detail::join(failures)};
  }

  // Waits for one message on sock, checking every second that no actor has failed.
  Expected<Message> await(zmq::socket_t& sock, const char* type, int timeout_s = 600) {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    for (int waited = 0; waited < timeout_s; ++waited) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(1000)) > 0) {
        auto m = recv_message(sock);
        if (!m.ok()) return m.status();
        if (m->header.type != type) {
          return Status(ErrorCode::internal,
                        std::string("expected '") + type + "', got '" + m->header.type + "'");
        }
        return m;
      }
      if (Status s = check_actors(); !s.ok()) return s;
    }
    return Status(ErrorCode::timeout,
                  std::string("no '") + type + "' within " + std::to_string(timeout_s) + " s");
  }

  Expected<Message> request(zmq::socket_t& sock, Message m, const char* reply_type) {
    if (Status s = send_message(sock, std::move(m)); !s.ok()) return s;
    return await(sock, reply_type);
  }

  // A consolidation boundary: the association freezes its decoder copy and has the
  // hippocampus seal what it holds; the neocortex copies its classifier as the teacher.
  Status consolidate() {
    ++phase;
    for (zmq::socket_t* to : {&to_association, &to_neocortex}) {
      Message m;
      m.header.type = msg::kConsolidate;
      auto reply = request(*to, std::move(m), msg::kDone);
      if (!reply.ok()) return reply.status();
    }
    return Status();
  }

  // Starts or continues learning `task` with these classes: consolidates when the task
  // changes, and records the classes and the task as seen.
  Status enter_task(int task, const std::vector<int>& classes) {
    if (last_task != -1 && last_task != task) {
      if (Status s = consolidate(); !s.ok()) return s;
    }
    last_task = task;
    for (int c : classes) seen_classes[static_cast<size_t>(c)] = 1;
    if (std::find(learned_tasks.begin(), learned_tasks.end(), task) == learned_tasks.end()) {
      learned_tasks.push_back(task);
    }
    recency.erase(std::remove(recency.begin(), recency.end(), task), recency.end());
    recency.push_back(task);
    return Status();
  }

  // The share of the replay loss in a step: the options' weight, or 1 - 1/tasks seen (van de
  // Ven & Tolias), or an even mix while only one task (or none) is known.
  double replay_weight(const ReplayOptions& r) const {
    if (r.weight >= 0) return r.weight;
    const size_t tasks = learned_tasks.size();
    return tasks >= 2 ? 1.0 - 1.0 / static_cast<double>(tasks) : 0.5;
  }

  // The weights the hippocampus draws with ("class" or "task"; empty: uniform).
  std::pair<std::string, std::vector<double>> draw_weights(const ReplayOptions& r) const {
    switch (r.sampler) {
      case RecallSampler::class_balanced:
        return {"class", std::vector<double>(static_cast<size_t>(dataset->num_classes), 1.0)};
      case RecallSampler::task_balanced:
        return {"task", std::vector<double>(static_cast<size_t>(config.num_tasks), 1.0)};
      case RecallSampler::recent: {
        std::vector<double> w(static_cast<size_t>(config.num_tasks), 0.0);
        for (size_t i = 0; i < recency.size(); ++i) w[static_cast<size_t>(recency[i])] = i + 1.0;
        return {"task", w};
      }
      case RecallSampler::weighted:
        return r.class_weights.empty() ? std::make_pair(std::string("task"), r.task_weights)
                                       : std::make_pair(std::string("class"), r.class_weights);
      default: return {"", {}};
    }
  }

  // The observe message of one batch: x f32 [B,P] (contiguous, values finite and in [0, 1]:
  // invalid_argument otherwise; B may be 0 in a consolidation phase), y i64 [B], active u8
  // [classes], with recollections as `replay` says (none when replay.per_batch is 0).
  // learn_association: whether the association learns from this batch (always with real data;
  // in a consolidation phase only when asked).
  Expected<Message> observe_message(const at::Tensor& x, const at::Tensor& y,
                                    const at::Tensor& active, int task, const ReplayOptions& replay,
                                    bool learn_association = true, bool whole = true) const {
    if (whole && world_size > 1) {  // this rank learns its shard of the batch and recollections
      auto shard = shard_batch(x, y, rank, world_size);
      if (!shard.ok()) return shard.status();
      ReplayOptions share = replay;
      const auto [begin, end] = shard_rows(replay.per_batch, rank, world_size);
      share.per_batch = static_cast<int>(end - begin);
      return observe_message(shard->first, shard->second, active, task, share, learn_association,
                             false);
    }
    // The last line of defence of every input path: nothing non-finite or outside [0, 1]
    // reaches a learner.
    const UnitIntervalCheck values = check_unit_interval(x.data_ptr<float>(), x.numel());
    if (!values.ok()) {
      return Status(ErrorCode::invalid_argument,
                    "observations: " + values.describe() + " (nothing learned from the batch)");
    }
    const bool select =
        replay.sampler == RecallSampler::active || replay.sampler == RecallSampler::diverse;
    Message obs;
    auto& ints = obs.header.ints;
    auto& reals = obs.header.reals;
    obs.header.type = msg::kObserve;
    obs.header.t_acq_ns = now_ns();
    ints["task"] = task;
    // Recollections come from stored codes (a buffer) or from a generator (an association
    // without one); a kind with neither recalls nothing.
    const bool recalls = has_buffer || has_association;
    ints["replay"] = recalls ? replay.per_batch : 0;
    ints["draw"] = recalls ? replay.per_batch * (select ? replay.candidates : 1) : 0;
    ints["select"] = replay.sampler == RecallSampler::active    ? 1
                     : replay.sampler == RecallSampler::diverse ? 2
                                                                : 0;
    ints["delay"] = replay.delay;
    ints["phase"] = static_cast<int64_t>(phase);
    ints["learn_association"] = learn_association ? 1 : 0;
    reals["replay_weight"] = x.size(0) > 0 ? replay_weight(replay) : 1.0;
    reals["label_weight"] = replay.label_weight;
    reals["soft_weight"] = replay.soft_weight;
    reals["temperature"] = replay.temperature;
    for (const at::Tensor& t : {x, y, active}) {
      if (Status s = add_tensor(obs, t); !s.ok()) return s;
    }
    auto [by, weights] = draw_weights(replay);
    if (!by.empty()) {
      obs.header.strings["weights_by"] = by;
      at::Tensor w = at::tensor(std::vector<float>(weights.begin(), weights.end()), at::kFloat);
      if (Status s = add_tensor(obs, w); !s.ok()) return s;
    }
    return obs;
  }

  // validate(), then whether this memory can recall that way: a generator (no buffer) has no
  // stored classes, tasks or ages to balance or weigh by, and only a conditional one draws by
  // class. Refused here, before anything is sent, rather than failing inside the actor.
  Status check_replay(const ReplayOptions& replay) const {
    if (Status s = validate(replay, dataset->num_classes, config.num_tasks); !s.ok()) return s;
    if (has_buffer || !has_association || replay.per_batch == 0) return Status();
    const auto refuse = [&](const std::string& why) {
      return Status(ErrorCode::invalid_argument,
                    "replay sampler \"" + std::string(sampler_name(replay.sampler)) +
                        "\": memory kind \"" + kind + "\" generates its recollections " + why +
                        " (use \"uniform\", \"active\" or \"diverse\")");
    };
    switch (replay.sampler) {
      case RecallSampler::class_balanced:
      case RecallSampler::task_balanced:
      case RecallSampler::recent:
        return refuse("and stores no codes to balance by class, task or age");
      case RecallSampler::weighted:
        if (!replay.task_weights.empty()) return refuse("and stores no tasks to weigh");
        if (!generates_by_class) return refuse("without conditioning on a class");
        return Status();
      default: return Status();
    }
  }

  // How a phase reports events (learning_events.h).
  struct PhaseEvents {
    LearningEventHook hook;              // null: no events
    int64_t every = 0;                   // an `examples` event every this many (0 = never)
    bool count_recalled = false;         // examples are recollections (a consolidation phase)
    int task = -1;                       // the task id events carry
    std::vector<LearningEvent> opening;  // passed before the first batch (new_task, new_class)
    ReplayOptions* replay = nullptr;     // what `next` reads; replaced by a hook's reply
    int record_every = 0;                // a PhaseStats::curve point every this many batches
  };

  // Sums over the batches since the last point of a phase's learning curve.
  struct CurveStretch {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    int batches = 0;
    double loss_real = 0, loss_replay = 0, neg_elbo = 0;
    int64_t examples = 0, association_steps = 0;
    bool association_missed = false;  // a stretch without association steps

    // Adds one trained batch: its acknowledgement (read before account() takes its payloads)
    // and the phase's examples before it and after it.
    void add(const Message& ack, int64_t examples_before, int64_t examples_after) {
      ++batches;
      auto real = [&](const char* key) {
        auto it = ack.header.reals.find(key);
        return it == ack.header.reals.end() ? 0.0 : it->second;
      };
      loss_real += real("loss_real");
      loss_replay += real("loss_replay");
      examples += examples_after - examples_before;
      auto learned = ack.header.ints.find("association_learned");
      if (learned != ack.header.ints.end() && learned->second != 0) {
        ++association_steps;
        neg_elbo += real("association_reconstruction") + real("association_kl");
      }
    }

    // Appends the point of this stretch to *curve at iteration `done`, then starts a new one.
    void close(int done, LearningCurve* curve) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - start).count();
      curve->iteration.push_back(done);
      curve->loss_real.push_back(loss_real / batches);
      curve->loss_replay.push_back(loss_replay / batches);
      curve->samples_per_second.push_back(seconds > 0 ? examples / seconds : 0);
      if (association_steps > 0 && !association_missed) {
        curve->association_neg_elbo.push_back(neg_elbo / association_steps);
      } else {
        association_missed = true;
        curve->association_neg_elbo.clear();
      }
      const bool missed = association_missed;
      *this = CurveStretch();
      start = now;
      association_missed = missed;
    }
  };

  // Runs a phase of `iterations` batches, each made by `next`, keeping up to `window` in flight
  // between the driver and the neocortex. progress: every 50 batches and at the end. Events go
  // to events.hook between batches; a hook's error ends the phase with it once the batches in
  // flight are trained (so no acknowledgement is left for the next call).
  Expected<PhaseStats> run_phase(int iterations, int window, const ProgressFn& progress,
                                 const std::function<Expected<Message>()>& next,
                                 const PhaseEvents& events) {
    using Clock = std::chrono::steady_clock;
    PhaseStats stats;
    const auto start = Clock::now();
    auto update = [&](int done) {
      stats.iterations = done;
      stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      stats.samples_per_second =
          stats.seconds > 0 ? (stats.real_examples + stats.recalled_examples) / stats.seconds : 0;
    };
    int sent = 0, done = 0;
    Status failed;
    auto fire = [&](LearningEvent e) {
      if (!events.hook || !failed.ok()) return;
      e.learned = events.count_recalled ? stats.recalled_examples : stats.real_examples;
      e.batches = done;
      ++stats.events;
      auto reply = events.hook(e);
      if (!reply.ok()) {
        failed = reply.status();
        return;
      }
      if (reply->replay && events.replay) {
        if (Status s = check_replay(*reply->replay); !s.ok()) {
          failed = Status(s.code(), std::string("the replay of the reply to a ") +
                                        event_name(e.kind) + " event: " + s.message());
          return;
        }
        *events.replay = *reply->replay;
        ++phase;  // recollections decoded ahead for the old options are dropped
      }
      if (reply->stop) stats.stopped = true;
    };
    for (const LearningEvent& e : events.opening) fire(e);
    stats.curve.every = events.record_every;
    CurveStretch stretch;
    int64_t next_mark = events.every;
    while (done < sent || (done < iterations && !stats.stopped && failed.ok())) {
      while (sent < iterations && sent - done < window && !stats.stopped && failed.ok()) {
        auto obs = next();
        if (!obs.ok()) return obs.status();
        if (Status s = send_message(to_association, std::move(*obs)); !s.ok()) return s;
        ++sent;
      }
      if (done == sent) break;
      auto ack = await(progress_socket(), msg::kTrained, 120);
      if (!ack.ok()) return ack.status();
      ++done;
      const int64_t examples_before = stats.real_examples + stats.recalled_examples;
      session_detail::account(*ack, &stats);
      if (events.record_every > 0) {
        stretch.add(*ack, examples_before, stats.real_examples + stats.recalled_examples);
        if (stretch.batches == events.record_every) stretch.close(done, &stats.curve);
      }
      const int64_t learned = events.count_recalled ? stats.recalled_examples : stats.real_examples;
      if (events.every > 0 && learned >= next_mark && !stats.stopped) {
        next_mark = (learned / events.every + 1) * events.every;
        LearningEvent e;
        e.kind = LearningEventKind::examples;
        e.task = events.task;
        fire(e);
      }
      if (progress && (done % 50 == 0 || done == iterations)) {
        update(done);
        progress(done, iterations, stats);
      }
    }
    if (!failed.ok()) return failed;
    update(done);
    LearningEvent end;
    end.kind = LearningEventKind::phase_end;
    fire(end);
    if (!failed.ok()) return failed;
    return stats;
  }

  zmq::socket_t& progress_socket() { return progress; }

  at::Tensor active_mask(const Task& task, bool class_incremental) const {
    at::Tensor mask = at::zeros({dataset->num_classes}, at::kByte);
    if (class_incremental) {
      for (int c = 0; c < dataset->num_classes; ++c) mask[c] = seen_classes[c];
    }
    for (int c : task.classes) mask[c] = 1;
    return mask;
  }

  // The test images of a task (up to max), transformed, as x f32 [N,P] and y i64 [N].
  std::pair<at::Tensor, at::Tensor> test_set(const Task& task, size_t max) const {
    const size_t n = std::min(max, task.test_idx.size());
    at::Tensor x =
        at::empty({static_cast<int64_t>(n), static_cast<int64_t>(dataset->pixels_per_image())});
    at::Tensor y = at::empty({static_cast<int64_t>(n)}, at::kLong);
    fill_images(*dataset, task, false, task.test_idx.data(), n, x.data_ptr<float>());
    fill_labels(*dataset, false, task.test_idx.data(), n, y.data_ptr<int64_t>());
    return {x, y};
  }
};

}  // namespace engram
