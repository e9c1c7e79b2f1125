// The C API (engram.h) as a host program sees it: argument checking, the non-blocking queue,
// learning two tasks from observations, predictions, counters, snapshots and restore.
#include "engram.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/temp_dir.h"

using engram::test::TempDir;

namespace {

constexpr int kSide = 28, kPixels = kSide * kSide;

// A small, fast learner: MLP 64, experience replay of raw images.
const char* kConfig = R"({
  "name": "test-sensor", "classes": 4, "tasks": 2, "seed": 3,
  "neocortex": {"hidden": [64]},
  "memory": {"kind": "raw", "budget_bytes": 40000},
  "learning": {"batch": 16, "replay": 16, "queue": 64, "predict_refresh_ms": 0}
})";

// A synthetic sensor image of class k: a bright 7x7 square in quadrant k, on noise.
std::vector<uint8_t> image(int k, std::mt19937& rng) {
  std::uniform_int_distribution<int> noise(0, 70);
  std::vector<uint8_t> px(kPixels);
  for (auto& p : px) p = static_cast<uint8_t>(noise(rng));
  const int r0 = 3 + (k / 2) * 14, c0 = 3 + (k % 2) * 14;
  for (int r = r0; r < r0 + 7; ++r)
    for (int c = c0; c < c0 + 7; ++c) px[r * kSide + c] = 255;
  return px;
}

engram_t* open_or_fail(const char* config) {
  engram_t* e = nullptr;
  const int rc = engram_open_json(config, &e);
  INFO(engram_last_error());
  REQUIRE(rc == ENGRAM_OK);
  REQUIRE(e != nullptr);
  return e;
}

// Observes n examples of each class of `task` (interleaved), retrying while the queue is full.
void observe_task(engram_t* e, int task, int n, std::mt19937& rng) {
  for (int i = 0; i < 2 * n; ++i) {
    const int label = 2 * task + i % 2;
    std::vector<uint8_t> px = image(label, rng);
    engram_input x{px.data(), px.size(), ENGRAM_U8};
    int rc;
    while ((rc = engram_observe(e, &x, label, task)) == ENGRAM_FULL) std::this_thread::yield();
    REQUIRE(rc == ENGRAM_OK);
  }
}

// Fraction of fresh images of `classes` predicted correctly.
double accuracy(engram_t* e, std::initializer_list<int> classes, std::mt19937& rng) {
  int right = 0, total = 0;
  for (int i = 0; i < 50; ++i) {
    for (int k : classes) {
      std::vector<uint8_t> px = image(k, rng);
      engram_input x{px.data(), px.size(), ENGRAM_U8};
      int32_t label = -1;
      REQUIRE(engram_predict(e, &x, &label, nullptr, 0) == ENGRAM_OK);
      right += label == k;
      ++total;
    }
  }
  return static_cast<double>(right) / total;
}

engram_counters counters(engram_t* e) {
  engram_counters c;
  REQUIRE(engram_get_counters(e, &c, sizeof c) == ENGRAM_OK);
  return c;
}

}  // namespace

TEST_CASE("C API: null handles and null pointers are errors, never crashes") {
  std::vector<uint8_t> px(kPixels);
  engram_input x{px.data(), px.size(), ENGRAM_U8};
  int32_t label;
  engram_counters c;
  CHECK(engram_observe(nullptr, &x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("handle is NULL") != std::string::npos);
  CHECK(engram_predict(nullptr, &x, &label, nullptr, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_flush(nullptr, 1) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_snapshot(nullptr, "x") == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_get_counters(nullptr, &c, sizeof c) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_open_json(nullptr, nullptr) == ENGRAM_E_INVALID_ARGUMENT);
  engram_t* e = reinterpret_cast<engram_t*>(0x1);
  CHECK(engram_open_json(nullptr, &e) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(e == nullptr);  // out is cleared on failure
  CHECK(engram_open_file(nullptr, &e) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_restore(nullptr, &e) == ENGRAM_E_INVALID_ARGUMENT);
  engram_close(nullptr);
  CHECK(std::string(engram_version()).size() >= 5);
}

TEST_CASE("C API: bad configurations are rejected with a message naming the problem") {
  engram_t* e = nullptr;
  CHECK(engram_open_json("{not json", &e) == ENGRAM_E_MALFORMED);
  CHECK(engram_open_json(R"({"learning": {"batchsize": 8}})", &e) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("learning.batchsize") != std::string::npos);
  CHECK(engram_open_json(R"({"classes": "ten"})", &e) == ENGRAM_E_MALFORMED);
  CHECK(engram_open_json(R"({"input": {"rows": 0}})", &e) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_open_json(R"({"learning": {"batch": 64, "queue": 8}})", &e) ==
        ENGRAM_E_INVALID_ARGUMENT);
  // No GPU here: a CUDA device must fail clearly, not fall back to the CPU.
  CHECK(engram_open_json(R"({"device": "cuda"})", &e) != ENGRAM_OK);
  CHECK(std::string(engram_last_error()).find("CUDA") != std::string::npos);
  CHECK(e == nullptr);
}

TEST_CASE("C API: bad observations are refused and counted; the queue is untouched") {
  engram_t* e = open_or_fail(kConfig);
  std::vector<uint8_t> px(kPixels, 10);
  std::vector<float> pf(kPixels, 0.5f);
  engram_input x{px.data(), px.size(), ENGRAM_U8};
  engram_input short_x{px.data(), px.size() - 1, ENGRAM_U8};
  engram_input null_x{nullptr, px.size(), ENGRAM_U8};
  engram_input bad_enc{px.data(), px.size(), 7};
  CHECK(engram_observe(e, nullptr, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_observe(e, &short_x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("784") != std::string::npos);
  CHECK(engram_observe(e, &null_x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_observe(e, &bad_enc, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_observe(e, &x, 4, 0) == ENGRAM_E_INVALID_ARGUMENT);   // label >= classes
  CHECK(engram_observe(e, &x, -1, 0) == ENGRAM_E_INVALID_ARGUMENT);  // label < 0
  CHECK(engram_observe(e, &x, 0, 2) == ENGRAM_E_INVALID_ARGUMENT);   // task >= tasks
  pf[100] = std::nanf("");
  engram_input nan_x{pf.data(), pf.size(), ENGRAM_F32};
  CHECK(engram_observe(e, &nan_x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  pf[100] = 1.5f;
  CHECK(engram_observe(e, &nan_x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  int32_t label = -7;
  CHECK(engram_predict(e, &x, &label, nullptr, 0) == ENGRAM_NOT_READY);
  CHECK(label == -7);
  CHECK(engram_predict(e, &x, nullptr, nullptr, 0) == ENGRAM_E_INVALID_ARGUMENT);
  engram_counters c;
  CHECK(engram_get_counters(e, &c, ENGRAM_COUNTERS_V1_SIZE - 8) == ENGRAM_E_INVALID_ARGUMENT);
  c = counters(e);
  CHECK(c.rejected_invalid == 7);
  CHECK(c.rejected_non_finite == 1);
  CHECK(c.rejected_out_of_range == 1);
  CHECK(c.observed == 0);
  CHECK(c.queued == 0);
  CHECK(c.queue_capacity == 64);
  engram_close(e);
}

TEST_CASE("C API: learns two tasks from observations without forgetting the first") {
  engram_t* e = open_or_fail(kConfig);
  std::mt19937 rng(11);
  observe_task(e, 0, 400, rng);
  REQUIRE(engram_flush(e, 120) == ENGRAM_OK);
  const double first = accuracy(e, {0, 1}, rng);
  observe_task(e, 1, 400, rng);
  REQUIRE(engram_flush(e, 120) == ENGRAM_OK);
  const double old_task = accuracy(e, {0, 1}, rng), new_task = accuracy(e, {2, 3}, rng);
  MESSAGE("task 0 after task 0: " << first << ", after task 1: " << old_task
                                  << "; task 1: " << new_task);
  CHECK(first > 0.95);
  CHECK(new_task > 0.9);
  CHECK(old_task > 0.8);  // replay keeps it; fine-tuning alone drops it to 0 (class-incremental)

  std::vector<uint8_t> px = image(3, rng);
  engram_input x{px.data(), px.size(), ENGRAM_U8};
  float probs[4] = {-1, -1, -1, -1};
  int32_t label = -1;
  CHECK(engram_predict(e, &x, &label, probs, 3) == ENGRAM_E_INVALID_ARGUMENT);
  REQUIRE(engram_predict(e, &x, &label, probs, 4) == ENGRAM_OK);
  CHECK(label == 3);
  CHECK(probs[0] + probs[1] + probs[2] + probs[3] == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(probs[3] > 0.5f);

  const engram_counters c = counters(e);
  CHECK(c.observed == 1600);
  CHECK(c.learned == 1600);  // flush: everything accepted was trained on
  CHECK(c.batches >= 1600 / 16);
  CHECK(c.queued == 0);
  CHECK(c.predictions == 301);
  CHECK(c.model_updates >= 2);
  engram_close(e);
}

TEST_CASE("C API: the memory kind and replay options come from the JSON configuration") {
  // Class-balanced recall with soft targets as well as labels.
  engram_t* e = open_or_fail(R"({
    "classes": 4, "tasks": 2, "seed": 5, "neocortex": {"hidden": [64]},
    "memory": {"kind": "raw", "budget_bytes": 40000},
    "learning": {"batch": 16, "queue": 64, "predict_refresh_ms": 0,
                 "replay": {"per_batch": 16, "sampler": "class_balanced",
                            "targets": {"label": 1, "soft": 0.5}, "delay": 2}}
  })");
  std::mt19937 rng(13);
  observe_task(e, 0, 300, rng);
  REQUIRE(engram_flush(e, 120) == ENGRAM_OK);
  observe_task(e, 1, 300, rng);
  REQUIRE(engram_flush(e, 120) == ENGRAM_OK);
  CHECK(accuracy(e, {0, 1}, rng) > 0.8);  // recalled: fine-tuning alone forgets task 0
  engram_close(e);

  // A stream without task ids (all task 0): replay only from what a boundary made recallable.
  e = open_or_fail(kConfig);
  for (int i = 0; i < 200; ++i) {
    const int label = i % 2;
    std::vector<uint8_t> px = image(label, rng);
    engram_input x{px.data(), px.size(), ENGRAM_U8};
    while (engram_observe(e, &x, label, 0) == ENGRAM_FULL) std::this_thread::yield();
  }
  REQUIRE(engram_consolidate(e) == ENGRAM_OK);
  for (int i = 0; i < 400; ++i) {
    const int label = 2 + i % 2;
    std::vector<uint8_t> px = image(label, rng);
    engram_input x{px.data(), px.size(), ENGRAM_U8};
    while (engram_observe(e, &x, label, 0) == ENGRAM_FULL) std::this_thread::yield();
  }
  REQUIRE(engram_flush(e, 120) == ENGRAM_OK);
  CHECK(accuracy(e, {0, 1}, rng) > 0.8);  // classes 0 and 1 were replayed under task id 0
  engram_close(e);
  CHECK(engram_consolidate(nullptr) != ENGRAM_OK);

  engram_t* bad = nullptr;
  CHECK(engram_open_json(R"({"learning": {"replay": {"sampler": "hardest"}}})", &bad) ==
        ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("sampler") != std::string::npos);
  CHECK(engram_open_json(R"({"learning": {"replay": {"delay": 0}}})", &bad) ==
        ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("delay") != std::string::npos);
  CHECK(engram_open_json(R"({"memory": {"kind": "lwf", "c": 10}})", &bad) ==
        ENGRAM_E_INVALID_ARGUMENT);
  CHECK(bad == nullptr);
}

TEST_CASE("C API: a full queue says so at once, and nothing it accepted is lost") {
  engram_t* e = open_or_fail(kConfig);
  std::mt19937 rng(5);
  std::vector<uint8_t> px = image(0, rng);
  engram_input x{px.data(), px.size(), ENGRAM_U8};
  int accepted = 0, full = 0;
  for (int i = 0; i < 20000; ++i) {
    const int rc = engram_observe(e, &x, i % 2, 0);
    REQUIRE((rc == ENGRAM_OK || rc == ENGRAM_FULL));
    (rc == ENGRAM_OK ? accepted : full)++;
  }
  CHECK(full > 0);  // 20,000 calls take far less time than learning 20,000 examples
  REQUIRE(engram_flush(e, 300) == ENGRAM_OK);
  const engram_counters c = counters(e);
  CHECK(c.observed == static_cast<uint64_t>(accepted));
  CHECK(c.rejected_full == static_cast<uint64_t>(full));
  CHECK(c.learned == static_cast<uint64_t>(accepted));
  engram_close(e);
}

TEST_CASE("C API: observe and predict from several host threads while learning") {
  engram_t* e = open_or_fail(kConfig);
  std::mt19937 rng(2);
  observe_task(e, 0, 50, rng);
  REQUIRE(engram_flush(e, 60) == ENGRAM_OK);
  std::atomic<int> errors{0}, accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(100 + t);
      for (int i = 0; i < 500; ++i) {
        std::vector<uint8_t> px = image(i % 2, r);
        engram_input x{px.data(), px.size(), ENGRAM_U8};
        const int rc = engram_observe(e, &x, i % 2, 0);
        if (rc == ENGRAM_OK) ++accepted;
        if (rc != ENGRAM_OK && rc != ENGRAM_FULL) ++errors;
        int32_t label;
        if (engram_predict(e, &x, &label, nullptr, 0) != ENGRAM_OK) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  REQUIRE(engram_flush(e, 60) == ENGRAM_OK);
  CHECK(counters(e).learned == static_cast<uint64_t>(100 + accepted.load()));
  engram_close(e);
}

TEST_CASE("C API: snapshot and restore carry the learner over exactly") {
  TempDir dir;
  const std::string path = dir.file("robot.engram");
  engram_t* e = open_or_fail(kConfig);
  std::mt19937 rng(8);
  observe_task(e, 0, 100, rng);
  observe_task(e, 1, 100, rng);
  REQUIRE(engram_snapshot(e, path.c_str()) == ENGRAM_OK);
  const engram_counters before = counters(e);
  CHECK(before.learned == 400);  // the snapshot learned everything observed first

  engram_t* r = nullptr;
  REQUIRE(engram_restore(path.c_str(), &r) == ENGRAM_OK);
  const engram_counters after = counters(r);
  CHECK(after.observed == 400);
  CHECK(after.learned == 400);
  CHECK(after.batches == before.batches);
  for (int k = 0; k < 4; ++k) {
    std::vector<uint8_t> px = image(k, rng);
    engram_input x{px.data(), px.size(), ENGRAM_U8};
    float p1[4], p2[4];
    int32_t l1, l2;
    REQUIRE(engram_predict(e, &x, &l1, p1, 4) == ENGRAM_OK);
    REQUIRE(engram_predict(r, &x, &l2, p2, 4) == ENGRAM_OK);
    CHECK(l1 == l2);
    CHECK(std::memcmp(p1, p2, sizeof p1) == 0);
  }
  // The restored learner goes on learning.
  observe_task(r, 1, 20, rng);
  CHECK(engram_flush(r, 60) == ENGRAM_OK);
  CHECK(counters(r).learned == 440);
  engram_close(r);

  // Damage: a flipped byte is found and named; nothing is opened.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x40;
  const std::string bad = dir.file("bad.engram");
  std::ofstream(bad, std::ios::binary) << bytes;
  engram_t* b = reinterpret_cast<engram_t*>(0x1);
  CHECK(engram_restore(bad.c_str(), &b) == ENGRAM_E_MALFORMED);
  CHECK(std::string(engram_last_error()).find("section") != std::string::npos);
  CHECK(b == nullptr);
  CHECK(engram_restore(dir.file("missing.engram").c_str(), &b) == ENGRAM_E_NOT_FOUND);
  CHECK(engram_snapshot(e, dir.file("no/such/dir/x.engram").c_str()) == ENGRAM_E_IO);
  engram_close(e);
}

TEST_CASE("C API: configuration files, JSON or a Lua script") {
  TempDir dir;
  const std::string json = dir.file("agent.json"), lua = dir.file("agent.lua");
  std::ofstream(json) << kConfig;
  std::ofstream(lua) << "local side = 28\n"
                        "return { input = { rows = side, cols = side }, classes = 4, tasks = 2,\n"
                        "         neocortex = { hidden = { 32 } }, memory = { kind = 'none' } }\n";
  engram_t* e = nullptr;
  REQUIRE(engram_open_file(json.c_str(), &e) == ENGRAM_OK);
  engram_close(e);
  REQUIRE(engram_open_file(lua.c_str(), &e) == ENGRAM_OK);
  engram_close(e);
  const std::string broken = dir.file("broken.lua"), no_table = dir.file("no_table.lua");
  std::ofstream(broken) << "return { classes = 4 \n";
  std::ofstream(no_table) << "return 42\n";
  CHECK(engram_open_file(broken.c_str(), &e) == ENGRAM_E_SCRIPT);
  CHECK(engram_open_file(no_table.c_str(), &e) == ENGRAM_E_SCRIPT);
  CHECK(std::string(engram_last_error()).find("must return the configuration table") !=
        std::string::npos);
  CHECK(engram_open_file(dir.file("agent.txt").c_str(), &e) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(engram_open_file(dir.file("missing.json").c_str(), &e) == ENGRAM_E_NOT_FOUND);
  CHECK(e == nullptr);
}

TEST_CASE("C API: engram_get_counters fills what fits for older and newer struct sizes") {
  engram_t* e = open_or_fail(kConfig);
  std::vector<float> pf(kPixels, 0.5f);
  pf[3] = std::numeric_limits<float>::infinity();
  engram_input inf_x{pf.data(), pf.size(), ENGRAM_F32};
  CHECK(engram_observe(e, &inf_x, 0, 0) == ENGRAM_E_INVALID_ARGUMENT);
  CHECK(std::string(engram_last_error()).find("value 3 is inf") != std::string::npos);
  const engram_counters now = counters(e);
  CHECK(now.rejected_non_finite == 1);
  // A program built against the first header passes 88 bytes: it gets the first 11 fields and
  // nothing is written beyond them.
  std::vector<unsigned char> old(ENGRAM_COUNTERS_V1_SIZE + 16, 0xAB);
  REQUIRE(engram_get_counters(e, reinterpret_cast<engram_counters*>(old.data()),
                              ENGRAM_COUNTERS_V1_SIZE) == ENGRAM_OK);
  engram_counters v1;
  std::memcpy(&v1, old.data(), ENGRAM_COUNTERS_V1_SIZE);
  CHECK(v1.rejected_invalid == 1);
  CHECK(v1.queue_capacity == 64);
  for (size_t i = ENGRAM_COUNTERS_V1_SIZE; i < old.size(); ++i) CHECK(old[i] == 0xAB);
  // A program built against a later header passes more: the fields known here, then zeros.
  std::vector<unsigned char> newer(sizeof(engram_counters) + 24, 0xAB);
  REQUIRE(engram_get_counters(e, reinterpret_cast<engram_counters*>(newer.data()), newer.size()) ==
          ENGRAM_OK);
  engram_counters all;
  std::memcpy(&all, newer.data(), sizeof all);
  CHECK(all.rejected_non_finite == 1);
  CHECK(all.queue_capacity == 64);
  for (size_t i = sizeof(engram_counters); i < newer.size(); ++i) CHECK(newer[i] == 0);
  CHECK(engram_get_counters(e, &all, 0) == ENGRAM_E_INVALID_ARGUMENT);
  engram_close(e);
}

TEST_CASE("C API: engram_close while other threads are inside calls on the handle") {
  for (int round = 0; round < 3; ++round) {
    engram_t* e = open_or_fail(kConfig);
    std::atomic<int> calls{0};
    std::vector<std::thread> threads;
    // Observers and a predictor call until the handle closes under them: each call either
    // completes or returns ENGRAM_E_CLOSED, never crashes (ASan/TSan builds check the memory).
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        for (;;) {
          std::vector<uint8_t> px = image(t % 4, rng);
          engram_input x{px.data(), px.size(), ENGRAM_U8};
          int32_t label = 0;
          const int rc =
              t == 2 ? engram_predict(e, &x, &label, nullptr, 0) : engram_observe(e, &x, t % 2, 0);
          calls.fetch_add(1);
          if (rc == ENGRAM_E_CLOSED) return;
          CHECK((rc == ENGRAM_OK || rc == ENGRAM_FULL || rc == ENGRAM_NOT_READY));
        }
      });
    }
    // A flush that would wait far longer than the test: close must end it.
    std::atomic<int> flush_rc{1};
    threads.emplace_back([&] {
      while (calls.load() < 100) std::this_thread::yield();
      flush_rc = engram_flush(e, 1e6);
    });
    while (calls.load() < 300) std::this_thread::yield();
    engram_close(e);  // returns when no call is inside the handle any more
    for (auto& t : threads) t.join();
    CHECK((flush_rc.load() == ENGRAM_OK || flush_rc.load() == ENGRAM_E_CLOSED));
    // A late call on the closed handle is refused, not a use of freed memory.
    engram_counters c;
    CHECK(engram_get_counters(e, &c, sizeof c) == ENGRAM_E_CLOSED);
    CHECK(std::string(engram_last_error()).find("closed") != std::string::npos);
    engram_close(e);  // a second close does nothing
  }
}
