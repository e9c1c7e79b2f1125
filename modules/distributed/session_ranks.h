// How a session learns data-parallel: its learners join the run's other ranks, and the driver
// hands each rank its shard of every batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <memory>

#include "runtime/status.h"

namespace engram {

class Association;
class DataParallel;
class Learner;

// Opens this session's two process groups (the neocortex's and the association's: they learn on
// different threads) and hands each learner its gradient sync, which first makes its weights
// rank 0's. Sessions must be created in the same order on every rank (the same script does).
// `association` may be null (a kind without one). Errors: the groups' or the broadcasts'
// (timeouts naming the rank), invalid_argument for an association that cannot learn
// data-parallel.
Status join_ranks(DataParallel& run, Learner& learner, Association* association);

// This rank's share of a byte budget: the budget split evenly, the first ranks taking the rest.
// Each rank keeps its own code buffer of that size, so the run as a whole stores what one process
// would under the same budget.
size_t budget_share(size_t budget_bytes, int rank, int world_size);

// Rows [begin, end) of x (and y) that rank `rank` learns (process_group.h: shard_rows), as views.
// Errors: invalid_argument when x has rows but fewer than world_size (a rank would get none, and
// its learners would take fewer steps than the others').
Expected<std::pair<at::Tensor, at::Tensor>> shard_batch(const at::Tensor& x, const at::Tensor& y,
                                                        int rank, int world_size);

}  // namespace engram
