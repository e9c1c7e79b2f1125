// The `engram` command: exit codes (0 ok, 1 script or runtime error, 2 usage error) and what it
// prints. Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::TempDir;

using engram::test::contains;
using engram::test::quote;
using engram::test::run_engram;
using Result = engram::test::CliResult;

TEST_CASE("--version exits 0 and names the version and the BLAS") {
  Result r = run_engram("--version");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "engram "));
  CHECK(contains(r.output, "BLAS"));
  CHECK(contains(r.output, "LibTorch threads"));
}

TEST_CASE("--help exits 0 and lists the run subcommand") {
  Result r = run_engram("--help");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "run"));
}

TEST_CASE("usage errors exit 2") {
  TempDir dir;
  const std::string ok = dir.write("ok.lua", "print('fine')\n");
  SUBCASE("unknown option") {
    Result r = run_engram("--no-such-option");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "--no-such-option"));
  }
  SUBCASE("unknown option of run") {
    Result r = run_engram("run " + quote(ok) + " --no-such-option");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
  }
  SUBCASE("missing script") {
    Result r = run_engram("run " + quote(dir.path() + "/missing.lua"));
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "missing.lua"));
  }
  SUBCASE("run without a script") {
    Result r = run_engram("run");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
  }
  SUBCASE("no subcommand") {
    Result r = run_engram("");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
  }
  SUBCASE("unknown subcommand") {
    Result r = run_engram("fly");
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
  }
}

TEST_CASE("a script error exits 1 with script.lua:LINE: and a traceback") {
  TempDir dir;
  SUBCASE("error()") {
    const std::string script =
        dir.write("broken_script.lua", "print('before')\nlocal x = 1\nerror('it broke')\n");
    Result r = run_engram("run " + quote(script));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "before"));  // ran up to the error
    CHECK(contains(r.output, "broken_script.lua:3: it broke"));
    CHECK(contains(r.output, "stack traceback"));
  }
  SUBCASE("runtime error in a function") {
    const std::string script =
        dir.write("nil_index.lua", "local function f(t)\n  return t.x\nend\n\nprint(f(nil))\n");
    Result r = run_engram("run " + quote(script));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "nil_index.lua:2:"));
  }
  SUBCASE("syntax error") {
    const std::string script = dir.write("syntax.lua", "local a = 1\nlocal b = = 2\n");
    Result r = run_engram("run " + quote(script));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "syntax.lua:2:"));
  }
  SUBCASE("the sandbox has no os") {
    const std::string script = dir.write("sandbox.lua", "os.exit(0)\n");
    Result r = run_engram("run " + quote(script));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "sandbox.lua:1:"));
  }
  SUBCASE("instruction budget") {
    const std::string script = dir.write("loop.lua", "while true do end\n");
    Result r = run_engram("run --max-instructions 100000 " + quote(script));
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
  }
}

TEST_CASE("a small script runs, sees --set values and arguments, and exits 0") {
  TempDir dir;
  const std::string script = dir.write("hello.lua",
                                       "print('hello from ' .. _VERSION)\n"
                                       "print('x=' .. tostring(config.x))\n"
                                       "print('arg1=' .. tostring(arg[1]))\n"
                                       "print('sum=' .. (2 + 3))\n");
  // Script arguments may come before or after --set options: each --set takes one value.
  Result r = run_engram("run " + quote(script) + " first --set x=42");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "hello from Lua 5.4"));
  CHECK(contains(r.output, "x=42"));
  CHECK(contains(r.output, "arg1=first"));
  CHECK(contains(r.output, "sum=5"));
  r = run_engram("run " + quote(script) + " --set x=7 -- first");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "x=7"));
  CHECK(contains(r.output, "arg1=first"));
  r = run_engram("run " + quote(script) + " --set x=1 --set y=2 first");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "x=1"));
  CHECK(contains(r.output, "arg1=first"));
  // A --set value that is not key=value is a usage error.
  CHECK(run_engram("run " + quote(script) + " --set novalue").exit_code == 2);
}

}  // namespace
