// The process-wide log: levelled, timestamped lines on stderr, each naming its source (an actor,
// a module, "lua", "engram"), written through spdlog:
//   [2026-12-01 20:31:02.123] [warn] [association] decode: bad shape [3, 28, 28]
// Messages addressed to the person at the command line (the CLI's errors) read as before,
// without timestamp, but obey the same level:
//   engram: error: no such file: run.lua
// The level names are those of --log-level: trace, debug, info, warn, error, off. The level
// starts as the environment variable ENGRAM_LOG_LEVEL names (for programs without a command
// line, e.g. those using the C API), else info; an unknown name there is logged as a warning.
// Every function here is thread-safe; actors log from their own threads.
// spdlog stays out of this header: users of runtime headers need not know about it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"

namespace engram {

enum class LogLevel { trace = 0, debug, info, warn, error, off };

// "trace", "debug", "info", "warn", "error" or "off".
const char* log_level_name(LogLevel level);

// Every accepted level name, most verbose first.
const std::vector<std::string>& log_level_names();

// The level named `name` (exact, lower case). Anything else is invalid_argument, naming the
// valid levels (and the closest one for a near miss, e.g. "eror" -> "error").
Expected<LogLevel> parse_log_level(std::string_view name);

// Sets the process-wide level: messages below it are not written. Returns parse_log_level's
// error (and leaves the level unchanged) for an unknown name.
Status set_log_level(std::string_view name);
void set_log_level(LogLevel level);
// The current level.
LogLevel log_level();
// Whether a message at `level` would be written (to skip building expensive messages).
bool log_enabled(LogLevel level);

// Writes one line "[time] [level] [source] message" when `level` is enabled. `level` must not
// be off. The message may span lines; it is written as it is.
void log(LogLevel level, std::string_view source, std::string_view message);
inline void log_trace(std::string_view source, std::string_view message) {
  log(LogLevel::trace, source, message);
}
inline void log_debug(std::string_view source, std::string_view message) {
  log(LogLevel::debug, source, message);
}
inline void log_info(std::string_view source, std::string_view message) {
  log(LogLevel::info, source, message);
}
inline void log_warn(std::string_view source, std::string_view message) {
  log(LogLevel::warn, source, message);
}
inline void log_error(std::string_view source, std::string_view message) {
  log(LogLevel::error, source, message);
}

// For the command line's own messages to its user: writes "engram: LEVEL: message" (no
// timestamp, no source) when `level` is enabled.
void log_user(LogLevel level, std::string_view message);

// Sends every line (without its newline) to `sink` instead of stderr; an empty function
// restores stderr. For tests that check what is logged. The sink is called with the log's lock
// held: it must not log.
void set_log_sink(std::function<void(std::string_view line)> sink);

}  // namespace engram
