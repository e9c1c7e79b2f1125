// `engram run`'s data-parallel options: --world-size, --rank, --master HOST:PORT and
// --rank-timeout, or the torchrun-style environment variables WORLD_SIZE, RANK, MASTER_ADDR and
// MASTER_PORT (flags win). With a world size above 1 the process joins the run before the script
// starts (modules/distributed/process_group.h); ranks other than 0 write no files.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct RankOptions {
  std::string world_size, rank, master;  // as given (empty: from the environment, else defaults)
  double timeout_s = 60;
};

// Declares the options on `run` (help text included).
void add_rank_options(CLI::App& run, RankOptions* options);

// Joins the run the options and the environment describe, when its world size is above 1:
// validates the settings, reaches the master (rank 0 hosts it) within the timeout and checks that
// every rank runs the same script, --set values and arguments. Then this process learns
// data-parallel with one LibTorch thread, and ranks other than 0 write no files. A world size of
// 1 changes nothing. Errors: invalid_argument (bad settings, a rank running another
// configuration), timeout (the master or a rank did not appear), io_error.
Status join_run_if_asked(const RankOptions& options, const std::string& script,
                         const std::vector<std::string>& sets, const std::vector<std::string>& args,
                         int* rank);

// Leaves the run joined by join_run_if_asked (if any) before the process exits, so that the
// store and its connections close while LibTorch is still whole.
void leave_run();

}  // namespace engram
