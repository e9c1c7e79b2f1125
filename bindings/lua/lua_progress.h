// Progress of the long phases the Lua bindings run (training a teacher or a memory, a
// compression probe, distillation, ...): io/reports/progress.h lines drawn from the callbacks
// of the modules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/reports/progress.h"
#include "modules/common/training_progress.h"

namespace engram::lua {

// Ends a phase: records `done` with `extra` and finishes the bar with the same text, so that a
// plain log gets exactly one final line.
void complete(Progress& bar, int64_t done, const std::string& extra);

// One Progress per epoch, labelled "<what> epoch 3/10", counting the epoch's batches with the
// last batch's loss. A bar ends when the next epoch starts, at finish_epoch, or when this
// object is destroyed. With show = false it draws nothing and callback() is null.
class EpochBars {
 public:
  EpochBars(std::string what, bool show) : what_(std::move(what)), show_(show) {}
  ~EpochBars() { finish_epoch(""); }
  EpochBars(const EpochBars&) = delete;
  EpochBars& operator=(const EpochBars&) = delete;

  // The callback to hand to the module; it references this object, which must outlive it.
  TrainingProgressFn callback();

  // Ends the open epoch's bar, `extra` appended to its last loss (nothing when none is open).
  void finish_epoch(const std::string& extra);

 private:
  std::string what_;
  bool show_;
  std::unique_ptr<Progress> bar_;
  int epoch_ = 0;
  int64_t done_ = 0;  // the open bar's batches done
  std::string last_;  // and its last loss, as text
};

}  // namespace engram::lua
