// memory.association_from: a memory whose association starts from the one in a snapshot file
// (for example one pretrained on other data) instead of from random weights.
#pragma once

#include <string>

#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

class Association;

// What a snapshot holds of its association.
struct AssociationSource {
  std::string state;    // Association::save_state() bytes
  MemoryConfig memory;  // the memory configuration the snapshot was taken with
};

// The association's state in the snapshot at `memory.association_from`, after checking that the
// snapshot was taken with the same memory kind and holds an association. Errors name the setting
// and the file: not_found, io_error or malformed from reading it; invalid_argument when it was
// taken with another kind or holds no association.
Expected<AssociationSource> read_association_from(const MemoryConfig& memory);

// Loads `source` (from read_association_from) into `association`. A state that does not fit (an
// association of another architecture) is refused as invalid_argument, naming the file and the
// kind's options that differ between the snapshot and `memory`; `association` is then unchanged.
Status start_association_from(const MemoryConfig& memory, const AssociationSource& source,
                              Association& association);

}  // namespace engram
