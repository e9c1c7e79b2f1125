// The process-wide log: level names, filtering, the line format, the CLI's user lines, many
// threads at once, and a Lua script's warn().
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/log.h"
#include "runtime/lua_engine.h"
#include "tests/runtime/log_capture.h"

using namespace engram;
using engram::test::LogCapture;

TEST_CASE("log levels: every name parses back to its level; anything else names the levels") {
  for (const std::string& name : log_level_names()) {
    Expected<LogLevel> level = parse_log_level(name);
    REQUIRE(level.ok());
    CHECK(log_level_name(level.value()) == name);
  }
  CHECK(log_level_names().size() == 6);
  CHECK(parse_log_level("warn").value() == LogLevel::warn);
  CHECK(parse_log_level("off").value() == LogLevel::off);
  for (const char* bad : {"", "INFO", "warning", "verbose", "eror", "info "}) {
    CAPTURE(bad);
    Expected<LogLevel> level = parse_log_level(bad);
    REQUIRE_FALSE(level.ok());
    CHECK(level.status().code() == ErrorCode::invalid_argument);
    CHECK(level.status().message().find("the levels are trace, debug, info, warn, error, off") !=
          std::string::npos);
    CHECK(level.status().message().find(std::string("'") + bad + "'") != std::string::npos);
  }
  CHECK(parse_log_level("eror").status().message().find("did you mean 'error'?") !=
        std::string::npos);
}

TEST_CASE("set_log_level: a bad name is an error and leaves the level as it was") {
  LogCapture capture(LogLevel::warn);
  Status st = set_log_level("loud");
  CHECK(st.code() == ErrorCode::invalid_argument);
  CHECK(log_level() == LogLevel::warn);
  CHECK(set_log_level("debug").ok());
  CHECK(log_level() == LogLevel::debug);
}

TEST_CASE("a line carries the time, the level and the source") {
  LogCapture capture(LogLevel::trace);
  log_warn("association", "decode failed: bad shape [3, 28, 28]");
  log_trace("hippocampus", "a trace line");
  log_error("engram", "two\nlines");
  std::vector<std::string> lines = capture.lines();
  REQUIRE(lines.size() == 3);
  const std::string stamp = R"(\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] )";
  CHECK(std::regex_match(lines[0], std::regex(stamp + R"(\[warn\] \[association\] )" +
                                              R"(decode failed: bad shape \[3, 28, 28\])")));
  CHECK(
      std::regex_match(lines[1], std::regex(stamp + R"(\[trace\] \[hippocampus\] a trace line)")));
  CHECK(
      std::regex_search(lines[2], std::regex("^" + stamp + R"(\[error\] \[engram\] two\nlines$)")));
}

TEST_CASE("messages below the level are not written; off writes nothing") {
  LogCapture capture(LogLevel::warn);
  CHECK_FALSE(log_enabled(LogLevel::info));
  CHECK(log_enabled(LogLevel::warn));
  CHECK(log_enabled(LogLevel::error));
  log_debug("x", "hidden debug");
  log_info("x", "hidden info");
  log_warn("x", "shown warn");
  log_error("x", "shown error");
  log_user(LogLevel::info, "hidden user info");
  log_user(LogLevel::error, "no such file: run.lua");
  std::vector<std::string> lines = capture.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("[warn] [x] shown warn") != std::string::npos);
  CHECK(lines[1].find("[error] [x] shown error") != std::string::npos);
  // The CLI's lines to its user: no timestamp, no source.
  CHECK(lines[2] == "engram: error: no such file: run.lua");

  set_log_level(LogLevel::off);
  CHECK_FALSE(log_enabled(LogLevel::error));
  log_error("x", "nothing");
  log_user(LogLevel::error, "nothing either");
  CHECK(capture.lines().size() == 3);
}

TEST_CASE("threads logging at once: every line whole, none lost") {
  LogCapture capture(LogLevel::info);
  constexpr int kThreads = 4;
  constexpr int kLines = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const std::string source = "actor" + std::to_string(t);
      for (int i = 0; i < kLines; ++i)
        log_info(source, "line " + std::to_string(i) + " of " + source);
    });
  }
  // Changing the level concurrently is safe too.
  for (int i = 0; i < 100; ++i) set_log_level(i % 2 ? LogLevel::info : LogLevel::trace);
  for (std::thread& th : threads) th.join();
  std::vector<std::string> lines = capture.lines();
  CHECK(lines.size() == kThreads * kLines);
  const std::regex whole(R"(\[[-0-9: .]+\] \[info\] \[actor(\d)\] line \d+ of actor\1)");
  int bad = 0;
  for (const std::string& line : lines) bad += std::regex_match(line, whole) ? 0 : 1;
  CHECK(bad == 0);
  CHECK(capture.matching("line 249 of actor3").size() == 1);
}

TEST_CASE("a script's warn() is logged at warn under 'lua'; @off and @on switch it") {
  LogCapture capture(LogLevel::info);
  LuaEngine engine;
  REQUIRE(engine.run_string("warn('low on ', 'patience', ' (', 3, ')')", "w").ok());
  std::vector<std::string> lines = capture.matching("[lua]");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("[warn] [lua] low on patience (3)") != std::string::npos);
  REQUIRE(engine.run_string("warn('@off'); warn('muted'); warn('@on'); warn('heard')", "w").ok());
  CHECK(capture.matching("muted").empty());
  CHECK(capture.matching("[warn] [lua] heard").size() == 1);
  set_log_level(LogLevel::error);
  REQUIRE(engine.run_string("warn('below the level')", "w").ok());
  CHECK(capture.matching("below the level").empty());
}
