// The snapshot container: round trip, rejection of every kind of damage, crash safety.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "runtime/atomic_file.h"
#include "runtime/snapshot_file.h"
#include "tests/temp_dir.h"

using namespace engram;
using engram::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed, int alphabet = 256) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() % static_cast<uint64_t>(alphabet));
  return out;
}

SnapshotSections sample_sections() {
  SnapshotSections s;
  s["config"] = std::vector<uint8_t>{'{', '}'};
  s["codes"] = random_bytes(50000, 1, 4);  // compressible
  s["weights"] = random_bytes(20000, 2);   // incompressible
  s["empty"] = {};
  return s;
}

std::string slurp(const std::string& path) {
  std::string bytes;
  REQUIRE(read_file(path, &bytes).ok());
  return bytes;
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

Expected<SnapshotSections> parse(const std::string& bytes) {
  return parse_snapshot(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
}

}  // namespace

TEST_CASE("snapshot round trip keeps every section and reports the table") {
  TempDir dir;
  const auto sections = sample_sections();
  REQUIRE(write_snapshot(dir.file("a.snap"), sections).ok());
  SnapshotInfo info;
  auto back = read_snapshot(dir.file("a.snap"), &info);
  REQUIRE(back.ok());
  CHECK(back.value() == sections);
  CHECK(info.format_version == kSnapshotFormatVersion);
  CHECK(!info.engram_version.empty());
  CHECK(info.created_ns > 0);
  REQUIRE(info.sections.size() == sections.size());
  for (const auto& s : info.sections) CHECK(s.raw_size == sections.at(s.name).size());

  auto header_only = read_snapshot_info(dir.file("a.snap"));
  REQUIRE(header_only.ok());
  CHECK(header_only->sections.size() == 4);
  CHECK(header_only->file_size == fs::file_size(dir.file("a.snap")));
  // The compressible section shrank, and no temporary file was left behind.
  for (const auto& s : info.sections) {
    if (s.name == "codes") CHECK(s.stored_size < s.raw_size / 2);
  }
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("snapshot writer rejects bad names and levels and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("a.snap");
  REQUIRE(write_snapshot(path, sample_sections()).ok());
  const std::string before = slurp(path);
  SnapshotSections bad;
  bad["has space"] = {1};
  CHECK(write_snapshot(path, bad).code() == ErrorCode::invalid_argument);
  bad.clear();
  bad[std::string(40, 'x')] = {1};
  CHECK(write_snapshot(path, bad).code() == ErrorCode::invalid_argument);
  CHECK(write_snapshot(path, sample_sections(), 0).code() == ErrorCode::invalid_argument);
  CHECK(slurp(path) == before);
  CHECK(write_snapshot(dir.file("no/such/dir/a.snap"), sample_sections()).code() ==
        ErrorCode::io_error);
}

TEST_CASE("snapshot reader rejects every truncation") {
  TempDir dir;
  REQUIRE(write_snapshot(dir.file("a.snap"), sample_sections()).ok());
  const std::string bytes = slurp(dir.file("a.snap"));
  for (size_t cut = 0; cut < bytes.size(); cut += (cut < 2000 ? 1 : 97)) {
    auto r = parse(bytes.substr(0, cut));
    REQUIRE_MESSAGE(!r.ok(), "truncated at " << cut);
    CHECK(r.status().code() == ErrorCode::malformed);
  }
  CHECK(parse(bytes + "x").status().code() == ErrorCode::malformed);
}

TEST_CASE("a flipped bit anywhere is detected, and section damage names the section") {
  TempDir dir;
  REQUIRE(write_snapshot(dir.file("a.snap"), sample_sections()).ok());
  const std::string bytes = slurp(dir.file("a.snap"));
  SnapshotInfo info;
  REQUIRE(parse_snapshot(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &info).ok());
  std::mt19937_64 rng(7);
  // Every bit of the header and table.
  const size_t table_end = info.sections.front().offset;
  for (size_t byte = 0; byte < table_end; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      REQUIRE_MESSAGE(!parse(damaged).ok(), "header byte " << byte << " bit " << bit);
    }
  }
  // Random bits in each section's frame.
  for (const auto& s : info.sections) {
    for (int trial = 0; trial < 50 && s.stored_size > 0; ++trial) {
      std::string damaged = bytes;
      const size_t at = s.offset + rng() % s.stored_size;
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
      auto r = parse(damaged);
      REQUIRE(!r.ok());
      CHECK(r.status().message().find("'" + s.name + "'") != std::string::npos);
    }
  }
}

TEST_CASE("wrong magic and a newer format version are rejected with a clear error") {
  TempDir dir;
  REQUIRE(write_snapshot(dir.file("a.snap"), sample_sections()).ok());
  std::string bytes = slurp(dir.file("a.snap"));

  std::string wrong = bytes;
  wrong[0] = 'X';
  CHECK(parse(wrong).status().message().find("bad magic") != std::string::npos);
  CHECK(parse("").status().code() == ErrorCode::malformed);

  std::string newer = bytes;
  newer[8] = static_cast<char>(kSnapshotFormatVersion + 1);
  spit(dir.file("newer.snap"), newer);
  auto r = read_snapshot(dir.file("newer.snap"));
  CHECK(r.status().code() == ErrorCode::unsupported_version);
  CHECK(r.status().message().find("format version 2") != std::string::npos);
  CHECK(read_snapshot(dir.file("missing.snap")).status().code() == ErrorCode::not_found);
}

TEST_CASE("section size limits are enforced before decompressing") {
  TempDir dir;
  REQUIRE(write_snapshot(dir.file("a.snap"), sample_sections()).ok());
  SnapshotLimits limits;
  limits.max_section_bytes = 1000;
  auto r = read_snapshot(dir.file("a.snap"), nullptr, limits);
  CHECK(r.status().code() == ErrorCode::too_large);
}

TEST_CASE("a writer killed at any moment leaves the previous snapshot loadable") {
  TempDir dir;
  const std::string path = dir.file("a.snap");
  SnapshotSections old_sections;
  old_sections["generation"] = {0};
  REQUIRE(write_snapshot(path, old_sections).ok());
  std::mt19937_64 rng(3);
  for (int round = 0; round < 12; ++round) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Keep replacing the snapshot until killed; tell the parent when the first one is in.
      ::close(ready[0]);
      SnapshotSections big;
      big["payload"] = random_bytes(1 << 20, static_cast<uint64_t>(round));
      for (unsigned n = 0;; ++n) {
        big["generation"] = {static_cast<uint8_t>(1 + n % 255)};
        if (!write_snapshot(path, big, 1).ok()) ::_exit(3);
        if (n == 0 && ::write(ready[1], "x", 1) != 1) ::_exit(4);
      }
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    // Kill at a random point of a later write (each takes some milliseconds).
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    auto loaded = read_snapshot(path);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    REQUIRE(loaded->count("generation") == 1);
    CHECK(loaded->at("generation")[0] >= 1);  // a complete snapshot of this round's writer
    CHECK(loaded->at("payload").size() == size_t{1} << 20);
  }
}
