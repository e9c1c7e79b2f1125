#include "io/reports/results_writer.h"

#include "runtime/atomic_file.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

namespace engram {
namespace {

std::string os_reason(int err) { return std::strerror(err); }

Status io_error(const std::string& path, const std::string& what, int err) {
  return Status(ErrorCode::io_error, fmt::format("{}: {}: {}", path, what, os_reason(err)));
}

bool needs_quotes(const std::string& field) {
  return field.find_first_of(",\"\r\n") != std::string::npos;
}

void append_csv_field(std::string& out, const std::string& field) {
  if (!needs_quotes(field)) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_line(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    append_csv_field(out, fields[i]);
  }
  out += '\n';
}

bool iequals(const std::string& a, const char* b) {
  const size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// A decimal number with optional sign, fraction, exponent and trailing '%', or nan/inf.
bool looks_numeric(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  const std::string rest = s.substr(i);
  if (iequals(rest, "nan") || iequals(rest, "inf")) return true;
  auto digits = [&]() {
    const size_t start = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
    return i - start;
  };
  size_t mantissa = digits();
  if (i < n && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  if (i < n && s[i] == '%') ++i;
  return i == n;
}

// Display width: UTF-8 code points (continuation bytes do not count).
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++w;
  }
  return w;
}

void append_padded(std::string& out, const std::string& cell, size_t width, bool right) {
  const size_t pad = width - std::min(width, display_width(cell));
  if (right) out.append(pad, ' ');
  out += cell;
  if (!right) out.append(pad, ' ');
}

void trim_trailing_spaces(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

}  // namespace

Status write_json(const std::string& path, const nlohmann::json& value) {
  std::string text;
  try {
    text = value.dump(2);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("{}: cannot serialize JSON: {}", path, e.what()));
  }
  text += '\n';
  return write_file_atomically(path, text.data(), text.size());
}

Status write_csv(const std::string& path, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  if (header.empty()) {
    return Status(ErrorCode::invalid_argument, fmt::format("{}: CSV header is empty", path));
  }
  std::string text;
  append_csv_line(text, header);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != header.size()) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("{}: CSV row {} has {} fields, the header has {}", path, r,
                                rows[r].size(), header.size()));
    }
    append_csv_line(text, rows[r]);
  }
  return write_file_atomically(path, text.data(), text.size());
}

Expected<std::string> make_run_dir(const std::string& root, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return Status(
        ErrorCode::invalid_argument,
        fmt::format("run name '{}' must be non-empty, not '.' or '..', without '/'", name));
  }
  if (root.empty()) return Status(ErrorCode::invalid_argument, "run root directory is empty");

  if (!file_writes_enabled()) return root + (root.back() == '/' ? "" : "/") + name;  // rank > 0
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec || !std::filesystem::is_directory(root)) {
    return Status(ErrorCode::io_error,
                  fmt::format("{}: cannot create directory: {}", root,
                              ec ? ec.message() : "exists and is not a directory"));
  }

  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &local);
  const std::string sep = root.back() == '/' ? "" : "/";
  const std::string base = fmt::format("{}{}{}-{}", root, sep, name, stamp);

  constexpr int kMaxAttempts = 10000;
  for (int n = 0; n < kMaxAttempts; ++n) {
    const std::string dir = n == 0 ? base : fmt::format("{}-{}", base, n);
    if (::mkdir(dir.c_str(), 0755) == 0) return dir;
    const int err = errno;
    if (err != EEXIST) return io_error(dir, "cannot create run directory", err);
  }
  return Status(
      ErrorCode::io_error,
      fmt::format("{}: {} run directories with this name already exist", base, kMaxAttempts));
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  size_t cols = header.size();
  for (const auto& row : rows) cols = std::max(cols, row.size());
  static const std::string kEmpty;
  auto cell = [&](const std::vector<std::string>& row, size_t c) -> const std::string& {
    return c < row.size() ? row[c] : kEmpty;
  };

  std::vector<size_t> width(cols, 0);
  std::vector<bool> right(cols, false);
  for (size_t c = 0; c < cols; ++c) {
    width[c] = display_width(cell(header, c));
    bool any_number = false;
    bool all_numbers = true;
    for (const auto& row : rows) {
      const std::string& v = cell(row, c);
      width[c] = std::max(width[c], display_width(v));
      if (v.empty()) continue;
      if (looks_numeric(v)) {
        any_number = true;
      } else {
        all_numbers = false;
      }
    }
    right[c] = any_number && all_numbers;
  }

  std::string out;
  auto append_line = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < cols; ++c) {
      if (c > 0) line += "  ";
      append_padded(line, cell(row, c), width[c], right[c]);
    }
    trim_trailing_spaces(line);
    out += line;
    out += '\n';
  };
  append_line(header);
  std::string rule;
  for (size_t c = 0; c < cols; ++c) {
    if (c > 0) rule += "  ";
    rule.append(width[c], '-');
  }
  trim_trailing_spaces(rule);
  out += rule;
  out += '\n';
  for (const auto& row : rows) append_line(row);
  return out;
}

}  // namespace engram
