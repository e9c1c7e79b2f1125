#include "modules/neocortex/dense_predictor.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace engram {

Expected<DensePredictor> DensePredictor::create(const std::vector<DenseLayer>& layers,
                                                bool all_outputs) {
  if (layers.empty()) return Status(ErrorCode::invalid_argument, "dense predictor: no layers");
  DensePredictor p;
  p.all_outputs_ = all_outputs;
  size_t widest = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    const std::string where = "dense predictor: layer " + std::to_string(i);
    if (l.in < 1 || l.out < 1) return Status(ErrorCode::invalid_argument, where + " is empty");
    if (i > 0 && l.in != layers[i - 1].out) {
      return Status(ErrorCode::invalid_argument, where + " takes " + std::to_string(l.in) +
                                                     " inputs but the layer before gives " +
                                                     std::to_string(layers[i - 1].out));
    }
    const size_t in = static_cast<size_t>(l.in), out = static_cast<size_t>(l.out);
    if (l.weight.size() != in * out || l.bias.size() != out) {
      return Status(ErrorCode::invalid_argument, where + ": weight or bias of the wrong size");
    }
    Layer t;
    t.in = l.in;
    t.out = l.out;
    t.bias = l.bias;
    t.weight_t.resize(in * out);
    for (size_t o = 0; o < out; ++o) {
      for (size_t k = 0; k < in; ++k) t.weight_t[k * out + o] = l.weight[o * in + k];
    }
    widest = std::max(widest, out);
    p.layers_.push_back(std::move(t));
  }
  p.inputs_ = layers.front().in;
  p.classes_ = layers.back().out;
  p.scratch_a_.resize(widest);
  p.scratch_b_.resize(widest);
  return p;
}

namespace {

// y[0..out) = b + sum over k of x[k] * w_t[k][.], skipping zero inputs. The inner loop runs
// over contiguous outputs, each independent of the others, so it vectorises without
// reassociating any sum.
void dense_forward(const float* __restrict x, int in, int out, const float* __restrict w_t,
                   const float* __restrict b, float* __restrict y) {
  std::copy(b, b + out, y);
  for (int k = 0; k < in; ++k) {
    const float v = x[k];
    if (v == 0.0f) continue;
    const float* __restrict row = w_t + static_cast<size_t>(k) * static_cast<size_t>(out);
    for (int o = 0; o < out; ++o) y[o] += v * row[o];
  }
}

}  // namespace

void DensePredictor::predict(const float* x, const uint8_t* active, float* probs) {
  const float* in = x;
  float* out = scratch_a_.data();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    dense_forward(in, l.in, l.out, l.weight_t.data(), l.bias.data(), out);
    if (i + 1 < layers_.size()) {
      for (int o = 0; o < l.out; ++o) out[o] = std::max(out[o], 0.0f);
      in = out;
      out = out == scratch_a_.data() ? scratch_b_.data() : scratch_a_.data();
    } else {
      in = out;
    }
  }
  // Learner::predict pushes the classes that do not compete to -1e9 before its softmax; the
  // same here, so that no class competing gives the same uniform answer.
  const float* logits = in;
  const auto competes = [&](int k) { return all_outputs_ || active == nullptr || active[k] != 0; };
  float top = -1e9f;
  for (int k = 0; k < classes_; ++k) top = std::max(top, competes(k) ? logits[k] : -1e9f);
  double sum = 0;
  for (int k = 0; k < classes_; ++k) {
    probs[k] = std::exp((competes(k) ? logits[k] : -1e9f) - top);
    sum += probs[k];
  }
  for (int k = 0; k < classes_; ++k) probs[k] = static_cast<float>(probs[k] / sum);
}

}  // namespace engram
