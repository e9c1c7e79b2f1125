#include "modules/session/session.h"

#include "modules/session/session_impl.h"

#include <ATen/ATen.h>

#include <chrono>

#include "io/datasets/batch_sampler.h"
#include "modules/actors/association_actor.h"
#include "modules/actors/hippocampus_actor.h"
#include "modules/actors/messages.h"
#include "modules/actors/module_relay.h"
#include "modules/actors/neocortex_actor.h"
#include "modules/actors/served_hippocampus.h"
#include "modules/distributed/process_group.h"
#include "modules/distributed/session_ranks.h"
#include "modules/session/association_from.h"
#include "modules/session/served_modules.h"
#include "modules/session/session_modules.h"
#include "runtime/actor_host.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;

using session_detail::account;

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
  if (!impl_) return;
  // Sockets of the driver close before the host's context terminates.
  impl_->monitors.clear();
  for (zmq::socket_t* s :
       {&impl_->progress, &impl_->to_association, &impl_->to_neocortex, &impl_->to_hippocampus}) {
    if (s->handle() != nullptr) s->close();
  }
  (void)impl_->host->stop_all();
}

Expected<std::unique_ptr<Session>> Session::create(const SessionConfig& config,
                                                   std::shared_ptr<const ImageDataset> dataset) {
  return create_from(config, std::move(dataset), nullptr);
}

Expected<std::unique_ptr<Session>> Session::create_from(const SessionConfig& config,
                                                        std::shared_ptr<const ImageDataset> dataset,
                                                        const SnapshotSections* state) {
  if (!dataset) return Status(ErrorCode::invalid_argument, "session: no dataset");
  if (config.num_tasks < 1) return Status(ErrorCode::invalid_argument, "num_tasks must be >= 1");
  if (config.threads < 1 || config.threads > 256) {
    return Status(ErrorCode::invalid_argument, "threads must be in [1, 256]");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->kind = config.memory.kind;
  impl->dataset = dataset;
  impl->seen_classes.assign(static_cast<size_t>(dataset->num_classes), 0);

  std::string neocortex_bytes, association_bytes;
  if (state) {
    auto bytes = session_detail::section(*state, "neocortex");
    if (!bytes.ok()) return bytes.status();
    neocortex_bytes = std::move(*bytes);
    auto position = session_detail::restore_driver_position(*state, *dataset, config.num_tasks);
    if (!position.ok()) return position.status();
    impl->seen_classes = position->seen_classes;
    impl->learned_tasks = position->learned_tasks;
    impl->recency = position->recency;
    impl->last_task = position->last_task;
    impl->seed_counter = position->seed_counter;
    if (state->count("association") > 0) {
      auto a = session_detail::section(*state, "association");
      if (!a.ok()) return a.status();
      association_bytes = std::move(*a);
    }
  }
  ModuleShape shape;
  shape.rows = static_cast<int>(dataset->rows);
  shape.cols = static_cast<int>(dataset->cols);
  shape.classes = dataset->num_classes;
  const bool has_association_state = state && state->count("association") > 0;
  auto modules = build_session_modules(config, shape, state ? &neocortex_bytes : nullptr,
                                       has_association_state ? &association_bytes : nullptr);
  if (!modules.ok()) return modules.status();
  impl->config.memory.options = modules->memory_options;
  impl->learner_config = modules->learner_config;
  std::unique_ptr<Learner> learner = std::move(modules->learner);
  std::unique_ptr<Association> association = std::move(modules->association);
  std::optional<CodeBufferConfig> buffer_config = modules->buffer;
  if (state && association && !has_association_state) {
    return session_detail::section(*state, "association").status();
  }
  // A new session may start its association from another snapshot's (a restored one has its own).
  if (!state && !config.memory.association_from.empty()) {
    auto source = read_association_from(config.memory);
    if (!source.ok()) return source.status();
    if (!association) {
      return Status(ErrorCode::invalid_argument, "memory.association_from: memory kind \"" +
                                                     config.memory.kind + "\" has no association");
    }
    if (Status s = start_association_from(impl->config.memory, *source, *association); !s.ok()) {
      return s;
    }
  }
  impl->has_association = association != nullptr;
  // Data-parallel learning (modules/distributed): weights from rank 0, gradients averaged over
  // the ranks, and each rank its own code buffer holding its share of the byte budget.
  if (auto run = data_parallel(); run && run->world_size() > 1) {
    for (const char* module : {"association", "neocortex"}) {
      if (config.remote.placement.count(module) > 0) {
        return Status(ErrorCode::invalid_argument,
                      std::string("runtime.placement.") + module + ": a served " + module +
                          " cannot learn with data-parallel ranks (world size " +
                          std::to_string(run->world_size()) +
                          "); only the hippocampus can be served then");
      }
    }
    if (Status s = join_ranks(*run, *learner, association.get()); !s.ok()) return s;
    impl->rank = run->rank();
    impl->world_size = run->world_size();
    if (buffer_config) {
      buffer_config->budget_bytes =
          budget_share(buffer_config->budget_bytes, run->rank(), run->world_size());
      buffer_config->seed += static_cast<uint64_t>(run->rank());
    }
  }
  impl->generates_by_class = association && association->generates_by_class();

  // Modules served by other processes (`engram serve`): reached over tcp:// or ipc:// with the
  // CURVE client keys, handed their state (kAdopt), watched by heartbeats; what a served
  // association or neocortex sends to its peers comes back through the relay (module_relay.h).
  const std::map<std::string, std::string>& placement = config.remote.placement;
  auto placed = [&](const char* module) { return placement.count(module) > 0; };
  SocketOptions remote_options;
  if (!placement.empty()) {
    if (Status s = validate_remote_modules(config.remote, "runtime"); !s.ok()) return s;
    if (placed("hippocampus") && !buffer_config) {
      return Status(ErrorCode::invalid_argument, "runtime.placement.hippocampus: memory kind \"" +
                                                     impl->kind + "\" keeps no code buffer");
    }
    auto options = remote_connect_options(config.remote);
    if (!options.ok()) return options.status();
    remote_options = *options;
  }

  HostConfig hc;
  hc.endpoints = config.endpoints;
  for (const auto& [module, endpoint] : placement) {
    hc.endpoints[module] = endpoint;
    if (remote_options) hc.connect_options[endpoint] = remote_options;
  }
  for (const char* name : {"hippocampus", "association", "neocortex", "driver"}) {
    hc.endpoints.emplace(name, std::string("inproc://") + name);
  }
  impl->host = std::make_unique<ActorHost>(hc);
  ActorHost& host = *impl->host;
  impl->progress = host.make_socket(zmq::socket_type::pull);
  if (Status s = host.bind_driver(impl->progress, "driver"); !s.ok()) return s;
  std::map<std::string, Message> adoptions;  // served module -> the state it adopts
  if (buffer_config) {
    const CodeBufferConfig& bc = *buffer_config;
    auto buffer = CodeBuffer::create(bc);
    if (!buffer.ok()) return buffer.status();
    std::mt19937_64 sampler(bc.seed + 1);
    if (state) {
      auto restored = session_detail::restore_buffer(*state, bc, impl->rank, impl->world_size);
      if (!restored.ok()) return restored.status();
      buffer = std::move(*restored);
      auto rng = session_detail::restore_sampler(*state, impl->rank, impl->world_size);
      if (!rng.ok()) return rng.status();
      sampler = *rng;
    }
    if (placed("hippocampus")) {
      adoptions["hippocampus"] = hippocampus_adopt_message(*buffer, sampler);
    } else if (Status s = host.add(std::make_unique<HippocampusActor>(std::move(*buffer), sampler));
               !s.ok()) {
      return s;
    }
    impl->has_buffer = true;
  }
  std::map<std::string, std::vector<std::string>> relayed;  // served module -> its peers
  if (placed("neocortex")) {
    adoptions["neocortex"] = module_adopt_message(impl->config, shape, learner->save_state());
    relayed["neocortex"] = {"driver"};
  } else if (Status s =
                 host.add(std::make_unique<NeocortexActor>(std::move(learner), config.threads));
             !s.ok()) {
    return s;
  }
  if (placed("association")) {
    adoptions["association"] = module_adopt_message(
        impl->config, shape, association ? association->save_state() : std::string());
    relayed["association"] = {"neocortex"};
    if (impl->has_buffer) relayed["association"].push_back("hippocampus");
  } else if (Status s = host.add(std::make_unique<AssociationActor>(
                 std::move(association), impl->has_buffer, config.threads));
             !s.ok()) {
    return s;
  }
  if (!relayed.empty()) {
    if (Status s = host.add(std::make_unique<ModuleRelay>(relayed)); !s.ok()) return s;
  }
  if (Status s = host.start_all(); !s.ok()) return s;
  auto driver_socket = [&](zmq::socket_t* socket, const char* module) {
    *socket = host.make_socket(zmq::socket_type::dealer);
    if (placed(module) && remote_options) remote_options(*socket);
    socket->connect(host.endpoint(module));
  };
  driver_socket(&impl->to_association, "association");
  driver_socket(&impl->to_neocortex, "neocortex");
  if (impl->has_buffer) driver_socket(&impl->to_hippocampus, "hippocampus");
  if (!placement.empty()) {
    auto monitors = start_heartbeats(config.remote, remote_options);
    if (!monitors.ok()) return monitors.status();
    impl->monitors = std::move(*monitors);
    for (auto& [module, adopt] : adoptions) {
      zmq::socket_t& socket = module == "hippocampus"   ? impl->to_hippocampus
                              : module == "association" ? impl->to_association
                                                        : impl->to_neocortex;
      if (Status s = adopt_remote_module(socket, module, std::move(adopt), impl->monitors);
          !s.ok()) {
        return s;
      }
    }
    if (!relayed.empty()) {  // the served modules answer: open the relay's links to them
      zmq::socket_t to_relay = host.make_socket(zmq::socket_type::dealer);
      to_relay.connect(host.endpoint("relay"));
      Message open;
      open.header.type = msg::kLink;
      Status linked = request_done(to_relay, std::move(open), "relay", impl->monitors);
      to_relay.close();
      if (!linked.ok()) return linked;
    }
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

const SessionConfig& Session::config() const { return impl_->config; }

int64_t Session::values_per_observation() const {
  return static_cast<int64_t>(impl_->dataset->pixels_per_image());
}

Status Session::consolidate() { return impl_->consolidate(); }

Status Session::check_replay(const ReplayOptions& replay) const {
  return impl_->check_replay(replay);
}

Expected<PhaseStats> Session::learn_batch(const at::Tensor& x, const at::Tensor& y, int task,
                                          int replay) {
  ReplayOptions r;
  r.per_batch = replay;
  return learn_batch(x, y, task, r);
}

Expected<PhaseStats> Session::learn_batch(const at::Tensor& x, const at::Tensor& y, int task,
                                          const ReplayOptions& replay) {
  Impl& m = *impl_;
  const int64_t pixels = static_cast<int64_t>(m.dataset->pixels_per_image());
  if (x.dim() != 2 || x.size(1) != pixels || x.scalar_type() != at::kFloat || x.size(0) < 1 ||
      y.dim() != 1 || y.size(0) != x.size(0) || y.scalar_type() != at::kLong) {
    return Status(
        ErrorCode::invalid_argument,
        "learn_batch: x must be float [B, " + std::to_string(pixels) + "] and y int64 [B], B >= 1");
  }
  if (task < 0 || task >= m.config.num_tasks) {
    return Status(ErrorCode::invalid_argument,
                  "learn_batch: task id " + std::to_string(task) + " outside [0, num_tasks)");
  }
  if (Status s = m.check_replay(replay); !s.ok()) return s;
  // Values are checked before anything changes (observe_message checks again, for learn()).
  const at::Tensor xc = x.contiguous();
  if (const UnitIntervalCheck v = check_unit_interval(xc.data_ptr<float>(), xc.numel()); !v.ok()) {
    return Status(ErrorCode::invalid_argument,
                  "learn_batch: " + v.describe() + " (nothing learned from the batch)");
  }
  at::Tensor labels = y.contiguous();
  std::vector<int> classes;
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const int64_t c = labels.data_ptr<int64_t>()[i];
    if (c < 0 || c >= m.dataset->num_classes) {
      return Status(ErrorCode::invalid_argument,
                    "learn_batch: label " + std::to_string(c) + " outside [0, classes)");
    }
    if (std::find(classes.begin(), classes.end(), c) == classes.end()) {
      classes.push_back(static_cast<int>(c));
    }
  }
  if (Status s = m.enter_task(task, classes); !s.ok()) return s;
  // New replay options begin a new phase (decoded-ahead recollections are dropped).
  nlohmann::json options = replay_options_to_json(replay);
  if (options != m.last_replay) {
    ++m.phase;
    m.last_replay = options;
  }
  at::Tensor active = at::zeros({m.dataset->num_classes}, at::kByte);
  for (int c = 0; c < m.dataset->num_classes; ++c) active[c] = m.seen_classes[c];
  const auto start = Clock::now();
  auto obs = m.observe_message(xc, labels, active, task, replay);
  if (!obs.ok()) return obs.status();
  if (Status s = send_message(m.to_association, std::move(*obs)); !s.ok()) return s;
  auto ack = m.await(m.progress, msg::kTrained, 120);
  if (!ack.ok()) return ack.status();
  PhaseStats stats;
  stats.iterations = 1;
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  account(*ack, &stats);
  stats.samples_per_second =
      stats.seconds > 0 ? (stats.real_examples + stats.recalled_examples) / stats.seconds : 0;
  return stats;
}

Expected<PhaseStats> Session::learn(const Task& task, const LearnOptions& o,
                                    const ProgressFn& progress) {
  Impl& m = *impl_;
  if (o.iterations < 0 || o.batch < 1 || o.window < 1 || o.steps_per_batch < 1) {
    return Status(ErrorCode::invalid_argument,
                  "learn: iterations >= 0, batch >= 1, steps_per_batch >= 1 and window >= 1 "
                  "required");
  }
  if (task.id < 0 || task.id >= m.config.num_tasks) {
    return Status(ErrorCode::invalid_argument,
                  "learn: task id " + std::to_string(task.id) + " outside [0, num_tasks)");
  }
  if (task.train_idx.empty()) return Status(ErrorCode::invalid_argument, "learn: empty task");
  if (Status s = m.check_replay(o.replay); !s.ok()) {
    return s;
  }
  if (o.every_examples < 0) {
    return Status(ErrorCode::invalid_argument, "learn: every_examples must be >= 0");
  }
  if (o.record_every < 0) {
    return Status(ErrorCode::invalid_argument, "learn: record_every must be >= 0");
  }
  Impl::PhaseEvents events;
  ReplayOptions replay = o.replay;
  events.record_every = o.record_every;
  events.hook = o.on_event;
  events.every = o.every_examples;
  events.task = task.id;
  events.replay = &replay;
  if (std::find(m.learned_tasks.begin(), m.learned_tasks.end(), task.id) == m.learned_tasks.end()) {
    LearningEvent e;
    e.kind = LearningEventKind::new_task;
    e.task = task.id;
    events.opening.push_back(e);
  }
  for (int c : task.classes) {
    if (m.seen_classes[static_cast<size_t>(c)]) continue;
    LearningEvent e;
    e.kind = LearningEventKind::new_class;
    e.task = task.id;
    e.class_id = c;
    events.opening.push_back(e);
  }
  if (Status s = m.enter_task(task.id, task.classes); !s.ok()) return s;
  ++m.phase;
  at::Tensor active = m.active_mask(task, true);
  BatchSampler sampler(task.train_idx,
                       m.config.seed * 31 + static_cast<uint64_t>(task.id) + 17 * m.seed_counter++);
  const int64_t pixels = static_cast<int64_t>(m.dataset->pixels_per_image());
  std::vector<uint32_t> idx(static_cast<size_t>(o.batch));
  int64_t steps = 0;
  at::Tensor x, y;
  return m.run_phase(
      o.iterations, o.window, progress,
      [&]() -> Expected<Message> {
        const bool fresh = steps % o.steps_per_batch == 0;
        ++steps;
        const bool last = steps % o.steps_per_batch == 0 || steps == o.iterations;
        if (fresh) {
          sampler.next(idx.size(), idx.data());
          x = at::empty({o.batch, pixels});
          y = at::empty({o.batch}, at::kLong);
          fill_images(*m.dataset, task, true, idx.data(), idx.size(), x.data_ptr<float>());
          fill_labels(*m.dataset, true, idx.data(), idx.size(), y.data_ptr<int64_t>());
        }
        auto obs = m.observe_message(x, y, active, task.id, replay);
        // A batch's codes are stored once, at its last step: by then the association has
        // learned the batch steps_per_batch - 1 times already, so the codes it keeps are its
        // best of them.
        if (obs.ok() && !last) obs->header.ints["store"] = 0;
        return obs;
      },
      events);
}

Expected<PhaseStats> Session::consolidate(const ConsolidateOptions& o, const ProgressFn& progress) {
  Impl& m = *impl_;
  if (o.steps < 0 || o.batch < 1 || o.batch > (1 << 20) || o.window < 1 || o.every_examples < 0 ||
      o.record_every < 0) {
    return Status(ErrorCode::invalid_argument,
                  "consolidate: steps >= 0, batch in [1, 2^20] window >= 1, every_examples >= 0 "
                  "and record_every >= 0 required");
  }
  if (Status s = m.check_replay(o.replay); !s.ok()) {
    return s;
  }
  if (o.steps == 0) return PhaseStats{};
  if (Status s = m.consolidate(); !s.ok()) return s;
  ReplayOptions replay = o.replay;
  replay.per_batch = o.batch;
  replay.weight = 1;
  const int64_t pixels = static_cast<int64_t>(m.dataset->pixels_per_image());
  at::Tensor active = at::zeros({m.dataset->num_classes}, at::kByte);
  for (int c = 0; c < m.dataset->num_classes; ++c) active[c] = m.seen_classes[c];
  const int task = std::max(m.last_task, 0);
  Impl::PhaseEvents events;
  events.hook = o.on_event;
  events.every = o.every_examples;
  events.count_recalled = true;
  events.record_every = o.record_every;
  events.task = task;
  events.replay = &replay;
  return m.run_phase(
      o.steps, o.window, progress,
      [&]() -> Expected<Message> {
        // No real data: empty x and y; the batch size and weight of a consolidation phase stay.
        replay.per_batch = o.batch;
        replay.weight = 1;
        return m.observe_message(at::empty({0, pixels}), at::empty({0}, at::kLong), active, task,
                                 replay, o.association);
      },
      events);
}

Expected<double> Session::accuracy(const Task& task, bool class_incremental) {
  auto [x, y] = impl_->test_set(task, task.test_idx.size());
  Message m;
  m.header.type = msg::kEvaluate;
  for (const at::Tensor& t : {x, y, impl_->active_mask(task, class_incremental)}) {
    if (Status s = add_tensor(m, t); !s.ok()) return s;
  }
  auto reply = impl_->request(impl_->to_neocortex, std::move(m), msg::kAccuracy);
  if (!reply.ok()) return reply.status();
  return reply->header.reals["accuracy"];
}

Expected<double> Session::distortion(const Task& task, size_t max_examples) {
  if (!impl_->has_buffer) {
    return Status(ErrorCode::invalid_argument,
                  "distortion: memory kind \"" + impl_->kind + "\" stores no codes");
  }
  auto [x, y] = impl_->test_set(task, max_examples);
  Message m;
  m.header.type = msg::kMeasureDistortion;
  if (Status s = add_tensor(m, x); !s.ok()) return s;
  auto reply = impl_->request(impl_->to_association, std::move(m), msg::kDistortion);
  if (!reply.ok()) return reply.status();
  return reply->header.reals["l1_recall"];
}

Expected<std::vector<float>> Session::recollections(int class_id, int n) {
  if (!impl_->has_buffer && !impl_->generates_by_class) {
    return Status(ErrorCode::invalid_argument, "recollections: memory kind \"" + impl_->kind +
                                                   "\" stores no codes to recall by class");
  }
  if (n < 1 || n > (1 << 16)) {
    return Status(ErrorCode::invalid_argument, "recollections: n must be in [1, 65536]");
  }
  if (class_id < 0 || class_id >= impl_->dataset->num_classes) {
    return Status(ErrorCode::invalid_argument,
                  "recollections: class " + std::to_string(class_id) + " outside [0, " +
                      std::to_string(impl_->dataset->num_classes) + ")");
  }
  Message m;
  m.header.type = msg::kRecollect;
  m.header.ints["n"] = n;
  m.header.ints["class"] = class_id;
  auto reply = impl_->request(impl_->to_association, std::move(m), msg::kRecollections);
  if (!reply.ok()) return reply.status();
  if (auto e = reply->header.strings.find("error"); e != reply->header.strings.end()) {
    return Status(ErrorCode::internal, "recollections: " + e->second);
  }
  auto x = take_tensor(*reply, 0, "x", 2, {DType::f32});
  if (!x.ok()) return x.status();
  const at::Tensor xc = x->contiguous();
  if (xc.size(0) > 0 && xc.size(1) != values_per_observation()) {
    return Status(ErrorCode::internal, "recollections: decoded images of the wrong size");
  }
  return std::vector<float>(xc.data_ptr<float>(), xc.data_ptr<float>() + xc.numel());
}

Expected<MemoryStats> Session::memory_stats() {
  MemoryStats out;
  Message ask;
  ask.header.type = msg::kGetStats;
  auto neo = impl_->request(impl_->to_neocortex, std::move(ask), msg::kStats);
  if (!neo.ok()) return neo.status();
  out.classifier_weight_bytes = neo->header.ints["weight_bytes"];
  out.kind = impl_->kind;
  out.total_bytes = neo->header.ints["memory_extra_bytes"];
  if (!impl_->has_association) return out;
  Message ask_a;
  ask_a.header.type = msg::kGetStats;
  auto assoc = impl_->request(impl_->to_association, std::move(ask_a), msg::kStats);
  if (!assoc.ok()) return assoc.status();
  out.association_weight_bytes = assoc->header.ints["weight_bytes"];
  out.decoder_weight_bytes = assoc->header.ints["decoder_weight_bytes"];
  out.memory_weight_bytes = assoc->header.ints["memory_weight_bytes"];
  out.total_bytes += out.memory_weight_bytes;
  if (!impl_->has_buffer) return out;
  Message ask_h;
  ask_h.header.type = msg::kGetStats;
  auto hip = impl_->request(impl_->to_hippocampus, std::move(ask_h), msg::kStats);
  if (!hip.ok()) return hip.status();
  auto& h = hip->header.ints;
  out.codes_stored = h["size"];
  out.capacity = h["capacity"];
  out.seen = h["seen"];
  out.bits_per_item = h["bits_per_item"];
  out.code_bits = h["code_bits"];
  out.bytes_used = h["bytes_used"];
  out.budget_bytes = h["budget_bytes"];
  out.incremental_bytes = out.bytes_used;
  out.total_bytes += out.bytes_used;
  for (size_t i = 0; i < 2; ++i) {
    auto t = take_tensor(*hip, i);
    if (!t.ok()) return t.status();
    std::vector<int64_t>& dst = i == 0 ? out.per_class : out.per_task;
    dst.assign(t->data_ptr<int64_t>(), t->data_ptr<int64_t>() + t->numel());
  }
  return out;
}

const std::vector<uint8_t>& Session::seen_classes() const { return impl_->seen_classes; }

const std::vector<int>& Session::learned_tasks() const { return impl_->learned_tasks; }

std::vector<CounterSnapshot> Session::counters() const { return impl_->host->counters(); }

}  // namespace engram
