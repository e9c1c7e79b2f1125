// `engram inspect FILE`: what a snapshot holds, without loading any network.
#pragma once

#include <ostream>
#include <string>

#include "runtime/status.h"

namespace engram {

// Verifies the snapshot (every checksum) and prints its header, its sections with stored and
// raw sizes and compression ratios, the configuration, the script state, and the code buffer's
// figures (codes stored, bits per item, codes per class and per task). Errors name the problem.
Status inspect_snapshot(const std::string& path, std::ostream& out);

}  // namespace engram
