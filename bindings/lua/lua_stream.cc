#include "bindings/lua/lua_stream.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "bindings/lua/lua_events.h"
#include "bindings/lua/lua_progress.h"
#include "bindings/lua/lua_replay.h"
#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "io/sensors/sensor_bridge.h"
#include "modules/session/session.h"
#include "modules/session/stream_learning.h"
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

// stream:counters() -> {received, accepted, malformed, non_finite, out_of_range, dropped,
//                       learned, skipped, queued, held, gaps, out_of_order, auth_denied,
//                       last_error}. They reconcile (io/sensors/sensor_bridge.h):
//   received = accepted + malformed + non_finite + out_of_range
//   accepted = learned + skipped + queued + held + dropped
int l_counters(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const SensorCounters c = check_shared<SensorBridge>(L, 1, kStreamMeta)->counters();
    lua_createtable(L, 0, 14);
    const std::pair<const char*, uint64_t> counts[] = {{"received", c.received},
                                                       {"accepted", c.accepted},
                                                       {"malformed", c.malformed},
                                                       {"non_finite", c.non_finite},
                                                       {"out_of_range", c.out_of_range},
                                                       {"dropped", c.dropped},
                                                       {"learned", c.learned},
                                                       {"skipped", c.skipped},
                                                       {"queued", c.queued},
                                                       {"held", c.held},
                                                       {"gaps", c.gaps},
                                                       {"out_of_order", c.out_of_order},
                                                       {"auth_denied", c.auth_denied}};
    for (const auto& [name, value] : counts) set_int(L, name, static_cast<int64_t>(value));
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

// rt:learn_stream(stream, {batches, batch, replay, timeout, on, every, quiet, label, progress})
// -> {batches,
// frames, skipped, given_back, skipped_steps, seconds, loss_real, recalled, events, stopped}.
// `replay` is a number of recollections per batch (default 32) or a table of replay options
// (lua_replay.h). Frames become batches of `batch` frames of one task (a task change ends the
// batch); frames without a label are skipped and counted. Returns when `batches` batches were
// learned, no frame arrived for `timeout` seconds, or the event handler `on` stopped it
// (lua_events.h: resumed every `every` frames learned, after `quiet` seconds without a frame,
// on a new class or task, and at the end). Nothing taken from the stream is lost: frames left
// when the call ends, or when the handler fails, stay queued for the next call
// (modules/session/stream_learning.h). A progress bar ("stream", or `label`) counts the batches
// learned out of `batches` unless progress = false; when the call ends early (timeout, stop) its
// last line reports the batches learned as the whole.
int learn_stream(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    // Copies: a handler may close the runtime or the stream while the call uses them.
    const std::shared_ptr<Session> rt = check_shared<Session>(L, 1, kRuntimeMeta);
    const std::shared_ptr<SensorBridge> stream = check_shared<SensorBridge>(L, 2, kStreamMeta);
    const char* what = "learn_stream options";
    StreamLearnOptions o;
    double timeout = 10, quiet = 0;
    bool has_handler = false, show = true;
    std::string label = "stream";
    if (!lua_isnoneornil(L, 3)) {
      check_keys(
          L, 3, what,
          {"batches", "batch", "replay", "timeout", "on", "every", "quiet", "label", "progress"});
      o.batches = opt_integer(L, 3, what, "batches", o.batches, 1, 1LL << 40);
      o.batch = static_cast<int>(opt_integer(L, 3, what, "batch", o.batch, 1, 1 << 16));
      if (lua_getfield(L, 3, "replay") != LUA_TNIL) {
        o.replay = read_replay(L, -1, "learn_stream options.replay", *rt);
      }
      lua_pop(L, 1);
      timeout = opt_number(L, 3, what, "timeout", timeout);
      o.every_examples = opt_int<int64_t>(L, 3, what, "every", 0, 0, 1LL << 40);
      quiet = opt_number(L, 3, what, "quiet", quiet);
      label = opt_string(L, 3, what, "label", label);
      show = opt_boolean(L, 3, what, "progress", show);
      has_handler = check_event_handler(L, 3, what);
    }
    if (!(timeout >= 0 && timeout <= 1e6)) {
      return luaL_error(L, "learn_stream options: timeout must be in [0, 1e6] seconds");
    }
    if (!(quiet >= 0 && quiet <= 1e6)) {
      return luaL_error(L, "learn_stream options: quiet must be in [0, 1e6] seconds");
    }
    if (!has_handler && (o.every_examples > 0 || quiet > 0)) {
      return luaL_error(L, "learn_stream options: every and quiet need an event handler (on)");
    }
    if (quiet > 0 && quiet >= timeout) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "learn_stream options: quiet (%g s) must be below timeout (%g s), or the "
                    "call ends before the stream counts as quiet",
                    quiet, timeout);
      return luaL_error(L, "%s", text);
    }
    o.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
    o.quiet = std::chrono::milliseconds(static_cast<int64_t>(quiet * 1000));
    Progress bar(label, o.batches);
    auto extra = [](const StreamLearnResult& so_far) {
      return fmt::format("{} frames, loss {:.4f}", so_far.frames, so_far.loss_real);
    };
    if (show) {
      o.on_batch = [&](const StreamLearnResult& so_far) {
        if (so_far.batches < o.batches) bar.update(so_far.batches, extra(so_far));
      };
    }
    const StreamLearnResult r = call_with_event_handler<StreamLearnResult>(
        L, 3, has_handler, *rt, [&](LearningEventHook hook) {
          o.on_event = std::move(hook);
          return learn_from_stream(*rt, *stream, o);
        });
    if (show) {
      if (r.batches > 0) bar.set_total(r.batches);
      complete(bar, r.batches, r.batches > 0 ? extra(r) : std::string("no frame learned"));
    }
    lua_createtable(L, 0, 10);
    set_int(L, "batches", r.batches);
    set_int(L, "frames", r.frames);
    set_int(L, "skipped", r.skipped);
    set_int(L, "given_back", r.given_back);
    set_int(L, "skipped_steps", r.skipped_steps);
    set_number(L, "seconds", r.seconds);
    set_number(L, "loss_real", r.loss_real);
    set_int(L, "recalled", r.recalled);
    set_int(L, "events", r.events);
    lua_pushboolean(L, r.stopped);
    lua_setfield(L, -2, "stopped");
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
