// Sensor frames and the sensor bridge: validation of every field, sequence gaps, and the two
// overflow policies under bursts larger than the queue and the high-water marks.
#include <doctest/doctest.h>

#include <msgpack.hpp>

#include <chrono>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "io/sensors/sensor_bridge.h"
#include "io/sensors/sensor_frame.h"

using namespace engram;
using namespace std::chrono_literals;

namespace {

SensorFrame valid_frame(uint64_t seq, int64_t label = 3) {
  SensorFrame f;
  f.topic = "camera";
  f.source = "cam0";
  f.seq = seq;
  f.t_acq_ns = 1700000000000000000;
  f.encoding = SensorEncoding::u8;
  f.shape = {28, 28};
  f.label = label;
  f.task = 1;
  f.payload.assign(784, static_cast<char>(seq % 256));
  return f;
}

SensorLimits mnist_limits() {
  SensorLimits l;
  l.expected_values = 784;
  l.num_classes = 10;
  return l;
}

// A header map built field by field, to break one field at a time.
std::vector<zmq::message_t> with_header(
    const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& fill,
    size_t payload_bytes = 784) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  fill(pk);
  std::vector<zmq::message_t> parts;
  parts.emplace_back("t", 1);
  parts.emplace_back(buf.data(), buf.size());
  parts.emplace_back(payload_bytes);
  return parts;
}

void pack_kv(msgpack::packer<msgpack::sbuffer>& pk, const char* k) { pk.pack(std::string(k)); }

// Header with every field valid except the ones overridden through `skip`/`replace`.
std::vector<zmq::message_t> header_variant(
    const std::string& skip, const std::string& replace,
    const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& value) {
  const std::vector<std::string> keys = {"v", "src", "seq", "t_acq", "enc", "shape"};
  return with_header([&](msgpack::packer<msgpack::sbuffer>& pk) {
    pk.pack_map(static_cast<uint32_t>(keys.size() - (skip.empty() ? 0 : 1)));
    for (const auto& k : keys) {
      if (k == skip) continue;
      pack_kv(pk, k.c_str());
      if (k == replace) {
        value(pk);
      } else if (k == "v") {
        pk.pack(1);
      } else if (k == "src") {
        pk.pack(std::string("cam0"));
      } else if (k == "seq") {
        pk.pack(5);
      } else if (k == "t_acq") {
        pk.pack(123);
      } else if (k == "enc") {
        pk.pack(std::string("u8"));
      } else if (k == "shape") {
        pk.pack(std::vector<int>{28, 28});
      }
    }
  });
}

std::vector<zmq::message_t> copy_parts(const std::vector<zmq::message_t>& parts) {
  std::vector<zmq::message_t> out;
  for (const auto& p : parts) out.emplace_back(p.data(), p.size());
  return out;
}

void send_parts(zmq::socket_t& s, std::vector<zmq::message_t> parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    s.send(parts[i], i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

// ThreadSanitizer slows the bridge's receive path to ~100 frames/s (libzmq is uninstrumented),
// so its builds stream fewer frames; the properties tested are the same.
#if defined(__SANITIZE_THREAD__)
constexpr uint64_t kFrameScale = 10;
#else
constexpr uint64_t kFrameScale = 1;
#endif

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 60000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("a sensor frame round trips with every field") {
  SensorFrame f = valid_frame(7);
  auto parts = encode_sensor_frame(f);
  auto back = decode_sensor_frame(parts, mnist_limits());
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(back->topic == "camera");
  CHECK(back->source == "cam0");
  CHECK(back->seq == 7);
  CHECK(back->t_acq_ns == f.t_acq_ns);
  CHECK(back->shape == std::vector<int64_t>{28, 28});
  CHECK(back->label == 3);
  CHECK(back->task == 1);
  CHECK(back->payload == f.payload);
  std::vector<float> values(784);
  back->to_floats(values.data());
  CHECK(values[0] == doctest::Approx(7.0 / 255.0));

  SensorFrame g = valid_frame(8);
  g.encoding = SensorEncoding::f32;
  g.shape = {784};
  g.label.reset();
  g.task.reset();
  std::vector<float> floats(784, 0.25f);
  g.payload.assign(reinterpret_cast<const char*>(floats.data()), floats.size() * 4);
  auto gp = encode_sensor_frame(g);
  auto gb = decode_sensor_frame(gp, mnist_limits());
  REQUIRE(gb.ok());
  CHECK(!gb->label.has_value());
  gb->to_floats(values.data());
  CHECK(values[783] == 0.25f);
}

TEST_CASE("every kind of malformed sensor frame is rejected with a message") {
  const SensorLimits limits = mnist_limits();
  auto rejects = [&](std::vector<zmq::message_t> parts, ErrorCode code, const char* needle) {
    auto r = decode_sensor_frame(parts, limits);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == code);
    CHECK_MESSAGE(r.status().message().find(needle) != std::string::npos, r.status().message());
  };
  // Frame count.
  auto two = encode_sensor_frame(valid_frame(1));
  two.pop_back();
  rejects(std::move(two), ErrorCode::malformed, "expected 3 frames");
  // Random bytes and truncations as the header.
  auto good = encode_sensor_frame(valid_frame(1));
  for (size_t cut = 0; cut < good[1].size(); ++cut) {
    auto parts = copy_parts(good);
    parts[1] = zmq::message_t(good[1].data(), cut);
    auto r = decode_sensor_frame(parts, limits);
    CHECK(!r.ok());
  }
  std::mt19937 rng(4);
  for (int i = 0; i < 500; ++i) {
    std::string junk(static_cast<size_t>(rng() % 64), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    auto parts = copy_parts(good);
    parts[1] = zmq::message_t(junk.data(), junk.size());
    CHECK(!decode_sensor_frame(parts, limits).ok());
  }
  // Missing fields, wrong types, bad values.
  for (const char* k : {"v", "src", "seq", "t_acq", "enc", "shape"}) {
    rejects(header_variant(k, "", {}), ErrorCode::malformed, k);
  }
  rejects(header_variant("", "v", [](auto& pk) { pk.pack(2); }), ErrorCode::unsupported_version,
          "version 2");
  rejects(header_variant("", "src", [](auto& pk) { pk.pack(5); }), ErrorCode::malformed, "src");
  rejects(header_variant("", "seq", [](auto& pk) { pk.pack(-1); }), ErrorCode::malformed, "seq");
  rejects(header_variant("", "enc", [](auto& pk) { pk.pack(std::string("f16")); }),
          ErrorCode::malformed, "enc");
  rejects(header_variant("", "shape",
                         [](auto& pk) {
                           pk.pack(std::vector<int>{28, 0});
                         }),
          ErrorCode::malformed, "shape");
  rejects(header_variant("", "shape",
                         [](auto& pk) {
                           pk.pack(std::vector<int>{1, 1, 1, 1, 784});
                         }),
          ErrorCode::malformed, "shape");
  // Shape, size and label against the stream.
  SensorFrame wrong_shape = valid_frame(1);
  wrong_shape.shape = {32, 32};
  wrong_shape.payload.assign(1024, 0);
  rejects(encode_sensor_frame(wrong_shape), ErrorCode::malformed, "takes 784");
  SensorFrame wrong_size = valid_frame(1);
  wrong_size.payload.resize(700);
  rejects(encode_sensor_frame(wrong_size), ErrorCode::malformed, "does not match");
  rejects(encode_sensor_frame(valid_frame(1, 10)), ErrorCode::malformed, "label");
  SensorFrame huge = valid_frame(1);
  huge.payload.assign((16 << 20) + 1, 0);
  rejects(encode_sensor_frame(huge), ErrorCode::too_large, "payload");
}

TEST_CASE("sequence gaps and reordering are counted per source") {
  SequenceTracker t;
  CHECK(t.observe("a", 10) == 0);
  CHECK(t.observe("a", 11) == 0);
  CHECK(t.observe("a", 15) == 3);
  CHECK(t.observe("b", 1) == 0);
  CHECK(t.observe("b", 3) == 1);
  CHECK(t.observe("a", 12) == 0);
  CHECK(t.gaps() == 4);
  CHECK(t.out_of_order() == 1);
  CHECK(t.sources() == 2);
}

TEST_CASE(
    "the bridge counts and drops malformed frames while valid ones on the same socket arrive") {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.limits = mnist_limits();
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  CHECK((*bridge)->endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::push);
  pub.set(zmq::sockopt::linger, 1000);
  pub.connect((*bridge)->endpoint());
  int bad = 0;
  for (uint64_t seq = 0; seq < 20; ++seq) {
    send_parts(pub, encode_sensor_frame(valid_frame(seq)));
    // Interleave a different malformed frame after each valid one.
    switch (seq % 4) {
      case 0: pub.send(zmq::str_buffer("only one frame")); break;
      case 1: send_parts(pub, header_variant("shape", "", {})); break;
      case 2: {
        SensorFrame w = valid_frame(seq);
        w.payload.resize(10);
        send_parts(pub, encode_sensor_frame(w));
        break;
      }
      case 3: send_parts(pub, header_variant("", "v", [](auto& pk) { pk.pack(9); })); break;
    }
    ++bad;
  }
  std::vector<SensorFrame> got;
  REQUIRE(eventually([&] {
    (*bridge)->pop(&got, 100, 10ms);
    return got.size() == 20;
  }));
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].seq == i);
  REQUIRE(eventually([&] { return (*bridge)->counters().received == 40; }));
  const SensorCounters c = (*bridge)->counters();
  CHECK(c.accepted == 20);
  CHECK(c.malformed == static_cast<uint64_t>(bad));
  CHECK(c.gaps == 0);
  CHECK(!c.last_error.empty());
}

TEST_CASE("block: a burst far above the queue and high-water marks loses nothing") {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.policy = OverflowPolicy::block;
  cfg.queue_frames = 8;
  cfg.receive_hwm = 16;
  cfg.limits = mnist_limits();
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  constexpr uint64_t kFrames = 3000 / kFrameScale;
  std::thread publisher([&] {
    zmq::context_t ctx;
    zmq::socket_t pub(ctx, zmq::socket_type::push);
    pub.set(zmq::sockopt::sndhwm, 16);
    pub.set(zmq::sockopt::linger, 5000);
    pub.connect((*bridge)->endpoint());
    for (uint64_t seq = 0; seq < kFrames; ++seq)
      send_parts(pub, encode_sensor_frame(valid_frame(seq)));
  });
  std::vector<SensorFrame> got;
  // A slow consumer at first, so the queue and every buffer fill up.
  std::this_thread::sleep_for(300ms);
  CHECK((*bridge)->counters().queued == 8);
  while (got.size() < kFrames) {
    if ((*bridge)->pop(&got, 64, 2000ms) == 0) break;
  }
  publisher.join();
  REQUIRE(got.size() == kFrames);
  for (uint64_t i = 0; i < kFrames; ++i) REQUIRE(got[i].seq == i);
  const SensorCounters c = (*bridge)->counters();
  CHECK(c.dropped == 0);
  CHECK(c.gaps == 0);
  CHECK(c.accepted == kFrames);
}

TEST_CASE("drop_oldest: keeps the newest frames and counts exactly what it dropped") {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.policy = OverflowPolicy::drop_oldest;
  cfg.queue_frames = 8;
  cfg.limits = mnist_limits();
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  constexpr uint64_t kFrames = 500 / kFrameScale;
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::push);
  pub.set(zmq::sockopt::linger, 5000);
  pub.connect((*bridge)->endpoint());
  for (uint64_t seq = 0; seq < kFrames; ++seq)
    send_parts(pub, encode_sensor_frame(valid_frame(seq)));
  REQUIRE(eventually([&] { return (*bridge)->counters().accepted == kFrames; }));
  std::vector<SensorFrame> got;
  (*bridge)->pop(&got, 100, 100ms);

  REQUIRE(got.size() == 8);
  for (size_t i = 0; i < 8; ++i) CHECK(got[i].seq == kFrames - 8 + i);
  const SensorCounters c = (*bridge)->counters();
  CHECK(c.dropped == kFrames - 8);
  CHECK(c.queued == 0);
}

TEST_CASE("bridge configuration errors") {
  SensorBridgeConfig cfg;
  cfg.queue_frames = 0;
  CHECK(SensorBridge::start(cfg).status().code() == ErrorCode::invalid_argument);
  cfg.queue_frames = 4;
  cfg.endpoint = "tcp://256.1.1.1:1";
  CHECK(SensorBridge::start(cfg).status().code() == ErrorCode::io_error);
  CHECK(parse_overflow_policy("drop_newest").status().code() == ErrorCode::invalid_argument);
  CHECK(parse_overflow_policy("drop_oldest").value() == OverflowPolicy::drop_oldest);
}

namespace {

SensorFrame f32_frame(uint64_t seq, std::vector<float> values) {
  SensorFrame f = valid_frame(seq);
  f.encoding = SensorEncoding::f32;
  f.shape = {static_cast<int64_t>(values.size())};
  f.payload.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return f;
}

}  // namespace

TEST_CASE("f32 frames holding NaN, Inf or values outside [0, 1] are refused by cause") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SensorLimits limits;
  limits.num_classes = 10;
  struct Case {
    std::vector<float> values;
    SensorFault fault;
    const char* message;
  };
  const Case cases[] = {
      {{0.0f, 0.5f, 1.0f}, SensorFault::none, ""},
      {{0.0f, nan, 1.0f}, SensorFault::non_finite, "value 1 is nan"},
      {{inf, 0.5f}, SensorFault::non_finite, "value 0 is inf"},
      {{0.5f, -inf}, SensorFault::non_finite, "value 1 is -inf"},
      {{0.5f, 1.0001f}, SensorFault::out_of_range, "outside [0, 1]"},
      {{-0.25f}, SensorFault::out_of_range, "value 0 is -0.25"},
  };
  for (const Case& c : cases) {
    auto parts = encode_sensor_frame(f32_frame(1, c.values));
    SensorFault fault = SensorFault::malformed;
    auto decoded = decode_sensor_frame(parts, limits, &fault);
    CHECK(fault == c.fault);
    CHECK(decoded.ok() == (c.fault == SensorFault::none));
    if (!decoded.ok()) {
      CHECK(decoded.status().code() == ErrorCode::invalid_argument);
      CHECK(decoded.status().message().find(c.message) != std::string::npos);
    }
  }
  // A schema error is reported as malformed, not as a value fault.
  SensorFault fault = SensorFault::none;
  std::vector<zmq::message_t> one;
  one.emplace_back("x", 1);
  CHECK(!decode_sensor_frame(one, limits, &fault).ok());
  CHECK(fault == SensorFault::malformed);
}

TEST_CASE("one NaN frame amid valid ones is counted and never queued") {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.limits.num_classes = 10;
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::push);
  pub.set(zmq::sockopt::linger, 1000);
  pub.connect((*bridge)->endpoint());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (uint64_t seq = 0; seq < 30; ++seq) {
    std::vector<float> v(16, 0.5f);
    if (seq == 10) v[7] = nan;
    if (seq == 20) v[3] = 3.0f;
    send_parts(pub, encode_sensor_frame(f32_frame(seq, v)));
  }
  REQUIRE(eventually([&] { return (*bridge)->counters().received == 30; }));
  std::vector<SensorFrame> got;
  (*bridge)->pop(&got, 100, 100ms);
  REQUIRE(got.size() == 28);
  for (const SensorFrame& f : got) CHECK((f.seq != 10 && f.seq != 20));
  const SensorCounters c = (*bridge)->counters();
  CHECK(c.accepted == 28);
  CHECK(c.non_finite == 1);
  CHECK(c.out_of_range == 1);
  CHECK(c.malformed == 0);
  CHECK(c.received == c.accepted + c.malformed + c.non_finite + c.out_of_range);
  CHECK(c.gaps == 0);  // refused frames were not lost in transit
  CHECK(c.last_error.find("value 3 is 3") != std::string::npos);
}

TEST_CASE("frames given back come first again and the counters reconcile at every step") {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.limits = mnist_limits();
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  SensorBridge& b = **bridge;
  auto reconciles = [&] {
    const SensorCounters c = b.counters();
    return c.accepted == c.learned + c.skipped + c.queued + c.held + c.dropped;
  };
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::push);
  pub.set(zmq::sockopt::linger, 1000);
  pub.connect(b.endpoint());
  for (uint64_t seq = 0; seq < 10; ++seq) send_parts(pub, encode_sensor_frame(valid_frame(seq)));
  REQUIRE(eventually([&] { return b.counters().accepted == 10; }));
  std::vector<SensorFrame> taken;
  CHECK(b.pop(&taken, 6, 100ms) == 6);
  CHECK(b.counters().held == 6);
  CHECK(reconciles());
  CHECK(b.settle(3, 1).ok());
  // Frames 4 and 5 were not used: they go back ahead of 6..9.
  std::vector<SensorFrame> unused(std::make_move_iterator(taken.begin() + 4),
                                  std::make_move_iterator(taken.end()));
  b.give_back(std::move(unused));
  SensorCounters c = b.counters();
  CHECK(c.learned == 3);
  CHECK(c.skipped == 1);
  CHECK(c.held == 0);
  CHECK(c.queued == 6);
  CHECK(reconciles());
  // Settling more than is held is refused and changes nothing.
  CHECK(b.settle(1, 0).code() == ErrorCode::invalid_argument);
  CHECK(b.counters().learned == 3);
  std::vector<SensorFrame> again;
  CHECK(b.pop(&again, 100, 100ms) == 6);
  for (size_t i = 0; i < again.size(); ++i) CHECK(again[i].seq == 4 + i);
  CHECK(b.settle(6, 0).ok());
  c = b.counters();
  CHECK(c.learned == 9);
  CHECK(c.queued + c.held == 0);
  CHECK(reconciles());
}
