// A per-cause tally of repeated events (an actor's errors, its drops), so that a stream of the
// same failure is one line in the log instead of one line per message:
//   - the first occurrence of a cause is logged in full (its detail);
//   - later ones are counted; when one comes at least `report_seconds` after the cause was last
//     logged, a line gives the count so far, the increase and the latest detail;
//   - summarize() (e.g. when the actor stops) logs, per cause seen more than once, its count:
//       [error] [association] 4,312 errors 'decode: bad shape [#, #, #]' in all
// A cause is a key without the numbers that vary from one message to the next: the caller
// gives it, or derives it from the message with cause_of(). At most `max_causes` distinct causes
// are kept; later new causes are counted together under kOtherCauses, so memory stays bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.h"

namespace engram {

struct LogTallyOptions {
  // Distinct causes kept before new ones share the kOtherCauses bucket.
  size_t max_causes = 32;
  // A repeat is reported when it comes at least this many seconds after the cause's last line.
  double report_seconds = 60.0;
  // Monotonic seconds; empty: std::chrono::steady_clock. Injectable for tests.
  std::function<double()> clock;
};

class LogTally {
 public:
  // The cause under which new causes are counted once max_causes are known.
  static constexpr const char* kOtherCauses = "other causes";

  struct CauseCount {
    std::string cause;
    uint64_t count = 0;        // events (the sum of record()'s counts)
    uint64_t occurrences = 0;  // calls to record()
  };

  // Lines are logged at `level` under `source` (e.g. the actor's name); `noun` is the plural of
  // what is counted ("errors", "drops").
  LogTally(std::string source, std::string noun, LogLevel level, LogTallyOptions options = {});
  LogTally(const LogTally&) = delete;
  LogTally& operator=(const LogTally&) = delete;

  // Records `count` events of `cause`, `detail` describing this occurrence in full (the cause
  // itself when empty). Logs the detail the first time the cause is seen, a count line when the
  // cause was last logged report_seconds ago or more, nothing otherwise. Thread-safe.
  void record(std::string_view cause, std::string_view detail, uint64_t count = 1);

  // Logs "N NOUN 'CAUSE' in all" for every cause recorded more than once, in the order the
  // causes first came, then forgets every cause (a new run starts from zero). Thread-safe.
  void summarize();

  // The causes recorded since the last summarize(), in the order they first came.
  std::vector<CauseCount> counts() const;

 private:
  struct Entry {
    CauseCount tally;
    uint64_t reported = 0;     // count in the last line logged for this cause
    double reported_at = 0.0;  // when that line was logged
  };
  double now() const;

  const std::string source_;
  const std::string noun_;
  const LogLevel level_;
  const LogTallyOptions options_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;           // in the order causes first came
  std::map<std::string, size_t> index_;  // cause -> position in entries_
};

// The cause key of a free-form message: its first line, every run of decimal digits replaced by
// '#', cut to at most 120 bytes (at a character boundary). "bad shape [3, 28, 28]" and
// "bad shape [4, 28, 28]" are then one cause.
std::string cause_of(std::string_view message);

// "4,312": a count with thousands separators.
std::string group_thousands(uint64_t n);

}  // namespace engram
