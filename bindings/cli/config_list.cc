#include "bindings/cli/config_list.h"

#include <cctype>

#include "modules/memory/memory_registry.h"
#include "modules/session/replay_options.h"
#include "modules/session/session_settings.h"
#include "runtime/settings.h"

namespace engram {
namespace {

// A heading, a line of explanation and the table (or a sentence when nothing is declared).
std::string section(const std::string& heading, const std::string& intro,
                    const std::vector<Setting>& declared) {
  std::string out = "### " + heading + "\n\n" + intro + "\n\n";
  out += declared.empty() ? "No options of its own.\n" : settings_table(declared);
  return out + "\n";
}

}  // namespace

std::string config_list_markdown() {
  std::string out;
  out += section("runtime",
                 "The top level of `engram.runtime{...}` (Lua; also `dataset`, required, and "
                 "`endpoints`) and of the C API's JSON configuration.",
                 session_settings());
  out += section("neocortex", "The `neocortex` table.", neocortex_settings());
  out += section("memory",
                 "The `memory` table: these keys, plus the options of the chosen kind in the same "
                 "table (`memory = {kind = \"dvae\", budget_bytes = 156800, c = 100, l = 2}`).",
                 memory_settings());
  for (const MemoryKind* kind : memory_kinds()) {
    std::string summary = kind->summary();
    if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(summary[0]));
    out += section("memory kind `" + kind->name() + "`", summary + ".", kind->settings());
  }
  out += section("replay",
                 "Recall in a learning phase: `rt:learn(task, {replay = ...})`, the C API's "
                 "`learning.replay`. A number means `per_batch`; `targets` may also be "
                 "`{label = a, soft = b}`.",
                 replay_settings());
  out += section("agent (C API)",
                 "The C API's JSON configuration adds these keys to the runtime's top level.",
                 agent_settings());
  out += section("agent input", "The C API's `input` table.", agent_input_settings());
  out += section("agent learning", "The C API's `learning` table.", agent_learning_settings());
  // One trailing newline, not two.
  if (out.size() >= 2 && out.compare(out.size() - 2, 2, "\n\n") == 0) out.pop_back();
  return out;
}

}  // namespace engram
