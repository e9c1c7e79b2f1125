// How a learning phase recalls: how many recollections per batch, which ones (the sampler),
// what they are trained towards (the targets) and how much they weigh. Options of a phase,
// chosen by the curriculum (Lua `replay = {...}`, the C API's `learning.replay`), not by the
// memory kind. Declared once (replay_settings()) for every reader.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "runtime/settings.h"
#include "runtime/status.h"

namespace engram {

enum class RecallSampler {
  uniform,         // every stored item equally likely
  class_balanced,  // an equal share per class stored
  task_balanced,   // an equal share per task stored
  recent,          // task shares growing with how recently the task was learned (1, 2, 3, ...)
  weighted,        // shares per class or per task given by the curriculum (a Lua function)
  active,          // draw `candidates` x n, keep the n the classifier now finds hardest
  diverse,         // draw `candidates` x n, keep 2n by MSSS, then the n hardest
};

const char* sampler_name(RecallSampler s);
// Inverse of sampler_name; invalid_argument listing the names otherwise.
Expected<RecallSampler> parse_sampler(const std::string& name);

struct ReplayOptions {
  int per_batch = 128;  // recollections per batch; 0 = no replay
  RecallSampler sampler = RecallSampler::uniform;
  int candidates = 4;  // active, diverse: candidates drawn per recollection kept
  // sampler == weighted: the share of each class (size = classes) or of each task (size =
  // tasks); exactly one of the two is non-empty, entries finite and >= 0, some > 0.
  std::vector<double> class_weights, task_weights;
  double label_weight = 1;  // targets: cross-entropy to the stored label
  double soft_weight = 0;  // targets: distillation from the classifier as of the last consolidation
  double temperature = 2;  // of the soft targets
  double weight = -1;      // share of the replay loss in a step, in [0, 1]; < 0: 1 - 1/tasks seen
  int delay = 1;           // N-step delayed replay: decode N batches of recollections at once
};

// The declarations of the `replay` table's options.
const std::vector<Setting>& replay_settings();

// Reads a replay specification: a number (per_batch) or an object of replay_settings() (where
// `targets` is "label", "soft" or {label = a, soft = b}). Class or task weights are not read
// here (they come from a Lua function). Errors name `where`.key.
Expected<ReplayOptions> replay_options_from_json(const nlohmann::json& value,
                                                 const std::string& where);
// The options as JSON that replay_options_from_json() reads back to an equal value.
nlohmann::json replay_options_to_json(const ReplayOptions& options);

// Checks ranges and that weighted has exactly one valid weight list of the right size.
Status validate(const ReplayOptions& options, int classes, int tasks);

}  // namespace engram
