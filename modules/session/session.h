// A learning session: the three module actors (hippocampus, association, neocortex) on their own
// threads, and the driver that feeds them a scenario's tasks. The Lua `engram.runtime` object
// and (later) the C API are thin layers over this class.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/neocortex/learner.h"
#include "modules/session/learning_events.h"
#include "modules/session/remote_modules.h"
#include "modules/session/replay_options.h"
#include "runtime/counters.h"
#include "runtime/snapshot_file.h"
#include "runtime/status.h"

namespace engram {

struct MemoryConfig {
  std::string kind = "dvae";  // a registered memory kind (modules/memory/memory_registry.h)
  size_t budget_bytes = 156800;
  Selector selector = Selector::reservoir;
  // A snapshot file (Session::snapshot) whose association this memory starts from: same kind and
  // architecture; its weights, optimiser moments and noise stream. Empty: a fresh association.
  // Read when the session is created, not when one is restored (the snapshot holds its own).
  std::string association_from;
  // The kind's own settings (MemoryKind::settings()); absent keys take their defaults.
  nlohmann::json options = nlohmann::json::object();
};

struct SessionConfig {
  LearnerConfig neocortex;
  MemoryConfig memory;
  int num_tasks = 5;  // task ids are in [0, num_tasks)
  uint64_t seed = 1;
  int threads = 1;             // LibTorch intra-op threads of each learning actor
  std::string device = "cpu";  // "cpu" or "cuda" (every learning module)
  // Actor name -> endpoint ("hippocampus", "association", "neocortex", "driver"); inproc://NAME
  // when absent. ipc:// and tcp:// work without code changes.
  std::map<std::string, std::string> endpoints;
  // Modules served by other processes (`engram serve`), their keys and heartbeats. Not part of
  // a snapshot's configuration: a snapshot restores into one process unless told otherwise.
  RemoteModulesConfig remote;
};

struct LearnOptions {
  int iterations = 2000;
  int batch = 128;
  // Steps on each real batch (papers/000's "3 steps per example"), each with fresh
  // recollections; its codes are stored once, at its last step (or the phase's last), when
  // the association has learned it most. iterations counts steps.
  int steps_per_batch = 1;
  ReplayOptions replay;  // recollections per batch (replay.per_batch; 0 = none) and how
  int window = 4;        // batches in flight between the driver and the neocortex
  // A point of the phase's learning curve (PhaseStats::curve) every this many iterations
  // (0 = no curve).
  int record_every = 0;
  // Events (learning_events.h): new_task and new_class before the first batch when the task or
  // its classes were never learned, `examples` each time another every_examples real examples
  // were learned (0 = never), phase_end last. The hook may stop the phase or change `replay`.
  int64_t every_examples = 0;
  LearningEventHook on_event;
};

// A consolidation phase (a "sleep"): learning on recollections only, no new data.
struct ConsolidateOptions {
  int steps = 500;           // 0: nothing happens at all
  int batch = 256;           // recollections per step (replay.per_batch is ignored)
  ReplayOptions replay;      // sampler, targets, delay (the weight is 1: there is no real batch)
  bool association = false;  // also train the association on its own recollections
  int window = 4;
  int record_every = 0;  // as LearnOptions::record_every (steps)
  // Events as LearnOptions' (examples count recollections here; no new_task/new_class).
  int64_t every_examples = 0;
  LearningEventHook on_event;
};

// Figures of a phase recorded every `every` iterations, as parallel arrays (one entry per point,
// a point after each full `every` iterations; a last partial stretch is not recorded).
struct LearningCurve {
  int every = 0;                    // 0: not recorded
  std::vector<int> iteration;       // iterations of the phase done at the point (every, 2*every..)
  std::vector<double> loss_real;    // mean loss on real data over the last `every` iterations
  std::vector<double> loss_replay;  // mean loss on recollections, likewise
  std::vector<double> samples_per_second;  // real + recalled examples per second, likewise
  // Mean negative ELBO of the association on real batches over the last `every` iterations
  // (PhaseStats::association_neg_elbo); empty unless it learned in every stretch of the phase.
  std::vector<double> association_neg_elbo;
};

struct PhaseStats {
  int iterations = 0;
  double seconds = 0;
  double samples_per_second = 0;            // real + recalled examples the neocortex trained on
  double loss_real = 0, loss_replay = 0;    // of the last batch
  int64_t real_examples = 0;                // real (new) examples trained on
  int64_t recalled_examples = 0;            // recollections trained on
  std::vector<int64_t> recalled_per_class;  // of which per class (empty: none recalled)
  int64_t events = 0;                       // events passed to the phase's hook
  bool stopped = false;                     // the hook ended the phase early
  // Learning steps of the phase not applied because their loss or gradients were not finite
  // (neocortex and association together; each is also logged and counted by its actor).
  int64_t skipped_steps = 0;
  // A variational association's learning on real batches during the phase (the dvae and
  // lifelong_vae kinds; the lifelong VAE's terms over the real rows, not its teacher's samples):
  // steps, and the means over them of its single-sample negative ELBO, reconstruction term and
  // KL term, in nats per image. The reconstruction term is the Bernoulli cross-entropy of the
  // pixel intensities, the KL is KL(q(z|x) || uniform prior); the ELBO is reported whatever the
  // KL weight the association trains with. association_steps = 0: not measured.
  int64_t association_steps = 0;
  double association_neg_elbo = 0, association_reconstruction = 0, association_kl = 0;
  LearningCurve curve;  // when the phase's options ask for one
};

struct MemoryStats {
  int64_t codes_stored = 0, capacity = 0, seen = 0, bits_per_item = 0, code_bits = 0;
  int64_t bytes_used = 0, budget_bytes = 0;
  int64_t association_weight_bytes = 0, decoder_weight_bytes = 0, classifier_weight_bytes = 0;
  // The association's weights in the total view (Association::memory_weight_bytes: a dvae's
  // encoder and decoder, a generator), as they are kept at rest.
  int64_t memory_weight_bytes = 0;
  std::vector<int64_t> per_class, per_task;
  std::string kind;  // the memory kind
  // The kind's bytes: incremental view (what it stores: the codes) and total view (also the
  // weights it needs to encode and recall: memory_weight_bytes, LwF's copy of the classifier).
  int64_t incremental_bytes = 0, total_bytes = 0;
};

// Progress callback: iterations done, iterations in the phase, the stats so far.
using ProgressFn = std::function<void(int, int, const PhaseStats&)>;

class Session {
 public:
  // Builds the modules (deterministically from config.seed) and starts the actors. The dataset
  // is shared with the caller. Errors: invalid configuration, endpoints that cannot be bound.
  static Expected<std::unique_ptr<Session>> create(const SessionConfig& config,
                                                   std::shared_ptr<const ImageDataset> dataset);
  // Stops the actors (never hangs).
  ~Session();

  // Learns `task` for options.iterations batches. When the task differs from the previous one,
  // first consolidates (consolidate()). Recollections come from everything stored before the
  // last consolidation, whatever the task ids (tasks may come in any order and be revisited),
  // drawn and weighed as options.replay says. Blocks the calling thread; `progress` is called
  // on it. Errors: invalid options (nothing learned), an actor failure (its message included).
  Expected<PhaseStats> learn(const Task& task, const LearnOptions& options,
                             const ProgressFn& progress = nullptr);

  // Learns one batch of observations from a stream: x float [B, pixels] in [0,1], y int64 [B],
  // of task `task`, mixed with `replay` recollections of earlier tasks. The same rules as
  // learn(): consolidation when the task changes, class-incremental output units. Blocks until
  // the neocortex has trained on it. Errors: invalid_argument (shapes, labels, task, a value
  // that is not finite or not in [0, 1]: nothing is learned), actor failures.
  Expected<PhaseStats> learn_batch(const at::Tensor& x, const at::Tensor& y, int task,
                                   const ReplayOptions& replay);
  // learn_batch with `replay` uniform recollections per batch.
  Expected<PhaseStats> learn_batch(const at::Tensor& x, const at::Tensor& y, int task, int replay);

  // A consolidation boundary: the association freezes the decoder copy used for recall, the
  // hippocampus seals what it holds (recallable from now on), the neocortex keeps a copy of the
  // classifier as the teacher of soft targets.
  Status consolidate();
  // A consolidation phase: a boundary, then options.steps steps on recollections only (the
  // classifier and, with options.association, the association on its own recollections).
  // steps = 0 changes nothing. Errors: invalid options (nothing changes), an actor failure.
  Expected<PhaseStats> consolidate(const ConsolidateOptions& options,
                                   const ProgressFn& progress = nullptr);

  // Test accuracy on `task`: class-incremental (argmax over all classes seen so far) or task-
  // incremental (argmax over the task's classes).
  Expected<double> accuracy(const Task& task, bool class_incremental);

  // Mean absolute pixel error of recall(encode(x)) over up to max_examples test images of task.
  Expected<double> distortion(const Task& task, size_t max_examples);

  // Up to n recollections of class `class_id` from the memory, as n * pixels floats in [0, 1]
  // (row-major images, one after another): codes drawn with replacement among everything stored
  // so far, decoded by the association's live decoder (what recall gives once the current phase
  // is consolidated): decoded codes for dvae, the stored images for raw. Empty when nothing of
  // the class is stored. Errors: invalid_argument for a memory kind that stores no codes (none,
  // lwf, arm, lifelong_vae), n outside [1, 65536] or a class outside [0, classes).
  Expected<std::vector<float>> recollections(int class_id, int n);

  Expected<MemoryStats> memory_stats();

  // Writes the whole learning state to `path` atomically (runtime/snapshot_file.h): sections
  // config, session (tasks learned, the driver's position), code_buffer, rng, association,
  // neocortex (weights and optimiser moments), and script: `script_state`, JSON text the caller
  // owns (curriculum position, metrics so far). Call between learn() phases. Errors: io_error,
  // invalid_argument (script_state is not JSON), an actor failure.
  Status snapshot(const std::string& path, const std::string& script_state = "{}");

  // A new session holding the state of snapshot `path`, learning from `dataset` (which must
  // have the image shape and classes the snapshot was taken with). The file, every section and
  // every module state are verified before any actor starts: on error nothing is created and
  // the caller's sessions are untouched. *script_state (if non-null) receives the script JSON.
  static Expected<std::unique_ptr<Session>> restore(const std::string& path,
                                                    std::shared_ptr<const ImageDataset> dataset,
                                                    std::string* script_state = nullptr);
  // restore() from snapshot sections already read and verified by read_snapshot().
  // `remote` (if non-null) places modules in other processes as SessionConfig::remote does.
  static Expected<std::unique_ptr<Session>> restore_sections(
      const SnapshotSections& sections, std::shared_ptr<const ImageDataset> dataset,
      std::string* script_state = nullptr, const RemoteModulesConfig* remote = nullptr);

  // A copy of the neocortex's classifier as it is now (weights and optimiser state), for
  // inference on another thread while this session goes on learning. Call between learn
  // phases, like snapshot(). Errors: an actor failure.
  Expected<std::unique_ptr<Learner>> classifier_copy();

  // Whether learn/consolidate would accept `replay`: validate() and whether this session's
  // memory can recall that way (a generator without a buffer has no stored classes, tasks or
  // ages to draw by). learn, learn_batch and consolidate check it themselves.
  Status check_replay(const ReplayOptions& replay) const;

  // Per class: 1 once some learned task or batch had it (the units class-IL predictions use).
  const std::vector<uint8_t>& seen_classes() const;
  // Task ids learned so far, in the order first learned.
  const std::vector<int>& learned_tasks() const;

  std::vector<CounterSnapshot> counters() const;
  const SessionConfig& config() const;
  // Values per observation: rows * cols of the dataset the session learns from.
  int64_t values_per_observation() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  // create(), applying the snapshot sections in `state` when non-null.
  static Expected<std::unique_ptr<Session>> create_from(const SessionConfig& config,
                                                        std::shared_ptr<const ImageDataset> dataset,
                                                        const SnapshotSections* state);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
