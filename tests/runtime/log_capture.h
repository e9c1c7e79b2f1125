// Collects what the process-wide log (runtime/log.h) writes while it lives, and restores the
// level and stderr afterwards. One at a time.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.h"

namespace engram::test {

class LogCapture {
 public:
  explicit LogCapture(LogLevel level = LogLevel::info) : saved_(log_level()) {
    set_log_level(level);
    set_log_sink([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() {
    set_log_sink({});
    set_log_level(saved_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // The lines that contain `needle`.
  std::vector<std::string> matching(const std::string& needle) const {
    std::vector<std::string> out;
    for (const std::string& line : lines()) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }

 private:
  LogLevel saved_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace engram::test
