// `engram report`: one self-contained HTML page for a run directory written by the shipped
// scripts (scripts/*.lua): the comparison table (with each run's FWT when results.json has it),
// accuracy-matrix heatmaps and per-task accuracy lines, forgetting per task, memory bytes per
// method, -ELBO after each distribution (lifelong VAE), the association's -ELBO per task, loss
// and samples/s over iterations (run.curve), distortion against compression (compression
// sweep), a distill run's accuracy per training source and episodes, its memories and time,
// and the PNG images of the directory (recollections_<method>_seed<k>.png under
// "Recollections"). Plots are rendered by gnuplot as inline SVG (io/reports/gnuplot.h), images
// are inlined as data: URIs and the CSS is inline, so the page needs no network access and no
// other file.
//
// Shapes differ between scripts; each section is shown when its data is present and skipped
// otherwise (a data field of an unexpected shape is skipped with a note in the page, never a
// crash). A file that is present but damaged (JSON that does not parse, CSV with broken quoting
// or a non-number where a number belongs, a PNG that does not decode) is an error naming it.
// Thread-safe (no shared state).
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

// Builds the HTML page for run_dir. Reads run_dir/results.json (required, except in a distill
// run directory: summary.json + accuracy.csv, with memories.csv and timing.csv optional; and in a
// directory holding only a compression sweep's compression_sweep.csv, e.g. results/),
// run_dir/summary.csv (optional: without it the comparison table lists results.json's scalar
// fields) and run_dir/*.png (decoded to check them, embedded, sorted by name). `info`, when not
// null, receives counts. Errors: not_found naming run_dir when it is not a directory, or
// results.json (or a distill run's accuracy.csv) when it is missing; malformed naming the file
// for a damaged results.json / summary.json (not JSON or not an object), CSV (broken quoting, a
// row longer than its header, a distill table's non-number) or PNG (over 16 MiB: too_large);
// io_error naming a file that cannot be read; gnuplot's errors (io/reports/gnuplot.h: not_found
// naming the package gnuplot-nox when it is absent).
Expected<std::string> build_html_report(const std::string& run_dir, ReportInfo* info = nullptr);

// build_html_report, then writes the page to out_path (atomically: runtime/atomic_file.h).
// Errors: as build_html_report; io_error naming out_path when it cannot be written.
Status write_html_report(const std::string& run_dir, const std::string& out_path,
                         ReportInfo* info = nullptr);

// Base64 (RFC 4648, with '=' padding) of bytes, for data: URIs.
std::string base64_encode(const std::string& bytes);

}  // namespace engram
