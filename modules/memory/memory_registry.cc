#include "modules/memory/memory_registry.h"

#include "modules/memory/arm_kind.h"
#include "modules/memory/dgm_kind.h"
#include "modules/memory/dvae_kind.h"
#include "modules/memory/lifelong_vae_kind.h"
#include "modules/memory/lwf_kind.h"
#include "modules/memory/none_kind.h"
#include "modules/memory/raw_kind.h"

namespace engram {

const std::vector<const MemoryKind*>& memory_kinds() {
  // One line per kind.
  static const std::vector<const MemoryKind*> kinds = {
      &dvae_memory_kind(),         &raw_memory_kind(), &none_memory_kind(), &lwf_memory_kind(),
      &lifelong_vae_memory_kind(), &arm_memory_kind(), &dgm_memory_kind(),
  };
  return kinds;
}

Expected<const MemoryKind*> find_memory_kind(const std::string& name) {
  std::string names;
  for (const MemoryKind* kind : memory_kinds()) {
    if (kind->name() == name) return kind;
    names += (names.empty() ? "\"" : ", \"") + kind->name() + "\"";
  }
  return Status(ErrorCode::invalid_argument,
                "memory kind \"" + name + "\" is not registered (kinds: " + names + ")");
}

}  // namespace engram
