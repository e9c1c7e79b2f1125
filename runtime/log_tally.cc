#include "runtime/log_tally.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>

namespace engram {
namespace {

constexpr size_t kMaxCauseBytes = 120;

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string group_thousands(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string cause_of(std::string_view message) {
  message = message.substr(0, message.find('\n'));
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != '#') out += '#';
      while (i + 1 < message.size() && message[i + 1] >= '0' && message[i + 1] <= '9') ++i;
    } else {
      out += c;
    }
  }
  if (out.size() > kMaxCauseBytes) {
    size_t cut = kMaxCauseBytes;
    // Back off UTF-8 continuation bytes so that no character is split.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

LogTally::LogTally(std::string source, std::string noun, LogLevel level, LogTallyOptions options)
    : source_(std::move(source)),
      noun_(std::move(noun)),
      level_(level),
      options_(std::move(options)) {}

double LogTally::now() const { return options_.clock ? options_.clock() : steady_seconds(); }

void LogTally::record(std::string_view cause, std::string_view detail, uint64_t count) {
  if (detail.empty()) detail = cause;
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const double t = now();
    std::string key(cause);
    auto it = index_.find(key);
    bool overflow_first = false;
    if (it == index_.end() && entries_.size() >= options_.max_causes) {
      key = kOtherCauses;
      it = index_.find(key);
      overflow_first = it == index_.end();
    }
    if (it == index_.end()) {
      it = index_.emplace(key, entries_.size()).first;
      entries_.push_back(Entry{CauseCount{key, 0, 0}, 0, t});
      Entry& e = entries_.back();
      e.tally.count = count;
      e.tally.occurrences = 1;
      e.reported = count;
      line = std::string(detail);
      if (overflow_first) {
        line += fmt::format(" ({} causes of {} seen: further new causes are counted as '{}')",
                            options_.max_causes, noun_, kOtherCauses);
      } else {
        line += " (repeats are counted)";
      }
    } else {
      Entry& e = entries_[it->second];
      e.tally.count += count;
      e.tally.occurrences += 1;
      if (t - e.reported_at >= options_.report_seconds) {
        line = fmt::format("{} {} '{}' so far (+{} in the last {:.0f}s); latest: {}",
                           group_thousands(e.tally.count), noun_, e.tally.cause,
                           group_thousands(e.tally.count - e.reported), t - e.reported_at, detail);
        e.reported = e.tally.count;
        e.reported_at = t;
      }
    }
  }
  if (!line.empty()) log(level_, source_, line);
}

void LogTally::summarize() {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& e : entries_) {
      if (e.tally.occurrences < 2) continue;
      lines.push_back(
          fmt::format("{} {} '{}' in all", group_thousands(e.tally.count), noun_, e.tally.cause));
    }
    entries_.clear();
    index_.clear();
  }
  for (const std::string& line : lines) log(level_, source_, line);
}

std::vector<LogTally::CauseCount> LogTally::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<CauseCount> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.tally);
  return out;
}

}  // namespace engram
