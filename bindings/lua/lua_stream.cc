#include "bindings/lua/lua_stream.h"

#include <ATen/ATen.h>

#include <chrono>

#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "io/sensors/sensor_bridge.h"
#include "modules/session/session.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

constexpr const char* kStreamMeta = "engram.Stream";
constexpr const char* kRuntimeMeta = "engram.Runtime";

// engram.stream{ endpoint = "tcp://127.0.0.1:5700", policy = "block" | "drop_oldest",
//                queue = 1024, hwm = 1000, values = 784, classes = 10,
//                curve = { secret_key = "<Z85>", allowed_clients = { "<Z85>", ... } } }
//   -> Stream
int l_stream(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "stream";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what, {"endpoint", "policy", "queue", "hwm", "values", "classes", "curve"});
    SensorBridgeConfig c;
    c.endpoint = opt_string(L, 1, what, "endpoint", c.endpoint);
    auto policy = parse_overflow_policy(opt_string(L, 1, what, "policy", "block"));
    if (!policy.ok()) return raise(L, policy.status());
    c.policy = *policy;
    c.queue_frames = static_cast<size_t>(opt_integer(L, 1, what, "queue", 1024, 1, 1 << 24));
    c.receive_hwm = static_cast<int>(opt_integer(L, 1, what, "hwm", 1000, 1, 1 << 24));
    c.limits.expected_values = opt_integer(L, 1, what, "values", 784, 1, 1LL << 32);
    c.limits.num_classes = opt_integer(L, 1, what, "classes", 10, 1, 1 << 16);
    if (push_subtable(L, 1, what, "curve")) {
      const int t = lua_gettop(L);
      check_keys(L, t, "stream.curve", {"secret_key", "allowed_clients"});
      c.curve.enabled = true;
      c.curve.server_secret_key = opt_string(L, t, "stream.curve", "secret_key", "");
      if (lua_getfield(L, t, "allowed_clients") == LUA_TTABLE) {
        const lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; ++i) {
          lua_geti(L, -1, i);
          if (!lua_isstring(L, -1)) luaL_error(L, "stream.curve.allowed_clients must hold strings");
          c.curve.allowed_client_keys.emplace_back(lua_tostring(L, -1));
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 2);
    }
    auto bridge = SensorBridge::start(c);
    if (!bridge.ok()) return raise(L, bridge.status());
    push_shared(L, std::shared_ptr<SensorBridge>(std::move(*bridge)), kStreamMeta);
    return 1;
  });
}

// stream:counters() -> {received, accepted, malformed, dropped, gaps, out_of_order, queued,
//                       auth_denied, last_error}
int l_counters(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const SensorCounters c = check_shared<SensorBridge>(L, 1, kStreamMeta)->counters();
    lua_createtable(L, 0, 8);
    set_int(L, "received", static_cast<int64_t>(c.received));
    set_int(L, "accepted", static_cast<int64_t>(c.accepted));
    set_int(L, "malformed", static_cast<int64_t>(c.malformed));
    set_int(L, "dropped", static_cast<int64_t>(c.dropped));
    set_int(L, "gaps", static_cast<int64_t>(c.gaps));
    set_int(L, "out_of_order", static_cast<int64_t>(c.out_of_order));
    set_int(L, "queued", static_cast<int64_t>(c.queued));
    set_int(L, "auth_denied", static_cast<int64_t>(c.auth_denied));
    lua_pushstring(L, c.last_error.c_str());
    lua_setfield(L, -2, "last_error");
    return 1;
  });
}

int l_endpoint(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    lua_pushstring(L, check_shared<SensorBridge>(L, 1, kStreamMeta)->endpoint().c_str());
    return 1;
  });
}

int l_close(lua_State* L) {
  auto* p = static_cast<std::shared_ptr<SensorBridge>*>(luaL_checkudata(L, 1, kStreamMeta));
  p->reset();
  return 0;
}

}  // namespace

// Frames become batches of `batch` frames of one task (a task change flushes the partial
// batch); frames without a label are skipped and counted. Returns when `batches` batches were
// learned or no frame arrived for `timeout` seconds.
int learn_stream(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = check_shared<Session>(L, 1, kRuntimeMeta);
    auto& stream = check_shared<SensorBridge>(L, 2, kStreamMeta);
    const char* what = "learn_stream options";
    int64_t batches = 100, batch = 32, replay = 32;
    double timeout = 10;
    if (!lua_isnoneornil(L, 3)) {
      check_keys(L, 3, what, {"batches", "batch", "replay", "timeout"});
      batches = opt_integer(L, 3, what, "batches", batches, 1, 1LL << 40);
      batch = opt_integer(L, 3, what, "batch", batch, 1, 1 << 16);
      replay = opt_integer(L, 3, what, "replay", replay, 0, 1 << 16);
      timeout = opt_number(L, 3, what, "timeout", timeout);
    }
    const auto wait = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
    const int64_t pixels = static_cast<int64_t>(rt->config().neocortex.classifier.rows) *
                           rt->config().neocortex.classifier.cols;
    std::vector<SensorFrame> frames, pending;
    int64_t learned = 0, frames_used = 0, unlabelled = 0;
    int64_t pending_task = -1;
    double loss = 0;
    const auto start = std::chrono::steady_clock::now();
    auto flush = [&]() {
      if (pending.empty()) return;
      const int64_t n = static_cast<int64_t>(pending.size());
      at::Tensor x = at::empty({n, pixels});
      at::Tensor y = at::empty({n}, at::kLong);
      for (int64_t i = 0; i < n; ++i) {
        pending[static_cast<size_t>(i)].to_floats(x.data_ptr<float>() + i * pixels);
        y.data_ptr<int64_t>()[i] = *pending[static_cast<size_t>(i)].label;
      }
      auto stats = rt->learn_batch(x, y, static_cast<int>(pending_task), static_cast<int>(replay));
      if (!stats.ok()) raise(L, stats.status());
      loss = stats->loss_real;
      frames_used += n;
      ++learned;
      pending.clear();
    };
    while (learned < batches) {
      frames.clear();
      if (stream->pop(&frames, static_cast<size_t>(batch), wait) == 0) break;
      for (SensorFrame& f : frames) {
        if (!f.label || f.values() != pixels) {
          ++unlabelled;
          continue;
        }
        const int64_t task = f.task.value_or(0);
        if (task != pending_task) flush();
        pending_task = task;
        pending.push_back(std::move(f));
        if (static_cast<int64_t>(pending.size()) == batch) flush();
        if (learned >= batches) break;
      }
    }
    flush();
    lua_createtable(L, 0, 5);
    set_int(L, "batches", learned);
    set_int(L, "frames", frames_used);
    set_int(L, "skipped", unlabelled);
    lua_pushnumber(L,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    lua_setfield(L, -2, "seconds");
    lua_pushnumber(L, loss);
    lua_setfield(L, -2, "loss_real");
    return 1;
  });
}

void open_stream(lua_State* L) {
  const luaL_Reg methods[] = {
      {"counters", l_counters}, {"endpoint", l_endpoint}, {"close", l_close}, {nullptr, nullptr}};
  register_type<SensorBridge>(L, kStreamMeta, methods);
  lua_pushcfunction(L, l_stream);
  lua_setfield(L, -2, "stream");
}

}  // namespace engram::lua
