// `engram report RUN_DIR [--out FILE]`: writes one self-contained HTML report of a run
// directory (io/reports/html_report.h).
#pragma once

#include <ostream>
#include <string>

#include "runtime/status.h"

namespace engram {

// Writes the report of run_dir to out_path (empty: run_dir/report.html), then prints to `out`
// the line "report: PATH (N plots, M images, S s)" and one "note: ..." line per section or file
// skipped. Errors: as write_html_report (they name the bad file: results.json, summary.csv,
// the output path, or the Debian package gnuplot-nox when gnuplot is missing).
Status report_command(const std::string& run_dir, const std::string& out_path, std::ostream& out);

}  // namespace engram
