// Snapshots of a data-parallel run (`engram run --world-size 2`): the file rank 0 writes holds
// both ranks' code buffers; restored into two ranks the run continues bit-identically (the same
// accuracy to the last digit as the run that went on after the snapshot); restored into one
// process it holds every code under the whole budget; a one-process snapshot is refused by two
// ranks with a clear message. Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <thread>
#include <utility>

#include "tests/free_port.h"
#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::contains;
using engram::test::figure;
using engram::test::free_port;
using engram::test::quote;
using engram::test::run_engram;
using engram::test::TempDir;
using Result = engram::test::CliResult;

// `engram ARGS --world-size 2 --rank r` for r = 0 and 1 at once; their results.
std::pair<Result, Result> run_two(const std::string& args) {
  const std::string common =
      args + " --world-size 2 --rank-timeout 120 --master 127.0.0.1:" + std::to_string(free_port());
  return engram::test::run_engram_pair(common + " --rank 0", common + " --rank 1");
}

// Split MNIST {0,1} then {2,3} with recollections (dvae, 20000 bytes of codes). mode=snapshot:
// learn task 1, snapshot to `snap`, learn task 2; mode=resume: restore `snap`, learn task 2;
// mode=merge: restore `snap`, write it again to `again`, learn task 2. Prints the codes this
// process stores and its budget after task 1 (MEM, BUDGET), and the class-IL accuracy at the
// end to 17 digits (ACC).
constexpr const char* kScript = R"(
local cfg = engram.settings { "mode", "snap", "again" }
local ds = engram.dataset("mnist")
local tasks = engram.split(ds, { {0, 1}, {2, 3} })
local rt
if cfg.mode == "snapshot" then
  rt = engram.runtime {
    dataset = ds, tasks = 2, seed = 3, threads = 1,
    neocortex = { net = "mlp", hidden = { 100 }, lr = 1e-3 },
    memory = { kind = "dvae", c = 50, l = 2, hidden = { 64 }, budget_bytes = 20000 },
  }
  rt:learn(tasks[1], { iterations = 120, batch = 64, replay = 64, progress = false })
  rt:snapshot(cfg.snap, { task = 1 })
else
  local state
  rt, state = engram.restore(cfg.snap, { dataset = ds, progress = false })
  assert(state.task == 1)
  if cfg.mode == "merge" then rt:snapshot(cfg.again) end
end
local m = rt:memory()
print(("MEM %d"):format(m.codes_stored))
print(("BUDGET %d"):format(m.budget_bytes))
rt:learn(tasks[2], { iterations = 120, batch = 64, replay = 64, progress = false })
local acc = 0
for _, t in ipairs(tasks) do acc = acc + rt:accuracy(t, "class") end
print(("ACC %.17g"):format(acc / #tasks))
)";

TEST_CASE("a two-rank snapshot holds both code buffers and resumes in two ranks or in one") {
  TempDir dir;
  const std::string script = quote(dir.write("split.lua", kScript));
  const std::string snap = dir.path() + "/ranks.snap", again = dir.path() + "/merged.snap";
  const std::string run = "--quiet run " + script + " --set snap=" + quote(snap) +
                          " --set again=" + quote(again) + " --set mode=";

  // Two ranks learn task 1, snapshot (collective: rank 0 writes), and go on with task 2.
  auto [s0, s1] = run_two(run + "snapshot");
  CAPTURE(s0.output);
  CAPTURE(s1.output);
  REQUIRE(s0.exit_code == 0);
  REQUIRE(s1.exit_code == 0);
  const double codes0 = figure(s0.output, "MEM"), codes1 = figure(s1.output, "MEM");
  CHECK(codes0 > 0);
  CHECK(codes1 > 0);
  CHECK(figure(s0.output, "BUDGET") == 10000);  // each rank its share
  const double unbroken = figure(s0.output, "ACC");
  CHECK(unbroken == figure(s1.output, "ACC"));

  // Restored into two ranks: each its own share back, and task 2 learned exactly as above.
  auto [r0, r1] = run_two(run + "resume");
  CAPTURE(r0.output);
  CAPTURE(r1.output);
  REQUIRE(r0.exit_code == 0);
  REQUIRE(r1.exit_code == 0);
  CHECK(figure(r0.output, "MEM") == codes0);
  CHECK(figure(r1.output, "MEM") == codes1);
  CHECK(figure(r0.output, "ACC") == unbroken);
  CHECK(figure(r1.output, "ACC") == unbroken);

  // Restored into one process: every rank's codes in one buffer of the whole budget.
  Result one = run_engram(run + "merge");
  CAPTURE(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK(figure(one.output, "MEM") == codes0 + codes1);
  CHECK(figure(one.output, "BUDGET") == 20000);
  MESSAGE("codes: rank 0 " << codes0 << ", rank 1 " << codes1 << "; class-IL accuracy: two ranks "
                           << unbroken << ", resumed in one process " << figure(one.output, "ACC"));
  CHECK(figure(one.output, "ACC") > 0.5);

  // A one-process snapshot (the merged one, written again) is refused by two ranks, by name.
  auto [m0, m1] = run_two("--quiet run " + script + " --set snap=" + quote(again) +
                          " --set again=" + quote(again) + " --set mode=resume");
  for (const Result& r : {m0, m1}) {
    CAPTURE(r.output);
    CHECK(r.exit_code != 0);
    CHECK(contains(r.output, "taken by one process"));
    CHECK(contains(r.output, "not into 2 ranks"));
  }
}

}  // namespace
