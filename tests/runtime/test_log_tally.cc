// LogTally: once per cause, counts, periodic count lines, summaries, bounded causes; and an
// actor's errors and drops logged through it.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/actor.h"
#include "runtime/actor_host.h"
#include "runtime/log_tally.h"
#include "tests/runtime/log_capture.h"

using namespace engram;
using engram::test::LogCapture;

namespace {

// A tally on a clock the test moves.
struct Fixture {
  double t = 1000.0;
  LogTallyOptions options(size_t max_causes = 32) {
    LogTallyOptions o;
    o.max_causes = max_causes;
    o.report_seconds = 60.0;
    o.clock = [this] { return t; };
    return o;
  }
};

}  // namespace

TEST_CASE("cause_of drops the numbers that vary per message, keeps the first line, bounded") {
  CHECK(cause_of("bad shape [3, 28, 28]") == "bad shape [#, #, #]");
  CHECK(cause_of("bad shape [4, 128, 1]") == cause_of("bad shape [3, 28, 28]"));
  CHECK(cause_of("decode: frame 12345 of 99") == "decode: frame # of #");
  CHECK(cause_of("script.lua:3: it broke\nstack traceback:\n\t[C]: in ?") ==
        "script.lua:#: it broke");
  CHECK(cause_of("no digits here") == "no digits here");
  const std::string long_text = std::string(119, 'a') + "\xc3\xa9" + std::string(50, 'b');
  const std::string cut = cause_of(long_text);
  CHECK(cut.size() == 119);  // the two-byte character at 119..120 is not split
  CHECK(cause_of(std::string(500, 'x')).size() == 120);
}

TEST_CASE("group_thousands") {
  CHECK(group_thousands(0) == "0");
  CHECK(group_thousands(999) == "999");
  CHECK(group_thousands(1000) == "1,000");
  CHECK(group_thousands(4312) == "4,312");
  CHECK(group_thousands(1234567) == "1,234,567");
}

TEST_CASE("the first of a cause is logged in full, repeats are counted, not logged") {
  LogCapture capture(LogLevel::info);
  Fixture f;
  LogTally tally("association", "errors", LogLevel::error, f.options());
  for (int i = 0; i < 500; ++i) {
    tally.record("decode: bad shape", "decode: bad shape [" + std::to_string(i) + ", 28, 28]");
    f.t += 0.01;  // 5 s in all: below report_seconds
  }
  std::vector<std::string> lines = capture.lines();
  REQUIRE(lines.size() == 1);
  CHECK(
      lines[0].find("[error] [association] decode: bad shape [0, 28, 28] (repeats are counted)") !=
      std::string::npos);
  std::vector<LogTally::CauseCount> counts = tally.counts();
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].cause == "decode: bad shape");
  CHECK(counts[0].count == 500);
  CHECK(counts[0].occurrences == 500);
}

TEST_CASE("separate causes are logged separately; a repeat after report_seconds logs the count") {
  LogCapture capture(LogLevel::info);
  Fixture f;
  LogTally tally("neocortex", "drops", LogLevel::warn, f.options());
  tally.record("queue full", "queue full (64 waiting)");
  tally.record("peer gone", "");
  tally.record("queue full", "queue full (65 waiting)", 3);
  REQUIRE(capture.lines().size() == 2);
  CHECK(capture.matching("[warn] [neocortex] queue full (64 waiting)").size() == 1);
  CHECK(capture.matching("[warn] [neocortex] peer gone (repeats").size() == 1);  // detail = cause
  f.t += 59.0;
  tally.record("queue full", "queue full (70 waiting)");
  CHECK(capture.lines().size() == 2);
  f.t += 1.5;
  tally.record("queue full", "queue full (71 waiting)", 2);
  REQUIRE(capture.lines().size() == 3);
  // 1 + 3 + 1 + 2 = 7 so far, 6 of them since the first line, 60.5 s ago.
  CHECK(capture.lines()[2].find("[warn] [neocortex] 7 drops 'queue full' so far (+6 in the last "
                                "60s); latest: queue full (71 waiting)") != std::string::npos);
  f.t += 10.0;
  tally.record("queue full", "queue full (72 waiting)");  // 10 s after the count line: quiet
  CHECK(capture.lines().size() == 3);
  f.t += 50.0;
  tally.record("queue full", "queue full (73 waiting)");
  REQUIRE(capture.lines().size() == 4);
  CHECK(capture.lines()[3].find("9 drops 'queue full' so far (+2 in the last 60s)") !=
        std::string::npos);
}

TEST_CASE("summarize logs each repeated cause's count once, in order, then starts afresh") {
  LogCapture capture(LogLevel::info);
  Fixture f;
  LogTally tally("association", "errors", LogLevel::error, f.options());
  for (int i = 0; i < 4312; ++i) tally.record("decode: bad shape", "decode: bad shape");
  tally.record("once only", "once only: detail");
  tally.record("twice", "twice");
  tally.record("twice", "twice");
  const size_t before = capture.lines().size();
  CHECK(before == 3);
  tally.summarize();
  std::vector<std::string> lines = capture.lines();
  REQUIRE(lines.size() == before + 2);  // "once only" was logged in full already
  CHECK(lines[before].find("[error] [association] 4,312 errors 'decode: bad shape' in all") !=
        std::string::npos);
  CHECK(lines[before + 1].find("[error] [association] 2 errors 'twice' in all") !=
        std::string::npos);
  CHECK(tally.counts().empty());
  // After a summary a cause is new again: its first occurrence is logged in full.
  tally.record("twice", "twice again");
  CHECK(capture.matching("twice again").size() == 1);
  tally.summarize();
  CHECK(capture.lines().size() == before + 3);
}

TEST_CASE("distinct causes are bounded: later new causes share one bucket") {
  LogCapture capture(LogLevel::info);
  Fixture f;
  LogTally tally("hippocampus", "errors", LogLevel::error, f.options(3));
  for (int i = 0; i < 10; ++i) {
    const std::string cause = "cause " + std::string(1, static_cast<char>('a' + i));
    tally.record(cause, cause + " detail");
    tally.record(cause, cause + " detail");
  }
  std::vector<LogTally::CauseCount> counts = tally.counts();
  REQUIRE(counts.size() == 4);
  CHECK(counts[0].cause == "cause a");
  CHECK(counts[2].cause == "cause c");
  CHECK(counts[3].cause == LogTally::kOtherCauses);
  CHECK(counts[3].count == 14);
  // Three causes and the first of the others, each once.
  std::vector<std::string> lines = capture.lines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[3].find("cause d detail (3 causes of errors seen: further new causes are counted "
                      "as 'other causes')") != std::string::npos);
  tally.summarize();
  CHECK(capture.matching("14 errors 'other causes' in all").size() == 1);
  CHECK(capture.matching("2 errors 'cause b' in all").size() == 1);
}

TEST_CASE("record is thread-safe: counts add up") {
  LogCapture capture(LogLevel::info);
  LogTally tally("many", "errors", LogLevel::error);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&tally, t] {
      for (int i = 0; i < 1000; ++i) tally.record(t % 2 ? "odd" : "even", "x", 2);
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<LogTally::CauseCount> counts = tally.counts();
  REQUIRE(counts.size() == 2);
  CHECK(counts[0].count + counts[1].count == 8000);
  CHECK(counts[0].occurrences == 2000);
  CHECK(capture.lines().size() == 2);
}

namespace {

// On "fail N": returns an error naming N. On "lost": replies to a peer that does not exist (a
// drop) and succeeds.
class Faulty : public ActorBehavior {
 public:
  std::string name() const override { return "faulty"; }
  Status start(ActorContext& ctx) override {
    sock_ = ctx.add_socket(zmq::socket_type::router, true);
    return ctx.bind(sock_, ctx.own_endpoint());
  }
  Status on_message(ActorContext& ctx, SocketId, std::optional<std::string>,
                    Message&& msg) override {
    if (msg.header.type == "fail") {
      return Status(ErrorCode::malformed,
                    "bad shape [" + std::to_string(msg.header.ints.at("n")) + ", 28, 28]");
    }
    Message reply;
    reply.header.type = "pong";
    (void)ctx.send_to(sock_, "nobody", std::move(reply));
    return Status();
  }

 private:
  SocketId sock_ = 0;
};

}  // namespace

TEST_CASE("an actor logs its errors and drops once per cause and counts them when it stops") {
  LogCapture capture(LogLevel::info);
  ActorHost host;
  REQUIRE(host.add(std::make_unique<Faulty>()).ok());
  REQUIRE(host.start_all().ok());
  zmq::socket_t sock = host.make_socket(zmq::socket_type::dealer);
  sock.connect(host.endpoint("faulty"));
  for (int i = 0; i < 300; ++i) {
    Message m;
    m.header.type = i % 3 == 2 ? "lost" : "fail";
    m.header.ints["n"] = i;
    REQUIRE(send_message(sock, std::move(m)).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // A message is counted in when received, as an error or a drop once handled.
  auto handled = [&host] { return host.counters()[0].errors + host.counters()[0].drops; };
  while (handled() < 300 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CounterSnapshot c = host.counters()[0];
  CHECK(c.errors == 200);
  CHECK(c.drops == 100);
  REQUIRE(host.stop_all().ok());
  // The first error in full, its count at the stop; the same for the drops.
  std::vector<std::string> errors = capture.matching("[error] [faulty]");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].find("handler (socket 0): malformed: bad shape [0, 28, 28]") !=
        std::string::npos);
  CHECK(errors[1].find("200 errors 'handler (socket #): malformed: bad shape [#, #, #]' in all") !=
        std::string::npos);
  std::vector<std::string> drops = capture.matching("[warn] [faulty]");
  REQUIRE(drops.size() == 2);
  CHECK(drops[0].find("send on socket 0 failed: closed") != std::string::npos);
  CHECK(drops[1].find("100 drops 'send on socket # failed: closed") != std::string::npos);
  CHECK(drops[1].find("' in all") != std::string::npos);
}
