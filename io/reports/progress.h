// Progress reporting for long phases (training a task, consolidation, evaluation).
//
// On a terminal it redraws one line in place:
//   train task 2 [#########...........] 45% 900/2000 12.3 it/s eta 1m29s loss 0.231
// Elsewhere (a log file, a pipe, CI) it prints the same information without the bar as plain
// lines, one at most every interval_seconds, so logs stay short and grep-able:
//   train task 2 45% 900/2000 12.3 it/s eta 1m29s loss 0.231
// Once done reaches total, the "eta" part becomes the elapsed time: "in 2m43s".
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace engram {

struct ProgressOptions {
  // Terminal (redraw in place) or plain lines; nullopt: terminal iff isatty(fileno(out)).
  std::optional<bool> force_terminal;
  // Plain mode: minimum seconds between two lines (completion is always printed).
  double interval_seconds = 10.0;
  // Terminal mode: minimum seconds between two redraws (completion is always drawn).
  double redraw_seconds = 0.1;
  // Monotonic time in seconds; empty: std::chrono::steady_clock. Injectable for tests.
  std::function<double()> clock;
};

// A progress line for one phase of `total` items. Rate and eta are averages since
// construction. A total <= 0 means unknown: the bar, percentage and eta are left out.
// Thread-compatible: one thread at a time calls update/finish. The FILE* is borrowed (not
// closed) and must outlive the Progress; each output is written with one fputs + fflush.
class Progress {
 public:
  // Starts the clock. Prints nothing yet.
  Progress(std::string label, int64_t total, FILE* out = stderr, ProgressOptions options = {});
  // If a terminal line was drawn and finish was not called, ends it with a newline.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Records that `done` items are complete; extra (e.g. "loss 0.231") is appended to the line.
  // Terminal: redraws the line at most every redraw_seconds. Plain: prints a line when
  // interval_seconds have passed since the last one (or the start), and once when done first
  // reaches total. Does nothing after finish().
  void update(int64_t done, const std::string& extra = "");

  // Prints the final line (with the last `done`) and a newline. In plain mode it is skipped if
  // update already printed the completion line with the same done and extra. Later calls to
  // update or finish do nothing.
  void finish(const std::string& extra = "");
  // finish() after recording that `done` items are complete, for callers that learn the final
  // count only when the phase returns (a phase whose last update was skipped or came early).
  void finish_at(int64_t done, const std::string& extra = "");

  // Changes the total, for a phase that ends before the count it announced (early stopping, a
  // stream that went quiet) or runs past it; <= 0 makes it unknown. Takes effect at the next
  // update or finish, so set_total(done) then finish() reports the phase as complete.
  void set_total(int64_t total) { total_ = total; }

  // Whether this Progress redraws a terminal line (after auto-detection or forcing).
  bool terminal() const { return terminal_; }

  // The text of the line for `done` items at time `now` (seconds on the clock), without "\r"
  // or newline. Exposed for tests and for callers that log elsewhere.
  std::string render(int64_t done, const std::string& extra, double now) const;

 private:
  void emit(const std::string& line, bool end_line);

  std::string label_;
  int64_t total_;
  FILE* out_;
  ProgressOptions options_;
  bool terminal_;
  double start_;
  double last_output_;
  bool output_any_ = false;
  bool completion_shown_ = false;  // a line for done >= total was output by update()
  int64_t completion_done_ = 0;    // ... with this done
  std::string completion_extra_;   // ... and this extra
  bool finished_ = false;
  int64_t done_ = 0;
  std::string extra_;
  size_t drawn_width_ = 0;  // terminal: length of the line currently shown
};

// Process-wide switch (the CLI's --quiet): while quiet, every Progress prints nothing.
// Thread-safe; takes effect at the next update/finish.
void set_progress_quiet(bool quiet);
bool progress_quiet();

// "45s", "1m05s", "2h03m"; "--" for a negative or non-finite duration.
std::string format_duration(double seconds);

}  // namespace engram
