// Data-parallel learning across processes: the ranks of one run and their collectives, on
// LibTorch's own c10d with the Gloo backend (a TCPStore on rank 0 for the rendezvous, one
// ProcessGroupGloo per learning thread). No torch type appears in this header.
//
// Layout: rank 0 hosts the store at master_addr:master_port; every rank connects to it, checks
// that all ranks run the same configuration (a fingerprint exchanged through the store) and then
// opens process groups by name (one per learning actor: collectives of different threads must
// never share a group, or their order would differ between ranks).
// Threading: connect() once per process; group() is safe from any thread; each ProcessGroup is
// used by one thread at a time. Errors never hang: every wait is bounded by `timeout`.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct DistributedConfig {
  int world_size = 1;  // ranks in the run, >= 1 (1: no data parallelism, nothing is opened)
  int rank = 0;        // this process, in [0, world_size)
  std::string master_addr = "127.0.0.1";     // where rank 0 hosts the store
  int master_port = 29500;                   // in [1, 65535]
  std::chrono::milliseconds timeout{30000};  // rendezvous and each collective
};

// Checks world_size >= 1, rank in [0, world_size), a non-empty master address and a port in
// [1, 65535]; the error names the setting and its value.
Status validate(const DistributedConfig& config);

// The configuration from torchrun-style environment variables WORLD_SIZE, RANK, MASTER_ADDR,
// MASTER_PORT (each optional; absent ones keep `base`'s values). Errors: invalid_argument for a
// value that is not an integer in range, naming the variable.
Expected<DistributedConfig> distributed_config_from_environment(DistributedConfig base);

// One process group: collectives among all ranks, in the order this thread issues them.
class ProcessGroup {
 public:
  ~ProcessGroup();
  int rank() const;
  int world_size() const;
  // Sums `t` (a contiguous CPU tensor) over all ranks in place: every rank ends with the same
  // bits. Errors: timeout (a rank stopped or issued a different sequence of collectives),
  // internal (anything else c10d reports), with c10d's message.
  Status all_reduce_sum(at::Tensor& t);
  // Overwrites `t` (contiguous CPU) on every rank with rank 0's. Errors as all_reduce_sum.
  Status broadcast_from_root(at::Tensor& t);
  // Rank 0 receives every rank's `t` (contiguous CPU, the same shape and type on every rank) in
  // `gathered`, one tensor per rank in rank order, which it must allocate; other ranks pass an
  // empty list. Errors as all_reduce_sum.
  Status gather_to_root(at::Tensor& t, std::vector<at::Tensor>& gathered);

 private:
  friend class DataParallel;
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The ranks of this run: the store connection and the process groups opened on it.
class DataParallel {
 public:
  // Validates `config`, then hosts (rank 0) or reaches (other ranks) the store at
  // master_addr:master_port and waits until every rank has published `fingerprint` (a hash of
  // what it runs: script, settings, arguments). Errors: invalid_argument (bad config),
  // timeout (the master or some rank did not appear within config.timeout: the message names
  // the address), invalid_argument (a rank runs a different configuration), io_error (the port
  // cannot be bound).
  static Expected<std::shared_ptr<DataParallel>> connect(const DistributedConfig& config,
                                                         const std::string& fingerprint);
  ~DataParallel();

  const DistributedConfig& config() const;
  int rank() const;
  int world_size() const;
  // A new process group named `name`, unique within the run (every rank must open the same
  // names in the same order). Blocks until all ranks opened it. Errors: timeout, internal.
  Expected<std::unique_ptr<ProcessGroup>> group(const std::string& name);
  // The group of the thread that drives the script (snapshots and restores: snapshot_ranks.h),
  // opened as group("driver") by the first call; the same afterwards. Only that thread may use
  // it. Errors: group()'s.
  Expected<ProcessGroup*> driver_group();

 private:
  struct Impl;
  explicit DataParallel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The run this process belongs to (set once by the command line); null when it learns alone.
// Sessions created while one is set learn data-parallel. Thread-safe.
void set_data_parallel(std::shared_ptr<DataParallel> run);
std::shared_ptr<DataParallel> data_parallel();

// The half-open range [begin, end) of rows rank `rank` of `world_size` learns from a batch of
// `rows` rows: contiguous shards whose sizes differ by at most one, the first ranks larger.
std::pair<int64_t, int64_t> shard_rows(int64_t rows, int rank, int world_size);

}  // namespace engram
