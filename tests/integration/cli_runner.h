// Running the built `engram` command from a test: its exit code and everything it printed. The
// test's CMake target defines ENGRAM_CLI, the binary's path.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

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

}  // namespace engram::test
