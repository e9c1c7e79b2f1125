#include "bindings/cli/inspect.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>

#include "modules/hippocampus/code_buffer.h"
#include "runtime/snapshot_file.h"

namespace engram {
namespace {

std::string utc_time(uint64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1000000000ULL);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string text_of(const SnapshotSections& s, const char* name) {
  auto it = s.find(name);
  return it == s.end() ? std::string() : std::string(it->second.begin(), it->second.end());
}

template <typename T>
std::string join(const std::vector<T>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + std::to_string(v[i]);
  return out;
}

}  // namespace

Status inspect_snapshot(const std::string& path, std::ostream& out) {
  SnapshotInfo info;
  auto sections = read_snapshot(path, &info);
  if (!sections.ok()) return sections.status();
  out << fmt::format(
      "{}\n  format version {}, written by engram {} at {}, {} bytes, checksums ok\n", path,
      info.format_version, info.engram_version, utc_time(info.created_ns), info.file_size);
  out << fmt::format("  {:<14} {:>12} {:>12} {:>7}\n", "section", "stored", "raw", "ratio");
  for (const auto& s : info.sections) {
    const double ratio = s.stored_size ? static_cast<double>(s.raw_size) / s.stored_size : 0.0;
    out << fmt::format("  {:<14} {:>12} {:>12} {:>7.2f}\n", s.name, s.stored_size, s.raw_size,
                       ratio);
  }
  for (const char* name : {"config", "session", "script"}) {
    const std::string text = text_of(*sections, name);
    if (text.empty()) continue;
    auto j = nlohmann::json::parse(text, nullptr, false);
    out << "  " << name << ": " << (j.is_discarded() ? text : j.dump()) << "\n";
  }
  auto it = sections->find("code_buffer");
  if (it == sections->end()) {
    out << "  no code buffer (a session without memory)\n";
    return Status();
  }
  auto buffer = CodeBuffer::deserialize(it->second.data(), it->second.size());
  if (!buffer.ok()) {
    return Status(buffer.status().code(), "section 'code_buffer': " + buffer.status().message());
  }
  const CodeBufferConfig& c = buffer->config();
  out << fmt::format(
      "  code buffer: {} codes of c={} l={} ({} bits per item), {} of {} bytes used, capacity {}, "
      "{} seen, selector {}\n",
      buffer->size(), c.c, c.l, buffer->bits_per_item(), buffer->bytes_used(), c.budget_bytes,
      buffer->capacity(), buffer->seen(), selector_name(c.selector));
  out << "  codes per class: " << join(buffer->class_counts()) << "\n";
  out << "  codes per task:  " << join(buffer->task_counts()) << "\n";
  return Status();
}

}  // namespace engram
