// `engram run --world-size N --rank R --master HOST:PORT` (and WORLD_SIZE, RANK, MASTER_ADDR,
// MASTER_PORT): bad settings refused with clear messages in time; two ranks (two processes on
// loopback) learn a short Split MNIST to the single-process accuracy with identical weights, and
// only rank 0 writes files. Runs the built binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/free_port.h"
#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::contains;
using engram::test::figure;
using engram::test::free_port;
using engram::test::quote;
using engram::test::run_engram;
using engram::test::run_engram_pair;
using engram::test::TempDir;
using Result = engram::test::CliResult;
using Clock = std::chrono::steady_clock;

TEST_CASE("bad rank, world size and master settings are refused with clear messages") {
  TempDir dir;
  const std::string ok = quote(dir.write("ok.lua", "print('fine')\n"));
  struct Case {
    std::string args, env, message;
  };
  const Case cases[] = {
      {"--world-size 2 --rank 2", "", "rank 2 is outside [0, 2)"},
      {"--world-size 0", "", "world size must be >= 1, got 0"},
      {"--world-size two", "", "--world-size must be an integer"},
      {"--world-size 2 --master nohost", "", "--master must be HOST:PORT"},
      {"--world-size 2 --master 127.0.0.1:99999", "", "master port 99999 is outside"},
      {"", "WORLD_SIZE=2 RANK=5", "rank 5 is outside [0, 2)"},
      {"", "WORLD_SIZE=x", "WORLD_SIZE=x is not an integer"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    Result r = run_engram("run " + ok + " " + c.args, c.env);
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, c.message));
    CHECK_FALSE(contains(r.output, "fine"));
  }
  // Flags win over the environment.
  Result r = run_engram("run " + ok + " --world-size 1 --rank 0", "WORLD_SIZE=2 RANK=5");
  CAPTURE(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "fine"));
}

TEST_CASE("an unreachable master fails within the timeout, naming the address") {
  TempDir dir;
  const std::string ok = quote(dir.write("ok.lua", "print('fine')\n"));
  const int port = free_port();
  const auto start = Clock::now();
  Result r = run_engram("run " + ok + " --world-size 2 --rank 1 --master 127.0.0.1:" +
                        std::to_string(port) + " --rank-timeout 1");
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  CAPTURE(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "cannot reach the master at 127.0.0.1:" + std::to_string(port)));
  CHECK(waited < 20.0);
}

TEST_CASE("ranks given different configurations are refused") {
  TempDir dir;
  const std::string ok = quote(dir.write("ok.lua", "print('fine')\n"));
  const std::string master = " --master 127.0.0.1:" + std::to_string(free_port());
  auto [r0, r1] = run_engram_pair(
      "run " + ok + " --set a=1 --world-size 2 --rank 0 --rank-timeout 20" + master,
      "run " + ok + " --set a=2 --world-size 2 --rank 1 --rank-timeout 20" + master);
  for (const Result& r : {r0, r1}) {
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "runs a different configuration"));
  }
}

// A short class-incremental Split MNIST ({0,1} then {2,3}) with recollections (dvae); prints
// the class-IL accuracy and writes it to a run directory.
constexpr const char* kScript = R"(
local cfg = engram.settings { "out" }
local ds = engram.dataset("mnist")
local tasks = engram.split(ds, { {0, 1}, {2, 3} })
local rt = engram.runtime {
  dataset = ds, tasks = 2, seed = 1, threads = 1,
  neocortex = { net = "mlp", hidden = { 200, 200 }, lr = 1e-3 },
  memory = { kind = "dvae", c = 50, l = 2, hidden = { 128 }, budget_bytes = 20000 },
}
for i, t in ipairs(tasks) do
  rt:learn(t, { iterations = 500, batch = 128, replay = 128, label = "task " .. i })
end
local acc = 0
for _, t in ipairs(tasks) do acc = acc + rt:accuracy(t, "class") end
acc = acc / #tasks
local dir = engram.run_dir(cfg.out, "ranks")
engram.write_json(dir .. "/acc.json", { acc = acc })
print(("ACC %.6f"):format(acc))
)";

TEST_CASE("two ranks learn Split MNIST to the single-process accuracy; rank 0 writes") {
  TempDir dir;
  const std::string script = quote(dir.write("split.lua", kScript));
  const std::string alone_out = dir.path() + "/alone", ranks_out = dir.path() + "/ranks";
  Result alone = run_engram("--quiet run " + script + " --set out=" + quote(alone_out));
  CAPTURE(alone.output);
  REQUIRE(alone.exit_code == 0);
  const std::string master = " --master 127.0.0.1:" + std::to_string(free_port());
  const std::string common = "--quiet run " + script + " --set out=" + quote(ranks_out) +
                             " --world-size 2 --rank-timeout 60" + master;
  auto [r0, r1] = run_engram_pair(common + " --rank 0", common + " --rank 1");
  CAPTURE(r0.output);
  CAPTURE(r1.output);
  REQUIRE(r0.exit_code == 0);
  REQUIRE(r1.exit_code == 0);
  const double single = figure(alone.output, "ACC");
  const double acc0 = figure(r0.output, "ACC"), acc1 = figure(r1.output, "ACC");
  MESSAGE("class-IL accuracy: one process " << single << ", two ranks " << acc0);
  CHECK(single > 0.9);
  // The same weights on both ranks: the same accuracy to the last digit.
  CHECK(acc0 == acc1);
  CHECK(acc0 >= single - 0.005);
  // One run directory, rank 0's.
  int dirs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ranks_out)) {
    CHECK(std::filesystem::exists(entry.path() / "acc.json"));
    ++dirs;
  }
  CHECK(dirs == 1);
}

TEST_CASE("a rank killed mid-run makes the other exit 1 within seconds, naming the failure") {
  TempDir dir;
  const std::string script = quote(dir.write("split.lua", kScript));
  const std::string common =
      "--quiet run " + script + " --set out=" + quote(dir.path() + "/k") +
      " --world-size 2 --rank-timeout 10 --master 127.0.0.1:" + std::to_string(free_port());
  // Rank 1 in the background, killed (SIGKILL) after 5 s.
  std::thread killer([&] {
    const std::string cmd = quote(ENGRAM_CLI) + " " + common +
                            " --rank 1 >/dev/null 2>&1 & pid=$!; sleep 5; kill -9 $pid; wait $pid";
    (void)std::system(cmd.c_str());
  });
  const auto start = Clock::now();
  Result r0 = run_engram(common + " --rank 0");
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  killer.join();
  CAPTURE(r0.output);
  CHECK(r0.exit_code == 1);
  CHECK((contains(r0.output, "a rank stopped") || contains(r0.output, "did not all check in")));
  CHECK(waited < 30.0);  // learning alone would take longer; a hang would never end
}

}  // namespace
