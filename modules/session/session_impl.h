// Session internals shared by session.cc and session_snapshot.cc (not a public header).
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "modules/actors/messages.h"
#include "modules/actors/tensor_payload.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/session/session.h"
#include "runtime/actor_host.h"
#include "runtime/unit_interval.h"

namespace engram {
namespace session_detail {

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace session_detail

namespace session_detail {

// Snapshot helpers (session_snapshot.cc). Each checks its section and names it in errors.
// The bytes of a required section, as text.
Expected<std::string> section(const SnapshotSections& state, const std::string& name);
// Where the driver stands between learn() phases.
struct DriverPosition {
  std::vector<uint8_t> seen_classes;  // per class: learned in some task
  std::vector<int> learned_tasks;     // task ids in the order first learned
  int last_task = -1;
  uint64_t seed_counter = 0;  // batch samplers created so far (seeds the next)
};
// The driver's position from the "session" section, after checking that `dataset` matches the
// one the snapshot was taken on and that task ids are in [0, num_tasks).
Expected<DriverPosition> restore_driver_position(const SnapshotSections& state,
                                                 const ImageDataset& dataset, int num_tasks);
// The code buffer of the "code_buffer" section; its configuration must equal `expected`.
Expected<CodeBuffer> restore_buffer(const SnapshotSections& state,
                                    const CodeBufferConfig& expected);
// The hippocampus sampler's random stream from the "rng" section.
Expected<std::mt19937_64> restore_sampler(const SnapshotSections& state);

}  // namespace session_detail

struct Session::Impl {
  SessionConfig config;
  LearnerConfig learner_config;  // config.neocortex completed with the dataset's shape and seed
  std::shared_ptr<const ImageDataset> dataset;
  std::unique_ptr<ActorHost> host;
  zmq::socket_t progress, to_association, to_neocortex, to_hippocampus;
  bool has_memory = false;
  std::vector<uint8_t> seen_classes;
  std::vector<int> learned_tasks;
  int last_task = -1;
  uint64_t seed_counter = 0;

  // Returns an error naming the failed actors, if any failed.
  Status check_actors() const {
    auto failures = host->failures();
    if (failures.empty()) return {};
    return {ErrorCode::internal, "actor failed: " + session_detail::join(failures)};
  }

  // Waits for one message on sock, checking every second that no actor has failed.
  Expected<Message> await(zmq::socket_t& sock, const char* type, int timeout_s = 600) {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    for (int waited = 0; waited < timeout_s; ++waited) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(1000)) > 0) {
        auto m = recv_message(sock);
        if (!m.ok()) return m.status();
        if (m->header.type != type) {
          return Status(ErrorCode::internal,
                        std::string("expected '") + type + "', got '" + m->header.type + "'");
        }
        return m;
      }
      if (Status s = check_actors(); !s.ok()) return s;
    }
    return Status(ErrorCode::timeout,
                  std::string("no '") + type + "' within " + std::to_string(timeout_s) + " s");
  }

  Expected<Message> request(zmq::socket_t& sock, Message m, const char* reply_type) {
    if (Status s = send_message(sock, std::move(m)); !s.ok()) return s;
    return await(sock, reply_type);
  }

  // Freezes the association's decoder copy used for recall.
  Status consolidate() {
    Message m;
    m.header.type = msg::kConsolidate;
    auto reply = request(to_association, std::move(m), msg::kDone);
    return reply.ok() ? Status() : reply.status();
  }

  // Starts or continues learning `task` with these classes: consolidates when the task
  // changes, and records the classes and the task as seen.
  Status enter_task(int task, const std::vector<int>& classes) {
    if (last_task != -1 && last_task != task) {
      if (Status s = consolidate(); !s.ok()) return s;
    }
    last_task = task;
    for (int c : classes) seen_classes[static_cast<size_t>(c)] = 1;
    if (std::find(learned_tasks.begin(), learned_tasks.end(), task) == learned_tasks.end()) {
      learned_tasks.push_back(task);
    }
    return Status();
  }

  // The observe message of one batch: x f32 [B,P] (contiguous, values finite and in [0, 1]:
  // invalid_argument otherwise), y i64 [B], active u8 [classes]; recollections
  // of tasks < `task` weighted by 1 - 1/tasks_seen (van de Ven & Tolias) when replay > 0.
  Expected<Message> observe_message(const at::Tensor& x, const at::Tensor& y,
                                    const at::Tensor& active, int task, int replay) const {
    // The last line of defence of every input path: nothing non-finite or outside [0, 1]
    // reaches a learner.
    const UnitIntervalCheck values = check_unit_interval(x.data_ptr<float>(), x.numel());
    if (!values.ok()) {
      return Status(ErrorCode::invalid_argument,
                    "observations: " + values.describe() + " (nothing learned from the batch)");
    }
    const int tasks_seen = static_cast<int>(learned_tasks.size());
    Message obs;
    obs.header.type = msg::kObserve;
    obs.header.t_acq_ns = now_ns();
    obs.header.ints["task"] = task;
    obs.header.ints["replay"] = replay;
    obs.header.ints["replay_below"] = task;
    obs.header.reals["replay_weight"] = replay > 0 ? 1.0 - 1.0 / tasks_seen : 0.0;
    for (const at::Tensor& t : {x, y, active}) {
      if (Status s = add_tensor(obs, t); !s.ok()) return s;
    }
    return obs;
  }

  at::Tensor active_mask(const Task& task, bool class_incremental) const {
    at::Tensor mask = at::zeros({dataset->num_classes}, at::kByte);
    if (class_incremental) {
      for (int c = 0; c < dataset->num_classes; ++c) mask[c] = seen_classes[c];
    }
    for (int c : task.classes) mask[c] = 1;
    return mask;
  }

  // The test images of a task (up to max), transformed, as x f32 [N,P] and y i64 [N].
  std::pair<at::Tensor, at::Tensor> test_set(const Task& task, size_t max) const {
    const size_t n = std::min(max, task.test_idx.size());
    at::Tensor x =
        at::empty({static_cast<int64_t>(n), static_cast<int64_t>(dataset->pixels_per_image())});
    at::Tensor y = at::empty({static_cast<int64_t>(n)}, at::kLong);
    fill_images(*dataset, task, false, task.test_idx.data(), n, x.data_ptr<float>());
    fill_labels(*dataset, false, task.test_idx.data(), n, y.data_ptr<int64_t>());
    return {x, y};
  }
};

}  // namespace engram
