#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace engram {
namespace {

Status os_error(const std::string& path, const std::string& what, int err) {
  return Status(ErrorCode::io_error, fmt::format("{}: {}: {}", path, what, std::strerror(err)));
}

// Makes a completed rename durable. Best effort: some filesystems refuse fsync on a directory,
// and the data itself is already safe at this point.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

namespace {
std::atomic<bool> g_writes_enabled{true};
}  // namespace

void set_file_writes_enabled(bool enabled) { g_writes_enabled = enabled; }
bool file_writes_enabled() { return g_writes_enabled; }

Status write_file_atomically(const std::string& path, const void* data, size_t size) {
  if (!g_writes_enabled) return Status();
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return os_error(path, fmt::format("cannot create temporary file {}", tmp), err);
  }
  // Called right after a failed call, before anything else can clobber errno.
  auto fail = [&](const char* what, bool close_fd) {
    const int err = errno;
    if (close_fd) ::close(fd);
    ::unlink(tmp.c_str());
    return os_error(path, fmt::format("cannot {} {}", what, tmp), err);
  };
  const auto* bytes = static_cast<const char*>(data);
  size_t off = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, bytes + off, size - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", true);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("sync", true);
  if (::close(fd) != 0) return fail("close", false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename", false);
  sync_parent_dir(path);
  return Status();
}

Status read_file(const std::string& path, std::string* out, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status(ErrorCode::not_found, path + ": no such file");
    return os_error(path, "cannot open", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return os_error(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(ErrorCode::invalid_argument, path + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status(ErrorCode::too_large,
                  fmt::format("{}: {} bytes exceeds the limit of {}", path, st.st_size, max_bytes));
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (off < out->size()) {
    const ssize_t n = ::read(fd, out->data() + off, out->size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return os_error(path, "cannot read", err);
    }
    if (n == 0) break;  // the file shrank while we read it
    off += static_cast<size_t>(n);
  }
  out->resize(off);
  ::close(fd);
  return Status();
}

}  // namespace engram
