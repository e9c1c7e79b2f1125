#include "modules/distributed/session_ranks.h"

#include <fmt/format.h>

#include <atomic>

#include "modules/association/association.h"
#include "modules/distributed/gradient_sync.h"
#include "modules/distributed/process_group.h"
#include "modules/neocortex/learner.h"

namespace engram {
namespace {

// Sessions this process has joined to the run: names their process groups. The same script
// creates its sessions in the same order on every rank, so the names match.
std::atomic<int> g_sessions{0};

}  // namespace

Status join_ranks(DataParallel& run, Learner& learner, Association* association) {
  const int index = g_sessions++;
  auto neocortex = run.group(fmt::format("session{}/neocortex", index));
  if (!neocortex.ok()) return neocortex.status();
  if (Status s = learner.set_gradient_sync(std::make_shared<GradientSync>(std::move(*neocortex)));
      !s.ok()) {
    return s;
  }
  if (association == nullptr) return Status();
  auto group = run.group(fmt::format("session{}/association", index));
  if (!group.ok()) return group.status();
  return association->set_gradient_sync(std::make_shared<GradientSync>(std::move(*group)));
}

size_t budget_share(size_t budget_bytes, int rank, int world_size) {
  const size_t n = static_cast<size_t>(world_size), r = static_cast<size_t>(rank);
  return budget_bytes / n + (r < budget_bytes % n ? 1 : 0);
}

Expected<std::pair<at::Tensor, at::Tensor>> shard_batch(const at::Tensor& x, const at::Tensor& y,
                                                        int rank, int world_size) {
  const int64_t rows = x.size(0);
  if (rows > 0 && rows < world_size) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("a batch of {} rows cannot be shared by {} ranks: every rank needs "
                              "at least one row (use a batch >= the world size)",
                              rows, world_size));
  }
  const auto [begin, end] = shard_rows(rows, rank, world_size);
  return std::make_pair(x.narrow(0, begin, end - begin), y.narrow(0, begin, end - begin));
}

}  // namespace engram
