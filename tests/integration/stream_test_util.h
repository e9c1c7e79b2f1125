// What tests of learning from a sensor stream share: a small dataset of 8x8 "bars" images, a
// sensor bridge on a free loopback port, a publisher of the dataset's images as f32 frames over
// a real ZeroMQ socket, and the counters' reconciliation.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "io/datasets/dataset.h"
#include "io/sensors/sensor_bridge.h"
#include "io/sensors/sensor_frame.h"

namespace engram::test {

inline constexpr int kBarSide = 8, kBarClasses = 4;

// 8x8 images of 4 classes: class k lights rows 2k and 2k+1 (values 0.6..1) over noise in
// [0, 0.3]; per_class training and test_per_class test images of each class, interleaved.
inline std::shared_ptr<const ImageDataset> bars(int per_class = 300, int test_per_class = 50) {
  auto d = std::make_shared<ImageDataset>();
  d->name = "bars";
  d->rows = d->cols = kBarSide;
  d->num_classes = kBarClasses;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(0, 76), bright(153, 255);
  auto add = [&](std::vector<uint8_t>& x, std::vector<uint8_t>& y, int k) {
    for (int r = 0; r < kBarSide; ++r) {
      for (int c = 0; c < kBarSide; ++c) {
        x.push_back(static_cast<uint8_t>(r / 2 == k ? bright(rng) : noise(rng)));
      }
    }
    y.push_back(static_cast<uint8_t>(k));
  };
  for (int i = 0; i < per_class; ++i)
    for (int k = 0; k < kBarClasses; ++k) add(d->train_x, d->train_y, k);
  for (int i = 0; i < test_per_class; ++i)
    for (int k = 0; k < kBarClasses; ++k) add(d->test_x, d->test_y, k);
  return d;
}

// A bridge for bars frames on a free loopback port.
inline std::unique_ptr<SensorBridge> bars_bridge() {
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.limits.expected_values = kBarSide * kBarSide;
  cfg.limits.num_classes = kBarClasses;
  auto b = SensorBridge::start(cfg);
  REQUIRE(b.ok());
  return std::move(*b);
}

// A publisher of f32 frames of a dataset's training images.
class FramePublisher {
 public:
  explicit FramePublisher(const std::string& endpoint) : pub_(ctx_, zmq::socket_type::push) {
    pub_.set(zmq::sockopt::linger, 5000);
    pub_.connect(endpoint);
  }
  // Sends training image i as a frame of `task`; with `poison`, value 5 is NaN.
  void send(const ImageDataset& d, size_t i, int task, bool poison = false) {
    SensorFrame f;
    f.topic = "cam";
    f.source = "cam0";
    f.seq = seq_++;
    f.encoding = SensorEncoding::f32;
    f.shape = {d.rows, d.cols};
    f.label = d.train_y[i];
    f.task = task;
    std::vector<float> v(d.pixels_per_image());
    for (size_t p = 0; p < v.size(); ++p) v[p] = d.image(true, i)[p] / 255.0f;
    if (poison) v[5] = std::numeric_limits<float>::quiet_NaN();
    f.payload.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    auto parts = encode_sensor_frame(f);
    for (size_t k = 0; k < parts.size(); ++k) {
      pub_.send(parts[k], k + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // Sends the given training images as frames of `task`.
  void send_all(const ImageDataset& d, const std::vector<size_t>& images, int task) {
    for (size_t i : images) send(d, i, task);
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t pub_;
  uint64_t seq_ = 0;
};

// True once pred() holds, polling for up to 30 s.
template <typename Pred>
bool eventually(Pred pred) {
  using namespace std::chrono_literals;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// accepted = learned + skipped + queued + held + dropped (sensor_bridge.h).
inline bool reconciles(const SensorCounters& c) {
  return c.accepted == c.learned + c.skipped + c.queued + c.held + c.dropped;
}

// Up to n indices of training images of the given classes, in dataset order.
inline std::vector<size_t> of_classes(const ImageDataset& d, const std::vector<int>& classes,
                                      size_t n) {
  std::vector<size_t> out;
  for (size_t i = 0; i < d.train_size() && out.size() < n; ++i) {
    for (int k : classes)
      if (d.train_y[i] == k) out.push_back(i);
  }
  return out;
}

}  // namespace engram::test
