#include "bindings/lua/lua_progress.h"

#include <fmt/format.h>

#include <cmath>

namespace engram::lua {

void complete(Progress& bar, int64_t done, const std::string& extra) {
  bar.update(done, extra);
  bar.finish(extra);
}

TrainingProgressFn EpochBars::callback() {
  if (!show_) return nullptr;
  return [this](const TrainingTick& t) {
    if (t.epoch != epoch_ || !bar_) {
      finish_epoch("");
      epoch_ = t.epoch;
      bar_ = std::make_unique<Progress>(fmt::format("{} epoch {}/{}", what_, t.epoch, t.epochs),
                                        t.batches);
    }
    done_ = t.batch;
    last_ = fmt::format("loss {:.4f}", t.loss);
    if (std::isfinite(t.neg_elbo)) last_ += fmt::format(" -ELBO {:.1f}", t.neg_elbo);
    if (t.batch < t.batches) bar_->update(t.batch, last_);  // the last: finish_epoch
  };
}

void EpochBars::finish_epoch(const std::string& extra) {
  if (!bar_) return;
  complete(*bar_, done_, extra.empty() ? last_ : last_ + ", " + extra);
  bar_.reset();
}

}  // namespace engram::lua
