// Snapshots of data-parallel runs (modules/distributed/snapshot_ranks.h,
// CodeBuffer::merge, session_detail::restore_buffer): bytes gathered to rank 0 and sent from it
// (two ranks as threads on a loopback TCPStore), errors on one rank reaching every rank at once,
// code buffer shares merged without losing an item, and a snapshot's shares given to the right
// rank or refused for a world size they do not fit.
#include <ATen/ATen.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "modules/distributed/process_group.h"
#include "modules/distributed/snapshot_ranks.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/session/session_impl.h"
#include "tests/free_port.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;
using test::free_port;
using Bytes = std::vector<uint8_t>;

// Runs body(rank, group) on two threads, each rank with its own store client and a process group
// "files"; checks afterwards (doctest's checks are not thread-safe). A rank that cannot connect
// records the error in errors[rank].
void on_two_ranks(const std::function<void(int, ProcessGroup&)>& body,
                  std::vector<std::string>& errors) {
  const int port = free_port();
  errors.assign(2, "");
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      DistributedConfig c;
      c.world_size = 2;
      c.rank = rank;
      c.master_port = port;
      c.timeout = std::chrono::milliseconds(20000);
      auto run = DataParallel::connect(c, "same");
      if (!run.ok()) return void(errors[rank] = run.status().to_string());
      auto group = (*run)->group("files");
      if (!group.ok()) return void(errors[rank] = group.status().to_string());
      body(rank, **group);
    });
  }
  for (auto& t : threads) t.join();
}

Bytes pattern(size_t n, uint8_t start) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i * 7);
  return b;
}

TEST_CASE("gather_bytes brings every rank's bytes to rank 0, whatever their sizes") {
  std::vector<std::string> errors;
  std::vector<Expected<std::vector<Bytes>>> got(2, std::vector<Bytes>{}),
      empty(2, std::vector<Bytes>{});
  on_two_ranks(
      [&](int rank, ProcessGroup& g) {
        got[rank] = gather_bytes(g, rank == 0 ? pattern(3, 1) : pattern(5000, 9));
        empty[rank] = gather_bytes(g, Bytes());
      },
      errors);
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  REQUIRE(got[0].ok());
  REQUIRE(got[1].ok());
  REQUIRE(got[0]->size() == 2);
  CHECK(((*got[0])[0] == pattern(3, 1)));
  CHECK(((*got[0])[1] == pattern(5000, 9)));
  CHECK(got[1]->empty());  // only rank 0 receives
  REQUIRE(empty[0].ok());
  CHECK((*empty[0] == std::vector<Bytes>{Bytes(), Bytes()}));
}

TEST_CASE("an error on one rank reaches every rank at once, not after the timeout") {
  std::vector<std::string> errors;
  std::vector<Status> gathered(2), sent(2);
  std::vector<Bytes> received(2);
  std::vector<double> seconds(2);
  on_two_ranks(
      [&](int rank, ProcessGroup& g) {
        const auto start = Clock::now();
        Expected<Bytes> mine = pattern(10, 0);
        if (rank == 1) mine = Status(ErrorCode::io_error, "rank one's disk is gone");
        gathered[rank] = gather_bytes(g, mine).status();
        // Rank 0 sends bytes, then an error.
        auto ok = broadcast_bytes(g, rank == 0 ? Expected<Bytes>(pattern(300, 5)) : Bytes());
        if (ok.ok()) received[rank] = *ok;
        sent[rank] =
            broadcast_bytes(
                g, rank == 0 ? Expected<Bytes>(Status(ErrorCode::not_found, "no such snapshot"))
                             : Bytes())
                .status();
        seconds[rank] = std::chrono::duration<double>(Clock::now() - start).count();
      },
      errors);
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  CHECK(gathered[0].message().find("rank 1 could not take its part") != std::string::npos);
  CHECK(gathered[1].message() == "rank one's disk is gone");
  CHECK((received[0] == pattern(300, 5)));
  CHECK((received[1] == pattern(300, 5)));
  CHECK(sent[0].message() == "no such snapshot");
  CHECK(sent[1].message() == "rank 0: no such snapshot");
  CHECK(seconds[0] < 10.0);  // the timeout is 20 s
  CHECK(seconds[1] < 10.0);
}

CodeBufferConfig buffer_config(size_t budget) {
  CodeBufferConfig c;
  c.c = 12;
  c.l = 4;
  c.num_classes = 4;
  c.num_tasks = 2;
  c.budget_bytes = budget;
  c.seed = 3;
  return c;
}

// A buffer of `budget` bytes offered `offers` items (code values from `salt`), the first half
// sealed.
CodeBuffer filled(size_t budget, int offers, uint32_t salt) {
  auto b = CodeBuffer::create(buffer_config(budget));
  REQUIRE(b.ok());
  std::vector<uint32_t> code(12);
  for (int i = 0; i < offers; ++i) {
    for (size_t v = 0; v < code.size(); ++v) code[v] = (salt + 3 * i + v) % 4;
    REQUIRE(b->insert(code.data(), i % 4, (i / 7) % 2).ok());
    if (i == offers / 2) b->seal();
  }
  return std::move(*b);
}

// Every item of `b` as (code, label, task, sealed), sorted.
std::vector<std::tuple<std::vector<uint32_t>, int, int, bool>> items(const CodeBuffer& b) {
  std::vector<std::tuple<std::vector<uint32_t>, int, int, bool>> out;
  for (size_t i = 0; i < b.size(); ++i) {
    std::vector<uint32_t> code(static_cast<size_t>(b.config().c));
    int32_t label = 0, task = 0;
    REQUIRE(b.get(i, code.data(), &label, &task).ok());
    out.emplace_back(code, label, task, b.is_sealed(i));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("merged code buffer shares hold every item, keep the marks and sum the counters") {
  // Two shares of 300 bytes (one over-offered, so full, one not).
  const CodeBuffer a = filled(300, 500, 0), b = filled(300, 60, 1);
  REQUIRE(a.size() == a.capacity());
  auto merged = CodeBuffer::merge({a, b}, buffer_config(600));
  REQUIRE(merged.ok());
  CHECK(merged->size() == a.size() + b.size());
  auto expected = items(a);
  const auto more = items(b);
  expected.insert(expected.end(), more.begin(), more.end());
  std::sort(expected.begin(), expected.end());
  CHECK((items(*merged) == expected));
  CHECK(merged->sealed_size() == a.sealed_size() + b.sealed_size());
  CHECK(merged->seen() == 560);
  for (int k = 0; k < 4; ++k) {
    CHECK(merged->seen_per_class()[k] == a.seen_per_class()[k] + b.seen_per_class()[k]);
    CHECK(merged->class_counts()[k] == a.class_counts()[k] + b.class_counts()[k]);
  }
  // Nothing is dropped: a budget that cannot hold them all is refused, as is another shape.
  auto small = CodeBuffer::merge({a, b}, buffer_config(400));
  CHECK(small.status().code() == ErrorCode::invalid_argument);
  CHECK(small.status().message().find("more than one buffer") != std::string::npos);
  CodeBufferConfig other = buffer_config(600);
  other.c = 13;
  CHECK(CodeBuffer::merge({a, b}, other).status().code() == ErrorCode::invalid_argument);
}

// Snapshot sections as Session::snapshot writes them: `shares` code buffers (rank r's
// "code_buffer.r", a "ranks" section when there are several) with sampler streams seeded r.
SnapshotSections sections_of(const std::vector<CodeBuffer>& shares) {
  SnapshotSections s;
  auto text = [](const std::string& t) { return Bytes(t.begin(), t.end()); };
  for (int r = 0; r < static_cast<int>(shares.size()); ++r) {
    s[session_detail::rank_section("code_buffer", r)] = shares[r].serialize();
    std::ostringstream rng;
    rng << std::mt19937_64(static_cast<uint64_t>(r));
    s[session_detail::rank_section("rng", r)] =
        text(nlohmann::json{{"hippocampus_sampler", rng.str()}}.dump());
  }
  if (shares.size() > 1) {
    s["ranks"] = text(nlohmann::json{{"world_size", shares.size()}}.dump());
  }
  return s;
}

TEST_CASE("a snapshot's code buffers go to their ranks, merge into one process, or are refused") {
  const size_t whole = 601;  // shares of 301 and 300 bytes (budget_share)
  const CodeBuffer a = filled(budget_share(whole, 0, 2), 500, 0);
  const CodeBuffer b = filled(budget_share(whole, 1, 2), 90, 1);
  const SnapshotSections two = sections_of({a, b});
  // Section names a snapshot file accepts.
  const std::string file =
      (std::filesystem::temp_directory_path() / ("ranks_" + std::to_string(::getpid()))).string();
  REQUIRE_MESSAGE(write_snapshot(file, two).ok(), write_snapshot(file, two).to_string());
  std::filesystem::remove(file);
  // The same world size: each rank its own share and sampler.
  for (int rank = 0; rank < 2; ++rank) {
    CAPTURE(rank);
    auto share =
        session_detail::restore_buffer(two, buffer_config(budget_share(whole, rank, 2)), rank, 2);
    REQUIRE(share.ok());
    CHECK((share->serialize() == (rank == 0 ? a : b).serialize()));
    auto rng = session_detail::restore_sampler(two, rank, 2);
    REQUIRE(rng.ok());
    CHECK((*rng == std::mt19937_64(static_cast<uint64_t>(rank))));
  }
  // Rank 1 given rank 0's budget share: a configuration mismatch, by section.
  auto wrong = session_detail::restore_buffer(two, buffer_config(301), 1, 2);
  CHECK(wrong.status().message().find("code_buffer.1") != std::string::npos);
  // One process: both shares in one buffer of the whole budget, rank 0's sampler.
  auto one = session_detail::restore_buffer(two, buffer_config(whole), 0, 1);
  REQUIRE(one.ok());
  CHECK(one->size() == a.size() + b.size());
  CHECK(one->config().budget_bytes == whole);
  CHECK((session_detail::restore_sampler(two, 0, 1).value() == std::mt19937_64(0)));
  // Three ranks: refused, naming both world sizes.
  auto three = session_detail::restore_buffer(two, buffer_config(200), 0, 3);
  CHECK(three.status().code() == ErrorCode::invalid_argument);
  CHECK(three.status().message().find("code buffers of 2 ranks") != std::string::npos);
  CHECK(three.status().message().find("not into 3 ranks") != std::string::npos);
  // A one-process snapshot (no "ranks" section, as before ranks existed) restores into one
  // process as it always did, and is refused by two ranks.
  const SnapshotSections alone = sections_of({*one});
  auto again = session_detail::restore_buffer(alone, buffer_config(whole), 0, 1);
  REQUIRE_MESSAGE(again.ok(), again.status().to_string());
  CHECK((again->serialize() == one->serialize()));
  auto split = session_detail::restore_buffer(alone, buffer_config(301), 0, 2);
  CHECK(split.status().code() == ErrorCode::invalid_argument);
  CHECK(split.status().message().find("taken by one process") != std::string::npos);
}

}  // namespace
}  // namespace engram
