// `engram report`: one self-contained HTML page for a run directory written by the shipped
// scripts (scripts/*.lua): the comparison table, accuracy-matrix heatmaps and per-task accuracy
// lines, forgetting per task, memory bytes per method, -ELBO after each distribution (lifelong
// VAE), and the PNG images of the directory. Plots are rendered by gnuplot as inline SVG
// (io/reports/gnuplot.h), images are inlined as data: URIs and the CSS is inline, so the page
// needs no network access and no other file.
//
// Shapes differ between scripts; each section is shown when its data is present and skipped
// otherwise (a data field of an unexpected shape is skipped with a note in the page, never a
// crash). Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// Parses CSV text (RFC 4180: quoted fields with doubled quotes, CRLF or LF line ends) into rows
// of fields; blank lines are skipped. `name` labels errors. Errors: malformed naming `name` and
// the line of an unterminated quoted field or of a stray quote inside an unquoted field.
Expected<std::vector<std::vector<std::string>>> parse_csv(const std::string& text,
                                                          const std::string& name);

// What went into a report, for callers that print a summary.
struct ReportInfo {
  int plots = 0;                   // inline SVG plots
  int images = 0;                  // embedded PNG files
  std::vector<std::string> notes;  // what was skipped and why
};

// Builds the HTML page for run_dir. Reads run_dir/results.json (required), run_dir/summary.csv
// (optional: a note when absent) and run_dir/*.png (embedded, sorted by name; a file that is
// not a PNG or is over 16 MiB is skipped with a note). `info`, when not null, receives counts.
// Errors: not_found naming run_dir when it is not a directory or results.json when it is
// missing; malformed naming results.json when it is not JSON or not an object, or summary.csv
// when its quoting is broken; io_error naming a file that cannot be read; gnuplot's errors
// (io/reports/gnuplot.h: not_found naming the package gnuplot-nox when it is absent).
Expected<std::string> build_html_report(const std::string& run_dir, ReportInfo* info = nullptr);

// build_html_report, then writes the page to out_path (atomically: runtime/atomic_file.h).
// Errors: as build_html_report; io_error naming out_path when it cannot be written.
Status write_html_report(const std::string& run_dir, const std::string& out_path,
                         ReportInfo* info = nullptr);

// Base64 (RFC 4648, with '=' padding) of bytes, for data: URIs.
std::string base64_encode(const std::string& bytes);

}  // namespace engram
