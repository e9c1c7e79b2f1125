#include "io/sensors/sensor_bridge.h"

#include <algorithm>

namespace engram {

Expected<OverflowPolicy> parse_overflow_policy(const std::string& name) {
  if (name == "block") return OverflowPolicy::block;
  if (name == "drop_oldest") return OverflowPolicy::drop_oldest;
  return Status(ErrorCode::invalid_argument,
                "overflow policy must be \"block\" or \"drop_oldest\", not \"" + name + "\"");
}

SensorBridge::SensorBridge(const SensorBridgeConfig& config, zmq::context_t context,
                           std::unique_ptr<CurveAuthenticator> auth, zmq::socket_t socket,
                           std::string endpoint)
    : config_(config),
      context_(std::move(context)),
      auth_(std::move(auth)),
      socket_(std::move(socket)),
      endpoint_(std::move(endpoint)) {}

Expected<std::unique_ptr<SensorBridge>> SensorBridge::start(const SensorBridgeConfig& config) {
  if (config.queue_frames < 1) {
    return Status(ErrorCode::invalid_argument, "sensor bridge: queue_frames must be >= 1");
  }
  if (config.receive_hwm < 1) {
    return Status(ErrorCode::invalid_argument, "sensor bridge: receive_hwm must be >= 1");
  }
  zmq::context_t context(1);
  std::unique_ptr<CurveAuthenticator> auth;
  if (config.curve.enabled) {
    auto started = CurveAuthenticator::start(context, config.curve);
    if (!started.ok())
      return Status(started.status().code(), "sensor bridge: " + started.status().message());
    auth = std::move(*started);
  }
  zmq::socket_t socket(context, zmq::socket_type::pull);
  std::string bound;
  try {
    socket.set(zmq::sockopt::linger, 0);
    if (auth) auth->configure_server(socket);
    socket.set(zmq::sockopt::rcvhwm, config.receive_hwm);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(config.limits.max_payload_bytes +
                                                              config.limits.max_header_bytes));
    socket.bind(config.endpoint);
    bound = socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status(ErrorCode::io_error,
                  "sensor bridge: cannot bind " + config.endpoint + ": " + e.what());
  }
  std::unique_ptr<SensorBridge> bridge(
      new SensorBridge(config, std::move(context), std::move(auth), std::move(socket), bound));
  bridge->thread_ = std::thread([b = bridge.get()] { b->run(); });
  return bridge;
}

SensorBridge::~SensorBridge() {
  stop_ = true;
  has_room_.notify_all();
  if (thread_.joinable()) thread_.join();
  socket_.close();
  auth_.reset();
  context_.close();
}

void SensorBridge::run() {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  std::vector<zmq::message_t> parts;
  struct Decoded {
    Expected<SensorFrame> frame;
    SensorFault fault;
    SensorFrame refused;  // header of a frame refused for its values
  };
  std::vector<Decoded> drained;
  const bool block = config_.policy == OverflowPolicy::block;
  constexpr size_t kMaxDrain = 256;
  while (!stop_) {
    size_t budget = kMaxDrain;
    if (block) {
      // Backpressure: read nothing while the queue is full, and never more than fits (only this
      // thread adds to the queue, so the room seen here can only grow).
      std::unique_lock<std::mutex> lock(mutex_);
      has_room_.wait_for(lock, std::chrono::milliseconds(50),
                         [&] { return stop_ || queue_.size() < config_.queue_frames; });
      if (stop_ || queue_.size() >= config_.queue_frames) continue;
      budget = std::min(budget, config_.queue_frames - queue_.size());
    }
    if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) <= 0) continue;
    // Drain and decode what has arrived without the lock, then hand it over in one go: one lock
    // and one wake-up per batch rather than per frame.
    drained.clear();
    while (drained.size() < budget && !stop_) {
      parts.clear();
      try {
        zmq::message_t part;
        if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
        parts.push_back(std::move(part));
        while (socket_.get(zmq::sockopt::rcvmore)) {
          // The rest of a multipart has arrived with its first frame. Bound what is kept: a
          // flood of frames in one multipart is malformed anyway.
          if (!socket_.recv(part, zmq::recv_flags::none)) break;
          if (parts.size() < 8) parts.push_back(std::move(part));
        }
      } catch (const zmq::error_t&) {
        break;  // interrupted or closing
      }
      SensorFault fault = SensorFault::none;
      SensorFrame refused;
      Expected<SensorFrame> frame = decode_sensor_frame(parts, config_.limits, &fault, &refused);
      drained.push_back({std::move(frame), fault, std::move(refused)});
    }
    if (drained.empty()) continue;
    bool any = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [frame, fault, refused] : drained) {
        ++counters_.received;
        if (!frame.ok()) {
          ++(fault == SensorFault::non_finite     ? counters_.non_finite
             : fault == SensorFault::out_of_range ? counters_.out_of_range
                                                  : counters_.malformed);
          counters_.last_error = frame.status().message();
          // Refused for its values, not lost in transit: its sequence number counts.
          if (fault != SensorFault::malformed) observe_sequence(refused);
          continue;
        }
        accept(std::move(frame.value()));
        any = true;
      }
    }
    if (any) has_frames_.notify_all();
  }
}

// Called with mutex_ held.
void SensorBridge::observe_sequence(const SensorFrame& frame) {
  sequences_.observe(frame.source, frame.seq);
  counters_.gaps = sequences_.gaps();
  counters_.out_of_order = sequences_.out_of_order();
}

// Called with mutex_ held.
void SensorBridge::accept(SensorFrame&& frame) {
  observe_sequence(frame);
  if (queue_.size() >= config_.queue_frames) {  // only under drop_oldest
    queue_.pop_front();
    ++counters_.dropped;
  }
  queue_.push_back(std::move(frame));
  ++counters_.accepted;
}

size_t SensorBridge::pop(std::vector<SensorFrame>* out, size_t max,
                         std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  has_frames_.wait_for(lock, timeout, [&] { return !queue_.empty(); });
  size_t taken = 0;
  while (taken < max && !queue_.empty()) {
    out->push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++taken;
  }
  counters_.held += taken;
  if (taken > 0) has_room_.notify_one();
  return taken;
}

void SensorBridge::give_back(std::vector<SensorFrame>&& frames) {
  if (frames.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) queue_.push_front(std::move(*it));
    counters_.held -= std::min<uint64_t>(counters_.held, frames.size());
  }
  frames.clear();
  has_frames_.notify_all();
}

Status SensorBridge::settle(uint64_t learned, uint64_t skipped) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (learned > counters_.held || skipped > counters_.held - learned) {
    return Status(ErrorCode::invalid_argument, "sensor bridge: settle(" + std::to_string(learned) +
                                                   ", " + std::to_string(skipped) + ") but only " +
                                                   std::to_string(counters_.held) +
                                                   " frames are held");
  }
  counters_.learned += learned;
  counters_.skipped += skipped;
  counters_.held -= learned + skipped;
  return Status();
}

SensorCounters SensorBridge::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SensorCounters c = counters_;
  c.queued = queue_.size();
  c.auth_denied = auth_ ? auth_->denied() : 0;
  return c;
}

}  // namespace engram
