// The "lifelong_vae" memory kind (see lifelong_vae_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& lifelong_vae_memory_kind();

}  // namespace engram
