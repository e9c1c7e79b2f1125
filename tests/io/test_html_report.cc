// engram report's HTML page (io/reports/html_report.h) and its gnuplot plots
// (io/reports/gnuplot.h): sections present for the data present, inline SVG, inline PNGs, no
// external URLs, and errors naming the bad file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "io/reports/gnuplot.h"
#include "io/reports/html_report.h"
#include "io/reports/png_image.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::TempDir;

bool contains(const std::string& h, const std::string& n) { return h.find(n) != std::string::npos; }

size_t count(const std::string& h, const std::string& n) {
  size_t c = 0;
  for (size_t pos = h.find(n); pos != std::string::npos; pos = h.find(n, pos + n.size())) ++c;
  return c;
}

// No src/href pointing to the network (the page must open offline).
void check_no_external_urls(const std::string& html) {
  const std::regex external(R"((src|href)\s*=\s*["']?\s*(https?:|//))", std::regex::icase);
  CHECK_FALSE(std::regex_search(html, external));
  CHECK_FALSE(contains(html, "<link"));
  CHECK_FALSE(contains(html, "<script"));
}

// gnuplot-dependent checks run only when it is installed; CI installs it (`make deps`).
bool need_gnuplot() {
  if (engram::gnuplot_available()) return true;
  MESSAGE("gnuplot not found: skipping the plot checks (install the Debian package gnuplot-nox)");
  return false;
}

// A small run directory: two methods x two seeds with 3x3 class-IL/task-IL matrices and memory
// figures, a summary.csv with a quoted field, and one PNG.
void write_synthetic_run(const TempDir& dir) {
  dir.write("results.json", R"({
  "protocol": {"tasks": 3, "iterations": 10},
  "runs": [
    {"method": "er", "seed": 1,
     "class_il": [[0.9, 0, 0], [0.6, 0.95, 0], [0.5, 0.7, 0.97]],
     "task_il": [[0.99, 0, 0], [0.98, 0.99, 0], [0.97, 0.96, 0.99]],
     "memory": {"bytes_used": 1000, "incremental_bytes": 1000, "total_bytes": 5000}},
    {"method": "er", "seed": 2,
     "class_il": [[0.8, 0, 0], [0.6, 0.9, 0], [0.4, 0.7, 0.9]],
     "memory": {"bytes_used": 1000, "incremental_bytes": 1000, "total_bytes": 5000}},
    {"method": "recollections_x", "seed": 1,
     "class_il": [[0.9, 0, 0], [0.85, 0.95, 0], [0.8, 0.9, 0.97]],
     "memory": {"bytes_used": 900, "incremental_bytes": 900, "total_bytes": 900000}}
  ]
})");
  dir.write("summary.csv",
            "method,seed,class-IL ACC,note\n"
            "er,1,0.7233,\"plain, quoted\"\n"
            "recollections_x,1,0.8900,\"say \"\"hi\"\"\"\n");
  std::vector<uint8_t> pixels(16 * 8, 200);
  REQUIRE(engram::write_png_gray(dir.file("samples_er_seed1.png"), 16, 8, pixels.data()).ok());
}

TEST_CASE("parse_csv: quoting, CRLF, blank lines and errors naming the file") {
  auto rows = engram::parse_csv("a,b,c\r\n1,\"x, y\",\"q\"\"\"\n\n2,,\n", "t.csv");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0] == std::vector<std::string>{"a", "b", "c"});
  CHECK((*rows)[1] == std::vector<std::string>{"1", "x, y", "q\""});
  CHECK((*rows)[2] == std::vector<std::string>{"2", "", ""});
  auto bad = engram::parse_csv("a,b\n1,\"open\n", "t.csv");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status().message(), "t.csv"));
  CHECK(contains(bad.status().message(), "line 2"));
  CHECK_FALSE(engram::parse_csv("a,b\"c\n", "t.csv").ok());
}

TEST_CASE("base64_encode follows RFC 4648") {
  CHECK(engram::base64_encode("") == "");
  CHECK(engram::base64_encode("f") == "Zg==");
  CHECK(engram::base64_encode("fo") == "Zm8=");
  CHECK(engram::base64_encode("foo") == "Zm9v");
  CHECK(engram::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(engram::base64_encode(std::string("\xff\x00\x80", 3)) == "/wCA");
}

TEST_CASE("gnuplot renders inline SVG with prefixed ids and quoted titles") {
  if (!need_gnuplot()) return;
  engram::LinePlot lp;
  lp.title = "it's er_total";
  lp.series.push_back({"a'b", {1, 2, 3}, {0.5, std::nan(""), 0.7}});
  auto svg = engram::render_line_plot_svg(lp, "zz_");
  REQUIRE_MESSAGE(svg.ok(), svg.status().message());
  CHECK(svg->rfind("<svg", 0) == 0);
  CHECK(contains(*svg, "</svg>"));
  const bool has_title = contains(*svg, "it&apos;s er_total") || contains(*svg, "it's er_total");
  CHECK(has_title);
  CHECK(contains(*svg, "id='zz_gpPt0'"));
  CHECK_FALSE(contains(*svg, "id='gpPt0'"));
  CHECK_FALSE(contains(*svg, "<?xml"));

  engram::HeatmapPlot h;
  h.values = {{0.1, 0.2}, {0.3, std::nan("")}};
  auto hs = engram::render_heatmap_svg(h, "h_");
  REQUIRE_MESSAGE(hs.ok(), hs.status().message());
  CHECK(contains(*hs, "0.30"));
  h.values = {{0.1, 0.2}, {0.3}};
  auto uneven = engram::render_heatmap_svg(h, "h_");
  CHECK(uneven.status().code() == engram::ErrorCode::invalid_argument);
}

TEST_CASE("a missing gnuplot gives an error naming the package to install") {
  const char* old = std::getenv("ENGRAM_GNUPLOT");
  const std::string saved = old != nullptr ? old : "";
  setenv("ENGRAM_GNUPLOT", "/nonexistent/gnuplot", 1);
  CHECK_FALSE(engram::gnuplot_available());
  engram::LinePlot lp;
  lp.series.push_back({"a", {1}, {1}});
  auto svg = engram::render_line_plot_svg(lp, "p_");
  if (old != nullptr)
    setenv("ENGRAM_GNUPLOT", saved.c_str(), 1);
  else
    unsetenv("ENGRAM_GNUPLOT");
  REQUIRE_FALSE(svg.ok());
  CHECK(svg.status().code() == engram::ErrorCode::not_found);
  CHECK(contains(svg.status().message(), "gnuplot-nox"));
}

TEST_CASE("a gnuplot script error is reported with gnuplot's message") {
  if (!need_gnuplot()) return;
  auto out = engram::run_gnuplot("set terminal svg\nset output '@DIR@/x.svg'\nplot nosuchfn(x)\n",
                                 {}, {"x.svg"});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == engram::ErrorCode::script_error);
  CHECK(contains(out.status().message(), "nosuchfn"));
}

TEST_CASE("report of a synthetic run: table, plots, PNG, no external URLs") {
  if (!need_gnuplot()) return;
  TempDir dir;
  write_synthetic_run(dir);
  engram::ReportInfo info;
  auto html = engram::build_html_report(dir.path(), &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  // The comparison table, escaped.
  CHECK(contains(*html, "<td class=\"l\">er</td><td>1</td><td>0.7233</td><td>plain, quoted</td>"));
  CHECK(contains(*html, "say &quot;hi&quot;"));
  // Per method: class-IL and task-IL heatmaps and lines for er, class-IL for recollections_x;
  // a forgetting chart per kind; one memory chart.
  CHECK(info.plots == 4 + 2 + 2 + 1);
  CHECK(count(*html, "<svg") == static_cast<size_t>(info.plots));
  CHECK(contains(*html, "er: class-IL accuracy matrix"));
  CHECK(contains(*html, "recollections_x: class-IL accuracy on each task"));
  // Forgetting, mean over er's two seeds: task 1 (0.85 - 0.45) = 0.4, task 2 (0.925 - 0.7).
  CHECK(contains(*html, "<td class=\"l\">er</td><td>2</td><td>0.4000</td><td>0.2250</td>"));
  CHECK(contains(*html, "900000 (878.9 KiB)"));
  CHECK(info.images == 1);
  CHECK(count(*html, "src=\"data:image/png;base64,iVBORw0KGgo") == 1);
  CHECK_FALSE(contains(*html, "-ELBO"));
  check_no_external_urls(*html);

  const std::string out = dir.file("out/../report.html");
  std::filesystem::create_directories(dir.file("out"));
  REQUIRE(engram::write_html_report(dir.path(), out).ok());
  CHECK(std::filesystem::file_size(dir.file("report.html")) > 1000);
}

TEST_CASE("report of docs/results/split_mnist_sleep_3seeds") {
  if (!need_gnuplot()) return;
  const std::string run = std::string(ENGRAM_SOURCE_DIR) + "/docs/results/split_mnist_sleep_3seeds";
  engram::ReportInfo info;
  auto html = engram::build_html_report(run, &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  // Rows of its summary.csv.
  CHECK(contains(*html, "<td class=\"l\">er</td><td>1</td><td>0.8090</td><td>0.9875</td>"));
  CHECK(contains(*html, "<td class=\"l\">recollections</td><td>1</td><td>0.9673</td>"));
  CHECK(contains(*html, "<td class=\"l\">er_total</td><td>1</td><td>0.9499</td>"));
  // 3 methods x (2 heatmaps + 2 line plots), 2 forgetting charts, 1 memory chart.
  CHECK(info.plots == 15);
  CHECK(count(*html, "<svg") == 15);
  CHECK(info.images == 0);
  check_no_external_urls(*html);
}

TEST_CASE("report of docs/results/lifelong_vae_f16_3seeds: -ELBO lines and sample grids") {
  if (!need_gnuplot()) return;
  const std::string run = std::string(ENGRAM_SOURCE_DIR) + "/docs/results/lifelong_vae_f16_3seeds";
  engram::ReportInfo info;
  auto html = engram::build_html_report(run, &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(contains(*html, "-ELBO after each distribution"));
  CHECK(contains(*html, "no_consistency (3 seeds)"));
  CHECK(info.plots == 1);
  CHECK(info.images == 3);
  CHECK(count(*html, "src=\"data:image/png;base64,") == 3);
  CHECK(contains(*html, "samples_consistency_seed1.png"));
  check_no_external_urls(*html);
}

TEST_CASE("report of docs/results/omniglot_alphabets_3seeds: runs told apart by their settings") {
  if (!need_gnuplot()) return;
  const std::string run =
      std::string(ENGRAM_SOURCE_DIR) + "/docs/results/omniglot_alphabets_3seeds";
  engram::ReportInfo info;
  auto html = engram::build_html_report(run, &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(contains(*html, "<h3>er budget_images=10 steps=1 (seed 1)</h3>"));
  CHECK(contains(*html, "<h3>recollections budget_images=50 steps=3 (seed 1)</h3>"));
  CHECK(count(*html, "<svg") == static_cast<size_t>(info.plots));
  CHECK(info.plots > 20);
  check_no_external_urls(*html);
}

TEST_CASE("errors name the bad file; a run without optional data still reports") {
  TempDir dir;
  SUBCASE("missing directory") {
    auto r = engram::build_html_report(dir.file("nope"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == engram::ErrorCode::not_found);
    CHECK(contains(r.status().message(), dir.file("nope")));
  }
  SUBCASE("missing results.json") {
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == engram::ErrorCode::not_found);
    CHECK(contains(r.status().message(), dir.file("results.json")));
  }
  SUBCASE("malformed results.json") {
    dir.write("results.json", "{\"runs\": [1, 2,");
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == engram::ErrorCode::malformed);
    CHECK(contains(r.status().message(), dir.file("results.json")));
  }
  SUBCASE("results.json not an object") {
    dir.write("results.json", "[1, 2]");
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "results.json is not a JSON object"));
  }
  SUBCASE("no runs: a page with a note saying so") {
    dir.write("results.json", R"({"runs": {}, "protocol": [1]})");
    engram::ReportInfo info;
    auto r = engram::build_html_report(dir.path(), &info);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(info.plots == 0);
    CHECK(contains(*r, "has no &quot;runs&quot; array of objects"));
  }
  SUBCASE("broken summary.csv") {
    dir.write("results.json", "{}");
    dir.write("summary.csv", "a,b\n\"open,1\n");
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), dir.file("summary.csv")));
  }
  SUBCASE("odd shapes are skipped with notes, not crashes") {
    dir.write("results.json", R"({"runs": [
      {"method": "a", "class_il": "nope", "memory": 3, "elbo": 5},
      {"method": "b", "class_il": [[1, 2], [3]]},
      7, {"class_il": []}]})");
    engram::ReportInfo info;
    auto r = engram::build_html_report(dir.path(), &info);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(info.plots == 0);
    CHECK(info.images == 0);
    CHECK(contains(*r, "summary.csv is missing"));
    CHECK(contains(*r, "a (seed ): &quot;class_il&quot; is not a matrix of numbers"));
    CHECK(contains(*r, "No run in results.json recorded a learning curve"));
    check_no_external_urls(*r);
  }
}

// A distill run directory as scripts/distill_mnist.lua writes it (no results.json).
void write_distill_run(const TempDir& dir) {
  dir.write("summary.json", R"({"student": "mlp", "seed": 1, "episodes": 1000,
    "checkpoints": [100, 1000], "teacher_accuracy": 0.9811, "columns": ["real", "buffer_10x"],
    "accuracy": {"real": [0.2, 0.8], "buffer_10x": [0.3, 0.85]}})");
  dir.write("accuracy.csv", "episodes,real,buffer_10x\n100,20.00,30.00\n1000,80.00,85.50\n");
  dir.write("memories.csv",
            "memory,c,l,codes,compression,code_bytes,decoder_bytes,l1,train_seconds\n"
            "10x,168,2,60000,37.3,1260000,2298944,0.0325,218\n");
  dir.write("timing.csv",
            "column,seconds,eval_seconds,drawn\nreal,10.5,2.0,1000\n"
            "buffer_10x,7.25,1.5,1000\n");
}

TEST_CASE("report of a distill run: accuracy per column and episodes, memories, time") {
  if (!need_gnuplot()) return;
  TempDir dir;
  write_distill_run(dir);
  engram::ReportInfo info;
  auto html = engram::build_html_report(dir.path(), &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  // The comparison joins accuracy.csv, timing.csv and the column's memory (its "10x").
  CHECK(contains(*html,
                 "<td class=\"l\">buffer_10x</td><td>30.00</td><td>85.50</td><td>7.25</td>"
                 "<td>1.5</td><td>1000</td><td>10x</td><td>37.3</td><td>0.0325</td></tr>"));
  CHECK(contains(*html,
                 "<td class=\"l\">real</td><td>20.00</td><td>80.00</td><td>10.5</td>"
                 "<td>2.0</td><td>1000</td><td>-</td>"));
  CHECK(contains(*html, "the teacher's is 98.11%"));
  CHECK(contains(*html, "<h2>Distillation</h2>"));
  CHECK(contains(*html, "<h2>Memories</h2>"));
  CHECK(contains(*html, "<h2>Time</h2>"));
  // Accuracy lines, final accuracy bars, memory bytes, seconds.
  CHECK(info.plots == 4);
  CHECK(count(*html, "<svg") == 4);
  CHECK(contains(*html, "teacher (98.11%)"));
  CHECK(info.notes.empty());
  check_no_external_urls(*html);
  // Without the optional CSVs: notes, fewer plots.
  std::filesystem::remove(dir.file("memories.csv"));
  std::filesystem::remove(dir.file("timing.csv"));
  html = engram::build_html_report(dir.path(), &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(info.plots == 2);
  CHECK(contains(*html, "memories.csv is missing"));
  CHECK(contains(*html, "timing.csv is missing"));
}

TEST_CASE("report of docs/results/distillation (the run of distill_mnist_cnn_lr1e-4)") {
  if (!need_gnuplot()) return;
  const std::string run = std::string(ENGRAM_SOURCE_DIR) + "/docs/results/distillation";
  engram::ReportInfo info;
  auto html = engram::build_html_report(run, &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(
      contains(*html, "<td class=\"l\">active_10x</td><td>57.11</td><td>88.49</td><td>98.32</td>"));
  CHECK(info.plots == 4);
  check_no_external_urls(*html);
}

TEST_CASE("report of a compression sweep: distortion against compression with the paper's") {
  if (!need_gnuplot()) return;
  TempDir dir;
  dir.write("results.json", R"({"protocol": {"epochs": 1},
    "results": [
      {"latent": "discrete", "c": 38, "l": 2, "bits_per_code": 38, "compression": 165.05,
       "l1": 0.0606, "l1_train": 0.0604, "seconds": 45.0},
      {"latent": "discrete", "c": 168, "l": 2, "bits_per_code": 168, "compression": 37.33,
       "l1": 0.0354, "l1_train": 0.0352, "seconds": 69.3},
      {"latent": "continuous", "h": 20, "kl_weight": 1, "bits_per_code": 640,
       "compression": 9.8, "l1": 0.041, "seconds": 20.0}],
    "paper": [{"latent": "discrete", "name": "38x2", "compression": 165.05, "l1": 0.05785},
              {"latent": "continuous", "compression": 9.8, "l1": 0.0354}]})");
  engram::ReportInfo info;
  auto html = engram::build_html_report(dir.path(), &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(contains(*html, "<h2>Distortion against compression</h2>"));
  CHECK(info.plots == 1);
  for (const char* series : {"discrete (this run)", "continuous kl=1 (this run)",
                             "discrete (paper, train)", "continuous (paper, train)"}) {
    CHECK_MESSAGE(contains(*html, series), series);
  }
  // The comparison table lists each setting's scalars, the latent first.
  CHECK(contains(
      *html,
      "<th>latent</th><th>c</th><th>l</th><th>h</th><th>kl_weight</th><th>bits_per_code</th>"));
  CHECK(contains(
      *html, "<td class=\"l\">discrete</td><td>168</td><td>2</td><td></td><td></td><td>168</td>"));
  CHECK_FALSE(contains(*html, "has no &quot;runs&quot;"));
  CHECK_FALSE(contains(*html, "learning curve"));
  check_no_external_urls(*html);
}

TEST_CASE("report of results/compression_sweep.csv alone: the sweep plot from the CSV") {
  if (!need_gnuplot()) return;
  const std::string dir = std::string(ENGRAM_SOURCE_DIR) + "/results";
  engram::ReportInfo info;
  auto html = engram::build_html_report(dir, &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(info.plots == 1);
  CHECK(contains(*html, "<h2>Distortion against compression</h2>"));
  CHECK(contains(*html, "continuous kl=0 (this run)"));
  CHECK(contains(*html, "discrete (paper, train)"));
  CHECK(contains(*html,
                 "<td class=\"l\">discrete</td><td>38</td><td>2</td><td></td><td></td>"
                 "<td>38</td><td>165.053</td><td>0.06056</td>"));
  CHECK(contains(*html, "results.json is missing: the sweep is read from"));

  TempDir bad;
  bad.write("compression_sweep.csv", "latent,c,l,compression,l1\ndiscrete,38,2,165,0.0x6\n");
  auto r = engram::build_html_report(bad.path());
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), bad.file("compression_sweep.csv") +
                                           ": row 2, column l1: '0.0x6' is not a number"));
  bad.write("compression_sweep.csv", "latent,c\ndiscrete,38\n");
  r = engram::build_html_report(bad.path());
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), "no column 'compression'"));
}

TEST_CASE("report: loss and samples/s curves, FWT, association -ELBO, recollection captions") {
  if (!need_gnuplot()) return;
  TempDir dir;
  dir.write("results.json", R"({"runs": [
    {"method": "er", "seed": 1, "fwt": 0.0125, "class_il": [[0.9, 0], [0.5, 0.95]],
     "phases": [{"task": 1}, {"task": 2}],
     "curve": {"every": 10, "iteration": [10, 20, 30, 40], "task": [1, 1, 2, 2],
               "loss": [2.3, 1.1, 0.9, 0.5], "samples_per_s": [900, 950, 1000, 990]}},
    {"method": "recollections", "seed": 1, "fwt": -0.02,
     "class_il": [[0.9, 0], [0.8, 0.95]],
     "phases": [{"task": 1, "association_neg_elbo": 120.5},
                {"task": 2, "association_neg_elbo": 110.25}],
     "curve": {"every": 10, "iteration": [10, 20, 30, 40, 50], "task": [1, 1, 1, 2, 2],
               "loss": [2.0, 1.0, 0.8, 0.6, 0.4],
               "samples_per_s": [800, 810, 400, 820, 830],
               "association_neg_elbo": [130, 125, 124, 121, 118],
               "phase": ["learn", "learn", "sleep", "learn", "learn"]}},
    {"method": "recollections", "seed": 2, "fwt": 0.5,
     "phases": [{"task": 1, "association_neg_elbo": 119.5}, {"task": 2}],
     "curve": {"iteration": [1, 2], "loss": [1]}}]})");
  dir.write("summary.csv",
            "method,seed,class-IL ACC\ner,1,0.72\nrecollections,1,0.87\n"
            "recollections,2,0.8\n");
  std::vector<uint8_t> pixels(20 * 10, 90);
  REQUIRE(
      engram::write_png_gray(dir.file("recollections_er_total_seed2.png"), 20, 10, pixels.data())
          .ok());
  REQUIRE(engram::write_png_gray(dir.file("samples_x.png"), 20, 10, pixels.data()).ok());
  engram::ReportInfo info;
  auto html = engram::build_html_report(dir.path(), &info);
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  // FWT added to summary.csv's table, matched by method and seed.
  CHECK(contains(*html, "<th>FWT</th>"));
  CHECK(contains(*html, "<td class=\"l\">er</td><td>1</td><td>0.72</td><td>0.0125</td>"));
  CHECK(contains(*html, "<td class=\"l\">recollections</td><td>2</td><td>0.8</td><td>0.5000</td>"));
  // Association -ELBO: task 1 mean of 120.5 and 119.5, task 2 only seed 1.
  CHECK(contains(*html, "<h2>Association -ELBO per task</h2>"));
  CHECK(contains(*html, "<td class=\"l\">recollections</td><td>120.00</td><td>110.25</td>"));
  // Curves: loss and samples/s; the sleep phase is its own series; seed 2's bad curve unused
  // (the first seed with a curve is taken).
  CHECK(contains(*html, "<h2>Loss and samples/s over iterations</h2>"));
  CHECK(contains(*html, "training loss over iterations"));
  CHECK(contains(*html, "samples per second over iterations"));
  CHECK(contains(*html, "recollections (sleep)"));
  CHECK_FALSE(contains(*html, "No run in results.json recorded a learning curve"));
  CHECK(contains(*html, "association -ELBO over iterations"));
  // 2 x (heatmap + lines), forgetting, association, 3 curves (loss, samples/s, -ELBO).
  CHECK(info.plots == 4 + 1 + 1 + 3);
  // Recollections get their own section and a caption from the file name.
  CHECK(contains(*html, "<h2>Recollections</h2>"));
  CHECK(contains(*html, "<figcaption><b>er_total</b>, seed 2"));
  CHECK(contains(*html, "<h2>Images</h2>"));
  CHECK(contains(*html, "<figcaption>samples: <b>x</b>"));
  CHECK(info.images == 2);
  CHECK(html->find("<h2>Recollections</h2>") < html->find("<h2>Images</h2>"));
  check_no_external_urls(*html);
}

TEST_CASE("report: a curve of unequal arrays is skipped with a note") {
  if (!need_gnuplot()) return;
  TempDir dir;
  dir.write("results.json", R"({"runs": [{"method": "er", "seed": 3,
    "curve": {"iteration": [1, 2, 3], "loss": [1, 2], "samples_per_s": [5, 6, 7]}}]})");
  auto html = engram::build_html_report(dir.path());
  REQUIRE_MESSAGE(html.ok(), html.status().message());
  CHECK(contains(*html, "er (seed 3): curve is not {iteration, loss, samples_per_s[, phase]}"));
  CHECK(contains(*html, "No run in results.json recorded a learning curve"));
}

TEST_CASE("damaged files of a run directory: an error naming the file") {
  TempDir dir;
  auto expect_error = [&](const std::string& name, const std::string& what) {
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == engram::ErrorCode::malformed);
    CHECK_MESSAGE(contains(r.status().message(), dir.file(name)), r.status().message());
    CHECK_MESSAGE(contains(r.status().message(), what), r.status().message());
  };
  SUBCASE("a PNG that is not one") {
    dir.write("results.json", "{}");
    dir.write("recollections_er_seed1.png", "hello");
    expect_error("recollections_er_seed1.png", "is not a readable PNG image");
  }
  SUBCASE("a truncated PNG") {
    dir.write("results.json", "{}");
    std::vector<uint8_t> pixels(64 * 64);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
    auto png = engram::encode_png_gray(64, 64, pixels.data());
    REQUIRE(png.ok());
    dir.write("grid.png", std::string(png->begin(), png->begin() + png->size() / 2));
    expect_error("grid.png", "is not a readable PNG image");
  }
  SUBCASE("a damaged summary.json of a distill run") {
    write_distill_run(dir);
    dir.write("summary.json", "{\"student\": ");
    expect_error("summary.json", "is not valid JSON");
  }
  SUBCASE("accuracy.csv: a value that is not a number") {
    write_distill_run(dir);
    dir.write("accuracy.csv", "episodes,real\n100,2O.5\n");
    expect_error("accuracy.csv", "row 2, column real: '2O.5' is not a number");
  }
  SUBCASE("accuracy.csv: not a distill table") {
    write_distill_run(dir);
    dir.write("accuracy.csv", "a,b\n1,2\n");
    expect_error("accuracy.csv", "the header is not");
  }
  SUBCASE("accuracy.csv: broken quoting") {
    write_distill_run(dir);
    dir.write("accuracy.csv", "episodes,real\n\"100,1\n");
    expect_error("accuracy.csv", "unterminated quoted field");
  }
  SUBCASE("memories.csv: a row longer than its header") {
    write_distill_run(dir);
    dir.write("memories.csv", "memory,c\n10x,168,2\n");
    expect_error("memories.csv", "row 2 has 3 fields, the header 2");
  }
  SUBCASE("timing.csv: a bad number") {
    write_distill_run(dir);
    dir.write("timing.csv", "column,seconds\nreal,ten\n");
    if (!engram::gnuplot_available()) return;  // read after the accuracy plots
    expect_error("timing.csv", "'ten' is not a number");
  }
  SUBCASE("a distill run without accuracy.csv") {
    write_distill_run(dir);
    std::filesystem::remove(dir.file("accuracy.csv"));
    auto r = engram::build_html_report(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), dir.file("accuracy.csv") + " is missing"));
  }
  SUBCASE("summary.csv: a row longer than its header") {
    dir.write("results.json", "{}");
    dir.write("summary.csv", "method,seed\ner,1,2\n");
    expect_error("summary.csv", "row 2 has 3 fields");
  }
}

}  // namespace
