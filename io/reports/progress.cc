#include "io/reports/progress.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <utility>

namespace engram {
namespace {

constexpr int kBarWidth = 20;

std::atomic<bool> g_quiet{false};

double steady_seconds() {
  using std::chrono::duration;
  using std::chrono::steady_clock;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(FILE* out) {
  const int fd = out != nullptr ? fileno(out) : -1;
  return fd >= 0 && isatty(fd) != 0;
}

std::string format_rate(double rate) {
  if (!std::isfinite(rate) || rate < 0.0) return "-- it/s";
  return rate >= 1.0 ? fmt::format("{:.1f} it/s", rate) : fmt::format("{:.2f} it/s", rate);
}

}  // namespace

void set_progress_quiet(bool quiet) { g_quiet.store(quiet, std::memory_order_relaxed); }
bool progress_quiet() { return g_quiet.load(std::memory_order_relaxed); }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "--";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string label, int64_t total, FILE* out, ProgressOptions options)
    : label_(std::move(label)), total_(total), out_(out), options_(std::move(options)) {
  if (!options_.clock) options_.clock = steady_seconds;
  terminal_ = options_.force_terminal.has_value() ? *options_.force_terminal : is_terminal(out_);
  start_ = options_.clock();
  last_output_ = start_;
}

Progress::~Progress() {
  if (terminal_ && output_any_ && !finished_ && out_ != nullptr) {
    std::fputs("\n", out_);
    std::fflush(out_);
  }
}

std::string Progress::render(int64_t done, const std::string& extra, double now) const {
  const double elapsed = now - start_;
  const double rate = elapsed > 0.0 ? static_cast<double>(done) / elapsed : NAN;
  std::string line = label_;
  auto part = [&line](const std::string& p) {
    if (!line.empty()) line += ' ';
    line += p;
  };
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(done) / total_, 0.0, 1.0);
    if (terminal_) {
      const int filled = static_cast<int>(fraction * kBarWidth);
      part("[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]");
    }
    part(fmt::format("{}% {}/{}", static_cast<int>(fraction * 100.0), done, total_));
    part(format_rate(rate));
    if (done >= total_) {
      part("in " + format_duration(elapsed));
    } else {
      const double eta = rate > 0.0 ? static_cast<double>(total_ - done) / rate : NAN;
      part("eta " + format_duration(eta));
    }
  } else {
    part(fmt::format("{}", done));
    part(format_rate(rate));
  }
  if (!extra.empty()) part(extra);
  return line;
}

void Progress::emit(const std::string& line, bool end_line) {
  if (out_ == nullptr || progress_quiet()) return;
  std::string text;
  if (terminal_) {
    // Pad over the remains of a longer previous line (no escape codes needed).
    text = "\r" + line;
    if (drawn_width_ > line.size()) text.append(drawn_width_ - line.size(), ' ');
    drawn_width_ = end_line ? 0 : line.size();
    if (end_line) text += '\n';
  } else {
    text = line + "\n";
  }
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
  output_any_ = true;
}

void Progress::update(int64_t done, const std::string& extra) {
  if (finished_) return;
  const double now = options_.clock();
  done_ = done;
  extra_ = extra;
  const bool completion = total_ > 0 && done >= total_ && !completion_shown_;
  const double min_gap = terminal_ ? options_.redraw_seconds : options_.interval_seconds;
  // A terminal shows the bar right away; plain mode waits a full interval before its first line.
  const bool first_draw = terminal_ && !output_any_;
  const bool due = first_draw || now - last_output_ >= min_gap;
  if (!due && !completion) return;
  emit(render(done, extra, now), false);
  last_output_ = now;
  if (completion) {
    completion_shown_ = true;
    completion_done_ = done;
    completion_extra_ = extra;
  }
}

void Progress::finish_at(int64_t done, const std::string& extra) {
  if (finished_) return;
  done_ = done;
  finish(extra);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  const bool repeat = completion_shown_ && completion_done_ == done_ && completion_extra_ == extra;
  if (!terminal_ && repeat) return;
  emit(render(done_, extra, options_.clock()), true);
}

}  // namespace engram
