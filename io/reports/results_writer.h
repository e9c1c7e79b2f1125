// Writing a run's results: a fresh run directory, JSON and CSV files written atomically, and a
// plain-text comparison table for terminals and logs.
//
// Atomic means: the data goes to "<path>.tmp", is fsync'ed, then renamed over <path>, so a
// reader (or a crash) sees either the old file or the complete new one, never a torn one. Two
// writers of the same path at once are not supported (they share the .tmp name).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/status.h"

namespace engram {

// Writes value as pretty-printed JSON (2-space indent, trailing newline) to path, atomically.
// Errors: invalid_argument if value holds a string that is not valid UTF-8 (nothing is
// written); io_error, naming the path and the OS reason, if the file cannot be created,
// written, synced or renamed (the .tmp file is removed). Thread-safe for distinct paths.
Status write_json(const std::string& path, const nlohmann::json& value);

// Writes a CSV file (RFC 4180 quoting: a field holding a comma, a double quote, CR or LF is
// enclosed in double quotes with inner quotes doubled; lines end with "\n") to path,
// atomically: the header line, then one line per row. Errors: invalid_argument if the header
// is empty or a row's length differs from the header's (nothing is written); io_error as for
// write_json. Thread-safe for distinct paths.
Status write_csv(const std::string& path, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// Creates and returns a new directory "root/name-YYYYmmdd-HHMMSS" (local time), creating root
// and its parents as needed. If that directory already exists (e.g. two runs started in the
// same second) it tries "...-1", "...-2", ... ; an existing directory is never reused, even
// by a concurrent process (mkdir is the arbiter). Errors: invalid_argument if name is empty,
// ".", ".." or contains '/'; io_error naming the path if root or the run directory cannot be
// created. Thread-safe.
Expected<std::string> make_run_dir(const std::string& root, const std::string& name);

// Formats a plain-text table: the header, a line of dashes under each column, then the rows;
// columns separated by two spaces, each as wide as its widest cell (in UTF-8 code points).
// Columns whose non-empty cells are all numbers (e.g. "0.93", "-1e-3", "42", "12.5%") are
// right-aligned, header included; others are left-aligned. Short rows are padded with empty
// cells. Lines have no trailing spaces and each ends with "\n". Pure function; thread-safe.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace engram
