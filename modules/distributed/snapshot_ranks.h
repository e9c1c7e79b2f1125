// Snapshots of a data-parallel run: what each rank holds alone (its code buffer, its sampler's
// random stream) is gathered to rank 0, which writes the file; on restore rank 0 reads the file
// and sends it to every rank (the others may run on machines without it). Both go through the
// run's driver group (DataParallel::driver_group), c10d collectives on byte tensors, sizes first,
// so every wait is bounded by the run's timeout and a failure on one rank reaches every rank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/snapshot_file.h"
#include "runtime/status.h"

namespace engram {

class DataParallel;
class ProcessGroup;

// Gathers every rank's bytes to rank 0. Collective: every rank of `group` calls it, passing its
// bytes or the error that kept it from having them. Rank 0 gets every rank's bytes in rank
// order, the other ranks an empty list. Errors, on every rank alike when any rank passed one:
// that rank's error (the rank that had it gives its message, the others name the rank); also
// the group's (timeout naming the group when a rank never arrives).
Expected<std::vector<std::vector<uint8_t>>> gather_bytes(
    ProcessGroup& group, const Expected<std::vector<uint8_t>>& mine);

// Rank 0's bytes (or its error: an error on every rank, with rank 0's message) on every rank.
// Collective; `from_root` is ignored on other ranks. Errors also the group's.
Expected<std::vector<uint8_t>> broadcast_bytes(ProcessGroup& group,
                                               const Expected<std::vector<uint8_t>>& from_root);

// The sections of snapshot `path` as read_snapshot returns them. In a run of several ranks
// (data_parallel()) this is collective: rank 0 reads the file and sends it to every rank, which
// verifies it as read_snapshot does (a rank needs no copy of the file). Errors: read_snapshot's
// (rank 0's, on every rank), the driver group's.
Expected<SnapshotSections> read_snapshot_on_ranks(const std::string& path,
                                                  SnapshotInfo* info = nullptr);

}  // namespace engram
