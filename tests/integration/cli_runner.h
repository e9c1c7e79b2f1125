// Running the built `engram` command from a test: its exit code and everything it printed. The
// test's CMake target defines ENGRAM_CLI, the binary's path.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

namespace engram::test {

// Single-quotes s for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `engram ARGS` through the shell and collects its exit code and output. `env` (e.g.
// "NAME=value") is set for that run only.
inline CliResult run_engram(const std::string& args, const std::string& env = "") {
  const std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + quote(ENGRAM_CLI) + " " + args + " 2>&1";
  CliResult r;
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

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs `engram ARGS0` and `engram ARGS1` at once (e.g. two ranks); their results.
inline std::pair<CliResult, CliResult> run_engram_pair(const std::string& args0,
                                                       const std::string& args1) {
  CliResult r0, r1;
  std::thread other([&] { r1 = run_engram(args1); });
  r0 = run_engram(args0);
  other.join();
  return {r0, r1};
}

// The number after `key ` on the output's last line holding it (NaN when absent).
inline double figure(const std::string& output, const std::string& key) {
  const auto at = output.rfind(key + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(output.substr(at + key.size() + 1));
}

}  // namespace engram::test
