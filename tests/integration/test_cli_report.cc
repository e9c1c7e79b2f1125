// `engram report RUN_DIR [--out FILE]`: exit codes (0 written, 1 a bad run directory's file or a
// missing gnuplot, 2 usage), what it prints, and the file it writes. Runs the built binary,
// whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "io/reports/gnuplot.h"
#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::contains;
using engram::test::quote;
using engram::test::run_engram;
using engram::test::TempDir;
using Result = engram::test::CliResult;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char* kResults = R"({"runs": [
  {"method": "er", "seed": 1, "class_il": [[0.9, 0], [0.5, 0.95]],
   "memory": {"bytes_used": 10, "incremental_bytes": 10, "total_bytes": 20}}]})";

TEST_CASE("engram report writes RUN_DIR/report.html or --out, exit 0") {
  if (!engram::gnuplot_available()) {
    MESSAGE("gnuplot not found: skipping (install the Debian package gnuplot-nox)");
    return;
  }
  TempDir dir;
  dir.write("results.json", kResults);
  dir.write("summary.csv", "method,seed,class-IL ACC\ner,1,0.7250\n");
  SUBCASE("default output") {
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "report: " + dir.file("report.html")));
    CHECK(contains(r.output, "4 plots"));  // heatmap, lines, forgetting, memory
    const std::string html = slurp(dir.file("report.html"));
    CHECK(contains(html, "<td class=\"l\">er</td><td>1</td><td>0.7250</td>"));
    CHECK(contains(html, "<svg"));
  }
  SUBCASE("--out") {
    Result r = run_engram("report " + quote(dir.path()) + " --out " + quote(dir.file("x.html")));
    CAPTURE(r.output);
    CHECK(r.exit_code == 0);
    CHECK(std::filesystem::exists(dir.file("x.html")));
    CHECK_FALSE(std::filesystem::exists(dir.file("report.html")));
  }
  SUBCASE("an unwritable --out exits 1 naming it") {
    const std::string out = dir.file("no/such/dir/r.html");
    Result r = run_engram("report " + quote(dir.path()) + " --out " + quote(out));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, out));
  }
}

TEST_CASE("engram report: bad run directories exit 1 naming the file, usage errors exit 2") {
  TempDir dir;
  SUBCASE("missing results.json") {
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.file("results.json")));
  }
  SUBCASE("malformed results.json") {
    dir.write("results.json", "{\"runs\": [");
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.file("results.json") + " is not valid JSON"));
    CHECK_FALSE(std::filesystem::exists(dir.file("report.html")));
  }
  SUBCASE("a damaged PNG: exit 1 naming it") {
    dir.write("results.json", "{}");
    dir.write("recollections_er_seed1.png", "\x89PNG\r\n\x1a\n truncated");
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.file("recollections_er_seed1.png") + " is not a readable PNG"));
  }
  SUBCASE("a distill run with a damaged accuracy.csv: exit 1 naming it") {
    dir.write("summary.json", R"({"student": "mlp", "teacher_accuracy": 0.98})");
    dir.write("accuracy.csv", "episodes,real\n100,x\n");
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.file("accuracy.csv") + ": row 2, column real: 'x' is not"));
  }
  SUBCASE("a distill run with a damaged summary.json: exit 1 naming it") {
    dir.write("summary.json", "{\"student\": [");
    dir.write("accuracy.csv", "episodes,real\n100,10\n");
    Result r = run_engram("report " + quote(dir.path()));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.file("summary.json") + " is not valid JSON"));
  }
  SUBCASE("gnuplot missing: exit 1 naming the package") {
    dir.write("results.json", kResults);
    const std::string cmd = "env ENGRAM_GNUPLOT=/nonexistent/gnuplot " + quote(ENGRAM_CLI) +
                            " report " + quote(dir.path()) + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
    const int status = pclose(pipe);
    CAPTURE(output);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(contains(output, "gnuplot-nox"));
  }
  SUBCASE("run directory does not exist") {
    Result r = run_engram("report " + quote(dir.file("nope")));
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "nope"));
  }
  SUBCASE("no run directory") {
    Result r = run_engram("report");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
  }
}

}  // namespace

TEST_CASE("engram run --report writes report.html in each run directory the script made") {
  if (!engram::gnuplot_available()) {
    MESSAGE("gnuplot not found: skipping (install the Debian package gnuplot-nox)");
    return;
  }
  TempDir dir;
  dir.write("tiny.lua", R"(local cfg = engram.settings { "out" }
local d = engram.run_dir(cfg.out, "tiny")
engram.write_json(d .. "/results.json",
  { runs = { { method = "er", seed = 1, class_il = { { 0.9, 0 }, { 0.5, 0.95 } } } } })
engram.write_csv(d .. "/summary.csv", { "method", "seed" }, { { "er", "1" } })
)");
  dir.write("none.lua", "print('nothing to report')\n");
  Result r = run_engram("run --report " + quote(dir.file("tiny.lua")) +
                        " --set out=" + quote(dir.file("runs")));
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  int reports = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("runs"))) {
    if (std::filesystem::exists(e.path() / "report.html")) ++reports;
    CHECK(contains(r.output, "report: " + (e.path() / "report.html").string()));
  }
  CHECK(reports == 1);
  // Asked for a report, the script made no run directory: an error, not silence.
  Result none = run_engram("run --report " + quote(dir.file("none.lua")));
  CAPTURE(none.output);
  CHECK(none.exit_code == 1);
  CHECK(contains(none.output, "--report: the script made no run directory"));
  // Without --report nothing is written.
  Result plain =
      run_engram("run " + quote(dir.file("tiny.lua")) + " --set out=" + quote(dir.file("plain")));
  CHECK(plain.exit_code == 0);
  for (const auto& e : std::filesystem::directory_iterator(dir.file("plain"))) {
    CHECK_FALSE(std::filesystem::exists(e.path() / "report.html"));
  }
}
