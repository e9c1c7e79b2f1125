#include "io/reports/html_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/reports/gnuplot.h"
#include "io/reports/png_image.h"
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

// One setting of a compression sweep (scripts/compression_sweep.lua): an entry of results.json's
// "results" (or "runs") with a latent kind, a compression ratio and an L1 distortion.
struct SweepPoint {
  const json* j = nullptr;
  std::string series;  // "discrete", "continuous kl=1", ...
  double compression = 0, l1 = 0;
};

std::vector<SweepPoint> collect_sweep_points(const json& results) {
  std::vector<SweepPoint> points;
  for (const char* key : {"results", "runs"}) {
    auto it = results.find(key);
    if (it == results.end() || !it->is_array()) continue;
    for (const json& r : *it) {
      if (!r.is_object()) continue;
      auto latent = r.find("latent"), c = r.find("compression"), l1 = r.find("l1");
      if (latent == r.end() || !latent->is_string() || c == r.end() || !c->is_number() ||
          l1 == r.end() || !l1->is_number()) {
        continue;
      }
      SweepPoint p;
      p.j = &r;
      p.series = latent->get<std::string>();
      auto kl = r.find("kl_weight");
      if (p.series == "continuous" && kl != r.end() && kl->is_number()) {
        p.series += fmt::format(" kl={:g}", kl->get<double>());
      }
      p.compression = c->get<double>();
      p.l1 = l1->get<double>();
      points.push_back(p);
    }
    if (!points.empty()) break;
  }
  return points;
}

// "recollections_er_total_seed2.png" -> {"recollections", "er_total", "2"}; a name without
// "_seed<k>" keeps an empty seed, one without '_' an empty kind.
struct ImageName {
  std::string kind, subject, seed;
};
ImageName parse_image_name(const std::string& filename) {
  std::string stem = fs::path(filename).stem().string();
  ImageName n;
  const size_t s = stem.rfind("_seed");
  if (s != std::string::npos && s + 5 < stem.size() &&
      std::all_of(stem.begin() + s + 5, stem.end(), [](char c) { return std::isdigit(c); })) {
    n.seed = stem.substr(s + 5);
    stem.resize(s);
  }
  const size_t u = stem.find('_');
  if (u == std::string::npos) {
    n.subject = stem;
  } else {
    n.kind = stem.substr(0, u);
    n.subject = stem.substr(u + 1);
  }
  return n;
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
.wide { overflow-x: auto; max-width: 100%; }
)";

class ReportBuilder {
 public:
  ReportBuilder(std::string run_dir, ReportInfo* info) : dir_(std::move(run_dir)), info_(info) {}

  Expected<std::string> build() {
    std::error_code ec;  // the non-throwing overloads: a permission error is not a crash
    if (!fs::is_directory(dir_, ec)) {
      return Status(ErrorCode::not_found, "run directory " + dir_ + " does not exist");
    }
    // A distill run (scripts/distill_mnist.lua) writes summary.json and CSVs, no results.json.
    const bool has_results = fs::exists(file("results.json"), ec);
    const bool distill = !has_results && fs::exists(file("summary.json"), ec);
    if (distill) {
      auto s = load_json_object("summary.json");
      if (!s.ok()) return s.status();
      distill_summary_ = std::move(*s);
    } else {
      // Without results.json, a compression sweep's CSV alone (e.g. the committed
      // results/compression_sweep.csv) still makes its plot.
      const bool sweep_csv = !has_results && fs::exists(file("compression_sweep.csv"), ec);
      auto results = sweep_csv ? sweep_from_csv() : load_json_object("results.json");
      if (!results.ok()) return results.status();
      results_ = std::move(*results);
      runs_ = collect_runs(results_);
      labels_ = labels_in_order(runs_);
      sweep_ = collect_sweep_points(results_);
      if (runs_.empty() && sweep_.empty()) {
        notes_.push_back(file("results.json") +
                         " has no \"runs\" array of objects: no per-method sections");
      }
    }

    std::string name = fs::path(dir_).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(dir_).lexically_normal().parent_path().filename().string();
    body_ += fmt::format("<h1>Run report: {}</h1>\n<p class=\"meta\">{} &middot; {}</p>\n",
                         esc(name), esc(fs::absolute(dir_, ec).lexically_normal().string()),
                         distill           ? std::string("distillation run")
                         : !sweep_.empty() ? fmt::format("{} settings", sweep_.size())
                                           : fmt::format("{} runs", runs_.size()));
    Status s = distill ? distill_sections() : run_sections();
    if (s.ok()) s = images_section();
    if (!s.ok()) return s;
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

  // The sections of a results.json run directory, in page order.
  Status run_sections() {
    for (Status (ReportBuilder::*section)() :
         {&ReportBuilder::protocol_section, &ReportBuilder::summary_section,
          &ReportBuilder::sweep_section, &ReportBuilder::accuracy_section,
          &ReportBuilder::forgetting_section, &ReportBuilder::memory_section,
          &ReportBuilder::elbo_section, &ReportBuilder::association_elbo_section,
          &ReportBuilder::curve_section}) {
      Status s = (this->*section)();
      if (!s.ok()) return s;
    }
    return {};
  }

  // Reads run_dir/name as a JSON object. Errors name the file: not_found (missing; for
  // results.json "not a run directory?"), malformed (not JSON, not an object), io_error.
  Expected<json> load_json_object(const std::string& name) {
    const std::string path = file(name);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return Status(ErrorCode::not_found,
                    path + " is missing (not a run directory? it has no results.json, no " +
                        "summary.json of a distill run, no compression_sweep.csv)");
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

  // results.json's shape rebuilt from compression_sweep.csv (header latent,c,l,h,
  // bits_per_code,compression,l1,...,paper_l1,kl_weight): a "results" entry per row, its
  // non-empty cells as numbers (latent as text), and a "paper" point where paper_l1 is set.
  // Errors: as load_csv, and malformed naming the file for a row whose number is not one or a
  // header without latent, compression and l1.
  Expected<json> sweep_from_csv() {
    const std::string name = "compression_sweep.csv";
    auto csv = load_csv(name, true);
    if (!csv.ok()) return csv.status();
    const auto& rows = **csv;
    const auto& header = rows[0];
    for (const char* k : {"latent", "compression", "l1"}) {
      if (std::find(header.begin(), header.end(), k) == header.end()) {
        return Status(ErrorCode::malformed,
                      fmt::format("{}: no column '{}' in its header", file(name), k));
      }
    }
    json results = json::array(), paper = json::array();
    for (size_t r = 1; r < rows.size(); ++r) {
      json entry = json::object();
      for (size_t c = 0; c < rows[r].size(); ++c) {
        if (rows[r][c].empty()) continue;
        if (header[c] == "latent") {
          entry["latent"] = rows[r][c];
          continue;
        }
        auto v = csv_number(name, header, r, c, rows[r][c]);
        if (!v.ok()) return v.status();
        entry[header[c]] = *v;
      }
      if (entry.contains("paper_l1") && entry.contains("compression") && entry.contains("latent")) {
        paper.push_back({{"latent", entry["latent"]},
                         {"compression", entry["compression"]},
                         {"l1", entry["paper_l1"]}});
      }
      results.push_back(std::move(entry));
    }
    notes_.push_back(file("results.json") + " is missing: the sweep is read from " + file(name) +
                     " (the paper's points: its paper_l1 column)");
    return json{{"results", std::move(results)}, {"paper", std::move(paper)}};
  }

  // Reads run_dir/name as CSV: nullopt when the file is absent. Errors name the file: malformed
  // quoting, a row longer than the header, or an empty file when `required`; io_error.
  Expected<std::optional<std::vector<std::vector<std::string>>>> load_csv(const std::string& name,
                                                                          bool required) {
    const std::string path = file(name);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (required) return Status(ErrorCode::not_found, path + " is missing");
      return std::optional<std::vector<std::vector<std::string>>>();
    }
    std::string text;
    Status s = read_file(path, &text, kMaxResultsBytes);
    if (!s.ok()) return Status(s.code(), path + ": " + s.message());
    auto rows = parse_csv(text, path);
    if (!rows.ok()) return rows.status();
    if (rows->empty() && required) {
      return Status(ErrorCode::malformed, path + " is empty (no header row)");
    }
    for (size_t r = 1; r < rows->size(); ++r) {
      if ((*rows)[r].size() > (*rows)[0].size()) {
        return Status(ErrorCode::malformed,
                      fmt::format("{}: row {} has {} fields, the header {}", path, r + 1,
                                  (*rows)[r].size(), (*rows)[0].size()));
      }
    }
    return std::optional<std::vector<std::vector<std::string>>>(std::move(*rows));
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

  // A table: header row, then rows; the first column left-aligned.
  void add_table(const std::vector<std::vector<std::string>>& rows, const char* css_class) {
    body_ += fmt::format("<div class=\"wide\"><table class=\"{}\">\n<thead><tr>", css_class);
    for (const std::string& h : rows[0]) body_ += "<th>" + esc(h) + "</th>";
    body_ += "</tr></thead>\n<tbody>\n";
    for (size_t r = 1; r < rows.size(); ++r) {
      body_ += "<tr>";
      for (size_t c = 0; c < rows[r].size(); ++c) {
        body_ += (c == 0 ? "<td class=\"l\">" : "<td>") + esc(rows[r][c]) + "</td>";
      }
      body_ += "</tr>\n";
    }
    body_ += "</tbody>\n</table></div>\n";
  }

  // The comparison table: summary.csv when present, else the scalar fields of each run (or
  // sweep setting) of results.json. A run's "fwt" (forward transfer) is added as a column when
  // summary.csv lacks one, matched to its rows by method and seed.
  Status summary_section() {
    auto csv = load_csv("summary.csv", false);
    if (!csv.ok()) return csv.status();
    std::vector<std::vector<std::string>> rows;
    if (csv->has_value() && !(*csv)->empty()) {
      rows = std::move(**csv);
      add_fwt_column(&rows);
    } else {
      if (sweep_.empty()) {  // a sweep writes no summary.csv: its settings are the table
        notes_.push_back(file("summary.csv") + (csv->has_value() ? " is empty" : " is missing") +
                         ": the comparison table lists the scalar fields of results.json");
      }
      rows = scalar_table();
    }
    if (rows.size() < 2) return {};
    body_ += "<h2>Comparison</h2>\n";
    add_table(rows, "summary");
    return {};
  }

  // The value of run field `key` as a number; nullopt when absent or not a number.
  static std::optional<double> number_field(const json& j, const char* key) {
    auto f = j.find(key);
    if (f == j.end() || !f->is_number()) return std::nullopt;
    return f->get<double>();
  }

  void add_fwt_column(std::vector<std::vector<std::string>>* rows) {
    bool any = false;
    for (const Run& r : runs_) any = any || number_field(*r.j, "fwt").has_value();
    if (!any) return;
    std::vector<std::string>& header = (*rows)[0];
    int seed_col = -1;
    for (size_t c = 0; c < header.size(); ++c) {
      std::string h = header[c];
      std::transform(h.begin(), h.end(), h.begin(), ::tolower);
      if (h == "fwt" || h == "forward transfer") return;  // the script wrote it already
      if (h == "seed") seed_col = static_cast<int>(c);
    }
    header.push_back("FWT");
    int matched = 0;
    for (size_t i = 1; i < rows->size(); ++i) {
      std::vector<std::string>& row = (*rows)[i];
      row.resize(header.size() - 1);
      std::string value = "-";
      for (const Run& r : runs_) {
        if (r.base != row[0] || (seed_col >= 0 && r.seed != row[seed_col])) continue;
        if (auto f = number_field(*r.j, "fwt")) {
          value = fmt::format("{:.4f}", *f);
          ++matched;
        }
        break;
      }
      row.push_back(value);
    }
    if (matched == 0) {
      notes_.push_back(
          "results.json has \"fwt\" values but no row of summary.csv matches their "
          "runs by method and seed");
    }
  }

  // Scalar fields of each run (or sweep setting): one row each, columns in order of first use.
  std::vector<std::vector<std::string>> scalar_table() {
    std::vector<const json*> items;
    for (const Run& r : runs_) items.push_back(r.j);
    if (items.empty()) {
      for (const SweepPoint& p : sweep_) items.push_back(p.j);
    }
    std::vector<std::string> keys;
    for (const json* j : items) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        if (!(it->is_primitive() && !it->is_null())) continue;
        if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
      }
    }
    // Names and settings first (results.json's objects come with their keys sorted).
    const char* kFirst[] = {"name",        "variant", "method",   "latent",    "seed",
                            "c",           "l",       "h",        "kl_weight", "bits_per_code",
                            "compression", "l1",      "l1_train", "paper_l1"};
    std::vector<std::string> ordered;
    for (const char* k : kFirst) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) ordered.push_back(k);
    }
    for (const std::string& k : keys) {
      if (std::find(ordered.begin(), ordered.end(), k) == ordered.end()) ordered.push_back(k);
    }
    keys = std::move(ordered);
    std::vector<std::vector<std::string>> rows;
    if (keys.empty()) return rows;
    rows.push_back(keys);
    for (const json* j : items) {
      std::vector<std::string> row;
      for (const std::string& k : keys) {
        auto f = j->find(k);
        std::string v = f == j->end() ? "" : scalar_text(*f);
        if (v.size() > 80) v = v.substr(0, 80) + "...";
        row.push_back(v);
      }
      rows.push_back(std::move(row));
    }
    return rows;
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
        if (m.size() == 1) {
          // One row (e.g. joint training on every task at once): no lines to draw over tasks,
          // a bar per task instead.
          BarPlot bp;
          bp.title = label + ": " + kind + " accuracy on each task";
          bp.ylabel = "accuracy";
          bp.series_titles = {"after training"};
          bp.values = {m[0]};
          for (size_t j = 0; j < m[0].size(); ++j) {
            bp.categories.push_back(fmt::format("task {}", j + 1));
          }
          Status s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
          if (!s.ok()) return s;
          continue;
        }
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

  // Compression sweep: L1 distortion against compression (log x), one series per latent kind
  // (and KL weight) of this run, and results.json's "paper" points (hollow) when present.
  Status sweep_section() {
    if (sweep_.empty()) return {};
    LinePlot lp;
    lp.title = "L1 distortion against compression";
    lp.xlabel = "compression (image bits / code bits, log scale)";
    lp.ylabel = "L1 distortion (test)";
    lp.log_x = true;
    lp.ymin = 0.0;
    lp.width = 760;
    lp.height = 460;
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<double, double>>> by_series;
    for (const SweepPoint& p : sweep_) {
      if (!by_series.count(p.series)) order.push_back(p.series);
      by_series[p.series].emplace_back(p.compression, p.l1);
    }
    for (const std::string& name : order) {
      auto& pts = by_series[name];
      std::sort(pts.begin(), pts.end());
      PlotSeries ps;
      ps.title = name + " (this run)";
      for (const auto& [x, y] : pts) ps.x.push_back(x), ps.y.push_back(y);
      lp.series.push_back(std::move(ps));
    }
    auto paper = results_.find("paper");
    if (paper != results_.end()) {
      std::map<std::string, PlotSeries> ref;
      std::vector<std::string> ref_order;
      bool bad = !paper->is_array();
      for (const json& p : paper->is_array() ? *paper : json::array()) {
        auto latent = p.find("latent"), c = p.find("compression"), l1 = p.find("l1");
        if (!p.is_object() || latent == p.end() || !latent->is_string() || c == p.end() ||
            !c->is_number() || l1 == p.end() || !l1->is_number()) {
          bad = true;
          continue;
        }
        const std::string k = latent->get<std::string>();
        if (!ref.count(k)) ref_order.push_back(k);
        PlotSeries& ps = ref[k];
        ps.title = k + " (paper, train)";
        ps.style = SeriesStyle::hollow_points;
        ps.x.push_back(c->get<double>());
        ps.y.push_back(l1->get<double>());
      }
      if (bad) {
        notes_.push_back(file("results.json") +
                         ": \"paper\" is not an array of {latent, compression, l1}: skipped "
                         "where it is not");
      }
      for (const std::string& k : ref_order) lp.series.push_back(std::move(ref[k]));
    }
    body_ +=
        "<h2>Distortion against compression</h2>\n<p class=\"meta\">Each point is one "
        "autoencoder: L1 distortion (mean absolute pixel error) of decode(encode(x)) on the test "
        "split against the compression of its code; hollow points are the paper's "
        "training-set figures.</p>\n<div class=\"plots\">\n";
    Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title);
    if (!s.ok()) return s;
    body_ += "</div>\n";
    return {};
  }

  // phases[i].association_neg_elbo: the association's -ELBO after each task, mean over seeds.
  Status association_elbo_section() {
    std::map<std::string, std::pair<std::vector<double>, std::vector<int>>> sums;
    for (const Run& r : runs_) {
      auto phases = r.j->find("phases");
      if (phases == r.j->end() || !phases->is_array()) continue;
      std::vector<double> v;
      bool any = false;
      for (const json& ph : *phases) {
        std::optional<double> e =
            ph.is_object() ? number_field(ph, "association_neg_elbo") : std::nullopt;
        v.push_back(e ? *e : kNaN);
        any = any || e.has_value();
      }
      if (!any) continue;
      auto& [sum, n] = sums[r.label];
      if (sum.size() < v.size()) sum.resize(v.size(), 0.0), n.resize(v.size(), 0);
      for (size_t i = 0; i < v.size(); ++i) {
        if (std::isfinite(v[i])) sum[i] += v[i], ++n[i];
      }
    }
    if (sums.empty()) return {};
    size_t tasks = 0;
    for (const auto& [label, sn] : sums) tasks = std::max(tasks, sn.first.size());
    body_ +=
        "<h2>Association -ELBO per task</h2>\n<p class=\"meta\">-ELBO (nats, lower is better) "
        "of the association (the code generator) after each task, mean over seeds.</p>\n"
        "<table>\n<tr><th class=\"l\">method</th>";
    for (size_t t = 0; t < tasks; ++t) body_ += fmt::format("<th>task {}</th>", t + 1);
    body_ += "</tr>\n";
    LinePlot lp;
    lp.title = "association -ELBO after each task";
    lp.xlabel = "after training on task";
    lp.ylabel = "-ELBO (nats)";
    lp.integer_x = true;
    for (const std::string& label : labels_) {
      auto it = sums.find(label);
      if (it == sums.end()) continue;
      body_ += "<tr><td class=\"l\">" + esc(label) + "</td>";
      PlotSeries ps;
      ps.title = label;
      for (size_t t = 0; t < tasks; ++t) {
        const bool has = t < it->second.first.size() && it->second.second[t] > 0;
        const double mean = has ? it->second.first[t] / it->second.second[t] : kNaN;
        body_ += has ? fmt::format("<td>{:.2f}</td>", mean) : "<td>-</td>";
        ps.x.push_back(static_cast<double>(t + 1));
        ps.y.push_back(mean);
      }
      body_ += "</tr>\n";
      lp.series.push_back(std::move(ps));
    }
    body_ += "</table>\n<div class=\"plots\">\n";
    Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title);
    if (!s.ok()) return s;
    body_ += "</div>\n";
    return {};
  }

  // run.curve = {every, iteration[], task[], loss[], samples_per_s[], association_neg_elbo[]?,
  // phase[]?}: loss, samples/s (and the association's -ELBO) against the cumulative iteration,
  // one series per method (its first seed with a curve) and phase. A note when no run recorded
  // one.
  Status curve_section() {
    if (runs_.empty()) return {};
    struct Curve {
      std::string label, seed;
      std::vector<double> it, loss, rate, elbo;
      std::vector<std::string> phase;
    };
    std::vector<Curve> curves;
    std::set<std::string> seen;
    for (const Run& r : runs_) {
      auto c = r.j->find("curve");
      if (c == r.j->end() || seen.count(r.label)) continue;
      const std::string who = fmt::format("{} (seed {}): curve", r.label, r.seed);
      auto numbers = [&](const char* key, std::vector<double>* out) {
        auto f = c->find(key);
        if (f == c->end()) return true;  // absent: not plotted
        if (!f->is_array()) return false;
        for (const json& x : *f) {
          if (x.is_number())
            out->push_back(x.get<double>());
          else if (x.is_null())
            out->push_back(kNaN);
          else
            return false;
        }
        return true;
      };
      Curve cv{r.label, r.seed, {}, {}, {}, {}, {}};
      bool ok = c->is_object() && c->contains("iteration") && numbers("iteration", &cv.it) &&
                numbers("loss", &cv.loss) && numbers("samples_per_s", &cv.rate) &&
                numbers("association_neg_elbo", &cv.elbo);
      if (ok && c->contains("phase")) {
        const json& ph = (*c)["phase"];
        ok = ph.is_array();
        for (const json& x : ok ? ph : json::array()) {
          if (!x.is_string())
            ok = false;
          else
            cv.phase.push_back(x.get<std::string>());
        }
        ok = ok && cv.phase.size() == cv.it.size();
      }
      const size_t n = cv.it.size();
      ok = ok && (cv.loss.empty() || cv.loss.size() == n) &&
           (cv.rate.empty() || cv.rate.size() == n) && (cv.elbo.empty() || cv.elbo.size() == n);
      if (!ok) {
        notes_.push_back(who +
                         " is not {iteration, loss, samples_per_s[, phase]} arrays of equal "
                         "length: not plotted");
        continue;
      }
      seen.insert(r.label);
      curves.push_back(std::move(cv));
    }
    body_ += "<h2>Loss and samples/s over iterations</h2>\n";
    if (curves.empty()) {
      body_ +=
          "<p class=\"note\">No run in results.json recorded a learning curve (run.curve: loss "
          "and samples/s every N iterations), so there is nothing to plot here.</p>\n";
      return {};
    }
    body_ +=
        "<p class=\"meta\">Recorded every N iterations during learning (first seed of each "
        "method); the iteration counts across tasks.</p>\n<div class=\"plots\">\n";
    for (int which = 0; which < 3; ++which) {
      LinePlot lp;
      lp.title = which == 0   ? "training loss"
                 : which == 1 ? "samples per second"
                              : "association -ELBO";
      lp.xlabel = "iteration";
      lp.ylabel = which == 0 ? "loss" : which == 1 ? "samples/s" : "-ELBO (nats)";
      lp.width = 680;
      double lo = std::numeric_limits<double>::infinity(), hi = 0;
      for (const Curve& cv : curves) {
        const std::vector<double>& y = which == 0 ? cv.loss : which == 1 ? cv.rate : cv.elbo;
        if (y.empty()) continue;
        std::vector<std::string> phases;  // in order of first use
        for (const std::string& p : cv.phase) {
          if (std::find(phases.begin(), phases.end(), p) == phases.end()) phases.push_back(p);
        }
        if (phases.empty()) phases.push_back("");
        for (const std::string& p : phases) {
          PlotSeries ps;
          ps.title = cv.label + (phases.size() > 1 ? " (" + p + ")" : "");
          ps.style = SeriesStyle::lines;
          for (size_t i = 0; i < cv.it.size(); ++i) {
            if (!cv.phase.empty() && cv.phase[i] != p) {
              // The other phase's stretch: a gap in this line.
              if (!ps.y.empty() && std::isfinite(ps.y.back())) {
                ps.x.push_back(cv.it[i]);
                ps.y.push_back(kNaN);
              }
              continue;
            }
            ps.x.push_back(cv.it[i]);
            ps.y.push_back(y[i]);
            if (std::isfinite(y[i])) lo = std::min(lo, y[i]), hi = std::max(hi, y[i]);
          }
          if (ps.x.size() == 1) ps.style = SeriesStyle::points;
          lp.series.push_back(std::move(ps));
        }
      }
      if (lp.series.empty() && which == 2) continue;  // only a dvae memory records it
      if (lp.series.empty()) {
        notes_.push_back(fmt::format("no curve has {}: no {} plot",
                                     which == 0 ? "\"loss\"" : "\"samples_per_s\"", lp.title));
        continue;
      }
      // Losses spanning orders of magnitude read better on a log axis.
      lp.log_y = which == 0 && lo > 0 && hi / lo >= 50;
      if (which == 1) lp.ymin = 0.0;
      Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title + " over iterations");
      if (!s.ok()) return s;
    }
    body_ += "</div>\n";
    return {};
  }

  // A CSV cell as a number: "" and "-" are missing (NaN); other text is an error naming the
  // file, row and column.
  Expected<double> csv_number(const std::string& name, const std::vector<std::string>& header,
                              size_t row, size_t col, const std::string& cell) {
    if (cell.empty() || cell == "-") return kNaN;
    char* end = nullptr;
    const double v = std::strtod(cell.c_str(), &end);
    if (end == cell.c_str() || *end != '\0') {
      return Status(ErrorCode::malformed,
                    fmt::format("{}: row {}, column {}: '{}' is not a number", file(name), row + 1,
                                col < header.size() ? header[col] : std::to_string(col + 1), cell));
    }
    return v;
  }

  // A distill run (scripts/distill_mnist.lua): summary.json (settings, teacher accuracy),
  // accuracy.csv (student test accuracy in % per column at each checkpoint, required),
  // memories.csv and timing.csv (optional; older runs have fewer timing columns).
  Status distill_sections() {
    const json& sj = distill_summary_;
    auto acc = load_csv("accuracy.csv", true);
    if (!acc.ok()) return acc.status();
    const auto& arows = **acc;
    if (arows[0].empty() || arows[0][0] != "episodes" || arows[0].size() < 2) {
      return Status(ErrorCode::malformed,
                    file("accuracy.csv") +
                        ": the header is not \"episodes,<column>,...\" (a distill run's table)");
    }
    const std::vector<std::string> columns(arows[0].begin() + 1, arows[0].end());
    std::vector<double> episodes;
    Matrix accuracy(columns.size());  // accuracy[column][checkpoint], %
    for (size_t r = 1; r < arows.size(); ++r) {
      for (size_t c = 0; c < arows[0].size(); ++c) {
        auto v = csv_number("accuracy.csv", arows[0], r, c,
                            c < arows[r].size() ? arows[r][c] : std::string());
        if (!v.ok()) return v.status();
        if (c == 0)
          episodes.push_back(*v);
        else
          accuracy[c - 1].push_back(*v);
      }
    }
    auto mem = load_csv("memories.csv", false);
    if (!mem.ok()) return mem.status();
    auto timing = load_csv("timing.csv", false);
    if (!timing.ok()) return timing.status();
    const std::optional<double> teacher = number_field(sj, "teacher_accuracy");

    // Settings.
    body_ += "<h2>Protocol</h2>\n<table>\n";
    for (auto p = sj.begin(); p != sj.end(); ++p) {
      if (p.key() == "accuracy") continue;  // the table below
      std::string v = p->is_string() ? p->get<std::string>() : p->dump();
      if (v.size() > 200) v = v.substr(0, 200) + "...";
      body_ +=
          "<tr><th class=\"l\">" + esc(p.key()) + "</th><td class=\"l\">" + esc(v) + "</td></tr>\n";
    }
    body_ += "</table>\n";

    // The comparison: per column, accuracy at each checkpoint, its time and its memory.
    std::map<std::string, std::vector<std::string>> timing_of, memory_of;
    std::vector<std::string> timing_header, memory_header;
    if (timing->has_value() && !(*timing)->empty()) {
      timing_header.assign((**timing)[0].begin() + 1, (**timing)[0].end());
      for (size_t r = 1; r < (*timing)->size(); ++r) {
        const auto& row = (**timing)[r];
        timing_of[row[0]] = std::vector<std::string>(row.begin() + 1, row.end());
      }
    } else if (!timing->has_value()) {
      notes_.push_back(file("timing.csv") + " is missing: no time per column");
    }
    if (mem->has_value() && !(*mem)->empty()) {
      memory_header.assign((**mem)[0].begin() + 1, (**mem)[0].end());
      for (size_t r = 1; r < (*mem)->size(); ++r) {
        const auto& row = (**mem)[r];
        memory_of[row[0]] = std::vector<std::string>(row.begin() + 1, row.end());
      }
    } else if (!mem->has_value()) {
      notes_.push_back(file("memories.csv") + " is missing: no memory figures");
    }
    auto level_of = [](const std::string& column) {  // "active_diverse_10x" -> "10x"
      const size_t u = column.rfind('_');
      return u == std::string::npos ? std::string() : column.substr(u + 1);
    };
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> header = {"column"};
    for (double e : episodes) header.push_back(fmt::format("acc % @ {:g}", e));
    for (const std::string& h : timing_header) header.push_back(h);
    // Of the column's memory: its name, compression and distortion (memories.csv has the rest).
    std::vector<size_t> memory_cols;
    for (size_t k = 0; k < memory_header.size(); ++k) {
      if (memory_header[k] == "compression" || memory_header[k] == "l1") memory_cols.push_back(k);
    }
    if (!memory_header.empty()) {
      header.push_back("memory");
      for (size_t k : memory_cols) header.push_back("memory " + memory_header[k]);
    }
    table.push_back(header);
    for (size_t c = 0; c < columns.size(); ++c) {
      std::vector<std::string> row = {columns[c]};
      for (double a : accuracy[c]) row.push_back(std::isfinite(a) ? fmt::format("{:.2f}", a) : "-");
      auto t = timing_of.find(columns[c]);
      for (size_t k = 0; k < timing_header.size(); ++k) {
        row.push_back(t != timing_of.end() && k < t->second.size() ? t->second[k] : "-");
      }
      if (!memory_header.empty()) {
        auto m = memory_of.find(level_of(columns[c]));
        row.push_back(m != memory_of.end() ? m->first : "-");
        for (size_t k : memory_cols) {
          row.push_back(m != memory_of.end() && k < m->second.size() ? m->second[k] : "-");
        }
      }
      table.push_back(std::move(row));
    }
    body_ += "<h2>Comparison</h2>\n<p class=\"meta\">Student (" +
             esc(sj.contains("student") ? scalar_text(sj["student"]) : std::string("?")) +
             ") test accuracy in % after each number of episodes, per training source" +
             (teacher ? fmt::format("; the teacher's is {:.2f}%", 100 * *teacher) : "") + ".</p>\n";
    add_table(table, "summary");

    // Accuracy against episodes, and after the last checkpoint.
    body_ += "<h2>Distillation</h2>\n<div class=\"plots\">\n";
    LinePlot lp;
    lp.title = "student test accuracy against episodes";
    lp.xlabel = "episodes";
    lp.ylabel = "test accuracy (%)";
    lp.ymin = 0.0;
    lp.ymax = 100.0;
    lp.width = 760;
    lp.height = 420;
    const auto [emin, emax] = std::minmax_element(episodes.begin(), episodes.end());
    lp.log_x = !episodes.empty() && *emin > 0 && *emax / *emin >= 10;
    for (size_t c = 0; c < columns.size(); ++c) {
      lp.series.push_back({columns[c], episodes, accuracy[c], SeriesStyle::lines_points});
    }
    if (teacher && !episodes.empty()) {
      lp.series.push_back({fmt::format("teacher ({:.2f}%)", 100 * *teacher),
                           {*emin, *emax},
                           {100 * *teacher, 100 * *teacher},
                           SeriesStyle::lines});
    }
    Status s = add_plot(render_line_plot_svg(lp, next_id()), lp.title);
    if (!s.ok()) return s;
    if (!episodes.empty()) {
      BarPlot bp;
      bp.title = fmt::format("student test accuracy after {:g} episodes", episodes.back());
      bp.ylabel = "test accuracy (%)";
      bp.ymax = 100.0;
      bp.categories = columns;
      bp.series_titles = {"student"};
      bp.values.emplace_back();
      for (const auto& a : accuracy) bp.values[0].push_back(a.back());
      s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
      if (!s.ok()) return s;
    }
    body_ += "</div>\n";

    // Memories: bytes of codes and of decoders, distortion.
    if (!memory_of.empty()) {
      body_ +=
          "<h2>Memories</h2>\n<p class=\"meta\">The recollection memories (codes of every "
          "training image and the decoder that turns them back into images).</p>\n";
      add_table(**mem, "memories");
      BarPlot bp;
      bp.title = "memory bytes per memory";
      bp.ylabel = "bytes";
      bp.yformat = "%.1s%c";
      const auto& mh = (**mem)[0];
      for (const char* key : {"code_bytes", "decoder_bytes"}) {
        const auto col = std::find(mh.begin(), mh.end(), key);
        if (col == mh.end()) continue;
        bp.series_titles.push_back(key);
        bp.values.emplace_back();
        const size_t ci = static_cast<size_t>(col - mh.begin());
        for (size_t r = 1; r < (*mem)->size(); ++r) {
          const auto& row = (**mem)[r];
          auto v = csv_number("memories.csv", mh, r, ci, ci < row.size() ? row[ci] : "");
          if (!v.ok()) return v.status();
          bp.values.back().push_back(*v);
        }
      }
      for (size_t r = 1; r < (*mem)->size(); ++r) bp.categories.push_back((**mem)[r][0]);
      body_ += "<div class=\"plots\">\n";
      s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
      if (!s.ok()) return s;
      body_ += "</div>\n";
    }

    // Time per column.
    if (!timing_of.empty()) {
      BarPlot bp;
      bp.title = "seconds per column";
      bp.ylabel = "seconds";
      const auto& th = (**timing)[0];
      for (const char* key : {"seconds", "eval_seconds"}) {
        const auto col = std::find(th.begin(), th.end(), key);
        if (col == th.end()) continue;
        bp.series_titles.push_back(key);
        bp.values.emplace_back();
        const size_t ci = static_cast<size_t>(col - th.begin());
        for (size_t r = 1; r < (*timing)->size(); ++r) {
          const auto& row = (**timing)[r];
          auto v = csv_number("timing.csv", th, r, ci, ci < row.size() ? row[ci] : "");
          if (!v.ok()) return v.status();
          bp.values.back().push_back(*v);
        }
      }
      for (size_t r = 1; r < (*timing)->size(); ++r) bp.categories.push_back((**timing)[r][0]);
      if (!bp.series_titles.empty()) {
        body_ += "<h2>Time</h2>\n<div class=\"plots\">\n";
        s = add_plot(render_bar_plot_svg(bp, next_id()), bp.title);
        if (!s.ok()) return s;
        body_ += "</div>\n";
      }
    }
    return {};
  }

  // The PNGs of the directory, decoded to check them (a damaged one is an error naming it):
  // recollections_<method>_seed<k>.png under "Recollections", the others under "Images", each
  // with a caption from its name.
  Status images_section() {
    std::vector<std::string> pngs;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
      if (e.is_regular_file(ec) && e.path().extension() == ".png")
        pngs.push_back(e.path().string());
    }
    if (ec) return Status(ErrorCode::io_error, "cannot list " + dir_ + ": " + ec.message());
    std::sort(pngs.begin(), pngs.end());
    std::string recollections, others;
    for (const std::string& path : pngs) {
      std::string bytes;
      Status s = read_file(path, &bytes, kMaxImageBytes);
      if (!s.ok()) return Status(s.code(), path + ": " + s.message());
      auto image =
          decode_png_gray(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
      if (!image.ok()) {
        return Status(ErrorCode::malformed,
                      path + " is not a readable PNG image: " + image.status().message());
      }
      const std::string filename = fs::path(path).filename().string();
      const ImageName n = parse_image_name(filename);
      const std::string seed = n.seed.empty() ? "" : ", seed " + n.seed;
      std::string caption;
      if (n.kind == "recollections") {
        caption = "<b>" + esc(n.subject) + "</b>" + esc(seed);
      } else {
        caption = (n.kind.empty() ? "" : esc(n.kind) + ": ") + "<b>" + esc(n.subject) + "</b>" +
                  esc(seed);
      }
      const std::string figure = "<figure><img class=\"grid\" alt=\"" + esc(filename) +
                                 "\" src=\"data:image/png;base64," + base64_encode(bytes) +
                                 "\"><figcaption>" + caption +
                                 fmt::format(" <span class=\"meta\">({}, {}&times;{})</span>",
                                             esc(filename), image->width, image->height) +
                                 "</figcaption></figure>\n";
      (n.kind == "recollections" ? recollections : others) += figure;
      ++images_;
    }
    if (!recollections.empty()) {
      body_ +=
          "<h2>Recollections</h2>\n<p class=\"meta\">Per method, a row per class: real test "
          "images of the class, then recollections from the method's memory (decoded codes, or "
          "stored images).</p>\n"
          "<div class=\"plots\">\n" +
          recollections + "</div>\n";
    }
    if (!others.empty()) body_ += "<h2>Images</h2>\n<div class=\"plots\">\n" + others + "</div>\n";
    return {};
  }

  std::string dir_;
  ReportInfo* info_;
  json results_;
  std::vector<Run> runs_;
  std::vector<std::string> labels_;
  std::vector<SweepPoint> sweep_;
  json distill_summary_;
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
