// The hippocampus actor's contract (messages.h): store, seal, sample with and without weights,
// malformed requests answered with kError and the buffer unchanged, stats. Runs the actor on
// an ActorHost and talks to it as the association does, from a DEALER.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "modules/actors/hippocampus_actor.h"
#include "modules/actors/messages.h"
#include "runtime/actor_host.h"

namespace engram {
namespace {

constexpr int kC = 3;  // codes of 3 variables of l = 16 values; 4 classes, 3 tasks

CodeBuffer make_buffer(size_t budget_bytes = 1000) {
  CodeBufferConfig cfg;
  cfg.c = kC;
  cfg.l = 16;
  cfg.num_classes = 4;
  cfg.num_tasks = 3;
  cfg.budget_bytes = budget_bytes;
  cfg.seed = 3;
  auto r = CodeBuffer::create(cfg);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return std::move(r).value();
}

// A running hippocampus actor and a driver DEALER connected to it.
struct Fixture {
  ActorHost host;
  zmq::socket_t sock;

  Fixture() {
    REQUIRE(host.add(std::make_unique<HippocampusActor>(make_buffer(), uint64_t{7})).ok());
    REQUIRE(host.start_all().ok());
    sock = host.make_socket(zmq::socket_type::dealer);
    sock.set(zmq::sockopt::rcvtimeo, 5000);
    sock.connect(host.endpoint("hippocampus"));
  }
  ~Fixture() {
    sock.close();
    (void)host.stop_all();
  }

  Message request(Message m) {
    REQUIRE(send_message(sock, std::move(m)).ok());
    auto reply = recv_message(sock);
    REQUIRE_MESSAGE(reply.ok(), reply.status().to_string());
    return std::move(reply).value();
  }

  // Stores items whose code is {id, id, id} (ids < 16) with these labels and tasks.
  void store(const std::vector<int32_t>& ids, const std::vector<int32_t>& labels,
             const std::vector<int32_t>& tasks) {
    Message m;
    m.header.type = msg::kStore;
    const int64_t n = static_cast<int64_t>(ids.size());
    std::vector<uint8_t> codes;
    for (int32_t id : ids) codes.insert(codes.end(), kC, static_cast<uint8_t>(id));
    add_payload(m, {DType::u8, {n, kC}}, make_payload_copy(codes.data(), codes.size()));
    add_payload(m, {DType::i32, {n}}, make_payload_copy(labels.data(), labels.size() * 4));
    add_payload(m, {DType::i32, {n}}, make_payload_copy(tasks.data(), tasks.size() * 4));
    REQUIRE(send_message(sock, std::move(m)).ok());
  }

  Message stats() {
    Message m;
    m.header.type = msg::kGetStats;
    Message r = request(std::move(m));
    REQUIRE(r.header.type == msg::kStats);
    return r;
  }

  void seal() {
    Message m;
    m.header.type = msg::kSeal;
    CHECK(request(std::move(m)).header.type == msg::kDone);
  }
};

Message sample_request(int64_t n, int64_t sealed_only = -1) {
  Message m;
  m.header.type = msg::kSample;
  m.header.ints["n"] = n;
  if (sealed_only >= 0) m.header.ints["sealed_only"] = sealed_only;
  return m;
}

void add_weights(Message& m, const std::string& by, const std::vector<float>& w) {
  m.header.strings["weights_by"] = by;
  add_payload(m, {DType::f32, {static_cast<int64_t>(w.size())}},
              make_payload_copy(w.data(), w.size() * 4));
}

struct Codes {
  std::vector<int32_t> ids, labels, tasks;
};

Codes read_codes(const Message& r) {
  REQUIRE(r.header.type == msg::kCodes);
  REQUIRE(r.payloads.size() == 3);
  REQUIRE(r.header.payloads[0].dtype == DType::u8);
  const int64_t n = r.header.payloads[0].shape[0];
  REQUIRE(r.header.payloads[0].shape == std::vector<int64_t>{n, kC});
  Codes out;
  const auto* codes = static_cast<const uint8_t*>(r.payloads[0].data());
  const auto* labels = static_cast<const int32_t*>(r.payloads[1].data());
  const auto* tasks = static_cast<const int32_t*>(r.payloads[2].data());
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE(codes[i * kC] == codes[i * kC + 1]);
    out.ids.push_back(codes[i * kC]);
    out.labels.push_back(labels[i]);
    out.tasks.push_back(tasks[i]);
  }
  return out;
}

std::vector<int64_t> i64_payload(const Message& m, size_t i) {
  const auto* p = static_cast<const int64_t*>(m.payloads[i].data());
  return std::vector<int64_t>(p, p + m.payloads[i].size() / 8);
}

TEST_CASE("seal and sample: only what was sealed is recalled unless asked otherwise") {
  Fixture f;
  f.store({0, 1, 2, 3, 4, 5}, {0, 1, 2, 0, 1, 2}, {0, 0, 1, 1, 0, 0});
  // Nothing sealed yet: an empty kCodes.
  Codes none = read_codes(f.request(sample_request(10)));
  CHECK(none.ids.empty());
  f.seal();
  f.store({6, 7}, {3, 3}, {2, 2});  // fresh
  Codes sealed = read_codes(f.request(sample_request(500)));
  REQUIRE(sealed.ids.size() == 500);
  CHECK(std::set<int32_t>(sealed.ids.begin(), sealed.ids.end()) ==
        std::set<int32_t>{0, 1, 2, 3, 4, 5});
  Codes all = read_codes(f.request(sample_request(500, 0)));
  CHECK(std::set<int32_t>(all.ids.begin(), all.ids.end()).size() == 8);
  for (size_t i = 0; i < all.ids.size(); ++i) {
    CHECK(all.labels[i] == (all.ids[i] >= 6 ? 3 : all.ids[i] % 3));
  }

  // Class weights: only class 1 (ids 1 and 4); class 3 has nothing sealed and drops out.
  Message m = sample_request(200);
  add_weights(m, "class", {0, 1, 0, 5});
  Codes c1 = read_codes(f.request(std::move(m)));
  REQUIRE(c1.ids.size() == 200);
  CHECK(std::set<int32_t>(c1.ids.begin(), c1.ids.end()) == std::set<int32_t>{1, 4});
  // Task weights: only task 1 (ids 2 and 3).
  m = sample_request(200);
  add_weights(m, "task", {0, 1, 0});
  Codes t1 = read_codes(f.request(std::move(m)));
  CHECK(std::set<int32_t>(t1.ids.begin(), t1.ids.end()) == std::set<int32_t>{2, 3});
  // Weight only on the fresh task: nothing eligible, n = 0.
  m = sample_request(200);
  add_weights(m, "task", {0, 0, 1});
  CHECK(read_codes(f.request(std::move(m))).ids.empty());
  f.seal();
  m = sample_request(200);
  add_weights(m, "task", {0, 0, 1});
  Codes t2 = read_codes(f.request(std::move(m)));
  CHECK(std::set<int32_t>(t2.ids.begin(), t2.ids.end()) == std::set<int32_t>{6, 7});

  Message s = f.stats();
  CHECK(s.header.ints.at("size") == 8);
  CHECK(s.header.ints.at("sealed") == 8);
  CHECK(s.header.ints.at("phase_mark_bytes") == 8);
  CHECK(s.header.ints.at("recall_index_bytes") > 0);
  REQUIRE(s.payloads.size() == 4);
  CHECK(i64_payload(s, 0) == std::vector<int64_t>{2, 2, 2, 2});
  CHECK(i64_payload(s, 1) == std::vector<int64_t>{4, 2, 2});
  CHECK(i64_payload(s, 2) == std::vector<int64_t>{2, 2, 2, 2});
  CHECK(i64_payload(s, 3) == std::vector<int64_t>{4, 2, 2});
  CHECK(f.host.failures().empty());
}

TEST_CASE("malformed sample and seal requests get kError naming the problem; nothing changes") {
  Fixture f;
  f.store({0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 0});
  f.seal();
  f.store({4}, {0}, {1});
  const Message before = f.stats();
  const float nan = std::numeric_limits<float>::quiet_NaN();

  std::vector<std::pair<Message, std::string>> cases;
  Message m = sample_request(5);
  add_weights(m, "class", {1, nan, 1, 1});
  cases.emplace_back(std::move(m), "class weight 1 is nan");
  m = sample_request(5);
  add_weights(m, "class", {1, 1, -2, 1});
  cases.emplace_back(std::move(m), "class weight 2 is -2");
  m = sample_request(5);
  add_weights(m, "class", {1, 1, 1});
  cases.emplace_back(std::move(m), "weights must be f32 [4] (one per class), got f32 [3]");
  m = sample_request(5);
  add_weights(m, "task", {1, 1, 1, 1});
  cases.emplace_back(std::move(m), "weights must be f32 [3] (one per task), got f32 [4]");
  m = sample_request(5);
  m.header.strings["weights_by"] = "task";
  {
    const std::vector<int32_t> w = {1, 1, 1};
    add_payload(m, {DType::i32, {3}}, make_payload_copy(w.data(), 12));
  }
  cases.emplace_back(std::move(m), "got i32 [3]");
  m = sample_request(5);
  add_weights(m, "label", {1, 1, 1, 1});
  cases.emplace_back(std::move(m), "weights_by is \"label\"");
  m = sample_request(5);
  m.header.strings["weights_by"] = "class";
  cases.emplace_back(std::move(m), "needs exactly one payload");
  m = sample_request(5);
  add_weights(m, "class", {1, 1, 1, 1});
  m.header.strings.clear();
  cases.emplace_back(std::move(m), "needs weights_by");
  cases.emplace_back(sample_request(-1), "n is -1");
  cases.emplace_back(sample_request(5, 2), "sealed_only is 2");
  m = Message();
  m.header.type = msg::kSeal;
  add_weights(m, "class", {1, 1, 1, 1});
  cases.emplace_back(std::move(m), "seal: takes no payload");

  size_t errors = 0;
  for (auto& c : cases) {
    const std::string& expect = c.second;
    CAPTURE(expect);
    Message r = f.request(std::move(c.first));
    REQUIRE(r.header.type == msg::kError);
    const std::string& error = r.header.strings.at("error");
    CHECK_MESSAGE(error.find(expect) != std::string::npos, error);
    ++errors;
  }
  // The buffer is as it was (the seal with a payload did not seal the fresh item) and the
  // actor counted the errors and keeps serving.
  const Message after = f.stats();
  CHECK(after.header.ints == before.header.ints);
  CHECK(after.header.ints.at("sealed") == 4);
  CHECK(f.host.counters()[0].errors == errors);
  CHECK(read_codes(f.request(sample_request(3))).ids.size() == 3);
}

}  // namespace
}  // namespace engram
