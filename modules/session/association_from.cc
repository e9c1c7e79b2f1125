#include "modules/session/association_from.h"

#include <nlohmann/json.hpp>

#include "modules/association/association.h"
#include "modules/session/session_config_json.h"
#include "modules/session/session_impl.h"
#include "runtime/snapshot_file.h"

namespace engram {
namespace {

std::string where(const MemoryConfig& memory) {
  return "memory.association_from \"" + memory.association_from + "\"";
}

// The memory configuration a snapshot was taken with.
Expected<MemoryConfig> snapshot_memory(const SnapshotSections& sections) {
  auto text = session_detail::section(sections, "config");
  if (!text.ok()) return text.status();
  auto config = session_config_from_json(*text);
  if (!config.ok()) return config.status();
  return config->memory;
}

// "c 60 there, 132 here, ...": the kind's options whose values differ.
std::string differing_options(const MemoryConfig& theirs, const MemoryConfig& ours) {
  std::string out;
  for (const auto& item : ours.options.items()) {
    auto it = theirs.options.find(item.key());
    if (it == theirs.options.end() || *it == item.value()) continue;
    if (!out.empty()) out += ", ";
    out += item.key() + " " + it->dump() + " there, " + item.value().dump() + " here";
  }
  return out;
}

}  // namespace

Expected<AssociationSource> read_association_from(const MemoryConfig& memory) {
  auto sections = read_snapshot(memory.association_from);
  if (!sections.ok()) {
    return Status(sections.status().code(), where(memory) + ": " + sections.status().message());
  }
  auto theirs = snapshot_memory(*sections);
  if (!theirs.ok()) {
    return Status(theirs.status().code(), where(memory) + ": " + theirs.status().message());
  }
  if (theirs->kind != memory.kind) {
    return Status(ErrorCode::invalid_argument,
                  where(memory) + ": the snapshot's memory kind is \"" + theirs->kind +
                      "\", this memory's is \"" + memory.kind + "\"");
  }
  auto it = sections->find("association");
  if (it == sections->end() || it->second.empty()) {
    return Status(ErrorCode::invalid_argument, where(memory) + ": the snapshot holds no " +
                                                   "association (memory kind \"" + memory.kind +
                                                   "\" has none to start from)");
  }
  return AssociationSource{std::string(it->second.begin(), it->second.end()), *theirs};
}

Status start_association_from(const MemoryConfig& memory, const AssociationSource& source,
                              Association& association) {
  Status s = association.load_state(source.state);
  if (s.ok()) return s;
  std::string why =
      where(memory) + ": its association does not fit this memory (" + s.message() + ")";
  const std::string differ = differing_options(source.memory, memory);
  if (!differ.empty()) why += "; options that differ: " + differ;
  return Status(ErrorCode::invalid_argument, why);
}

}  // namespace engram
