// io/reports: continual-learning metrics, atomic JSON/CSV writing, run directories, text
// tables and progress lines.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "io/reports/metrics.h"
#include "io/reports/progress.h"
#include "io/reports/results_writer.h"
#include "tests/temp_dir.h"

namespace engram {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string read_all(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Task 1 improves task 0 (0.9 -> 0.95) before task 2 makes it drop to 0.5, so forgetting
// (measured from the best accuracy) differs from -BWT (measured from just after learning).
const Matrix kR3 = {
    {0.90, 0.10, 0.20},
    {0.95, 0.80, 0.30},
    {0.50, 0.70, 0.95},
};

TEST_CASE("metrics: hand-computed 3x3 example") {
  auto m = compute_metrics(kR3);
  REQUIRE(m.ok());
  CHECK(m->acc == doctest::Approx((0.50 + 0.70 + 0.95) / 3));  // 0.71667
  CHECK(m->bwt == doctest::Approx(-0.25));                     // ((.5-.9)+(.7-.8))/2
  REQUIRE(m->forgetting_per_task.size() == 2);
  CHECK(m->forgetting_per_task[0] == doctest::Approx(0.45));  // max(.9,.95) - .5
  CHECK(m->forgetting_per_task[1] == doctest::Approx(0.10));  // .8 - .7
  CHECK(m->forgetting == doctest::Approx(0.275));
  CHECK_FALSE(m->fwt.has_value());

  const std::vector<double> b = {0.10, 0.05, 0.20};
  auto with_b = compute_metrics(kR3, &b);
  REQUIRE(with_b.ok());
  REQUIRE(with_b->fwt.has_value());
  CHECK(*with_b->fwt == doctest::Approx(0.075));  // ((.1-.05)+(.3-.2))/2
  CHECK(with_b->acc == doctest::Approx(m->acc));
}

TEST_CASE("metrics: one task has no transfer and no forgetting") {
  auto m = compute_metrics({{0.7}});
  REQUIRE(m.ok());
  CHECK(m->acc == doctest::Approx(0.7));
  CHECK(m->bwt == 0.0);
  CHECK(m->forgetting == 0.0);
  CHECK(m->forgetting_per_task.empty());
  CHECK_FALSE(m->fwt.has_value());
  const std::vector<double> b = {0.1};
  auto with_b = compute_metrics({{0.7}}, &b);
  REQUIRE(with_b.ok());
  CHECK(with_b->fwt == 0.0);
}

TEST_CASE("metrics: a run in progress uses the leading block") {
  const Matrix partial = {kR3[0], kR3[1]};
  const std::vector<double> b = {0.10, 0.05, 0.20};
  auto m = compute_partial_metrics(partial, &b);
  REQUIRE(m.ok());
  CHECK(m->acc == doctest::Approx(0.875));  // (.95+.8)/2
  CHECK(m->bwt == doctest::Approx(0.05));   // .95-.9
  REQUIRE(m->forgetting_per_task.size() == 1);
  CHECK(m->forgetting_per_task[0] == doctest::Approx(-0.05));  // .9 - .95: no forgetting yet
  CHECK(*m->fwt == doctest::Approx(0.05));                     // .1 - .05
  auto full = compute_partial_metrics(kR3);
  REQUIRE(full.ok());
  CHECK(full->forgetting == doctest::Approx(0.275));
  CHECK_FALSE(compute_partial_metrics({{0.5}, {0.5}}).ok());  // 2 rows, 1 task
  CHECK_FALSE(compute_partial_metrics({{0.5, 0.5}, {0.5}}).ok());
}

TEST_CASE("metrics: bad matrices are invalid_argument naming the problem") {
  auto code = [](const Expected<ClMetrics>& e) { return e.status().code(); };
  CHECK(code(compute_metrics({})) == ErrorCode::invalid_argument);
  CHECK(code(compute_metrics({{}})) == ErrorCode::invalid_argument);
  auto ragged = compute_metrics({{0.5, 0.5}, {0.5}});
  CHECK(code(ragged) == ErrorCode::invalid_argument);
  CHECK(contains(ragged.status().message(), "row 1 has 1 entries, expected 2"));
  CHECK(code(compute_metrics({{0.5, 0.5}})) == ErrorCode::invalid_argument);    // 1x2
  CHECK(code(compute_metrics({{0.5}, {0.5}})) == ErrorCode::invalid_argument);  // 2x1
  auto nan = compute_metrics({{0.5, 0.5}, {0.5, std::nan("")}});
  CHECK(code(nan) == ErrorCode::invalid_argument);
  CHECK(contains(nan.status().message(), "R[1][1] is NaN"));
  CHECK(code(compute_metrics({{1.5}})) == ErrorCode::invalid_argument);
  CHECK(code(compute_metrics({{-0.01}})) == ErrorCode::invalid_argument);
  CHECK(compute_metrics({{0.0, 1.0}, {1.0, 0.0}}).ok());  // the bounds themselves are fine
  const std::vector<double> short_b = {0.1, 0.1};
  CHECK(code(compute_metrics(kR3, &short_b)) == ErrorCode::invalid_argument);
  const std::vector<double> bad_b = {0.1, 2.0, 0.1};
  CHECK(code(compute_metrics(kR3, &bad_b)) == ErrorCode::invalid_argument);
}

TEST_CASE("write_csv quotes fields per RFC 4180 and leaves no temporary file") {
  TempDir dir;
  const std::string path = dir.file("results.csv");
  REQUIRE(write_csv(path, {"name", "value", "note"},
                    {{"a,b", "1", "say \"hi\""}, {"plain", "2", "line1\nline2"}, {"", "3", ""}})
              .ok());
  CHECK(read_file(path) ==
        "name,value,note\n"
        "\"a,b\",1,\"say \"\"hi\"\"\"\n"
        "plain,2,\"line1\nline2\"\n"
        ",3,\n");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"results.csv"});

  // Overwriting replaces the whole file.
  REQUIRE(write_csv(path, {"x"}, {}).ok());
  CHECK(read_file(path) == "x\n");

  CHECK(write_csv(path, {}, {}).code() == ErrorCode::invalid_argument);
  Status ragged = write_csv(dir.file("bad.csv"), {"a", "b"}, {{"1"}});
  CHECK(ragged.code() == ErrorCode::invalid_argument);
  CHECK_FALSE(fs::exists(dir.file("bad.csv")));
}

TEST_CASE("write_json round-trips through a file") {
  TempDir dir;
  const std::string path = dir.file("metrics.json");
  nlohmann::json j;
  j["acc"] = 0.71666666666666667;
  j["matrix"] = kR3;
  j["name"] = "split \"mnist\" \xc3\xa9";
  j["fwt"] = nullptr;
  j["tasks"] = 3;
  REQUIRE(write_json(path, j).ok());
  const std::string text = read_file(path);
  CHECK(text.back() == '\n');
  CHECK(nlohmann::json::parse(text) == j);
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"metrics.json"});

  // Invalid UTF-8 cannot be serialized: reported, nothing written.
  Status bad = write_json(dir.file("bad.json"), nlohmann::json("\xff\xfe"));
  CHECK(bad.code() == ErrorCode::invalid_argument);
  CHECK_FALSE(fs::exists(dir.file("bad.json")));
  // No temporary file is left behind (write_file_atomically names it bad.json.tmp.PID).
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"metrics.json"});
}

TEST_CASE("atomic writes report io_error naming the path and clean up") {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir/out.json");
  Status s = write_json(missing, nlohmann::json::object());
  CHECK(s.code() == ErrorCode::io_error);
  CHECK(contains(s.message(), missing));

  // The target is a directory: the rename fails after the .tmp was written; it is removed.
  const std::string target = dir.file("occupied");
  fs::create_directory(target);
  Status r = write_csv(target, {"a"}, {{"1"}});
  CHECK(r.code() == ErrorCode::io_error);
  CHECK(contains(r.message(), target));
  CHECK_FALSE(fs::exists(target + ".tmp"));
  CHECK(fs::is_directory(target));
}

TEST_CASE("make_run_dir creates unique timestamped directories") {
  TempDir dir;
  const std::string root = dir.file("runs/nested");  // created with its parents
  auto a = make_run_dir(root, "split_mnist");
  auto b = make_run_dir(root + "/", "split_mnist");
  auto c = make_run_dir(root, "split_mnist");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(*a != *b);
  CHECK(*b != *c);
  CHECK(*a != *c);
  for (const std::string& p : {*a, *b, *c}) CHECK(fs::is_directory(p));
  const std::regex shape(".*/runs/nested/split_mnist-[0-9]{8}-[0-9]{6}(-[0-9]+)?");
  CHECK(std::regex_match(*a, shape));
  CHECK(std::regex_match(*c, shape));
  // Created within the same second (the usual case), the second one gets the "-1" suffix.
  if (b->substr(0, a->size()) == *a) CHECK(*b == *a + "-1");
  CHECK(list_dir(root).size() == 3);

  CHECK(make_run_dir(root, "").status().code() == ErrorCode::invalid_argument);
  CHECK(make_run_dir(root, "a/b").status().code() == ErrorCode::invalid_argument);
  CHECK(make_run_dir(root, "..").status().code() == ErrorCode::invalid_argument);
  std::ofstream(dir.file("file")) << "x";
  auto under_file = make_run_dir(dir.file("file"), "run");
  CHECK(under_file.status().code() == ErrorCode::io_error);
  CHECK(contains(under_file.status().message(), dir.file("file")));
}

TEST_CASE("format_table aligns columns and right-aligns numbers") {
  const std::string table =
      format_table({"method", "acc", "bwt"}, {
                                                 {"recollections", "0.912", "-0.031"},
                                                 {"replay", "0.88", "-0.1"},
                                                 {"fine-tune", "n/a", "-0.52"},
                                             });
  CHECK(table ==
        "method         acc       bwt\n"
        "-------------  -----  ------\n"
        "recollections  0.912  -0.031\n"
        "replay         0.88     -0.1\n"
        "fine-tune      n/a     -0.52\n");
  // The last column is right-aligned, so every line ends at the same column.
  for (const std::string& line : split_lines(table)) CHECK(line.size() == 28);

  // Short rows are padded, UTF-8 counts code points, percentages are numbers, no trailing spaces.
  CHECK(format_table({"m", "acc"}, {{"\xc3\xa9t\xc3\xa9", "95%"}, {"x"}}) ==
        "m    acc\n"
        "---  ---\n"
        "\xc3\xa9t\xc3\xa9  95%\n"
        "x\n");
}

struct FakeClock {
  double t = 0.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

TEST_CASE("Progress in plain mode prints one line per interval and at completion") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ProgressOptions opt;
    opt.clock = clock.fn();
    Progress p("train", 100, f, opt);  // a tmpfile is not a terminal
    CHECK_FALSE(p.terminal());
    for (int i = 1; i <= 100; ++i) {
      clock.t = i;
      p.update(i);
    }
    p.finish();  // same state as the completion line: not repeated
  }
  std::vector<std::string> lines = split_lines(read_all(f));
  std::fclose(f);
  REQUIRE(lines.size() == 10);  // t = 10, 20, ..., 100
  CHECK(lines[0] == "train 10% 10/100 1.0 it/s eta 1m30s");
  CHECK(lines[9] == "train 100% 100/100 1.0 it/s in 1m40s");
}

TEST_CASE("Progress in plain mode: stopped early, finish prints the final state once") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressOptions opt;
  opt.clock = clock.fn();
  opt.interval_seconds = 10.0;
  Progress p("consolidate", 100, f, opt);
  clock.t = 9.9;
  p.update(10);  // before the first interval: nothing
  for (int i = 1; i <= 50; ++i) {
    clock.t = i;
    p.update(i, "loss 0.5");
  }
  p.finish("stopped");
  p.finish("again");  // no effect
  p.update(60);       // no effect
  std::vector<std::string> lines = split_lines(read_all(f));
  std::fclose(f);
  REQUIRE(lines.size() == 6);  // t = 10..50, then finish
  CHECK(lines[4] == "consolidate 50% 50/100 1.0 it/s eta 50s loss 0.5");
  CHECK(lines[5] == "consolidate 50% 50/100 1.0 it/s eta 50s stopped");
}

TEST_CASE("Progress::set_total: a phase that ends early is reported as complete") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressOptions opt;
  opt.clock = clock.fn();
  Progress p("lifelong 1/2", 2000, f, opt);
  for (int i = 1; i <= 40; ++i) {
    clock.t = i * 0.5;
    p.update(i);
  }
  p.set_total(40);  // early stopping after 40 of at most 2000 steps
  p.finish("-ELBO 101.2");
  std::vector<std::string> lines = split_lines(read_all(f));
  std::fclose(f);
  REQUIRE(lines.size() == 3);  // t = 10, 20, then finish
  CHECK(lines[0] == "lifelong 1/2 1% 20/2000 2.0 it/s eta 16m30s");
  CHECK(lines[2] == "lifelong 1/2 100% 40/40 2.0 it/s in 20s -ELBO 101.2");
}

TEST_CASE("Progress prints nothing while set_progress_quiet(true), in both modes") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  set_progress_quiet(true);
  for (bool terminal : {false, true}) {
    ProgressOptions opt;
    opt.clock = clock.fn();
    opt.force_terminal = terminal;
    Progress p("quiet", 10, f, opt);
    for (int i = 1; i <= 10; ++i) {
      clock.t += 20;
      p.update(i);
    }
    p.finish("done");
  }
  set_progress_quiet(false);
  CHECK(read_all(f).empty());
  Progress loud("loud", 1, f);
  loud.update(1);
  loud.finish();
  CHECK(read_all(f).find("loud") != std::string::npos);
  std::fclose(f);
}

TEST_CASE("Progress::finish_at reports the count the phase ended with") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressOptions opt;
  opt.clock = clock.fn();
  Progress p("learn", 100, f, opt);
  clock.t = 10;
  p.update(95, "x");  // the caller's last update came before the end
  clock.t = 20;
  p.finish_at(100, "done");
  p.finish_at(50, "again");  // no effect
  std::vector<std::string> lines = split_lines(read_all(f));
  std::fclose(f);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == "learn 100% 100/100 5.0 it/s in 20s done");
}

TEST_CASE("Progress on a terminal redraws one line at a bounded rate") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ProgressOptions opt;
    opt.clock = clock.fn();
    opt.force_terminal = true;
    opt.redraw_seconds = 0.125;
    Progress p("eval", 64, f, opt);
    CHECK(p.terminal());
    for (int i = 1; i <= 64; ++i) {
      clock.t = i / 32.0;  // exact in binary: every 4th update is due
      p.update(i);
    }
    p.finish("done");
  }
  const std::string out = read_all(f);
  std::fclose(f);
  // Draws at i = 1, 5, ..., 61 (16), the completion at 64, and the final line.
  CHECK(std::count(out.begin(), out.end(), '\r') == 18);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(out.back() == '\n');
  CHECK(contains(out, "\reval [####################] 100% 64/64 32.0 it/s in 2s done"));
}

TEST_CASE("Progress::render shows bar, rate and eta; unknown totals omit them") {
  FakeClock clock;
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressOptions opt;
  opt.clock = clock.fn();
  opt.force_terminal = true;
  Progress p("train", 2000, f, opt);
  CHECK(p.render(900, "loss 0.2", 100.0) ==
        "train [#########...........] 45% 900/2000 9.0 it/s eta 2m02s loss 0.2");
  CHECK(p.render(0, "", 0.0) == "train [....................] 0% 0/2000 -- it/s eta --");
  Progress unknown("scan", 0, f, opt);
  CHECK(unknown.render(42, "", 2.0) == "scan 42 21.0 it/s");
  std::fclose(f);

  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(59.4) == "59s");
  CHECK(format_duration(65) == "1m05s");
  CHECK(format_duration(3725) == "1h02m");
  CHECK(format_duration(-1) == "--");
  CHECK(format_duration(std::nan("")) == "--");
}

}  // namespace
}  // namespace engram
