// Integer settings given to the `engram` command (its options and `--set` values) are
// range-checked before they are narrowed: "-1" must not wrap to 2^64 - 1, a budget in MiB must
// not overflow into bytes, and a `--set tasks=2^40` is refused naming the setting and range.
// Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/temp_dir.h"

namespace {

using engram::test::TempDir;

// Single-quotes s for /bin/sh.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `engram ARGS` through the shell and collects its exit code and output.
Result run_engram(const std::string& args) {
  const std::string cmd = quote(ENGRAM_CLI) + " " + args + " 2>&1";
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  REQUIRE(status != -1);
  REQUIRE_MESSAGE(WIFEXITED(status), "engram did not exit normally: " << cmd);
  r.exit_code = WEXITSTATUS(status);
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("engram run: budgets outside their range are usage errors, not wrapped") {
  TempDir dir;
  const std::string ok = quote(dir.write("ok.lua", "print('fine')\n"));
  struct Case {
    const char* option;
    const char* message;
  };
  for (const Case& c : {
           Case{"--max-memory-mb -1", "must be an integer in [1, 1099511627776], got -1"},
           Case{"--max-memory-mb 17592186044416",  // 2^44 MiB = 2^64 bytes: would be 0
                "must be an integer in [1, 1099511627776], got 17592186044416"},
           Case{"--max-memory-mb 0", "got 0"},
           Case{"--max-memory-mb 2.5", "got 2.5"},
           Case{"--max-instructions -1", "must be an integer in [0, 18446744073709551615], got -1"},
           Case{"--max-instructions 18446744073709551616", "got 18446744073709551616"},
       }) {
    CAPTURE(c.option);
    Result r = run_engram(std::string("run ") + c.option + " " + ok);
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, c.message));
    CHECK_FALSE(contains(r.output, "fine"));
  }
  Result r = run_engram("run --max-memory-mb 64 --max-instructions 0 " + ok);
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "fine"));
}

TEST_CASE("engram run --set tasks=2^40 is refused naming the setting and its range") {
  TempDir dir;
  const std::string script =
      dir.write("tasks.lua",
                "local cfg = engram.settings{'tasks'}\n"
                "local ds = engram.dataset('mnist', '" ENGRAM_SOURCE_DIR
                "/data/mnist')\n"
                "engram.runtime{dataset = ds, tasks = engram.integer(cfg.tasks, 5)}\n");
  Result r = run_engram("run --set tasks=1099511627776 " + quote(script));
  CAPTURE(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "runtime.tasks must be in [1, 65536], got 1099511627776"));
  r = run_engram("run --set tasks=2.5 " + quote(script));
  CAPTURE(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "'2.5' is not an integer"));
}
