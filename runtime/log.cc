// The process-wide log on spdlog: two loggers (timestamped lines, and the CLI's plain lines to
// its user) share one sink, which formats each with its own fixed pattern under the sink's lock
// and writes to stderr or to a test's function.
#include "runtime/log.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include "runtime/did_you_mean.h"

namespace engram {
namespace {

constexpr const char* kUserLogger = "user";
constexpr const char* kLevelVariable = "ENGRAM_LOG_LEVEL";

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::off: break;
  }
  return spdlog::level::off;
}

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::trace;
    case spdlog::level::debug: return LogLevel::debug;
    case spdlog::level::info: return LogLevel::info;
    case spdlog::level::warn: return LogLevel::warn;
    case spdlog::level::err:
    case spdlog::level::critical: return LogLevel::error;
    default: return LogLevel::off;
  }
}

// %* in a pattern: the level under the name --log-level uses ("warn", not spdlog's "warning").
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = log_level_name(from_spdlog(msg.level));
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

std::unique_ptr<spdlog::pattern_formatter> make_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::local, "");
  f->add_flag<LevelFlag>('*').set_pattern(pattern);
  return f;
}

// Formats with the pattern of the message's logger; writes one line per message.
class Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Sink()
      : timed_(make_formatter("[%Y-%m-%d %H:%M:%S.%e] [%*] %v")),
        user_(make_formatter("engram: %*: %v")) {}

  void set_target(std::function<void(std::string_view)> target) {
    std::lock_guard<std::mutex> lock(mutex_);
    target_ = std::move(target);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    (msg.logger_name == kUserLogger ? user_ : timed_)->format(msg, buf);
    if (target_) {
      target_(std::string_view(buf.data(), buf.size()));
      return;
    }
    buf.push_back('\n');
    std::fwrite(buf.data(), 1, buf.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
  // The patterns are fixed: spdlog's global set_pattern/set_formatter do not apply here.
  void set_pattern_(const std::string&) override {}
  void set_formatter_(std::unique_ptr<spdlog::formatter>) override {}

 private:
  std::unique_ptr<spdlog::pattern_formatter> timed_;
  std::unique_ptr<spdlog::pattern_formatter> user_;
  std::function<void(std::string_view)> target_;
};

struct Log {
  std::shared_ptr<Sink> sink = std::make_shared<Sink>();
  spdlog::logger timed{"engram", sink};
  spdlog::logger user{kUserLogger, sink};
  Log() {
    LogLevel level = LogLevel::info;
    std::string bad_env;
    if (const char* env = std::getenv(kLevelVariable); env != nullptr && env[0] != '\0') {
      Expected<LogLevel> parsed = parse_log_level(env);
      if (parsed.ok()) {
        level = parsed.value();
      } else {
        bad_env = parsed.status().message();
      }
    }
    for (spdlog::logger* l : {&timed, &user}) {
      l->set_level(to_spdlog(level));
      l->flush_on(spdlog::level::trace);
    }
    if (!bad_env.empty()) {
      timed.log(spdlog::level::warn, "[engram] {}: {} (the level stays info)", kLevelVariable,
                bad_env);
    }
  }
};

// Never destroyed: actors and static destructors may still log while the process exits.
Log& the_log() {
  static Log* log = new Log();
  return *log;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: break;
  }
  return "off";
}

const std::vector<std::string>& log_level_names() {
  static const std::vector<std::string> names = {"trace", "debug", "info", "warn", "error", "off"};
  return names;
}

Expected<LogLevel> parse_log_level(std::string_view name) {
  const std::vector<std::string>& names = log_level_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (name == names[i]) return static_cast<LogLevel>(i);
  }
  std::string valid;
  for (const std::string& n : names) valid += (valid.empty() ? "" : ", ") + n;
  return Status(ErrorCode::invalid_argument, "unknown log level '" + std::string(name) + "'" +
                                                 did_you_mean(std::string(name), names) +
                                                 "; the levels are " + valid);
}

Status set_log_level(std::string_view name) {
  Expected<LogLevel> level = parse_log_level(name);
  if (!level.ok()) return level.status();
  set_log_level(level.value());
  return Status();
}

void set_log_level(LogLevel level) {
  Log& log = the_log();
  log.timed.set_level(to_spdlog(level));
  log.user.set_level(to_spdlog(level));
}

LogLevel log_level() { return from_spdlog(the_log().timed.level()); }

bool log_enabled(LogLevel level) {
  return level != LogLevel::off && the_log().timed.should_log(to_spdlog(level));
}

void log(LogLevel level, std::string_view source, std::string_view message) {
  if (!log_enabled(level)) return;
  the_log().timed.log(to_spdlog(level), "[{}] {}", source, message);
}

void log_user(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  the_log().user.log(to_spdlog(level), "{}", message);
}

void set_log_sink(std::function<void(std::string_view line)> sink) {
  the_log().sink->set_target(std::move(sink));
}

}  // namespace engram
