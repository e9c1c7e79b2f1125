// Envelope: round trips, hostile input, limits and zero-copy payloads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <vector>

#include "runtime/envelope.h"

using namespace engram;

namespace {

// A connected PAIR of sockets on a private context.
struct Link {
  explicit Link(const std::string& endpoint = "") {
    static std::atomic<int> counter{0};
    a.set(zmq::sockopt::linger, 0);
    b.set(zmq::sockopt::linger, 0);
    std::string ep = endpoint.empty() ? "inproc://link-" + std::to_string(counter++) : endpoint;
    a.bind(ep);
    ep = a.get(zmq::sockopt::last_endpoint);
    b.connect(ep);
  }
  zmq::context_t ctx;
  zmq::socket_t a{ctx, zmq::socket_type::pair};
  zmq::socket_t b{ctx, zmq::socket_type::pair};
};

template <typename T>
zmq::message_t frame_of(const std::vector<T>& v) {
  return make_payload_copy(v.data(), v.size() * sizeof(T));
}

Message full_message() {
  Message m;
  m.header.type = "observe";
  m.header.seq = std::numeric_limits<uint64_t>::max() - 3;
  m.header.source = "sensor/cam0";
  m.header.t_acq_ns = -1234567890123;
  m.header.ints = {{"task", 3},
                   {"count", 128},
                   {"min", std::numeric_limits<int64_t>::min()},
                   {"max", std::numeric_limits<int64_t>::max()}};
  m.header.reals = {{"lr", 1e-3}, {"neg", -2.5}, {"big", 1e300}};
  m.header.strings = {{"phase", "consolidate"}, {"bytes", std::string("a\0b", 3)}, {"e", ""}};
  add_payload(m, {DType::u8, {2, 3}}, frame_of(std::vector<uint8_t>{1, 2, 3, 4, 5, 255}));
  add_payload(m, {DType::i32, {3}}, frame_of(std::vector<int32_t>{-1, 0, 7}));
  add_payload(m, {DType::i64, {1, 2}}, frame_of(std::vector<int64_t>{INT64_MIN, INT64_MAX}));
  add_payload(m, {DType::f32, {2, 2, 1}}, frame_of(std::vector<float>{0.5f, -1.f, 3.f, 1e-7f}));
  add_payload(m, {DType::f32, {0, 5}}, zmq::message_t());
  add_payload(m, {DType::i64, {}}, frame_of(std::vector<int64_t>{42}));
  return m;
}

void check_same(const Message& got, const Message& sent_copy_of) {
  const Header& a = got.header;
  const Header& b = sent_copy_of.header;
  CHECK(a.version == kSchemaVersion);
  CHECK(a.type == b.type);
  CHECK(a.seq == b.seq);
  CHECK(a.source == b.source);
  CHECK(a.t_acq_ns == b.t_acq_ns);
  CHECK(a.ints == b.ints);
  CHECK(a.reals == b.reals);
  CHECK(a.strings == b.strings);
  REQUIRE(a.payloads.size() == b.payloads.size());
  for (size_t i = 0; i < a.payloads.size(); ++i) {
    CHECK(a.payloads[i].dtype == b.payloads[i].dtype);
    CHECK(a.payloads[i].shape == b.payloads[i].shape);
  }
}

// Frames [type][header] (+ payloads) as raw bytes, for hand-built hostile input.
std::vector<zmq::message_t> frames_of(const std::string& type, const std::string& header,
                                      std::vector<std::string> payloads = {}) {
  std::vector<zmq::message_t> f;
  f.emplace_back(type.data(), type.size());
  f.emplace_back(header.data(), header.size());
  for (const auto& p : payloads) f.emplace_back(p.data(), p.size());
  return f;
}

// A header map built field by field so tests can replace, drop or add entries.
using Packer = msgpack::packer<msgpack::sbuffer>;
struct RawHeader {
  std::vector<std::pair<std::string, std::function<void(Packer&)>>> fields = {
      {"v", [](Packer& p) { p.pack(1u); }},
      {"type", [](Packer& p) { p.pack("t"); }},
      {"seq", [](Packer& p) { p.pack(7u); }},
      {"src", [](Packer& p) { p.pack("me"); }},
      {"t_acq", [](Packer& p) { p.pack(-5); }},
      {"t_send", [](Packer& p) { p.pack(10); }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(2);
         p.pack("f32");
         p.pack(std::vector<int64_t>{2});
       }},
      {"ints",
       [](Packer& p) {
         p.pack(std::map<std::string, int64_t>{{"task", 1}});
       }},
      {"reals",
       [](Packer& p) {
         p.pack(std::map<std::string, double>{{"lr", 0.1}});
       }},
      {"strings",
       [](Packer& p) {
         p.pack(std::map<std::string, std::string>{{"k", "v"}});
       }},
  };
  void set(const std::string& key, std::function<void(Packer&)> f) {
    for (auto& kv : fields) {
      if (kv.first == key) {
        kv.second = std::move(f);
        return;
      }
    }
    fields.emplace_back(key, std::move(f));
  }
  void drop(const std::string& key) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it->first == key) {
        fields.erase(it);
        return;
      }
    }
  }
  std::string bytes() const {
    msgpack::sbuffer buf;
    Packer p(buf);
    p.pack_map(static_cast<uint32_t>(fields.size()));
    for (const auto& kv : fields) {
      p.pack(kv.first);
      kv.second(p);
    }
    return std::string(buf.data(), buf.size());
  }
};

const std::string kEightBytes(8, '\0');

Expected<Message> decode_raw(const RawHeader& h, std::vector<std::string> payloads = {kEightBytes},
                             const DecodeLimits& limits = {}) {
  return decode_message(frames_of("t", h.bytes(), std::move(payloads)), limits);
}

}  // namespace

TEST_CASE("dtype names, sizes and parsing") {
  CHECK(dtype_size(DType::u8) == 1);
  CHECK(dtype_size(DType::i32) == 4);
  CHECK(dtype_size(DType::i64) == 8);
  CHECK(dtype_size(DType::f32) == 4);
  for (DType d : {DType::u8, DType::i32, DType::i64, DType::f32}) {
    REQUIRE(parse_dtype(dtype_name(d)).has_value());
    CHECK(*parse_dtype(dtype_name(d)) == d);
  }
  CHECK(std::string(dtype_name(DType::f32)) == "f32");
  CHECK_FALSE(parse_dtype("f64").has_value());
  CHECK_FALSE(parse_dtype("").has_value());
  CHECK_FALSE(parse_dtype("u8 ").has_value());
}

TEST_CASE("payload byte sizes") {
  CHECK(payload_byte_size({DType::f32, {28, 28}}).value() == 28 * 28 * 4);
  CHECK(payload_byte_size({DType::i64, {}}).value() == 8);
  CHECK(payload_byte_size({DType::u8, {3, 0, 9}}).value() == 0);
  CHECK(payload_byte_size({DType::u8, {-1}}).status().code() == ErrorCode::invalid_argument);
  const int64_t huge = int64_t{1} << 40;
  CHECK_FALSE(payload_byte_size({DType::f32, {huge, huge}}).ok());
  CHECK_FALSE(payload_byte_size({DType::u8, {INT64_MAX, 3}}).ok());
}

TEST_CASE("header encode/decode round trip") {
  Message m = full_message();
  m.header.t_send_ns = 99;
  Expected<Header> h =
      decode_header(encode_header(m.header).data(), encode_header(m.header).size());
  REQUIRE(h.ok());
  CHECK(h->t_send_ns == 99);
  Message got;
  got.header = h.value();
  check_same(got, m);
}

TEST_CASE("message round trip over inproc and tcp, every field and dtype") {
  for (const std::string ep : {"", "tcp://127.0.0.1:*"}) {
    CAPTURE(ep);
    Link link(ep);
    Message sent = full_message();
    Message expect = full_message();
    const int64_t before = now_ns();
    REQUIRE(send_message(link.a, std::move(sent)).ok());
    Expected<Message> got = recv_message(link.b);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    check_same(*got, expect);
    CHECK(got->header.t_send_ns >= before);
    CHECK(got->header.t_send_ns <= now_ns());
    REQUIRE(got->payloads.size() == expect.payloads.size());
    for (size_t i = 0; i < expect.payloads.size(); ++i) {
      CHECK(got->payloads[i].to_string() == expect.payloads[i].to_string());
    }
  }
}

TEST_CASE("routed round trip through ROUTER and DEALER") {
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  router.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::routing_id, "client-1");
  router.bind("inproc://routed");
  dealer.connect("inproc://routed");
  Message ping;
  ping.header.type = "ping";
  ping.header.ints["n"] = 1;
  REQUIRE(send_message(dealer, std::move(ping)).ok());
  Expected<RoutedMessage> in = recv_routed(router);
  REQUIRE(in.ok());
  CHECK(in->routing_id == "client-1");
  CHECK(in->message.header.ints.at("n") == 1);
  Message pong;
  pong.header.type = "pong";
  REQUIRE(send_routed(router, in->routing_id, std::move(pong)).ok());
  Message pong2;
  pong2.header.type = "pong2";
  REQUIRE(send_routed(router, zmq::message_t(std::string("client-1")), std::move(pong2)).ok());
  CHECK(recv_message(dealer)->header.type == "pong");
  CHECK(recv_message(dealer)->header.type == "pong2");
  // A lone routing id frame is malformed, and is drained.
  REQUIRE(dealer.send(zmq::message_t(), zmq::send_flags::none));
  CHECK(recv_routed(router).status().code() == ErrorCode::malformed);
  CHECK(recv_routed(router, {}, true).status().code() == ErrorCode::timeout);
}

TEST_CASE("send validates payloads and reports a full socket") {
  Link link;
  Message bad;
  bad.header.type = "x";
  add_payload(bad, {DType::f32, {3}}, make_payload_copy("abcdefghijk", 11));
  CHECK(send_message(link.a, std::move(bad)).code() == ErrorCode::invalid_argument);
  Message missing;
  missing.header.type = "x";
  missing.header.payloads.push_back({DType::u8, {1}});
  CHECK(send_message(link.a, std::move(missing)).code() == ErrorCode::invalid_argument);
  Message untyped;
  CHECK(send_message(link.a, std::move(untyped)).code() == ErrorCode::invalid_argument);
  CHECK(recv_message(link.b, {}, true).status().code() == ErrorCode::timeout);

  // A DEALER without peers cannot take a message: full, and the message stays intact.
  zmq::context_t ctx;
  zmq::socket_t lonely(ctx, zmq::socket_type::dealer);
  lonely.set(zmq::sockopt::linger, 0);
  Message m;
  m.header.type = "x";
  add_payload(m, {DType::u8, {4}}, make_payload_copy("abcd", 4));
  CHECK(send_envelope(lonely, nullptr, m, true).code() == ErrorCode::full);
  REQUIRE(m.payloads.size() == 1);
  CHECK(m.payloads[0].to_string() == "abcd");
}

TEST_CASE("random bytes as a header never decode and never crash") {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 300);
  int rejected = 0;
  const int iterations = 20000;
  for (int it = 0; it < iterations; ++it) {
    std::string junk(static_cast<size_t>(len(rng)), '\0');
    for (char& c : junk) c = static_cast<char>(byte(rng));
    // Bias some inputs towards maps so the parser goes deeper than the first byte.
    if (it % 2 == 0 && !junk.empty()) junk[0] = static_cast<char>(0x80 | (it % 16));
    Expected<Message> m = decode_message(frames_of("t", junk, {kEightBytes}), {});
    if (!m.ok()) ++rejected;
  }
  CHECK(rejected == iterations);
}

TEST_CASE("mutated valid headers never crash") {
  std::mt19937 rng(7);
  const std::string valid = RawHeader().bytes();
  REQUIRE(decode_raw(RawHeader()).ok());
  for (int it = 0; it < 20000; ++it) {
    std::string h = valid;
    const int flips = 1 + it % 4;
    for (int k = 0; k < flips; ++k) {
      h[rng() % h.size()] = static_cast<char>(rng() & 0xff);
    }
    Expected<Message> m = decode_message(frames_of("t", h, {kEightBytes}), {});
    if (m.ok()) CHECK(m->header.type == "t");  // only consistent messages get through
  }
}

TEST_CASE("a valid header truncated at every offset is rejected") {
  Message m = full_message();
  const std::string full = encode_header(m.header);
  REQUIRE(decode_header(full.data(), full.size()).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    Expected<Header> h = decode_header(full.data(), n);
    CHECK_FALSE(h.ok());
  }
}

TEST_CASE("wrong types for each field are malformed") {
  const auto str = [](Packer& p) { p.pack("text"); };
  const auto num = [](Packer& p) { p.pack(5); };
  const auto neg = [](Packer& p) { p.pack(-5); };
  const auto real = [](Packer& p) { p.pack(1.5); };
  const auto nil = [](Packer& p) { p.pack_nil(); };
  const auto big = [](Packer& p) { p.pack(std::numeric_limits<uint64_t>::max()); };
  const std::vector<std::pair<std::string, std::function<void(Packer&)>>> cases = {
      {"v", str},
      {"v", neg},
      {"v", real},
      {"type", num},
      {"type", nil},
      {"seq", str},
      {"seq", neg},
      {"seq", real},
      {"src", num},
      {"t_acq", str},
      {"t_acq", real},
      {"t_acq", big},
      {"t_send", str},
      {"t_send", nil},
      {"payloads", str},
      {"payloads", num},
      {"ints", str},
      {"reals", num},
      {"strings", str},
      {"payloads",
       [](Packer& p) {
         p.pack(std::vector<int>{1, 2});
       }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(1);
         p.pack("f32");
       }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(2);
         p.pack(3);
         p.pack(std::vector<int>{2});
       }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(2);
         p.pack("f64");
         p.pack(std::vector<int>{2});
       }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(2);
         p.pack("f32");
         p.pack(2);
       }},
      {"payloads",
       [](Packer& p) {
         p.pack_array(1);
         p.pack_array(2);
         p.pack("f32");
         p.pack(std::vector<std::string>{"2"});
       }},
      {"ints",
       [](Packer& p) {
         p.pack(std::map<std::string, std::string>{{"a", "b"}});
       }},
      {"ints",
       [](Packer& p) {
         p.pack(std::map<std::string, double>{{"a", 1.5}});
       }},
      {"ints",
       [](Packer& p) {
         p.pack(std::map<std::string, uint64_t>{{"a", UINT64_MAX}});
       }},
      {"ints",
       [](Packer& p) {
         p.pack(std::map<int, int>{{1, 2}});
       }},
      {"reals",
       [](Packer& p) {
         p.pack(std::map<std::string, std::string>{{"a", "b"}});
       }},
      {"strings",
       [](Packer& p) {
         p.pack(std::map<std::string, int>{{"a", 1}});
       }},
  };
  for (const auto& [key, value] : cases) {
    RawHeader h;
    h.set(key, value);
    Expected<Message> m = decode_raw(h);
    CAPTURE(key);
    CHECK(m.status().code() == ErrorCode::malformed);
  }
}

TEST_CASE("required fields, optional fields, unknown and duplicate keys") {
  for (const char* key : {"v", "type", "seq", "src", "t_acq", "t_send"}) {
    RawHeader h;
    h.drop(key);
    CAPTURE(key);
    CHECK(decode_raw(h).status().code() == ErrorCode::malformed);
  }
  RawHeader optional;
  for (const char* key : {"payloads", "ints", "reals", "strings"}) optional.drop(key);
  CHECK(decode_raw(optional, {}).ok());
  CHECK(decode_raw(optional, {kEightBytes}).status().code() == ErrorCode::malformed);

  RawHeader future;
  future.set("calibration", [](Packer& p) {
    p.pack(std::map<std::string, std::vector<int>>{{"k", {1, 2}}});
  });
  future.set("reals", [](Packer& p) { p.pack(std::map<std::string, int>{{"lr", 2}}); });
  Expected<Message> m = decode_raw(future);
  REQUIRE(m.ok());
  CHECK(m->header.reals.at("lr") == 2.0);
  CHECK(m->header.ints.at("task") == 1);
  CHECK(m->header.strings.at("k") == "v");
  CHECK(m->header.t_acq_ns == -5);

  std::string dup = RawHeader().bytes();
  dup[0] = static_cast<char>(0x8b);  // fixmap of 11 entries: append a second "seq"
  msgpack::sbuffer extra;
  Packer p(extra);
  p.pack("seq");
  p.pack(8u);
  dup.append(extra.data(), extra.size());
  CHECK(decode_message(frames_of("t", dup, {kEightBytes}), {}).status().code() ==
        ErrorCode::malformed);

  std::string trailing = RawHeader().bytes() + std::string(1, '\xc0');
  CHECK(decode_message(frames_of("t", trailing, {kEightBytes}), {}).status().code() ==
        ErrorCode::malformed);
  msgpack::sbuffer arr;
  Packer pa(arr);
  pa.pack(std::vector<int>{1, 2, 3});
  CHECK(decode_message(frames_of("t", std::string(arr.data(), arr.size())), {}).status().code() ==
        ErrorCode::malformed);
}

TEST_CASE("unknown schema version is unsupported_version") {
  RawHeader h;
  h.set("v", [](Packer& p) { p.pack(2u); });
  h.set("seq", [](Packer& p) { p.pack("v2 may change seq"); });
  CHECK(decode_raw(h).status().code() == ErrorCode::unsupported_version);
  h.set("v", [](Packer& p) { p.pack(0u); });
  CHECK(decode_raw(h).status().code() == ErrorCode::unsupported_version);
}

TEST_CASE("payload count, size and shape mismatches") {
  RawHeader h;
  CHECK(decode_raw(h, {kEightBytes}).ok());
  CHECK(decode_raw(h, {std::string(7, 'x')}).status().code() == ErrorCode::malformed);
  CHECK(decode_raw(h, {std::string(9, 'x')}).status().code() == ErrorCode::malformed);
  CHECK(decode_raw(h, {}).status().code() == ErrorCode::malformed);
  CHECK(decode_raw(h, {kEightBytes, kEightBytes}).status().code() == ErrorCode::malformed);
  const auto shape = [](std::vector<int64_t> dims) {
    return [dims](Packer& p) {
      p.pack_array(1);
      p.pack_array(2);
      p.pack("u8");
      p.pack(dims);
    };
  };
  h.set("payloads", shape({-8}));
  CHECK(decode_raw(h).status().code() == ErrorCode::malformed);
  h.set("payloads", shape({int64_t{1} << 40, int64_t{1} << 40}));
  CHECK(decode_raw(h).status().code() == ErrorCode::malformed);
  h.set("payloads", shape({int64_t{1} << 30, 4}));  // 4 GiB: over the frame limit
  CHECK(decode_raw(h).status().code() == ErrorCode::too_large);
  h.set("payloads", shape({2, 4}));
  CHECK(decode_raw(h).ok());
}

TEST_CASE("type frame problems") {
  const std::string header = RawHeader().bytes();
  CHECK(decode_message(frames_of("u", header, {kEightBytes}), {}).status().code() ==
        ErrorCode::malformed);
  CHECK(decode_message(frames_of("", header, {kEightBytes}), {}).status().code() ==
        ErrorCode::malformed);
  std::vector<zmq::message_t> header_only;
  header_only.emplace_back(header.data(), header.size());
  CHECK(decode_message(std::move(header_only), {}).status().code() == ErrorCode::malformed);
  CHECK(decode_message({}, {}).status().code() == ErrorCode::malformed);
  DecodeLimits tiny;
  tiny.max_type_bytes = 4;
  CHECK(decode_message(frames_of("longtype", header, {kEightBytes}), tiny).status().code() ==
        ErrorCode::too_large);
}

TEST_CASE("limits: header size, frame size, frame count, nesting") {
  DecodeLimits limits;
  limits.max_header_bytes = 16;
  CHECK(decode_raw(RawHeader(), {kEightBytes}, limits).status().code() == ErrorCode::too_large);
  limits = DecodeLimits();
  limits.max_frame_bytes = 7;
  CHECK(decode_raw(RawHeader(), {kEightBytes}, limits).status().code() == ErrorCode::too_large);
  limits = DecodeLimits();
  limits.max_total_bytes = 50;
  CHECK(decode_raw(RawHeader(), {kEightBytes}, limits).status().code() == ErrorCode::too_large);

  RawHeader deep;
  deep.set("nested", [](Packer& p) {
    for (int i = 0; i < 20; ++i) p.pack_array(1);
    p.pack(1);
  });
  CHECK(decode_raw(deep).status().code() == ErrorCode::too_large);
  RawHeader wide;
  wide.set("wide", [](Packer& p) { p.pack(std::vector<int>(1000, 1)); });
  CHECK(decode_raw(wide).status().code() == ErrorCode::too_large);
  RawHeader long_str;
  long_str.set("src", [](Packer& p) { p.pack(std::string(20000, 's')); });
  CHECK(decode_raw(long_str).status().code() == ErrorCode::too_large);
  RawHeader lying;  // claims a 4-billion-element array in 5 bytes
  lying.set("wide", [](Packer& p) { p.pack_array(0xffffffffu); });
  CHECK_FALSE(decode_raw(lying).ok());
}

TEST_CASE("malformed multiparts are drained so the next message reads correctly") {
  Link link;
  DecodeLimits limits;
  limits.max_frame_bytes = 1024;
  limits.max_payload_frames = 4;
  const auto send_valid = [&](int64_t n) {
    Message m;
    m.header.type = "ok";
    m.header.ints["n"] = n;
    REQUIRE(send_message(link.a, std::move(m)).ok());
  };
  const auto expect_valid = [&](int64_t n) {
    Expected<Message> m = recv_message(link.b, limits);
    REQUIRE_MESSAGE(m.ok(), m.status().to_string());
    CHECK(m->header.ints.at("n") == n);
  };
  // Too many frames.
  for (int i = 0; i < 40; ++i) {
    REQUIRE(link.a.send(zmq::str_buffer("x"),
                        i < 39 ? zmq::send_flags::sndmore : zmq::send_flags::none));
  }
  send_valid(1);
  CHECK(recv_message(link.b, limits).status().code() == ErrorCode::too_large);
  expect_valid(1);
  // An oversized frame in the middle.
  REQUIRE(link.a.send(zmq::str_buffer("t"), zmq::send_flags::sndmore));
  REQUIRE(link.a.send(zmq::message_t(std::string(4096, 'h')), zmq::send_flags::sndmore));
  REQUIRE(link.a.send(zmq::str_buffer("p"), zmq::send_flags::none));
  send_valid(2);
  CHECK(recv_message(link.b, limits).status().code() == ErrorCode::too_large);
  expect_valid(2);
  // Garbage header followed by payloads; then a lone frame.
  REQUIRE(link.a.send(zmq::str_buffer("t"), zmq::send_flags::sndmore));
  REQUIRE(link.a.send(zmq::str_buffer("\x92\xc1\xc1"), zmq::send_flags::sndmore));
  REQUIRE(link.a.send(zmq::str_buffer("p"), zmq::send_flags::none));
  REQUIRE(link.a.send(zmq::str_buffer("lonely"), zmq::send_flags::none));
  send_valid(3);
  {
    auto st = recv_message(link.b, limits).status();
    CHECK_MESSAGE(st.code() == ErrorCode::malformed, st.to_string());
  }
  CHECK(recv_message(link.b, limits).status().code() == ErrorCode::malformed);
  expect_valid(3);
  CHECK(recv_message(link.b, limits, true).status().code() == ErrorCode::timeout);
}

TEST_CASE("zero-copy payloads over inproc keep the sender's buffer and release it") {
  Link link;
  struct Flag {
    std::atomic<bool> released{false};
  } flag;
  std::weak_ptr<const void> watch;
  const void* sent_ptr = nullptr;
  {
    auto storage = std::shared_ptr<std::vector<float>>(new std::vector<float>(1000, 0.25f),
                                                       [&flag](std::vector<float>* v) {
                                                         flag.released = true;
                                                         delete v;
                                                       });
    sent_ptr = storage->data();
    watch = storage;
    Message m;
    m.header.type = "tensor";
    add_payload(m, {DType::f32, {10, 100}},
                make_payload(storage, storage->data(), storage->size() * sizeof(float)));
    CHECK(storage.use_count() == 2);  // ours + the frame's
    REQUIRE(send_message(link.a, std::move(m)).ok());
  }
  CHECK_FALSE(flag.released);  // the frame in flight still owns the buffer
  {
    Expected<Message> got = recv_message(link.b);
    REQUIRE(got.ok());
    REQUIRE(got->payloads.size() == 1);
    CHECK(got->payloads[0].data() == sent_ptr);
    CHECK(got->payloads[0].data<float>()[999] == 0.25f);
    CHECK_FALSE(flag.released);
    CHECK(watch.use_count() == 1);
  }
  CHECK(flag.released);
  CHECK(watch.expired());
  CHECK(make_payload(nullptr, nullptr, 0).size() == 0);
}
