// The `engram` command's log options: --log-level (which lines show, bad levels) and --quiet (no
// progress lines). Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>

#include <string>

#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::contains;
using engram::test::quote;
using engram::test::run_engram;
using engram::test::TempDir;
using Result = engram::test::CliResult;

TEST_CASE("--log-level: a warning shows at warn and below, not at error; the banner is info") {
  TempDir dir;
  // A script's warn() is logged at level warn under the source "lua".
  const std::string script =
      quote(dir.write("warns.lua", "warn('low on patience')\nprint('done')\n"));
  Result at_warn = run_engram("--log-level warn run " + script);
  CAPTURE(at_warn.output);
  CHECK(at_warn.exit_code == 0);
  CHECK(contains(at_warn.output, "] [warn] [lua] low on patience"));
  CHECK(contains(at_warn.output, "done"));
  CHECK_FALSE(contains(at_warn.output, "[info] [engram] engram "));

  Result at_error = run_engram("--log-level error run " + script);
  CAPTURE(at_error.output);
  CHECK(at_error.exit_code == 0);
  CHECK_FALSE(contains(at_error.output, "low on patience"));
  CHECK(contains(at_error.output, "done"));  // the script's output is not the log

  // The default (info) shows the banner too; the options may follow the subcommand.
  Result at_info = run_engram("run " + script);
  CAPTURE(at_info.output);
  CHECK(at_info.exit_code == 0);
  CHECK(contains(at_info.output, "] [info] [engram] engram "));
  CHECK(contains(at_info.output, "LibTorch threads"));
  CHECK(contains(at_info.output, "[warn] [lua] low on patience"));
  Result after = run_engram("run " + script + " --log-level error");
  CAPTURE(after.output);
  CHECK(after.exit_code == 0);
  CHECK_FALSE(contains(after.output, "low on patience"));
  CHECK_FALSE(contains(after.output, "[info]"));
}

TEST_CASE("ENGRAM_LOG_LEVEL sets the level when --log-level is not given") {
  TempDir dir;
  const std::string script = quote(dir.write("warns.lua", "warn('low on patience')\n"));
  Result env_error = run_engram("run " + script, "ENGRAM_LOG_LEVEL=error");
  CAPTURE(env_error.output);
  CHECK(env_error.exit_code == 0);
  CHECK_FALSE(contains(env_error.output, "low on patience"));
  // The option wins over the variable.
  Result option_wins = run_engram("--log-level warn run " + script, "ENGRAM_LOG_LEVEL=error");
  CAPTURE(option_wins.output);
  CHECK(contains(option_wins.output, "[warn] [lua] low on patience"));
  // An unknown level in the variable is a warning; the level stays info.
  Result bad = run_engram("run " + script, "ENGRAM_LOG_LEVEL=chatty");
  CAPTURE(bad.output);
  CHECK(bad.exit_code == 0);
  CHECK(contains(bad.output, "[warn] [engram] ENGRAM_LOG_LEVEL: unknown log level 'chatty'"));
  CHECK(contains(bad.output, "[info] [engram] engram "));
}

TEST_CASE("--log-level: an unknown level is a usage error naming the levels") {
  TempDir dir;
  const std::string script = quote(dir.write("ok.lua", "print('fine')\n"));
  for (const std::string level : {"loud", "WARN"}) {
    CAPTURE(level);
    Result r = run_engram("--log-level " + quote(level) + " run " + script);
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "the levels are trace, debug, info, warn, error, off"));
    CHECK_FALSE(contains(r.output, "fine"));
  }
  CHECK(contains(run_engram("--log-level eror run " + script).output, "did you mean 'error'?"));
}

TEST_CASE("CLI errors read 'engram: error: ...' and obey the level") {
  TempDir dir;
  const std::string script = quote(dir.write("broken.lua", "error('it broke')\n"));
  Result r = run_engram("run " + script);
  CAPTURE(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "engram: error: "));
  CHECK(contains(r.output, "broken.lua:1: it broke"));
  Result off = run_engram("--log-level off run " + script);
  CAPTURE(off.output);
  CHECK(off.exit_code == 1);  // the exit code still tells
  CHECK_FALSE(contains(off.output, "it broke"));
}

TEST_CASE("--quiet removes the progress lines of a run and nothing else") {
  TempDir dir;
  const std::string script = quote(dir.write("tiny.lua",
                                             "local ds = engram.dataset('mnist')\n"
                                             "local tasks = engram.split(ds, {{0, 1}})\n"
                                             "local rt = engram.runtime{dataset = ds, tasks = 1}\n"
                                             "rt:learn(tasks[1], {iterations = 4, batch = 8, "
                                             "replay = 0, label = 'tiny phase'})\n"
                                             "print('learned')\n"));
  Result loud = run_engram("run " + script);
  CAPTURE(loud.output);
  REQUIRE(loud.exit_code == 0);
  CHECK(contains(loud.output, "tiny phase "));  // the progress line of the phase
  CHECK(contains(loud.output, "learned"));
  Result quiet = run_engram("--quiet run " + script);
  CAPTURE(quiet.output);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(contains(quiet.output, "tiny phase"));
  CHECK(contains(quiet.output, "learned"));
  CHECK(contains(quiet.output, "[info] [engram] engram "));  // the log stays
}

TEST_CASE("--help lists --log-level and --quiet") {
  Result r = run_engram("--help");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "--log-level"));
  CHECK(contains(r.output, "--quiet"));
}

}  // namespace
