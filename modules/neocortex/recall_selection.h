// Which recollections a step trains on when the curriculum asks for "active" or "diverse"
// recall (papers/000 section 3.1): among candidates drawn from memory, the ones the classifier
// now finds hardest, optionally after thinning them to dissimilar ones by MSSS.
#pragma once

#include <ATen/core/Tensor.h>

#include "modules/neocortex/learner.h"
#include "runtime/status.h"

namespace engram {

// Of the candidates xr [M, P] (labels yr [M], int64), the indices [min(keep, M)] (int64) of
// those with the largest cross-entropy under `learner` over the `active` units ([classes],
// bool), hardest first. With `diverse`, first thins the candidates to the min(M, 2 * keep)
// whose sum of squared pairwise dot products is small (MSSS, modules/distill/diverse_selection.h).
// Errors: keep < 1; a candidate's loss is NaN (the classifier diverged: not hidden).
Expected<at::Tensor> select_recollections(Learner& learner, const at::Tensor& xr,
                                          const at::Tensor& yr, const at::Tensor& active,
                                          int64_t keep, bool diverse);

}  // namespace engram
