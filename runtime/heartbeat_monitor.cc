#include "runtime/heartbeat_monitor.h"

#include <fmt/format.h>

#include <cstring>

#include "runtime/envelope.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollPeriod{50};

std::string events_endpoint() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("inproc://engram-heartbeat-events-{}", counter.fetch_add(1));
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Why a handshake failed, from a ZMQ_EVENT_HANDSHAKE_FAILED_* event.
std::string handshake_failure(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return fmt::format(
        "it refused this process's CURVE key (authentication failed, ZAP status {}): check "
        "that the client key is among the module's allowed keys and the server key is its",
        value);
  }
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    return "the security handshake failed (is CURVE on at both ends, with the module's public "
           "key as the server key?)";
  }
  return "the connection handshake failed (is CURVE on at both ends? is it an engram module?)";
}

}  // namespace

HeartbeatMonitor::HeartbeatMonitor(HeartbeatConfig config) : config_(std::move(config)) {}

Expected<std::unique_ptr<HeartbeatMonitor>> HeartbeatMonitor::start(HeartbeatConfig config) {
  if (config.module.empty() || config.endpoint.empty()) {
    return Status(ErrorCode::invalid_argument, "heartbeat: a module name and an endpoint needed");
  }
  if (config.interval < std::chrono::milliseconds(10) || config.timeout < 2 * config.interval) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("heartbeat: interval must be >= 10 ms and timeout >= 2 intervals "
                              "(got {} ms and {} ms)",
                              config.interval.count(), config.timeout.count()));
  }
  std::unique_ptr<HeartbeatMonitor> m(new HeartbeatMonitor(std::move(config)));
  try {
    zmq::socket_t sock(m->context_, zmq::socket_type::dealer);
    sock.set(zmq::sockopt::linger, 0);
    if (m->config_.options) m->config_.options(sock);
    const std::string ep = events_endpoint();
    const int mask = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(sock.handle(), ep.c_str(), mask) != 0) throw zmq::error_t();
    zmq::socket_t events(m->context_, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect(ep);
    sock.connect(m->config_.endpoint);
    HeartbeatMonitor* self = m.get();
    m->thread_ = std::thread([self, s = std::move(sock), e = std::move(events)]() mutable {
      self->run(std::move(s), std::move(e));
    });
  } catch (const zmq::error_t& e) {
    return Status(ErrorCode::io_error, "heartbeat to " + m->config_.module + " at " +
                                           m->config_.endpoint + ": " + e.what());
  }
  return m;
}

HeartbeatMonitor::~HeartbeatMonitor() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string HeartbeatMonitor::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

std::map<std::string, int64_t> HeartbeatMonitor::last_report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

void HeartbeatMonitor::fail(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failure_.empty()) {
    failure_ = "module '" + config_.module + "' at " + config_.endpoint + ": " + why;
  }
}

void HeartbeatMonitor::run(zmq::socket_t sock, zmq::socket_t events) {
  const auto started = Clock::now();
  auto last_answer = started;
  auto next_ping = started;
  Clock::time_point lost_at{};
  bool connected_once = false;
  zmq_pollitem_t items[2] = {{sock.handle(), 0, ZMQ_POLLIN, 0},
                             {events.handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop_) {
    try {
      auto now = Clock::now();
      if (now >= next_ping) {
        Message ping;
        ping.header.type = kPing;
        ping.header.source = "heartbeat";
        ping.header.t_acq_ns = now_ns();
        // Dropped when the queue is full (the module is away): the timeout decides.
        (void)send_message(sock, std::move(ping), /*dont_wait=*/true);
        next_ping = now + config_.interval;
      }
      zmq::poll(items, 2, kPollPeriod);
      now = Clock::now();
      if (items[0].revents & ZMQ_POLLIN) {
        auto answer = recv_message(sock, DecodeLimits{}, /*dont_wait=*/true);
        if (answer.ok() && answer->header.type == kPong) {
          auto name = answer->header.strings.find("module");
          if (name != answer->header.strings.end() && name->second != config_.module) {
            fail("the process there serves '" + name->second + "', not '" + config_.module + "'");
            return;
          }
          last_answer = now;
          answers_.fetch_add(1);
          {
            std::lock_guard<std::mutex> lock(mu_);
            report_ = answer->header.ints;
          }
          const auto& ints = answer->header.ints;
          if (auto errors = ints.find("module_errors");
              errors != ints.end() && errors->second > 0) {
            const auto& strings = answer->header.strings;
            auto what = strings.find("module_error");
            fail("its actor failed: " + (what != strings.end() ? what->second : "(no message)"));
            return;
          }
        }
      }
      if (items[1].revents & ZMQ_POLLIN) {
        zmq::message_t event, address;
        if (events.recv(event, zmq::recv_flags::dontwait) && event.more()) {
          (void)events.recv(address, zmq::recv_flags::none);
        }
        if (event.size() >= 6) {
          uint16_t id = 0;
          uint32_t value = 0;
          std::memcpy(&id, event.data(), 2);
          std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
          if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            connected_once = true;
            lost_at = {};
          } else if (id == ZMQ_EVENT_DISCONNECTED) {
            lost_at = now;
          } else {
            // A refused key or a security mismatch does not heal by waiting.
            fail(handshake_failure(id, value));
            return;
          }
        }
      }
      if (now - last_answer > config_.timeout) {
        std::string why;
        if (lost_at != Clock::time_point{}) {
          why = fmt::format("the connection closed {:.1f} s ago (the process died?)",
                            seconds(now - lost_at));
        } else if (!connected_once) {
          why = "never reached (is `engram serve " + config_.module +
                "` running there, with matching keys?)";
        } else {
          why = "the process stopped answering";
        }
        fail(fmt::format("no heartbeat answer for {:.1f} s: {}", seconds(now - last_answer), why));
        return;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      fail(std::string("heartbeat socket: ") + e.what());
      return;
    }
  }
}

}  // namespace engram
