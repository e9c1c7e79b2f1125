// HAT-style unit masks of one layer (papers/004 eq. 2-6, SUMMARY.md C.1; Serra et al. 2018):
// each task t learns a real-valued embedding e_t (one value per unit of the layer, starting at
// 0) whose soft mask m = sigmoid(s * e_t) gates the layer's outputs while the task is learned, s
// annealed towards s_max. At the end of the task the mask is binarised (e_t > 0) and stored; the
// cumulative mask (element-wise max of every stored mask) marks the units reserved by earlier
// tasks, whose incoming weights later tasks may use but not change.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace engram {

class HatMask {
 public:
  // A layer of `units` (>= 1) units, no task stored, e = 0.
  explicit HatMask(int64_t units);

  int64_t units() const;
  // Tasks whose binarised masks are stored.
  int tasks() const;

  // The current task's embedding e [units] (float, requires grad: an optimiser trains it).
  const at::Tensor& embedding() const;
  // sigmoid(s * e) [units], differentiable in e.
  at::Tensor soft(double s) const;
  // The binarised mask of stored task t [units] (float 0/1). t must be in [0, tasks()).
  at::Tensor task_mask(int t) const;
  // The binarised masks of every stored task [tasks, units] (uint8).
  const at::Tensor& stored() const;
  // The element-wise max of the stored masks [units] (float 0/1; zeros before any task).
  const at::Tensor& cumulative() const;
  // Units no stored task reserves.
  int64_t free_units() const;

  // Ends the current task: stores (e > 0) as its mask, updates the cumulative mask, resets e to
  // 0, and returns the number of units this task newly reserved (in its mask, not in the
  // cumulative mask before).
  int64_t commit();

  // Adds k >= 0 units at the end: 0 in every stored mask and in the cumulative mask, 0 in e
  // (a new embedding tensor: optimisers holding the old one must be rebuilt).
  void grow(int64_t k);

  // HAT's embedding gradient compensation at the current s: the gradient of e is multiplied by
  // s_max / s * (cosh(clamp(s e, +-clamp)) + 1) / (cosh(e) + 1), so that e keeps learning
  // while s is small. No-op without a gradient.
  void compensate_gradient(double s, double s_max, double clamp = 50.0) const;
  // Clamps e to [-bound, bound] in place (after an optimiser step).
  void clamp_embedding(double bound) const;

  // Replaces the whole state (for load_state): stored [tasks, units] uint8 of 0/1, e [units].
  // The caller checked the shapes and values.
  void restore(const at::Tensor& stored, const at::Tensor& embedding);

 private:
  int64_t units_;
  at::Tensor embedding_;   // [units] float, requires grad
  at::Tensor stored_;      // [tasks, units] uint8
  at::Tensor cumulative_;  // [units] float
};

// The annealed scale s at `step` (0-based) of a task annealed over `steps` (>= 1) steps:
// 1/s_max + (s_max - 1/s_max) * min(step, steps - 1) / (steps - 1); s_max for steps == 1.
double hat_scale(int64_t step, int64_t steps, double s_max);

// The sparsity regulariser R = sum_l sum_i m_i (1 - c_i) / sum_l sum_i (1 - c_i), over the soft
// masks m of the layers and their cumulative masks c (units already reserved cost nothing).
// 0 when no unit is free.
at::Tensor hat_sparsity(const std::vector<at::Tensor>& soft_masks,
                        const std::vector<const HatMask*>& layers);

}  // namespace engram
