// Soak: a long stream of sensor frames through the bridge into learning, to show that nothing
// accumulates and nothing is lost.
//
// A PUSH thread sends --frames 28x28 u8 frames (synthetic: class k lights a band of rows, on
// noise) over tcp loopback into a SensorBridge (policy block), with labels of 10 classes in 5
// tasks of 2 (the task changes every --frames/5 frames), and every --poison-every frames one
// extra f32 frame holding a NaN. A Session with a small network (MLP 64, dvae memory c=32 l=2
// hidden 64, budget 20,000 bytes) learns them with learn_from_stream (batch --batch, replay
// --replay). Every --report frames learned it prints the resident set (VmRSS), frames/s and the
// bridge's counters, and checks they reconcile:
//   received = accepted + malformed + non_finite + out_of_range
//   accepted = learned + skipped + queued + held + dropped
// At the end: RSS after warm-up (the first report past --warmup frames) against the last one,
// as growth in percent; every frame sent is accounted for; no step was skipped.
//
// Prints figures only; asserts nothing about time. Exits 1 when counters do not reconcile,
// a frame is lost, the stream stalls, or learning fails; 2 on a usage error.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <zmq.hpp>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "io/sensors/sensor_bridge.h"
#include "modules/session/stream_learning.h"
#include "runtime/system_info.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSide = 28, kClasses = 10, kTasks = 5;

struct Options {
  uint64_t frames = 1000000;
  uint64_t warmup = 100000;
  uint64_t report = 100000;
  uint64_t poison_every = 1000;
  int batch = 100;
  int replay = 32;
};

// Resident set size of this process in kB (VmRSS of /proc/self/status), 0 if unknown.
int64_t rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kb = 0;
      status >> kb;
      return kb;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::shared_ptr<const ImageDataset> shape_only() {
  auto d = std::make_shared<ImageDataset>();
  d->name = "soak";
  d->rows = d->cols = kSide;
  d->num_classes = kClasses;
  return d;
}

void send(zmq::socket_t& pub, std::vector<zmq::message_t> parts) {
  for (size_t k = 0; k < parts.size(); ++k) {
    pub.send(parts[k], k + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

// Sends o.frames valid u8 frames, and one NaN f32 frame every o.poison_every. Returns the
// number of NaN frames sent through *poisoned.
void publish(const std::string& endpoint, const Options& o, std::atomic<uint64_t>* poisoned) {
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::push);
  pub.set(zmq::sockopt::linger, 10000);
  pub.connect(endpoint);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> noise(0, 60), bright(150, 255);
  SensorFrame f;
  f.topic = "soak";
  f.source = "cam0";
  f.shape = {kSide, kSide};
  const uint64_t per_task = std::max<uint64_t>(1, o.frames / kTasks);
  uint64_t seq = 0;
  for (uint64_t i = 0; i < o.frames; ++i) {
    const int task = static_cast<int>(std::min<uint64_t>(i / per_task, kTasks - 1));
    const int label = 2 * task + static_cast<int>(i % 2);
    f.seq = seq++;
    f.task = task;
    f.label = label;
    f.encoding = SensorEncoding::u8;
    f.payload.resize(kSide * kSide);
    for (int r = 0; r < kSide; ++r) {
      for (int c = 0; c < kSide; ++c) {
        const bool lit = r >= 2 + 2 * label && r < 4 + 2 * label;
        f.payload[static_cast<size_t>(r * kSide + c)] =
            static_cast<char>(lit ? bright(rng) : noise(rng));
      }
    }
    send(pub, encode_sensor_frame(f));
    if (o.poison_every > 0 && i % o.poison_every == o.poison_every / 2) {
      std::vector<float> v(kSide * kSide, 0.5f);
      v[static_cast<size_t>(i % v.size())] = std::numeric_limits<float>::quiet_NaN();
      SensorFrame bad = f;
      bad.seq = seq++;
      bad.encoding = SensorEncoding::f32;
      bad.payload.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
      send(pub, encode_sensor_frame(bad));
      poisoned->fetch_add(1);
    }
  }
}

bool reconciles(const SensorCounters& c) {
  return c.received == c.accepted + c.malformed + c.non_finite + c.out_of_range &&
         c.accepted == c.learned + c.skipped + c.queued + c.held + c.dropped;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"engram soak: sensor frames through the bridge into learning"};
  app.add_option("--frames", o.frames, "valid frames to send")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "frames learned before the RSS baseline");
  app.add_option("--report", o.report, "frames between reports")->check(CLI::PositiveNumber);
  app.add_option("--poison-every", o.poison_every, "one NaN frame per this many (0: none)");
  app.add_option("--batch", o.batch, "frames per batch")->check(CLI::Range(1, 65536));
  app.add_option("--replay", o.replay, "recollections per batch")->check(CLI::Range(0, 65536));
  CLI11_PARSE(app, argc, argv);

  reexec_with_fast_blas_if_needed(argv);
  at::set_num_threads(1);
  fmt::print("engram soak | {}\n", describe_blas(probe_blas()));
  SessionConfig sc;
  sc.neocortex.classifier.hidden = {64};
  sc.memory.kind = "dvae";
  sc.memory.options["c"] = 32;
  sc.memory.options["l"] = 2;
  sc.memory.options["hidden"] = {64};
  sc.memory.budget_bytes = 20000;
  sc.num_tasks = kTasks;
  auto session = Session::create(sc, shape_only());
  if (!session.ok()) {
    fmt::print(stderr, "session: {}\n", session.status().to_string());
    return 1;
  }
  SensorBridgeConfig bc;
  bc.endpoint = "tcp://127.0.0.1:0";
  bc.limits.expected_values = kSide * kSide;
  bc.limits.num_classes = kClasses;
  auto bridge = SensorBridge::start(bc);
  if (!bridge.ok()) {
    fmt::print(stderr, "bridge: {}\n", bridge.status().to_string());
    return 1;
  }
  std::atomic<uint64_t> poisoned{0};
  std::thread publisher([&] { publish((*bridge)->endpoint(), o, &poisoned); });

  StreamLearnOptions lo;
  lo.batch = o.batch;
  lo.replay.per_batch = o.replay;
  lo.batches =
      static_cast<int64_t>(std::max<uint64_t>(1, o.report / static_cast<uint64_t>(o.batch)));
  lo.timeout = std::chrono::milliseconds(20000);
  int64_t skipped_steps = 0;
  int64_t rss_warm = 0, rss_last = 0, rss_max = 0;
  uint64_t warm_at = 0;
  bool ok = true;
  const auto start = Clock::now();
  auto last = start;
  uint64_t learned_last = 0;
  fmt::print("{:>9} {:>9} {:>10} {:>9} {:>8} {:>6} {:>6} {:>10}\n", "learned", "frames/s", "RSS kB",
             "accepted", "NaN", "queued", "held", "reconciles");
  for (;;) {
    auto r = learn_from_stream(**session, **bridge, lo);
    if (!r.ok()) {
      fmt::print(stderr, "learning failed: {}\n", r.status().to_string());
      ok = false;
      break;
    }
    skipped_steps += r->skipped_steps;
    const SensorCounters c = (*bridge)->counters();
    const auto now = Clock::now();
    const double secs = std::chrono::duration<double>(now - last).count();
    const int64_t rss = rss_kb();
    rss_max = std::max(rss_max, rss);
    const bool rec = reconciles(c);
    ok = ok && rec;
    fmt::print("{:>9} {:>9.0f} {:>10} {:>9} {:>8} {:>6} {:>6} {:>10}\n", c.learned,
               secs > 0 ? static_cast<double>(c.learned - learned_last) / secs : 0.0, rss,
               c.accepted, c.non_finite, c.queued, c.held, rec ? "yes" : "NO");
    std::fflush(stdout);
    learned_last = c.learned;
    last = now;
    if (rss_warm == 0 && c.learned >= o.warmup) {
      rss_warm = rss;
      warm_at = c.learned;
    }
    rss_last = rss;
    if (r->frames == 0 || c.learned >= o.frames) break;
  }
  publisher.join();
  const SensorCounters c = (*bridge)->counters();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print(
      "\nframes sent {} (+{} NaN frames); accepted {}, learned {}, refused non-finite {}, "
      "malformed {}, dropped {}, waiting {}\n",
      o.frames, poisoned.load(), c.accepted, c.learned, c.non_finite, c.malformed, c.dropped,
      c.queued + c.held);
  fmt::print("learning: {:.1f} s, {:.0f} frames/s; training steps skipped (non-finite): {}\n",
             seconds, static_cast<double>(c.learned) / seconds, skipped_steps);
  if (rss_warm > 0) {
    fmt::print(
        "RSS after warm-up ({} frames): {} kB; at the end: {} kB; growth {:+.2f}%; "
        "peak {} kB\n",
        warm_at, rss_warm, rss_last,
        100.0 * static_cast<double>(rss_last - rss_warm) / static_cast<double>(rss_warm), rss_max);
  }
  const bool all_learned = c.accepted == o.frames && c.learned == o.frames &&
                           c.non_finite == poisoned.load() && c.queued + c.held == 0;
  fmt::print("counters reconcile: {}; every valid frame learned exactly once: {}\n",
             ok ? "yes" : "NO", all_learned ? "yes" : "NO");
  return ok && all_learned && skipped_steps == 0 ? 0 : 1;
}
