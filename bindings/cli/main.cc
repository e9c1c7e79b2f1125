// The `engram` command. Exit codes: 0 ok, 1 script or runtime error, 2 usage error.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bindings/cli/config_list.h"
#include "bindings/cli/inspect.h"
#include "bindings/cli/ranks.h"
#include "bindings/cli/report.h"
#include "bindings/cli/serve.h"
#include "bindings/lua/engram_module.h"
#include "bindings/lua/lua_reports.h"
#include "io/reports/progress.h"
#include "io/sensors/curve_auth.h"
#include "runtime/log.h"
#include "runtime/lua_engine.h"
#include "runtime/system_info.h"
#include "runtime/version.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

std::string environment_line() {
  at::init_num_threads();  // LibTorch reports 1 until its pool is initialised
  return engram::describe_blas(engram::probe_blas()) +
         "; LibTorch threads: " + std::to_string(at::get_num_threads()) +
         " (each learning actor uses the runtime's `threads`)";
}

// Accepts a decimal integer in [min, max]. CLI11's own conversion to an unsigned option lets
// "-1" wrap to 2^64 - 1 and clamps overflow silently, so the text is checked first.
CLI::Validator integer_in(uint64_t min, uint64_t max) {
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        uint64_t v = 0;
        const char* last = text.data() + text.size();
        auto [end, err] = std::from_chars(text.data(), last, v);
        if (err != std::errc() || end != last || v < min || v > max) {
          return "must be an integer in " + range + ", got " + text;
        }
        return "";
      },
      "INT in " + range);
}

// Makes the snapshot path visible to the script as engram.resume.
engram::Status set_resume(engram::LuaEngine& engine, const std::string& resume) {
  if (resume.empty()) return {};
  auto r = engine.protect(0, [&](lua_State* L) {
    lua_getglobal(L, "engram");
    lua_pushstring(L, resume.c_str());
    lua_setfield(L, -2, "resume");
    lua_pop(L, 1);
    return 0;
  });
  return r.ok() ? engram::Status() : r.status();
}

// After a script: the report (report.html) of each run directory it made with engram.run_dir.
// Errors: none made (the script has nothing to report), or report_command's.
engram::Status write_reports(engram::LuaEngine& engine) {
  std::vector<std::string> dirs;
  auto r = engine.protect(0, [&](lua_State* L) {
    dirs = engram::lua::run_dirs_made(L);
    return 0;
  });
  if (!r.ok()) return r.status();
  if (dirs.empty()) {
    return {engram::ErrorCode::invalid_argument,
            "--report: the script made no run directory (engram.run_dir)"};
  }
  for (const std::string& dir : dirs) {
    if (engram::Status s = engram::report_command(dir, "", std::cout); !s.ok()) return s;
  }
  return {};
}

int run_script(const std::string& script, const std::vector<std::string>& sets,
               const std::vector<std::string>& args, const std::string& resume,
               uint64_t max_instructions, size_t max_memory_mb, bool report) {
  engram::log_info("engram", std::string("engram ") + ENGRAM_VERSION + " | " + environment_line());
  engram::LuaLimits limits;
  limits.max_instructions = max_instructions;
  limits.max_memory_bytes = max_memory_mb << 20;
  engram::LuaEngine engine(limits);
  for (const engram::Status& s : {engram::install_engram_module(engine), set_resume(engine, resume),
                                  engine.set_config(sets), engine.set_script_args(script, args)}) {
    if (!s.ok()) {
      engram::log_user(engram::LogLevel::error, s.message());
      return s.code() == engram::ErrorCode::invalid_argument ? kExitUsage : kExitRuntimeError;
    }
  }
  engram::Status status = engine.run_file(script);
  if (!status.ok()) {
    engram::log_user(engram::LogLevel::error, status.message());
    return status.code() == engram::ErrorCode::not_found ? kExitUsage : kExitRuntimeError;
  }
  if (report) {
    if (engram::Status s = write_reports(engine); !s.ok()) {
      engram::log_user(engram::LogLevel::error, s.message());
      return kExitRuntimeError;
    }
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  engram::reexec_with_fast_blas_if_needed(argv);
  CLI::App app{"engram: continual learning through lossy recollections"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print the version, the BLAS and threads in use, and exit");
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "least severe log messages shown on stderr: trace, debug, info, warn, error or "
                 "off (default: $ENGRAM_LOG_LEVEL, else info; log lines carry time, level and "
                 "source: an actor, a module, lua)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto level = engram::parse_log_level(text);
            return level.ok() ? "" : level.status().message();
          },
          ""))
      ->type_name("LEVEL");
  bool quiet = false;
  app.add_flag("--quiet", quiet,
               "no progress bars or progress lines (the log and the scripts' output remain)");
  // --log-level and --quiet may also come after the subcommand.
  app.fallthrough();

  CLI::App* run = app.add_subcommand("run", "run a Lua curriculum script");
  std::string script;
  std::vector<std::string> sets, args;
  uint64_t max_instructions = 1000000000;
  size_t max_memory_mb = 1024;
  run->add_option("script", script, "the .lua script")->required()->check(CLI::ExistingFile);
  run->add_option("--set", sets, "key=value, visible to the script as config.key (repeatable)")
      ->allow_extra_args(false);  // one value per --set; later words are script arguments
  run->add_option("--max-instructions", max_instructions,
                  "Lua instruction budget per call into the script (0 = unlimited)")
      ->check(integer_in(0, UINT64_MAX))
      ->capture_default_str();
  // At most 2^40 MiB, so that the budget in bytes (MiB << 20) cannot overflow.
  run->add_option("--max-memory-mb", max_memory_mb, "Lua memory budget in MiB")
      ->check(integer_in(1, uint64_t{1} << 40))
      ->capture_default_str();
  std::string resume;
  run->add_option("--resume", resume,
                  "a snapshot to continue from: the script sees its path as engram.resume and "
                  "calls engram.restore(engram.resume, {dataset = ...})")
      ->check(CLI::ExistingFile);
  bool write_report = false;
  run->add_flag("--report", write_report,
                "when the script ends, write report.html in each run directory it made "
                "(engram.run_dir; see `engram report`)");
  run->add_option("args", args, "arguments for the script (arg[1..n])");
  engram::RankOptions ranks;
  engram::add_rank_options(*run, &ranks);

  CLI::App* inspect = app.add_subcommand("inspect", "print what a snapshot file holds");
  std::string snapshot;
  inspect->add_option("file", snapshot, "the snapshot")->required()->check(CLI::ExistingFile);

  CLI::App* config = app.add_subcommand(
      "config", "print every configuration option (Markdown tables, as in the README)");
  bool list = false;
  config->add_flag("--list", list, "list every option: name, type, default, range, description")
      ->required();

  CLI::App* report = app.add_subcommand(
      "report", "write one self-contained HTML report (tables, plots, images) of a run directory");
  std::string run_dir, report_out;
  report->add_option("run_dir", run_dir, "the run directory (holding results.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report->add_option("--out", report_out, "the HTML file to write (default RUN_DIR/report.html)");

  CLI::App* keygen = app.add_subcommand(
      "keygen", "print a new CURVE key pair (Z85) for encrypted, authenticated sensor streams");

  auto serve = engram::add_serve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  // Without --log-level the level stays what ENGRAM_LOG_LEVEL says (else info).
  if (app.get_option("--log-level")->count() > 0) {
    (void)engram::set_log_level(log_level);  // validated by the option's check
  }
  engram::set_progress_quiet(quiet);
  if (version) {
    std::cout << "engram " << ENGRAM_VERSION << "\n" << environment_line() << "\n";
    return kExitOk;
  }
  if (run->parsed()) {
    int rank = 0;
    if (engram::Status s = engram::join_run_if_asked(ranks, script, sets, args, &rank); !s.ok()) {
      engram::log_user(engram::LogLevel::error, s.message());
      return s.code() == engram::ErrorCode::invalid_argument ? kExitUsage : kExitRuntimeError;
    }
    const int code = run_script(script, sets, args, resume, max_instructions, max_memory_mb,
                                write_report && rank == 0);
    engram::leave_run();
    return code;
  }
  if (inspect->parsed()) {
    engram::Status s = engram::inspect_snapshot(snapshot, std::cout);
    if (!s.ok()) engram::log_user(engram::LogLevel::error, s.message());
    return s.ok() ? kExitOk : kExitRuntimeError;
  }
  if (config->parsed()) {
    std::cout << engram::config_list_markdown();
    return kExitOk;
  }
  if (report->parsed()) {
    engram::Status s = engram::report_command(run_dir, report_out, std::cout);
    if (!s.ok()) engram::log_user(engram::LogLevel::error, s.message());
    return s.ok() ? kExitOk : kExitRuntimeError;
  }
  if (serve->app->parsed()) return engram::run_serve_command(*serve);
  if (keygen->parsed()) {
    auto keys = engram::curve_keypair();
    if (!keys.ok()) {
      engram::log_user(engram::LogLevel::error, keys.status().message());
      return kExitRuntimeError;
    }
    std::cout << "public " << keys->first << "\nsecret " << keys->second << "\n";
    return kExitOk;
  }
  std::cerr << app.help();
  return kExitUsage;
}
