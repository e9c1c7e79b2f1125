// DensePredictor: a classifier's inference copy specialised for one example at a time. The
// dense layers of an MLP (ReLU between them) live in plain float arrays, each weight matrix
// transposed so that one input value scales one contiguous row; inputs that are zero (blank
// pixels, ReLUs that are off) are skipped. No torch dispatch and no allocation per call: what
// the C API's engram_predict runs while learning goes on in another thread.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/status.h"

namespace engram {

// One dense layer y = W x + b, W given row-major [out][in] as torch stores it.
struct DenseLayer {
  int in = 0, out = 0;
  std::vector<float> weight;  // out * in values, row-major [out][in]
  std::vector<float> bias;    // out values
};

class DensePredictor {
 public:
  // Layers in order, ReLU after every layer but the last; each layer's `in` equals the previous
  // one's `out`. With `all_outputs` every class competes whatever predict()'s mask says (a
  // memory that keeps a plain K-way head, as Learner::predict does for it). Errors:
  // invalid_argument for no layers, sizes that do not chain, or vectors of the wrong length.
  static Expected<DensePredictor> create(const std::vector<DenseLayer>& layers, bool all_outputs);

  int inputs() const { return inputs_; }
  int classes() const { return classes_; }

  // Class probabilities of one example x [inputs()] into probs [classes()]: the softmax over
  // the classes marked nonzero in active [classes()] (all of them when active is null), 0 for
  // the others; what Learner::predict gives for one row, to float rounding. Not thread-safe:
  // it uses the predictor's scratch buffers, so one caller at a time.
  void predict(const float* x, const uint8_t* active, float* probs);

 private:
  struct Layer {
    int in = 0, out = 0;
    std::vector<float> weight_t;  // [in][out]
    std::vector<float> bias;
  };
  std::vector<Layer> layers_;
  std::vector<float> scratch_a_, scratch_b_;
  int inputs_ = 0, classes_ = 0;
  bool all_outputs_ = false;
};

}  // namespace engram
