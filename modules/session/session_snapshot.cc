// Session::snapshot and Session::restore: the session's state as snapshot sections.
#include <nlohmann/json.hpp>

#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "modules/actors/messages.h"
#include "modules/distributed/process_group.h"
#include "modules/distributed/snapshot_ranks.h"
#include "modules/session/json_integer.h"
#include "modules/session/session.h"
#include "modules/session/session_config_json.h"
#include "modules/session/session_impl.h"

namespace engram {
namespace session_detail {
namespace {

using nlohmann::json;

Status bad_section(const std::string& name, const std::string& why) {
  return Status(ErrorCode::malformed, "snapshot section '" + name + "': " + why);
}

Expected<json> json_section(const SnapshotSections& state, const std::string& name) {
  auto text = section(state, name);
  if (!text.ok()) return text.status();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad_section(name, "not a JSON object");
  return j;
}

// An integer of a snapshot section that its field cannot hold (thrown below, caught with the
// section's json::exception).
struct BadInteger {
  std::string why;
};

// j[key] as a T in [min, max], checked before it is narrowed (a last_task of 2^32 must not
// arrive as 0); throws json::exception when missing, BadInteger when not such an integer.
template <typename T>
T integer_at(const json& j, const char* key, T min = std::numeric_limits<T>::min(),
             T max = std::numeric_limits<T>::max()) {
  Expected<T> v = json_integer<T>(j.at(key), key, min, max);
  if (!v.ok()) throw BadInteger{v.status().message()};
  return *v;
}

// j[key] as a list of such integers.
template <typename T>
std::vector<T> integer_list_at(const json& j, const char* key, T min, T max) {
  const json& list = j.at(key);
  if (!list.is_array()) throw BadInteger{std::string(key) + " must be a list of integers"};
  std::vector<T> out;
  for (const json& e : list) {
    const std::string name = std::string(key) + "[" + std::to_string(out.size()) + "]";
    Expected<T> v = json_integer<T>(e, name, min, max);
    if (!v.ok()) throw BadInteger{v.status().message()};
    out.push_back(*v);
  }
  return out;
}

// The u8 payload `index` of a kState reply as bytes.
std::vector<uint8_t> payload_bytes(const Message& m, size_t index) {
  const auto* p = static_cast<const uint8_t*>(m.payloads[index].data());
  return std::vector<uint8_t>(p, p + m.payloads[index].size());
}

}  // namespace

Expected<std::string> section(const SnapshotSections& state, const std::string& name) {
  auto it = state.find(name);
  if (it == state.end()) {
    return Status(ErrorCode::malformed, "snapshot section '" + name + "' is missing");
  }
  return std::string(it->second.begin(), it->second.end());
}

Expected<DriverPosition> restore_driver_position(const SnapshotSections& state,
                                                 const ImageDataset& dataset, int num_tasks) {
  auto j = json_section(state, "session");
  if (!j.ok()) return j.status();
  try {
    const json& d = j->at("dataset");
    if (integer_at<int64_t>(d, "rows") != dataset.rows ||
        integer_at<int64_t>(d, "cols") != dataset.cols ||
        integer_at<int>(d, "classes") != dataset.num_classes) {
      return Status(ErrorCode::invalid_argument,
                    "snapshot was taken on dataset '" + d.at("name").get<std::string>() +
                        "' with a different image shape or class count than '" + dataset.name +
                        "'");
    }
    auto seen = integer_list_at<uint8_t>(*j, "seen_classes", 0, 1);
    if (seen.size() != static_cast<size_t>(dataset.num_classes)) {
      return bad_section("session", "seen_classes has the wrong length");
    }
    auto learned = integer_list_at<int>(*j, "learned_tasks", 0, num_tasks - 1);
    const int last = integer_at<int>(*j, "last_task", -1, num_tasks - 1);
    DriverPosition p;
    p.seen_classes = std::move(seen);
    // Written since recall samplers exist; before, tasks were learned in first-seen order.
    p.recency =
        j->contains("recency") ? integer_list_at<int>(*j, "recency", 0, num_tasks - 1) : learned;
    p.learned_tasks = std::move(learned);
    p.last_task = last;
    p.seed_counter = integer_at<uint64_t>(*j, "seed_counter");
    return p;
  } catch (const json::exception& e) {
    return bad_section("session", e.what());
  } catch (const BadInteger& e) {
    return bad_section("session", e.why);
  }
}

std::string rank_section(const char* name, int rank) {
  return rank == 0 ? std::string(name) : std::string(name) + "." + std::to_string(rank);
}

Expected<int> snapshot_world_size(const SnapshotSections& state) {
  if (state.count("ranks") == 0) return 1;
  auto j = json_section(state, "ranks");
  if (!j.ok()) return j.status();
  try {
    return integer_at<int>(*j, "world_size", 1, 1 << 16);
  } catch (const json::exception& e) {
    return bad_section("ranks", e.what());
  } catch (const BadInteger& e) {
    return bad_section("ranks", e.why);
  }
}

namespace {

// The code buffer of rank `rank`'s section; its configuration must equal `expected`.
Expected<CodeBuffer> buffer_section(const SnapshotSections& state, int rank,
                                    const CodeBufferConfig& expected) {
  const std::string name = rank_section("code_buffer", rank);
  auto it = state.find(name);
  if (it == state.end()) return bad_section(name, "missing");
  auto buffer = CodeBuffer::deserialize(it->second.data(), it->second.size());
  if (!buffer.ok()) return bad_section(name, buffer.status().message());
  const CodeBufferConfig& c = buffer->config();
  if (c.c != expected.c || c.l != expected.l || c.num_classes != expected.num_classes ||
      c.num_tasks != expected.num_tasks || c.budget_bytes != expected.budget_bytes ||
      c.selector != expected.selector) {
    return bad_section(name, "its configuration differs from the session's");
  }
  return buffer;
}

}  // namespace

Expected<CodeBuffer> restore_buffer(const SnapshotSections& state, const CodeBufferConfig& expected,
                                    int rank, int world_size) {
  auto taken = snapshot_world_size(state);
  if (!taken.ok()) return taken.status();
  if (*taken == world_size) return buffer_section(state, rank, expected);
  if (world_size == 1) {  // every rank's share, merged into one buffer of the whole budget
    std::vector<CodeBuffer> shares;
    for (int r = 0; r < *taken; ++r) {
      CodeBufferConfig share = expected;
      share.budget_bytes = budget_share(expected.budget_bytes, r, *taken);
      auto buffer = buffer_section(state, r, share);
      if (!buffer.ok()) return buffer.status();
      shares.push_back(std::move(*buffer));
    }
    auto merged = CodeBuffer::merge(shares, expected);
    if (!merged.ok()) return bad_section("code_buffer", merged.status().message());
    return merged;
  }
  if (*taken == 1) {
    return Status(ErrorCode::invalid_argument,
                  "this snapshot was taken by one process: its code buffer restores into one "
                  "process only, not into " +
                      std::to_string(world_size) +
                      " ranks (splitting it into per-rank shares is not supported)");
  }
  return Status(ErrorCode::invalid_argument,
                "this snapshot holds the code buffers of " + std::to_string(*taken) +
                    " ranks: restore it with world size " + std::to_string(*taken) +
                    " or into one process (which merges them), not into " +
                    std::to_string(world_size) + " ranks");
}

Expected<std::mt19937_64> restore_sampler(const SnapshotSections& state, int rank, int world_size) {
  auto taken = snapshot_world_size(state);
  if (!taken.ok()) return taken.status();
  // Into one process: rank 0's stream (the ranks' streams cannot be one).
  const std::string name = rank_section("rng", *taken == world_size ? rank : 0);
  auto j = json_section(state, name);
  if (!j.ok()) return j.status();
  std::mt19937_64 rng;
  try {
    std::istringstream in(j->at("hippocampus_sampler").get<std::string>());
    in >> rng;
    if (in.fail()) return bad_section(name, "hippocampus_sampler is not an mt19937_64 state");
  } catch (const json::exception& e) {
    return bad_section(name, e.what());
  }
  return rng;
}

Expected<RankMemory> gather_rank_memory(const Expected<std::vector<uint8_t>>& buffer,
                                        const Expected<std::vector<uint8_t>>& sampler, int rank,
                                        int world_size) {
  RankMemory out;
  if (world_size == 1) {
    if (!buffer.ok()) return buffer.status();
    if (!sampler.ok()) return sampler.status();
    out.buffers.push_back(buffer.value());
    out.samplers.push_back(sampler.value());
    return out;
  }
  std::shared_ptr<DataParallel> run = data_parallel();
  if (!run || run->world_size() != world_size || run->rank() != rank) {
    return Status(ErrorCode::internal, "snapshot: the session's ranks are not this process's run");
  }
  auto group = run->driver_group();
  if (!group.ok()) return group.status();
  auto buffers = gather_bytes(**group, buffer);
  if (!buffers.ok()) {
    return Status(buffers.status().code(),
                  "snapshot of the ranks' code buffers: " + buffers.status().message());
  }
  auto samplers = gather_bytes(**group, sampler);
  if (!samplers.ok()) return samplers.status();
  out.buffers = std::move(*buffers);
  out.samplers = std::move(*samplers);
  return out;
}

}  // namespace session_detail

Status Session::snapshot(const std::string& path, const std::string& script_state) {
  using session_detail::json;
  Impl& m = *impl_;
  json script = json::parse(script_state, nullptr, /*allow_exceptions=*/false);
  if (script.is_discarded()) {
    return Status(ErrorCode::invalid_argument, "snapshot: script state is not valid JSON");
  }
  SnapshotSections sections;
  auto put_text = [&](const std::string& name, const std::string& text) {
    sections[name] = std::vector<uint8_t>(text.begin(), text.end());
  };
  put_text("config", session_config_to_json(m.config));
  put_text("script", script.dump());
  json driver = {{"dataset",
                  {{"name", m.dataset->name},
                   {"rows", m.dataset->rows},
                   {"cols", m.dataset->cols},
                   {"classes", m.dataset->num_classes}}},
                 {"seen_classes", m.seen_classes},
                 {"learned_tasks", m.learned_tasks},
                 {"recency", m.recency},
                 {"last_task", m.last_task},
                 {"seed_counter", m.seed_counter}};
  put_text("session", driver.dump());

  auto ask = [&](zmq::socket_t& sock, size_t payloads) -> Expected<Message> {
    Message request;
    request.header.type = msg::kSaveState;
    auto reply = m.request(sock, std::move(request), msg::kState);
    if (!reply.ok()) return reply.status();
    if (reply->payloads.size() != payloads) {
      return Status(ErrorCode::internal, "snapshot: a module sent an incomplete state");
    }
    return reply;
  };
  // The association first: it flushes its stores into the hippocampus before replying.
  auto association = ask(m.to_association, 1);
  if (association.ok() && m.has_association) {
    sections["association"] = session_detail::payload_bytes(*association, 0);
  }
  if (m.has_buffer) {
    // Each rank's own code buffer and sampler: gathered to rank 0 when there are several ranks
    // (every rank takes part, also with an error, so that none waits for a rank that failed).
    Expected<Message> hippocampus = association.status();
    if (association.ok()) hippocampus = ask(m.to_hippocampus, 2);
    Expected<std::vector<uint8_t>> buffer = hippocampus.status(), rng = hippocampus.status();
    if (hippocampus.ok()) {
      buffer = session_detail::payload_bytes(*hippocampus, 0);
      rng = session_detail::payload_bytes(*hippocampus, 1);
    }
    auto shares = session_detail::gather_rank_memory(buffer, rng, m.rank, m.world_size);
    if (!shares.ok()) return shares.status();
    for (int r = 0; r < static_cast<int>(shares->buffers.size()); ++r) {
      sections[session_detail::rank_section("code_buffer", r)] = std::move(shares->buffers[r]);
      const std::vector<uint8_t>& text = shares->samplers[r];
      put_text(session_detail::rank_section("rng", r),
               json{{"hippocampus_sampler", std::string(text.begin(), text.end())}}.dump());
    }
  } else if (!association.ok()) {
    return association.status();
  }
  if (m.world_size > 1) {
    if (m.rank != 0) return Status();  // rank 0 writes the file
    put_text("ranks", json{{"world_size", m.world_size}}.dump());
  }
  auto neocortex = ask(m.to_neocortex, 1);
  if (!neocortex.ok()) return neocortex.status();
  sections["neocortex"] = session_detail::payload_bytes(*neocortex, 0);
  return write_snapshot(path, sections);
}

Expected<std::unique_ptr<Session>> Session::restore(const std::string& path,
                                                    std::shared_ptr<const ImageDataset> dataset,
                                                    std::string* script_state) {
  auto sections = read_snapshot_on_ranks(path);
  if (!sections.ok()) return sections.status();
  auto session = restore_sections(*sections, std::move(dataset), script_state);
  if (!session.ok())
    return Status(session.status().code(), path + ": " + session.status().message());
  return session;
}

Expected<std::unique_ptr<Session>> Session::restore_sections(
    const SnapshotSections& sections, std::shared_ptr<const ImageDataset> dataset,
    std::string* script_state, const RemoteModulesConfig* remote) {
  auto config_text = session_detail::section(sections, "config");
  if (!config_text.ok()) return config_text.status();
  auto config = session_config_from_json(*config_text);
  if (!config.ok()) return config.status();
  auto script = session_detail::section(sections, "script");
  if (!script.ok()) return script.status();
  if (remote) config->remote = *remote;
  auto session = create_from(*config, std::move(dataset), &sections);
  if (!session.ok()) return session.status();
  if (script_state) *script_state = *script;
  return session;
}

Expected<std::unique_ptr<Learner>> Session::classifier_copy() {
  Message ask;
  ask.header.type = msg::kSaveState;
  auto reply = impl_->request(impl_->to_neocortex, std::move(ask), msg::kState);
  if (!reply.ok()) return reply.status();
  if (reply->payloads.size() != 1) {
    return Status(ErrorCode::internal, "neocortex state: expected one payload");
  }
  const zmq::message_t& bytes = reply->payloads[0];
  auto copy = Learner::create(impl_->learner_config);
  if (!copy.ok()) return copy.status();
  const std::string state(static_cast<const char*>(bytes.data()), bytes.size());
  if (Status s = (*copy)->load_state(state); !s.ok()) return s;
  return copy;
}

}  // namespace engram
