// The registry of memory kinds: the only place the Session, the C API and the Lua module learn
// which kinds exist. Adding a kind is a folder under modules/ and one line in
// memory_registry.cc.
#pragma once

#include <string>
#include <vector>

#include "modules/memory/memory_kind.h"

namespace engram {

// Every registered kind, in registration order (the order `engram config --list` prints).
const std::vector<const MemoryKind*>& memory_kinds();

// The kind named `name`, or invalid_argument listing the registered names.
Expected<const MemoryKind*> find_memory_kind(const std::string& name);

}  // namespace engram
