// Durable, atomic file replacement.
#pragma once

#include <cstddef>
#include <string>

#include "runtime/status.h"

namespace engram {

// Writes size bytes at data to `path` so that a crash at any moment leaves either the previous
// file or the complete new one under `path`: write to a temporary file beside it
// (path.tmp.PID), fsync, rename over path, fsync the directory. The temporary file is removed on
// any error. Errors: io_error naming the failing step and the operating system's reason.
Status write_file_atomically(const std::string& path, const void* data, size_t size);

// Process-wide switch, on by default: when off, write_file_atomically (and make_run_dir) write
// nothing and succeed. Data-parallel ranks other than 0 learn with it off: rank 0 alone writes
// results and snapshots. Thread-safe.
void set_file_writes_enabled(bool enabled);
bool file_writes_enabled();

// Reads the whole file. Errors: not_found, io_error; too_large above max_bytes.
Status read_file(const std::string& path, std::string* out, size_t max_bytes = size_t{1} << 40);

}  // namespace engram
