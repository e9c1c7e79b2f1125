#include "io/reports/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

extern char** environ;

namespace engram {
namespace {

constexpr const char* kInstallHint =
    "install the Debian package gnuplot-nox (`make deps`, or apt-get install gnuplot-nox)";

std::string gnuplot_binary() {
  const char* env = std::getenv("ENGRAM_GNUPLOT");
  return env != nullptr && env[0] != '\0' ? std::string(env) : std::string("gnuplot");
}

// A temporary directory removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/engram-plot-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr)
      path_ = buf.data();
    else
      error_ =
          fmt::format("cannot create a temporary directory {}: {}", tmpl, std::strerror(errno));
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
};

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return Status(ErrorCode::io_error, "cannot write " + path);
  return {};
}

Expected<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(ErrorCode::io_error, "cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `binary args...` with stdin from /dev/null and stdout+stderr to log_path; returns the
// wait status, or an error when the process cannot be started.
Expected<int> spawn_and_wait(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> argv_text;
  argv_text.push_back(binary);
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const bool has_slash = binary.find('/') != std::string::npos;
  const int rc = has_slash
                     ? posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ)
                     : posix_spawnp(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status(ErrorCode::not_found, fmt::format("cannot run gnuplot ({}): {}; {}", binary,
                                                    std::strerror(rc), kInstallHint));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return Status(ErrorCode::internal,
                    fmt::format("waitpid for gnuplot failed: {}", std::strerror(errno)));
    }
  }
  // A shell-less exec failure inside the child (older libcs) shows as exit 127.
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return Status(ErrorCode::not_found,
                  fmt::format("cannot run gnuplot ({}); {}", binary, kInstallHint));
  }
  return status;
}

const double kMissing = std::numeric_limits<double>::quiet_NaN();

// Writes a number for gnuplot data files; NaN/inf become the missing-value marker '?'.
std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "?"; }

// Prefixes every id and every reference to one (href='#..', url(#..)) in gnuplot's SVG, and
// drops everything before the <svg element (XML prolog).
std::string inline_svg(const std::string& svg, const std::string& prefix) {
  std::string s = svg;
  const size_t start = s.find("<svg");
  if (start != std::string::npos) s.erase(0, start);
  const std::pair<const char*, std::string> rewrites[] = {
      {"id='", "id='" + prefix},       {"id=\"", "id=\"" + prefix},
      {"href='#", "href='#" + prefix}, {"href=\"#", "href=\"#" + prefix},
      {"url(#", "url(#" + prefix},
  };
  for (const auto& [from, to] : rewrites) {
    const std::string f(from);
    size_t pos = 0;
    while ((pos = s.find(f, pos)) != std::string::npos) {
      // Only attribute names: "id=" must not be the tail of another name (e.g. "grid=").
      if (f[0] == 'i' && pos > 0 &&
          (std::isalnum(static_cast<unsigned char>(s[pos - 1])) || s[pos - 1] == '_' ||
           s[pos - 1] == '-')) {
        pos += f.size();
        continue;
      }
      s.replace(pos, f.size(), to);
      pos += to.size();
    }
  }
  return s;
}

std::string terminal(int width, int height) {
  return fmt::format(
      "set terminal svg size {},{} noenhanced font 'sans,11' background '#ffffff'\n"
      "set encoding utf8\nset datafile missing '?'\n",
      width, height);
}

Expected<std::string> render_one(const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& data,
                                 int width, int height, const std::string& id_prefix) {
  const std::string script = terminal(width, height) + "set output '@DIR@/plot.svg'\n" + body;
  auto out = run_gnuplot(script, data, {"plot.svg"});
  if (!out.ok()) return out.status();
  return inline_svg((*out)[0], id_prefix);
}

}  // namespace

std::string gnuplot_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out + "'";
}

bool gnuplot_available() {
  ScratchDir dir;
  if (dir.path().empty()) return false;
  auto status = spawn_and_wait(gnuplot_binary(), {"--version"}, dir.path() + "/version.log");
  return status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

Expected<std::vector<std::string>> run_gnuplot(
    const std::string& script, const std::vector<std::pair<std::string, std::string>>& data_files,
    const std::vector<std::string>& outputs) {
  ScratchDir dir;
  if (dir.path().empty()) return Status(ErrorCode::io_error, dir.error());
  for (const auto& [name, text] : data_files) {
    Status s = write_file(dir.path() + "/" + name, text);
    if (!s.ok()) return s;
  }
  std::string body = script;
  for (size_t pos = 0; (pos = body.find("@DIR@", pos)) != std::string::npos;) {
    body.replace(pos, 5, dir.path());
    pos += dir.path().size();
  }
  const std::string script_path = dir.path() + "/plot.gp";
  Status s = write_file(script_path, body);
  if (!s.ok()) return s;
  const std::string log_path = dir.path() + "/gnuplot.log";
  auto status = spawn_and_wait(gnuplot_binary(), {script_path}, log_path);
  if (!status.ok()) return status.status();
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    auto log = read_file(log_path);
    const std::string how = WIFEXITED(*status)
                                ? fmt::format("exited with status {}", WEXITSTATUS(*status))
                                : fmt::format("was killed by signal {}", WTERMSIG(*status));
    return Status(ErrorCode::script_error,
                  fmt::format("gnuplot {}: {}", how, log.ok() ? *log : std::string("(no output)")));
  }
  std::vector<std::string> result;
  for (const std::string& name : outputs) {
    auto text = read_file(dir.path() + "/" + name);
    if (!text.ok()) return text.status();
    result.push_back(std::move(*text));
  }
  return result;
}

Expected<std::string> render_line_plot_svg(const LinePlot& plot, const std::string& id_prefix) {
  if (plot.series.empty()) {
    return Status(ErrorCode::invalid_argument, "line plot '" + plot.title + "' has no series");
  }
  std::vector<std::pair<std::string, std::string>> data;
  std::string plots;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& ps = plot.series[i];
    if (ps.x.size() != ps.y.size()) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("line plot '{}': series '{}' has {} x and {} y values", plot.title,
                                ps.title, ps.x.size(), ps.y.size()));
    }
    std::string text;
    for (size_t k = 0; k < ps.x.size(); ++k) {
      // A log axis has no place for values <= 0: they become missing points.
      const double x = plot.log_x && !(ps.x[k] > 0) ? kMissing : ps.x[k];
      const double y = plot.log_y && !(ps.y[k] > 0) ? kMissing : ps.y[k];
      text += num(x) + " " + num(y) + "\n";
    }
    if (text.empty()) text = "? ?\n";
    const std::string name = fmt::format("s{}.dat", i);
    data.emplace_back(name, text);
    const char* with = "linespoints lw 2 pt 7 ps 0.6";
    switch (ps.style) {
      case SeriesStyle::lines_points: break;
      case SeriesStyle::lines: with = "lines lw 1.5"; break;
      case SeriesStyle::points: with = "points pt 7 ps 0.8"; break;
      case SeriesStyle::hollow_points: with = "points pt 6 ps 0.9"; break;
    }
    plots += fmt::format("{}'@DIR@/{}' using 1:2 with {} title {}", i == 0 ? "plot " : ", ", name,
                         with, gnuplot_quote(ps.title));
  }
  std::string body =
      fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", gnuplot_quote(plot.title),
                  gnuplot_quote(plot.xlabel), gnuplot_quote(plot.ylabel));
  body += "set grid\nset key outside right top\n";
  if (plot.integer_x) {
    // Whole-number tics, and a margin of a fifth of a step around the data.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const PlotSeries& ps : plot.series) {
      for (double x : ps.x) {
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
      }
    }
    body += "set xtics 1\nset mxtics 1\n";
    if (lo <= hi) body += fmt::format("set xrange [{}:{}]\n", num(lo - 0.2), num(hi + 0.2));
  }
  if (plot.log_x) body += "set logscale x\nset mxtics 10\n";
  if (plot.log_y) body += "set logscale y\n";
  if (plot.ymin || plot.ymax) {
    body += fmt::format("set yrange [{}:{}]\n", plot.ymin ? num(*plot.ymin) : "*",
                        plot.ymax ? num(*plot.ymax) : "*");
  }
  return render_one(body + plots + "\n", data, plot.width, plot.height, id_prefix);
}

Expected<std::string> render_heatmap_svg(const HeatmapPlot& plot, const std::string& id_prefix) {
  if (plot.values.empty() || plot.values[0].empty()) {
    return Status(ErrorCode::invalid_argument, "heatmap '" + plot.title + "' has no values");
  }
  const size_t rows = plot.values.size(), cols = plot.values[0].size();
  std::string text;
  for (size_t r = 0; r < rows; ++r) {
    if (plot.values[r].size() != cols) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("heatmap '{}': row {} has {} values, row 0 has {}", plot.title, r,
                                plot.values[r].size(), cols));
    }
    for (size_t c = 0; c < cols; ++c) text += (c ? " " : "") + num(plot.values[r][c]);
    text += "\n";
  }
  std::string xtics, ytics;
  for (size_t c = 0; c < cols; ++c) xtics += fmt::format("{}'{}' {}", c ? ", " : "", c + 1, c);
  for (size_t r = 0; r < rows; ++r) ytics += fmt::format("{}'{}' {}", r ? ", " : "", r + 1, r);
  std::string body = fmt::format(
      "set title {}\nset xlabel {}\nset ylabel {}\n"
      "set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n"
      "set xtics ({}) scale 0\nset ytics ({}) scale 0\n"
      "set cbrange [{}:{}]\nset palette defined (0 '#d73027', 0.5 '#fee08b', 1 '#1a9850')\n"
      "set size ratio -1\nunset key\n",
      gnuplot_quote(plot.title), gnuplot_quote(plot.xlabel), gnuplot_quote(plot.ylabel),
      num(cols - 0.5), num(rows - 0.5), xtics, ytics, num(plot.zmin), num(plot.zmax));
  body +=
      // Boxes rather than `with image`: an image needs two rows and two columns.
      "plot '@DIR@/m.dat' matrix using 1:2:(0.5):(0.5):3 with boxxyerror fillcolor palette "
      "fillstyle solid 1.0 noborder notitle, "
      "'' matrix using 1:2:($3 == $3 ? sprintf('%.2f', $3) : '') with labels font 'sans,9' "
      "notitle\n";
  return render_one(body, {{"m.dat", text}}, plot.width, plot.height, id_prefix);
}

Expected<std::string> render_bar_plot_svg(const BarPlot& plot, const std::string& id_prefix) {
  if (plot.categories.empty() || plot.series_titles.empty()) {
    return Status(ErrorCode::invalid_argument, "bar plot '" + plot.title + "' has no bars");
  }
  if (plot.values.size() != plot.series_titles.size()) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("bar plot '{}': {} series titles, {} value rows", plot.title,
                              plot.series_titles.size(), plot.values.size()));
  }
  std::string text;
  for (size_t c = 0; c < plot.categories.size(); ++c) {
    std::string label = plot.categories[c];  // a double-quoted data-file string
    for (char& ch : label) {
      if (ch == '"' || ch == '\n' || ch == '\r') ch = '\'';
    }
    text += "\"" + label + "\"";
    for (size_t s = 0; s < plot.values.size(); ++s) {
      if (plot.values[s].size() != plot.categories.size()) {
        return Status(
            ErrorCode::invalid_argument,
            fmt::format("bar plot '{}': series '{}' has {} values for {} categories", plot.title,
                        plot.series_titles[s], plot.values[s].size(), plot.categories.size()));
      }
      const double v = plot.values[s][c];
      text += " " + ((plot.log_y && !(v > 0)) ? std::string("?") : num(v));
    }
    text += "\n";
  }
  std::string body = fmt::format("set title {}\nset ylabel {}\n", gnuplot_quote(plot.title),
                                 gnuplot_quote(plot.ylabel));
  body +=
      "set style data histograms\nset style histogram clustered gap 1\n"
      "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n"
      "set xtics rotate by -30\nset yrange [0:*]\n";
  // Many series: the key goes under the plot, and the plot widens with the bar count.
  const size_t bars = plot.categories.size() * plot.series_titles.size();
  body += plot.series_titles.size() > 4 ? "set key outside below\n" : "set key outside right top\n";
  const int width = std::max(plot.width, static_cast<int>(std::min<size_t>(bars * 12 + 200, 1400)));
  const int height = plot.series_titles.size() > 4
                         ? plot.height + 20 * static_cast<int>((plot.series_titles.size() + 2) / 3)
                         : plot.height;
  if (plot.ymax && !plot.log_y) body += fmt::format("set yrange [0:{}]\n", num(*plot.ymax));
  if (plot.log_y) body += "set logscale y\nset yrange [*:*]\n";
  if (!plot.yformat.empty()) body += "set format y " + gnuplot_quote(plot.yformat) + "\n";
  for (size_t s = 0; s < plot.series_titles.size(); ++s) {
    body += fmt::format("{}'@DIR@/b.dat' using {}:xtic(1) title {}", s == 0 ? "plot " : ", ", s + 2,
                        gnuplot_quote(plot.series_titles[s]));
  }
  return render_one(body + "\n", {{"b.dat", text}}, width, height, id_prefix);
}

}  // namespace engram
