// Integer settings given to the `engram` command (its options and `--set` values) are
// range-checked before they are narrowed: "-1" must not wrap to 2^64 - 1, a budget in MiB must
// not overflow into bytes, and a `--set tasks=2^40` is refused naming the setting and range.
// Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::TempDir;

using engram::test::contains;
using engram::test::quote;
using engram::test::run_engram;
using Result = engram::test::CliResult;

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
