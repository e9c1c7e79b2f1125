// Plots rendered by gnuplot (Debian package gnuplot-nox) as SVG text, for reports.
//
// Each render writes a gnuplot script and its data to a fresh temporary directory, runs gnuplot
// on it as a subprocess (stdin from /dev/null, output captured), checks its exit status, reads
// the SVG it wrote and removes the directory. The gnuplot binary is `gnuplot` on PATH, or the
// path in $ENGRAM_GNUPLOT when set. Titles and labels are passed to gnuplot as quoted strings
// (never as commands) and drawn verbatim (no enhanced-text markup, so "er_total" keeps its
// underscore). Every function is thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// How a series is drawn.
enum class SeriesStyle {
  lines_points,   // lines through filled points (the default)
  lines,          // lines only (long series: loss curves)
  points,         // filled points only
  hollow_points,  // open circles only (reference data, e.g. a paper's figures)
};

// One line of a line plot: y[i] at x[i]. NaN values are missing (no point, no segment to it).
struct PlotSeries {
  std::string title;
  std::vector<double> x;
  std::vector<double> y;
  SeriesStyle style = SeriesStyle::lines_points;
};

// Lines with points over a shared x axis.
struct LinePlot {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<PlotSeries> series;
  std::optional<double> ymin, ymax;  // unset: gnuplot's autoscale
  bool integer_x = false;            // x tics at whole numbers only
  bool log_x = false;                // a logarithmic x axis (points with x <= 0 are dropped)
  bool log_y = false;                // a logarithmic y axis (points with y <= 0 are dropped)
  int width = 560, height = 360;
};

// A matrix drawn as coloured cells with each value printed in its cell; row 0 at the top.
// NaN cells are drawn blank (no colour, no label).
struct HeatmapPlot {
  std::string title;
  std::string xlabel;                       // names the columns, e.g. "task"
  std::string ylabel;                       // names the rows, e.g. "after training on task"
  std::vector<std::vector<double>> values;  // rows of equal length
  double zmin = 0.0, zmax = 1.0;            // the colour scale's range
  int width = 420, height = 360;
};

// Bars grouped by category: one bar per series in each category.
struct BarPlot {
  std::string title;
  std::string ylabel;
  std::vector<std::string> categories;
  std::vector<std::string> series_titles;
  std::vector<std::vector<double>> values;  // values[series][category]; NaN: no bar
  bool log_y = false;                       // a logarithmic y axis (values <= 0 get no bar)
  std::optional<double> ymax;               // the top of the y axis; unset: autoscale
  std::string yformat;  // gnuplot's format of the y tics, e.g. "%.1s%c" (2.5M); empty: default
  int width = 640, height = 360;
};

// True when a gnuplot binary can be started (gnuplot --version exits 0).
bool gnuplot_available();

// Runs gnuplot on `script` after writing each data file (name, contents) into a fresh temporary
// directory; in the script, the text "@DIR@" stands for that directory's path and each
// `set output '@DIR@/NAME.svg'` names an SVG the script writes. Returns the contents of the
// files listed in `outputs` (names inside the directory), in that order.
// Errors: not_found when gnuplot cannot be started (the message names the Debian package
// gnuplot-nox to install); script_error with gnuplot's output when it exits non-zero or is
// killed; io_error naming the path when the temporary files cannot be written or read.
Expected<std::vector<std::string>> run_gnuplot(
    const std::string& script, const std::vector<std::pair<std::string, std::string>>& data_files,
    const std::vector<std::string>& outputs);

// Renders a plot as one <svg> element (without the XML prolog), its ids prefixed with
// `id_prefix` so that several plots can be inlined in one HTML page. Errors: invalid_argument
// for an empty plot (no series / no rows / no categories), rows of unequal length, or series
// whose x and y differ in length; otherwise as run_gnuplot.
Expected<std::string> render_line_plot_svg(const LinePlot& plot, const std::string& id_prefix);
Expected<std::string> render_heatmap_svg(const HeatmapPlot& plot, const std::string& id_prefix);
Expected<std::string> render_bar_plot_svg(const BarPlot& plot, const std::string& id_prefix);

// Quotes text as a gnuplot single-quoted string ('it''s'); newlines become spaces.
std::string gnuplot_quote(const std::string& text);

}  // namespace engram
