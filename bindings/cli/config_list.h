// `engram config --list`: every configuration option engram reads, as Markdown tables generated
// from the declarations themselves (runtime/settings.h), so the documentation cannot drift from
// the readers. The README's option tables are this output (tests/integration/test_config_list).
#pragma once

#include <string>

namespace engram {

// The option tables: the runtime's top level, the neocortex, the memory's common keys, each
// registered memory kind's own options (in registration order), the replay options of a phase,
// and the C API agent's own keys (top level, input, learning). Deterministic.
std::string config_list_markdown();

}  // namespace engram
