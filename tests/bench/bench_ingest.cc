// Ingest figures: how fast sensor frames come in, and how long the C API makes a host wait.
//
//   1. Frames per second over tcp loopback, 784-byte u8 frames (shape {28, 28}, label, task,
//      per-source seq 0..N-1), the same multiparts (encode_sensor_frame) sent by a PUSH thread:
//        engram: a SensorBridge (policy block, expected_values 784) and a consumer calling pop()
//                until it has N frames; every frame is decoded and validated on the way.
//        raw:    a plain PULL socket whose receiver only receives all parts of N messages.
//      Timed from the first send to the last frame popped (received). Runs alternate, engram
//      first, --repeats times each; the medians and engram/raw are reported. The sender has
//      connected (and the tcp handshake has had 20 ms) before the clock starts.
//   2. engram_observe latency while learning runs: a learner opened through the C API
//      (bindings/c/engram.h) with {"classes": 10, "tasks": 5} (dvae memory, 28x28) receives
//      synthetic u8 frames of task 0, labels alternating 0/1, at --rate Hz for --seconds
//      (clock_nanosleep TIMER_ABSTIME pacing); each engram_observe is timed, and so is one
//      engram_predict after it once predictions are possible (ENGRAM_NOT_READY is skipped).
//      The pacing loop's own wake-up delay (past each deadline) is shown too: on a small machine
//      the learning threads delay the host thread's wake-ups more than the calls themselves.
//      Then engram_flush and the counters.
//
// Prints figures only; asserts nothing about time. Exits 1 when something is wrong (counters of
// the bridge not as sent, an error status from the C API), 2 on a usage error.
#include <fmt/format.h>
#include <time.h>

#include <zmq.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bindings/c/engram.h"
#include "io/sensors/sensor_bridge.h"
#include "io/sensors/sensor_frame.h"
#include "runtime/system_info.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRows = 28, kCols = 28;
constexpr size_t kPixels = kRows * kCols;
constexpr std::chrono::milliseconds kConnectSettle{20};
constexpr std::chrono::seconds kStallLimit{10};  // no frame for this long: the run failed

struct Options {
  uint64_t frames = 200000;
  int repeats = 3;
  double seconds = 10;
  double rate = 1000;
};

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest throughput

// The encoded parts of N frames: the topic and payload are the same for every frame, the header
// (which carries seq and t_acq) differs. Built once with encode_sensor_frame, outside timing.
struct EncodedFrames {
  std::string topic, payload;
  std::vector<std::string> headers;
};

EncodedFrames encode_frames(uint64_t n) {
  EncodedFrames out;
  SensorFrame f;
  f.topic = "camera/bench";
  f.source = "bench";
  f.encoding = SensorEncoding::u8;
  f.shape = {kRows, kCols};
  f.label = 3;
  f.task = 1;
  f.payload.resize(kPixels);
  for (size_t i = 0; i < kPixels; ++i) f.payload[i] = static_cast<char>((i * 7) & 0xff);
  const int64_t t0 = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  out.headers.reserve(n);
  for (uint64_t seq = 0; seq < n; ++seq) {
    f.seq = seq;
    f.t_acq_ns = t0 + static_cast<int64_t>(seq) * 1000;
    std::vector<zmq::message_t> parts = encode_sensor_frame(f);
    if (seq == 0) {
      out.topic = parts.at(0).to_string();
      out.payload = parts.at(2).to_string();
    }
    out.headers.push_back(parts.at(1).to_string());
  }
  return out;
}

// The sender: a PUSH socket in its own context connects to `endpoint`, lets the handshake
// finish, notes the time and sends every frame as a 3-part message (parts copied from
// `frames`, as a publisher building them would). Returns the time of the first send in *t0.
void send_all(const std::string& endpoint, const EncodedFrames& frames, Clock::time_point* t0,
              std::atomic<bool>* ok) {
  try {
    zmq::context_t ctx(1);
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 5000);
    push.connect(endpoint);
    std::this_thread::sleep_for(kConnectSettle);
    *t0 = Clock::now();
    for (const std::string& header : frames.headers) {
      push.send(zmq::message_t(frames.topic.data(), frames.topic.size()), zmq::send_flags::sndmore);
      push.send(zmq::message_t(header.data(), header.size()), zmq::send_flags::sndmore);
      push.send(zmq::message_t(frames.payload.data(), frames.payload.size()),
                zmq::send_flags::none);
    }
    push.close();
    ctx.close();
  } catch (const zmq::error_t& e) {
    fmt::print("sender failed: {}\n", e.what());
    *ok = false;
  }
}

struct IngestRun {
  bool ok = false;
  double fps = 0;
  double seconds = 0;
  SensorCounters counters;  // engram only
};

IngestRun run_engram(const EncodedFrames& frames) {
  IngestRun r;
  const uint64_t n = frames.headers.size();
  SensorBridgeConfig config;
  config.endpoint = "tcp://127.0.0.1:0";
  config.policy = OverflowPolicy::block;
  config.limits.expected_values = static_cast<int64_t>(kPixels);
  auto bridge = SensorBridge::start(config);
  if (!bridge.ok()) {
    fmt::print("engram: SensorBridge::start failed: {}\n", bridge.status().message());
    return r;
  }
  Clock::time_point t0;
  std::atomic<bool> sent_ok{true};
  std::thread sender(send_all, (*bridge)->endpoint(), std::cref(frames), &t0, &sent_ok);

  std::vector<SensorFrame> got;
  got.reserve(1024);
  uint64_t popped = 0, bad_frames = 0, next_seq = 0;
  auto last_progress = Clock::now();
  Clock::time_point t1;
  while (popped < n) {
    got.clear();
    const size_t k = (*bridge)->pop(&got, 1024, std::chrono::milliseconds(100));
    const auto now = Clock::now();
    if (k == 0) {
      if (now - last_progress > kStallLimit) break;
      continue;
    }
    last_progress = now;
    for (const SensorFrame& f : got) {
      // The consumer touches what it gets: one source over one connection keeps its order.
      if (f.seq != next_seq || f.values() != static_cast<int64_t>(kPixels)) ++bad_frames;
      next_seq = f.seq + 1;
    }
    popped += k;
    t1 = now;
  }
  sender.join();
  r.counters = (*bridge)->counters();
  if (popped != n) {
    fmt::print("engram: stalled after {} of {} frames\n", popped, n);
    return r;
  }
  if (bad_frames > 0)
    fmt::print("engram: {} frames out of order or of the wrong size\n", bad_frames);
  r.seconds = seconds_between(t0, t1);
  r.fps = static_cast<double>(n) / r.seconds;
  r.ok = sent_ok && bad_frames == 0 && r.counters.accepted == n && r.counters.malformed == 0 &&
         r.counters.gaps == 0;
  return r;
}

IngestRun run_raw(const EncodedFrames& frames) {
  IngestRun r;
  const uint64_t n = frames.headers.size();
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.set(zmq::sockopt::rcvtimeo, static_cast<int>(kStallLimit.count() * 1000));
  pull.bind("tcp://127.0.0.1:*");
  const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);
  Clock::time_point t0;
  std::atomic<bool> sent_ok{true};
  std::thread sender(send_all, endpoint, std::cref(frames), &t0, &sent_ok);

  uint64_t received = 0, parts = 0, bytes = 0;
  zmq::message_t part;
  try {
    while (received < n) {
      if (!pull.recv(part, zmq::recv_flags::none)) break;  // timed out
      ++parts;
      bytes += part.size();
      if (!part.more()) ++received;
    }
  } catch (const zmq::error_t& e) {
    fmt::print("raw: receive failed: {}\n", e.what());
  }
  const auto t1 = Clock::now();
  sender.join();
  pull.close();
  ctx.close();
  if (received != n) {
    fmt::print("raw: stalled after {} of {} messages\n", received, n);
    return r;
  }
  r.seconds = seconds_between(t0, t1);
  r.fps = static_cast<double>(n) / r.seconds;
  r.ok = sent_ok && parts == 3 * n;
  return r;
}

bool bench_ingest(const Options& opt) {
  fmt::print("\n1. ingest over tcp loopback: {} frames of {} bytes (u8 {}x{}), PUSH -> PULL\n",
             opt.frames, kPixels, kRows, kCols);
  const EncodedFrames frames = encode_frames(opt.frames);
  fmt::print("   multipart per frame: topic {} B + header {} B + payload {} B\n",
             frames.topic.size(), frames.headers.empty() ? 0 : frames.headers.back().size(),
             frames.payload.size());
  fmt::print("{:<4} {:<8} {:>10} {:>12} {:>10} {:>9} {:>6} {:>8}\n", "run", "receiver", "seconds",
             "frames/s", "accepted", "malformed", "gaps", "dropped");
  bool ok = true;
  std::vector<double> engram_fps, raw_fps;
  for (int rep = 1; rep <= opt.repeats; ++rep) {
    const IngestRun e = run_engram(frames);
    const SensorCounters& c = e.counters;
    fmt::print("{:<4} {:<8} {:>10.3f} {:>12.0f} {:>10} {:>9} {:>6} {:>8}{}\n", rep, "engram",
               e.seconds, e.fps, c.accepted, c.malformed, c.gaps, c.dropped,
               e.ok ? "" : "  WRONG (expected accepted == frames, malformed 0, gaps 0)");
    if (!c.last_error.empty()) fmt::print("     last malformed: {}\n", c.last_error);
    std::fflush(stdout);
    ok = ok && e.ok;
    if (e.ok) engram_fps.push_back(e.fps);

    const IngestRun r = run_raw(frames);
    fmt::print("{:<4} {:<8} {:>10.3f} {:>12.0f} {:>10} {:>9} {:>6} {:>8}{}\n", rep, "raw",
               r.seconds, r.fps, "-", "-", "-", "-", r.ok ? "" : "  FAILED");
    std::fflush(stdout);
    ok = ok && r.ok;
    if (r.ok) raw_fps.push_back(r.fps);
  }
  const double e = median(engram_fps), r = median(raw_fps);
  fmt::print("median frames/s: engram SensorBridge {:.0f}, raw libzmq PULL {:.0f}\n", e, r);
  fmt::print("ratio engram/raw: {:.3f}\n", r > 0 ? e / r : 0.0);
  std::fflush(stdout);
  return ok;
}

// ---------------------------------------------------------------------------------------------
// 2. engram_observe (and engram_predict) latency while learning runs

struct Latencies {
  std::vector<double> us;
  void add(Clock::duration d) {
    us.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  double quantile(double q) const {  // nearest rank; us must be sorted
    if (us.empty()) return 0;
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(us.size())));
    return us[std::min(us.size(), std::max<size_t>(rank, 1)) - 1];
  }
};

void print_latencies(const char* what, Latencies& l) {
  std::sort(l.us.begin(), l.us.end());
  fmt::print("{:<16} {:>8} {:>10.1f} {:>10.1f} {:>10.1f}\n", what, l.us.size(), l.quantile(0.5),
             l.quantile(0.99), l.us.empty() ? 0.0 : l.us.back());
}

void add_ns(timespec* t, int64_t ns) {
  t->tv_nsec += static_cast<long>(ns % 1000000000);
  t->tv_sec += static_cast<time_t>(ns / 1000000000);
  if (t->tv_nsec >= 1000000000) {
    t->tv_nsec -= 1000000000;
    ++t->tv_sec;
  }
}

bool later(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

bool bench_observe(const Options& opt) {
  const char* json = "{\"classes\": 10, \"tasks\": 5}";
  fmt::print(
      "\n2. C API latency while learning: engram_open_json({}), u8 {}x{} frames of task 0,\n"
      "   labels alternating 0/1, {:.0f} Hz for {:.0f} s (clock_nanosleep TIMER_ABSTIME)\n",
      json, kRows, kCols, opt.rate, opt.seconds);
  engram_t* e = nullptr;
  if (engram_open_json(json, &e) != ENGRAM_OK) {
    fmt::print("engram_open_json failed: {}\n", engram_last_error());
    return false;
  }

  // Synthetic frames: class 0 bright on the left half, class 1 on the right, with noise.
  constexpr int kVariants = 64;
  std::vector<std::vector<uint8_t>> images(kVariants, std::vector<uint8_t>(kPixels));
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> noise(0, 60);
  for (int v = 0; v < kVariants; ++v) {
    const int label = v % 2;
    for (int row = 0; row < kRows; ++row) {
      for (int col = 0; col < kCols; ++col) {
        const bool lit = (col < kCols / 2) == (label == 0);
        images[v][row * kCols + col] = static_cast<uint8_t>((lit ? 180 : 0) + noise(rng));
      }
    }
  }

  const int64_t period_ns = static_cast<int64_t>(std::llround(1e9 / opt.rate));
  const uint64_t calls = static_cast<uint64_t>(std::llround(opt.seconds * opt.rate));
  Latencies observe_us, predict_us, wake_us;
  uint64_t accepted = 0, full = 0, not_ready = 0, late_ticks = 0, errors = 0;
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  const auto start = Clock::now();
  for (uint64_t i = 0; i < calls && errors == 0; ++i) {
    add_ns(&next, period_ns);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    timespec woke;
    clock_gettime(CLOCK_MONOTONIC, &woke);
    wake_us.us.push_back(std::max(0.0, static_cast<double>(woke.tv_sec - next.tv_sec) * 1e6 +
                                           static_cast<double>(woke.tv_nsec - next.tv_nsec) / 1e3));
    const int label = static_cast<int>(i % 2);
    const std::vector<uint8_t>& img = images[i % kVariants];
    const engram_input x = {img.data(), kPixels, ENGRAM_U8};

    auto t0 = Clock::now();
    const int s = engram_observe(e, &x, label, 0);
    observe_us.add(Clock::now() - t0);
    if (s == ENGRAM_OK) {
      ++accepted;
    } else if (s == ENGRAM_FULL) {
      ++full;
    } else {
      fmt::print("engram_observe returned {}: {}\n", s, engram_last_error());
      ++errors;
    }

    int32_t guess = -1;
    t0 = Clock::now();
    const int p = engram_predict(e, &x, &guess, nullptr, 0);
    const auto took = Clock::now() - t0;
    if (p == ENGRAM_OK) {
      predict_us.add(took);
    } else if (p == ENGRAM_NOT_READY) {
      ++not_ready;
    } else {
      fmt::print("engram_predict returned {}: {}\n", p, engram_last_error());
      ++errors;
    }

    // Fell more than a period behind (a slow call, or the scheduler): skip the missed ticks
    // rather than catching up in a burst.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    timespec behind = next;
    add_ns(&behind, period_ns);
    if (later(now, behind)) {
      ++late_ticks;
      next = now;
    }
  }
  const double run_s = seconds_between(start, Clock::now());

  const auto f0 = Clock::now();
  const int flushed = engram_flush(e, 120);
  const double flush_s = seconds_between(f0, Clock::now());
  if (flushed != ENGRAM_OK) {
    fmt::print("engram_flush returned {}: {}\n", flushed, engram_last_error());
    ++errors;
  }

  // After the flush: how well the learner tells the two synthetic classes apart.
  int correct = 0, asked = 0;
  for (int v = 0; v < kVariants; ++v) {
    const engram_input x = {images[v].data(), kPixels, ENGRAM_U8};
    int32_t guess = -1;
    if (engram_predict(e, &x, &guess, nullptr, 0) == ENGRAM_OK) {
      ++asked;
      correct += guess == v % 2 ? 1 : 0;
    }
  }

  engram_counters c{};
  if (engram_get_counters(e, &c, sizeof c) != ENGRAM_OK) {
    fmt::print("engram_get_counters failed: {}\n", engram_last_error());
    ++errors;
  }
  engram_close(e);

  fmt::print(
      "ran {:.2f} s: calls {}, accepted {}, full (ENGRAM_FULL) {}, late ticks {} (over a period "
      "behind: schedule restarted)\n",
      run_s, observe_us.us.size(), accepted, full, late_ticks);
  fmt::print("{:<16} {:>8} {:>10} {:>10} {:>10}\n", "latency (us)", "calls", "p50", "p99", "max");
  print_latencies("engram_observe", observe_us);
  print_latencies("engram_predict", predict_us);
  print_latencies("wake-up delay", wake_us);  // clock_nanosleep return after the deadline
  fmt::print("engram_predict: {} ENGRAM_NOT_READY before the first weights (not timed)\n",
             not_ready);
  fmt::print("engram_flush(e, 120): {} in {:.2f} s\n", flushed == ENGRAM_OK ? "ok" : "FAILED",
             flush_s);
  fmt::print(
      "counters: observed {}, rejected_full {}, learned {}, batches {}, predictions {}, "
      "queue_capacity {}, model_updates {}, loss_real {:.3f}, loss_replay {:.3f}\n",
      c.observed, c.rejected_full, c.learned, c.batches, c.predictions, c.queue_capacity,
      c.model_updates, c.loss_real, c.loss_replay);
  fmt::print("after flush: {} of {} synthetic frames classified correctly\n", correct, asked);
  if (c.observed != accepted || c.learned != accepted) {
    fmt::print("WRONG: counters disagree with the accepted observations ({})\n", accepted);
    ++errors;
  }
  std::fflush(stdout);
  return errors == 0;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_fast_blas_if_needed(argv);  // the learner in part 2 trains with LibTorch
  Options opt;
  CLI::App app{"engram ingest: sensor frames/s against raw libzmq, C API latency while learning"};
  app.add_option("--frames", opt.frames, "frames per ingest run")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000000}))
      ->capture_default_str();
  app.add_option("--repeats", opt.repeats, "ingest runs of each receiver (alternating)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--seconds", opt.seconds, "how long engram_observe is called")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--rate", opt.rate, "engram_observe calls per second")
      ->check(CLI::Range(1.0, 1000000.0))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help, or a usage error
  }

  const auto start = Clock::now();
  int major = 0, minor = 0, patch = 0;
  zmq_version(&major, &minor, &patch);
  fmt::print("engram ingest benchmark | engram {} | libzmq {}.{}.{} | {} hardware threads | {}\n",
             engram_version(), major, minor, patch, std::thread::hardware_concurrency(),
             describe_blas(probe_blas()));
  std::fflush(stdout);
  bool ok = bench_ingest(opt);
  ok = bench_observe(opt) && ok;
  fmt::print("\ntotal {:.1f} s\n", seconds_between(start, Clock::now()));
  return ok ? 0 : 1;
}
