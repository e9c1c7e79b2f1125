#include "io/reports/html_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/reports/gnuplot.h"
#include "runtime/atomic_file.h"

namespace engram {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Matrix = std::vector<std::vector<double>>;

constexpr size_t kMaxResultsBytes = size_t{256} << 20;
constexpr size_t kMaxImageBytes = size_t{16} << 20;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string esc(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A scalar JSON value as text (strings unquoted); empty for non-scalars.
std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_boolean()) return v.dump();
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  return "";
}

std::string bytes_text(double b) {
  if (!std::isfinite(b)) return "-";
  return fmt::format("{:.0f}", b) + (b >= 1024 * 1024
                                         ? fmt::format(" ({:.2f} MiB)", b / (1024 * 1024))
                                     : b >= 1024 ? fmt::format(" ({:.1f} KiB)", b / 1024)
                                                 : std::string());
}

// An array of equally long arrays of numbers (null cells read as NaN); nullopt otherwise.
std::optional<Matrix> as_matrix(const json& v) {
  if (!v.is_array() || v.empty()) return std::nullopt;
  Matrix m;
  for (const json& row : v) {
    if (!row.is_array() || row.empty()) return std::nullopt;
    std::vector<double> r;
    for (const json& x : row) {
      if (x.is_number())
        r.push_back(x.get<double>());
      else if (x.is_null())
        r.push_back(kNaN);
      else
        return std::nullopt;
    }
    if (!m.empty() && r.size() != m[0].size()) return std::nullopt;
    m.push_back(std::move(r));
  }
  return m;
}

// Forgetting of each task but the last: the best accuracy on task j after training on any task
// i in [j, T-1) minus the accuracy after the last task (R[T-1][j]). Empty when fewer than 2 rows.
std::vector<double> forgetting_per_task(const Matrix& m) {
  std::vector<double> f;
  const size_t T = m.size();
  if (T < 2) return f;
  for (size_t j = 0; j + 1 < T && j < m[0].size(); ++j) {
    double best = kNaN;
    for (size_t i = j; i + 1 < T; ++i) {
      if (std::isfinite(m[i][j]) && !(best >= m[i][j])) best = m[i][j];
    }
    f.push_back(best - m[T - 1][j]);
  }
  return f;
}

// One entry of results.json's "runs".
struct Run {
  const json* j = nullptr;
  std::string base;   // method / variant / name
  std::string label;  // base, plus what tells apart runs of the same base and seed
  std::string seed;
};

std::vector<Run> collect_runs(const json& results) {
  std::vector<Run> runs;
  auto it = results.find("runs");
  if (it == results.end() || !it->is_array()) return runs;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& r = (*it)[i];
    if (!r.is_object()) continue;
    Run run;
    run.j = &r;
    for (const char* key : {"method", "variant", "name"}) {
      if (r.contains(key) && r[key].is_string()) {
        run.base = r[key].get<std::string>();
        break;
      }
    }
    if (run.base.empty()) run.base = fmt::format("run {}", i + 1);
    if (r.contains("seed")) run.seed = scalar_text(r["seed"]);
    runs.push_back(std::move(run));
  }
  // Runs sharing a base and a seed (e.g. Omniglot's budgets and steps): add the integer and
  // string fields whose values differ among them to the label.
  std::map<std::string, std::vector<Run*>> groups;
  for (Run& r : runs) groups[r.base + "\x1f" + r.seed].push_back(&r);
  std::map<std::string, std::set<std::string>> distinguishing;  // base -> keys
  for (auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    for (auto it2 = members[0]->j->begin(); it2 != members[0]->j->end(); ++it2) {
      if (it2.key() == "seed") continue;
      if (!(it2->is_number_integer() || it2->is_number_unsigned() || it2->is_string())) continue;
      for (Run* m : members) {
        auto f = m->j->find(it2.key());
        if (f == m->j->end() || *f != *it2) {
          distinguishing[members[0]->base].insert(it2.key());
          break;
        }
      }
    }
  }
  for (Run& r : runs) {
    r.label = r.base;
    auto d = distinguishing.find(r.base);
    if (d == distinguishing.end()) continue;
    for (const std::string& k : d->second) {
      auto f = r.j->find(k);
      if (f != r.j->end()) r.label += fmt::format(" {}={}", k, scalar_text(*f));
    }
  }
  return runs;
}

// Labels in order of first appearance.
std::vector<std::string> labels_in_order(const std::vector<Run>& runs) {
  std::vector<std::string> labels;
  for (const Run& r : runs) {
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) {
      labels.push_back(r.label);
    }
  }
  return labels;
}

constexpr const char* kCss = R"(
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1400px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 0.8em; align-items: flex-start; }
.plot svg { max-width: 100%; height: auto; }
figure { margin: 0.4em; } figcaption { font-size: 0.85em; color: #555; }
img.grid { image-rendering: pixelated; border: 1px solid #ccc; max-width: 480px; }
.note { color: #7a4b00; font-size: 0.9em; } .meta { color: #555; font-size: 0.9em; }
)";

class ReportBuilder {
 public:
  ReportBuilder(std::string run_dir, ReportInfo* info) : dir_(std::move(run_dir)), info_(info) {}

  Expected<std::string> build() {
    std::error_code ec;  // the non-throwing overloads: a permission error is not a crash
    if (!fs::is_directory(dir_, ec)) {
      return Status(ErrorCode::not_found, "run directory " + dir_ + " does not exist");
    }
    auto results = load_results();
    if (!results.ok()) return results.status();
    results_ = std::move(*results);
    runs_ = collect_runs(results_);
    labels_ = labels_in_order(runs_);
    if (runs_.empty()) {
      notes_.push_back(file("results.json") +
                       " has no \"runs\" array of objects: no per-method sections");
    }

    std::string name = fs::path(dir_).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(dir_).lexically_normal().parent_path().filename().string();
    body_ += fmt::format("<h1>Run report: {}</h1>\n<p class=\"meta\">{} &middot; {} runs</p>\n",
                         esc(name), esc(fs::absolute(dir_, ec).lexically_normal().string()),
                         runs_.size());
    for (Status s : {protocol_section(), summary_section(), accuracy_section(),
                     forgetting_section(), memory_section(), elbo_section(), images_section()}) {
      if (!s.ok()) return s;
    }
    if (!notes_.empty()) {
      body_ += "<h2>Notes</h2>\n<ul>\n";
      for (const std::string& n : notes_) body_ += "<li class=\"note\">" + esc(n) + "</li>\n";
      body_ += "</ul>\n";
    }
    if (info_ != nullptr) {
      info_->plots = plots_;
      info_->images = images_;
      info_->notes = notes_;
    }
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
           esc("engram report: " + name) + "</title>\n<style>" + kCss +
           "</style>\n</head>\n<body>\n" + body_ + "</body>\n</html>\n";
  }

 private:
  std::string file(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  Expected<json> load_results() {
    const std::string path = file("results.json");
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return Status(ErrorCode::not_found, path + " is missing (not a run directory?)");
    }
    std::string text;
    Status s = read_file(path, &text, kMaxResultsBytes);
    if (!s.ok()) return Status(s.code(), path + ": " + s.message());
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      return Status(ErrorCode::malformed, path + " is not valid JSON: " + e.what());
    }
    if (!j.is_object()) {
      return Status(ErrorCode::malformed,
                    path + " is not a JSON object (got " + std::string(j.type_name()) + ")");
    }
    return j;
  }

  // Adds a rendered plot as a figure, or a note when it cannot be drawn for lack of data.
  Status add_plot(Expected<std::string> svg, const std::string& caption) {
    if (!svg.ok()) {
      if (svg.status().code() == ErrorCode::invalid_argument) {
        notes_.push_back(caption + ": " + svg.status().message());
        return {};
      }
      return svg.status();
    }
    body_ += "<figure class=\"plot\">" + *svg + "<figcaption>" + esc(caption) +
             "</figcaption></figure>\n";
    ++plots_;
    return {};
  }
  std::string next_id() { return fmt::format("p{}_", plots_ + 1); }

  Status protocol_section() {
    auto it = results_.find("protocol");
    if (it == results_.end() || !it->is_object()) return {};
    body_ += "<h2>Protocol</h2>\n<table>\n";
    for (auto p = it->begin(); p != it->end(); ++p) {
      std::string v = p->is_string() ? p->get<std::string>() : p->dump();
      if (v.size() > 200) v = v.substr(0, 200) + "...";
      body_ +=
          "<tr><th class=\"l\">" + esc(p.key()) + "</th><td class=\"l\">" + esc(v) + "</td></tr>\n";
    }
    body_ += "</table>\n";
    return {};
  }

  Status summary_section() {
    const std::string path = file("summary.csv");
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      notes_.push_back(path + " is missing: no comparison table");
      return {};
    }
    std::string text;
    Status s = read_file(path, &text, kMaxResultsBytes);
    if (!s.ok()) return Status(s.code(), path + ": " + s.message());
    auto rows = parse_csv(text, path);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) {
      notes_.push_back(path + " is empty: no comparison table");
      return {};
    }
    body_ += "<h2>Comparison</h2>\n<table class=\"summary\">\n<thead><tr>";
    for (const std::string& h : (*rows)[0]) body_ += "<th>" + esc(h) + "</th>";
    body_ += "</tr></thead>\n<tbody>\n";
    for (size_t r = 1; r < rows->size(); ++r) {
      body_ += "<tr>";
      for (size_t c = 0; c < (*rows)[r].size(); ++c) {
        body_ += (c == 0 ? "<td class=\"l\">" : "<td>") + esc((*rows)[r][c]) + "</td>";
      }
      body_ += "</tr>\n";
    }
    body_ += "</tbody>\n</table>\n";
    return {};
  }

  // The first run of each label that has a matrix under `key`.
  std::vector<std::pair<const Run*, Matrix>> first_matrices(const std::string& key) {
    std::vector<std::pair<const Run*, Matrix>> out;
    std::set<std::string> seen;
    for (const Run& r : runs_) {
      if (seen.count(r.label) || !r.j->contains(key)) continue;
      auto m = as_matrix((*r.j)[key]);
      if (!m) {
        notes_.push_back(
            fmt::format("{} (seed {}): \"{}\" is not a matrix of numbers", r.label, r.seed, key));
        seen.insert(r.label);
        continue;
      }
      seen.insert(r.label);
      out.emplace_back(&r, std::move(*m));
    }
    return out;
  }

  Status accuracy_section() {
    const std::pair<const char*, const char*> kinds[] = {{"class_il", "class-IL"},
                                                         {"task_il", "task-IL"}};
    std::map<std::string, std::vector<std::pair<std::string, Matrix>>> by_label;
    std::vector<std::pair<std::string, std::string>> order;  // label, seed
    for (const auto& [key, name] : kinds) {
      for (auto& [run, m] : first_matrices(key)) {
        if (!by_label.count(run->label)) order.emplace_back(run->label, run->seed);
        by_label[run->label].emplace_back(name, std::move(m));
      }
    }
    if (order.empty()) return {};
    body_ +=
        "<h2>Accuracy matrices</h2>\n<p class=\"meta\">Row i, column j: accuracy on task j after "
        "training on task i (first seed of each method).</p>\n";
    for (const auto& [label, seed] : order) {
      body_ += "<h3>" + esc(label) + (seed.empty() ? "" : " (seed " + esc(seed) + ")") +
               "</h3>\n<div class=\"plots\">\n";
      for (const auto& [kind, m] : by_label[label]) {
        HeatmapPlot h;
        h.title = label + ": " + kind + " accuracy";
        h.xlabel = "task";
        h.ylabel = "after training on task";
        h.values = m;
        Status s = add_plot(render_heatmap_svg(h, next_id()), h.title + " matrix");
        if (!s.ok()) return s;
      }
      for (const auto& [kind, m] : by_label[label]) {
        LinePlot lp;
        lp.title = label + ": " + kind + " accuracy on each task";
        lp.xlabel = "after training on task";
        lp.ylabel = "accuracy";
        lp.ymin = 0.0;
        lp.ymax = 1.02;
        lp.integer_x = true;
        for (size_t j = 0; j < m[0].size(); ++j) {
          PlotSeries ps;
          ps.title = fmt::format("task {}", j + 1);
          for (size_t i = 0; i < m.size(); ++i) {
            ps.x.push_back(static_cast<double>(i + 1));
            ps.y.push_back(i >= j ? m[i][j] : kNaN);
          }
          lp.series.push_back(std::move(ps));
        }
        Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title);
        if (!s.ok()) return s;
      }
      body_ += "</div>\n";
    }
    return {};
  }

  Status forgetting_section() {
    bool header = false;
    for (const auto& [key, name] :
         {std::pair<std::string, std::string>{"class_il", "class-IL"}, {"task_il", "task-IL"}}) {
      // Mean forgetting per task over the runs (seeds) of each label.
      std::map<std::string, std::pair<std::vector<double>, int>> sums;
      size_t tasks = 0;
      for (const Run& r : runs_) {
        if (!r.j->contains(key)) continue;
        auto m = as_matrix((*r.j)[key]);
        if (!m) continue;
        std::vector<double> f = forgetting_per_task(*m);
        if (f.empty()) continue;
        auto& [sum, n] = sums[r.label];
        if (n > 0 && sum.size() != f.size()) continue;
        if (n == 0) sum.assign(f.size(), 0.0);
        for (size_t t = 0; t < f.size(); ++t) sum[t] += f[t];
        ++n;
        tasks = std::max(tasks, f.size());
      }
      if (sums.empty()) continue;
      if (!header) {
        body_ +=
            "<h2>Forgetting per task</h2>\n<p class=\"meta\">Best accuracy on a task before the "
            "last task minus its accuracy after the last, mean over seeds.</p>\n";
        header = true;
      }
      body_ += "<h3>" + esc(name) + "</h3>\n<table>\n<tr><th class=\"l\">method</th><th>seeds</th>";
      for (size_t t = 0; t < tasks; ++t) body_ += fmt::format("<th>task {}</th>", t + 1);
      body_ += "<th>mean</th></tr>\n";
      BarPlot bp;
      bp.title = name + " forgetting per task";
      bp.ylabel = "forgetting";
      for (size_t t = 0; t < tasks; ++t) bp.categories.push_back(fmt::format("task {}", t + 1));
      for (const std::string& label : labels_) {
        auto it = sums.find(label);
        if (it == sums.end()) continue;
        const auto& [sum, n] = it->second;
        body_ += "<tr><td class=\"l\">" + esc(label) + fmt::format("</td><td>{}</td>", n);
        std::vector<double> means(tasks, kNaN);
        double total = 0;
        for (size_t t = 0; t < sum.size(); ++t) {
          means[t] = sum[t] / n;
          total += means[t];
        }
        for (double v : means) {
          body_ += std::isfinite(v) ? fmt::format("<td>{:.4f}</td>", v) : "<td>-</td>";
        }
        body_ += fmt::format("<td>{:.4f}</td></tr>\n", total / sum.size());
        bp.series_titles.push_back(label);
        bp.values.push_back(means);
      }
      body_ += "</table>\n<div class=\"plots\">\n";
      Status s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
      if (!s.ok()) return s;
      body_ += "</div>\n";
    }
    return {};
  }

  Status memory_section() {
    const char* keys[] = {"bytes_used", "incremental_bytes", "total_bytes"};
    struct Row {
      std::string label, seed;
      double v[3];
    };
    std::vector<Row> rows;
    bool present[3] = {false, false, false};
    std::set<std::string> seen;
    for (const Run& r : runs_) {
      if (seen.count(r.label)) continue;
      auto m = r.j->find("memory");
      if (m == r.j->end() || !m->is_object()) continue;
      Row row{r.label, r.seed, {kNaN, kNaN, kNaN}};
      bool any = false;
      for (int k = 0; k < 3; ++k) {
        auto f = m->find(keys[k]);
        if (f != m->end() && f->is_number()) {
          row.v[k] = f->get<double>();
          present[k] = any = true;
        }
      }
      if (!any) continue;
      seen.insert(r.label);
      rows.push_back(row);
    }
    if (rows.empty()) return {};
    body_ +=
        "<h2>Memory</h2>\n<p class=\"meta\">Bytes kept for continual learning (first seed): "
        "<i>incremental</i> counts what a method adds (stored items, codes and their decoder); "
        "<i>total</i> also counts weights a method keeps that others get for free.</p>\n"
        "<table>\n<tr><th class=\"l\">method</th><th>seed</th>";
    for (int k = 0; k < 3; ++k) {
      if (present[k]) body_ += "<th>" + std::string(keys[k]) + "</th>";
    }
    body_ += "</tr>\n";
    BarPlot bp;
    bp.title = "memory bytes per method";
    bp.ylabel = "bytes";
    bp.yformat = "%.1s%c";  // 2.5M
    for (int k = 0; k < 3; ++k) {
      if (present[k] && k > 0) bp.series_titles.push_back(keys[k]);
    }
    if (bp.series_titles.empty()) bp.series_titles.push_back(keys[0]);
    bp.values.resize(bp.series_titles.size());
    for (const Row& row : rows) {
      body_ += "<tr><td class=\"l\">" + esc(row.label) + "</td><td>" + esc(row.seed) + "</td>";
      for (int k = 0; k < 3; ++k) {
        if (present[k]) body_ += "<td>" + bytes_text(row.v[k]) + "</td>";
      }
      body_ += "</tr>\n";
      bp.categories.push_back(row.label);
      for (size_t s = 0; s < bp.series_titles.size(); ++s) {
        for (int k = 0; k < 3; ++k) {
          if (bp.series_titles[s] == keys[k]) bp.values[s].push_back(row.v[k]);
        }
      }
    }
    body_ += "</table>\n<div class=\"plots\">\n";
    Status s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
    if (!s.ok()) return s;
    body_ += "</div>\n";
    return {};
  }

  Status elbo_section() {
    std::map<std::string, std::pair<std::vector<double>, int>> sums;
    for (const Run& r : runs_) {
      auto e = r.j->find("elbo");
      if (e == r.j->end() || !e->is_array() || e->empty()) continue;
      std::vector<double> v;
      for (const json& x : *e) v.push_back(x.is_number() ? x.get<double>() : kNaN);
      auto& [sum, n] = sums[r.label];
      if (n > 0 && sum.size() != v.size()) {
        notes_.push_back(fmt::format("{} (seed {}): elbo has {} values, other seeds {}", r.label,
                                     r.seed, v.size(), sum.size()));
        continue;
      }
      if (n == 0) sum.assign(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
      ++n;
    }
    if (sums.empty()) return {};
    body_ +=
        "<h2>-ELBO after each distribution</h2>\n<p class=\"meta\">Mean over seeds of the "
        "-ELBO (nats, lower is better) on everything seen so far, after training on each "
        "distribution.</p>\n<div class=\"plots\">\n";
    LinePlot lp;
    lp.title = "-ELBO on the distributions seen so far";
    lp.xlabel = "after distribution";
    lp.ylabel = "-ELBO (nats)";
    lp.integer_x = true;
    for (const std::string& label : labels_) {
      auto it = sums.find(label);
      if (it == sums.end()) continue;
      PlotSeries ps;
      ps.title = fmt::format("{} ({} seeds)", label, it->second.second);
      for (size_t i = 0; i < it->second.first.size(); ++i) {
        ps.x.push_back(static_cast<double>(i + 1));
        ps.y.push_back(it->second.first[i] / it->second.second);
      }
      lp.series.push_back(std::move(ps));
    }
    Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title);
    if (!s.ok()) return s;
    body_ += "</div>\n";
    return {};
  }

  Status images_section() {
    std::vector<std::string> pngs;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
      if (e.is_regular_file(ec) && e.path().extension() == ".png")
        pngs.push_back(e.path().string());
    }
    if (ec) return Status(ErrorCode::io_error, "cannot list " + dir_ + ": " + ec.message());
    std::sort(pngs.begin(), pngs.end());
    std::string figures;
    for (const std::string& path : pngs) {
      std::string bytes;
      Status s = read_file(path, &bytes, kMaxImageBytes);
      if (!s.ok()) {
        notes_.push_back(path + " skipped: " + s.message());
        continue;
      }
      if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
        notes_.push_back(path + " skipped: not a PNG file");
        continue;
      }
      const std::string name = fs::path(path).filename().string();
      figures += "<figure><img class=\"grid\" alt=\"" + esc(name) +
                 "\" src=\"data:image/png;base64," + base64_encode(bytes) + "\"><figcaption>" +
                 esc(name) + "</figcaption></figure>\n";
      ++images_;
    }
    if (figures.empty()) return {};
    body_ += "<h2>Images</h2>\n<div class=\"plots\">\n" + figures + "</div>\n";
    return {};
  }

  std::string dir_;
  ReportInfo* info_;
  json results_;
  std::vector<Run> runs_;
  std::vector<std::string> labels_;
  std::string body_;
  std::vector<std::string> notes_;
  int plots_ = 0;
  int images_ = 0;
};

}  // namespace

std::string base64_encode(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Expected<std::vector<std::vector<std::string>>> parse_csv(const std::string& text,
                                                          const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false, was_quoted = false;
  size_t line = 1, quote_line = 0;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = was_quoted = false;
  };
  auto end_row = [&] {
    if (field_started || !row.empty()) end_field();
    if (!(row.size() == 1 && row[0].empty())) {
      if (!row.empty()) rows.push_back(std::move(row));
    }
    row.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) {
        return Status(ErrorCode::malformed,
                      fmt::format("{}: line {}: a quote inside an unquoted field", name, line));
      }
      quoted = was_quoted = field_started = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
      field_started = true;  // the next field exists, even if empty
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c == '\r') {
      if (!(i + 1 < text.size() && text[i + 1] == '\n')) field += c;
    } else {
      if (was_quoted) {
        return Status(ErrorCode::malformed,
                      fmt::format("{}: line {}: text after a closing quote", name, line));
      }
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    return Status(ErrorCode::malformed,
                  fmt::format("{}: line {}: unterminated quoted field", name, quote_line));
  }
  end_row();
  return rows;
}

Expected<std::string> build_html_report(const std::string& run_dir, ReportInfo* info) {
  ReportBuilder builder(run_dir, info);
  return builder.build();
}

Status write_html_report(const std::string& run_dir, const std::string& out_path,
                         ReportInfo* info) {
  auto html = build_html_report(run_dir, info);
  if (!html.ok()) return html.status();
  Status s = write_file_atomically(out_path, html->data(), html->size());
  if (!s.ok()) return Status(s.code(), "cannot write the report " + out_path + ": " + s.message());
  return {};
}

}  // namespace engram
