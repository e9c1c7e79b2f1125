// Event handlers of Lua curricula (bindings/lua/lua_events.h): rt:learn_stream resumes the
// handler coroutine on each event kind, "stop" and a returning handler stop the call, a replay
// table changes the following batches, and a handler's errors (its own, a bad reply, the
// instruction and memory budgets) carry the script line, lose no frame and leave the runtime
// learning afterwards; a handler may consolidate and snapshot between batches. Frames come over a
// real socket from a publisher the script drives through a host function, publish(task, n).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_userdata.h"
#include "tests/integration/stream_test_util.h"
#include "tests/modules/lua_test_engine.h"
#include "tests/temp_dir.h"

namespace engram {
namespace {

using test::contains;

// An engine with the engram module, globals `rt` (a runtime over the bars images, 2 tasks, raw
// replay) and `stream` (a bridge on a free port), and publish(task, n): sends the first n
// training images of task t's classes {2t, 2t+1} as frames of task t.
struct StreamLua : test::LuaTestEngine {
  std::shared_ptr<const ImageDataset> data = test::bars();
  std::unique_ptr<test::FramePublisher> pub;
  uint64_t published = 0;

  StreamLua() : LuaTestEngine("events.lua") {
    auto pushed = engine.protect(0, [this](lua_State* L) {
      lua::push_shared(L, data, lua::kDatasetMeta);
      lua_setglobal(L, "ds");
      return 0;
    });
    REQUIRE(pushed.ok());
    run("rt = engram.runtime{ dataset = ds, tasks = 2, neocortex = { hidden = {32} },\n"
        "                     memory = { kind = 'raw', budget_bytes = 4000 } }\n"
        "stream = engram.stream{ endpoint = 'tcp://127.0.0.1:0', values = 64, classes = 4 }\n"
        "endpoint = stream:endpoint()\n");
    pub = std::make_unique<test::FramePublisher>(std::get<std::string>(global("endpoint")));
    Status s = engine.register_closure("publish", [this](lua_State* L) {
      const int task = static_cast<int>(luaL_checkinteger(L, 1));
      const size_t n = static_cast<size_t>(luaL_checkinteger(L, 2));
      publish(task, n);
      return 0;
    });
    REQUIRE(s.ok());
  }
  void publish(int task, size_t n) {
    pub->send_all(*data, test::of_classes(*data, {2 * task, 2 * task + 1}, n), task);
    published += n;
  }
  // Publishes and waits until the bridge accepted everything published so far.
  void publish_and_wait(int task, size_t n) {
    publish(task, n);
    REQUIRE(test::eventually([&] { return counter("accepted") == published; }));
  }
  uint64_t counter(const std::string& name) {
    run("counter_value = stream:counters()." + name);
    return static_cast<uint64_t>(std::get<int64_t>(global("counter_value")));
  }
  // The bridge's counters reconcile: accepted = learned + skipped + queued + held + dropped.
  bool reconciles() {
    return counter("accepted") == counter("learned") + counter("skipped") + counter("queued") +
                                      counter("held") + counter("dropped");
  }
  std::string text(const std::string& name) { return std::get<std::string>(global(name)); }
  int64_t integer(const std::string& name) { return std::get<int64_t>(global(name)); }
};

}  // namespace

TEST_CASE("the handler is resumed on each event kind, between batches") {
  StreamLua lua;
  lua.publish_and_wait(0, 20);
  lua.run(
      "local seen = {}\n"
      "local function handler(ev)\n"
      "  local quiet = 0\n"
      "  while true do\n"
      "    local s = ev.kind .. ':' .. ev.learned\n"
      "    if ev.task then s = s .. ':t' .. ev.task end\n"
      "    if ev.class then s = s .. ':c' .. ev.class end\n"
      "    seen[#seen + 1] = s\n"
      "    local reply\n"
      "    if ev.kind == 'quiet' then\n"
      "      quiet = quiet + 1\n"
      "      if quiet == 1 then publish(1, 16) else reply = 'stop' end\n"
      "    end\n"
      "    ev = coroutine.yield(reply)\n"
      "  end\n"
      "end\n"
      "r = rt:learn_stream(stream, { batch = 8, replay = 4, every = 16, quiet = 0.3,\n"
      "                              timeout = 5, on = handler })\n"
      "log = table.concat(seen, ' ')\n"
      "stopped, events, frames = r.stopped, r.events, r.frames\n");
  CHECK(lua.text("log") ==
        "new_task:8:t0 new_class:8:t0:c0 new_class:8:t0:c1 examples:16:t0 quiet:20 "
        "new_task:28:t1 new_class:28:t1:c2 new_class:28:t1:c3 examples:36:t1 quiet:36 "
        "phase_end:36");
  CHECK(std::get<bool>(lua.global("stopped")));
  CHECK(lua.integer("events") == 11);
  CHECK(lua.integer("frames") == 36);
  CHECK(lua.counter("learned") == 36);
  CHECK(lua.reconciles());
}

TEST_CASE("\"stop\" or a handler that returns stops the call; the rest stays queued") {
  StreamLua lua;
  lua.publish_and_wait(0, 40);
  SUBCASE("yield 'stop'") {
    lua.run(
        "kinds = ''\n"
        "r = rt:learn_stream(stream, { batch = 8, every = 8, timeout = 1, on = function(ev)\n"
        "  while true do\n"
        "    kinds = kinds .. ev.kind .. ' '\n"
        "    ev = coroutine.yield(ev.kind == 'examples' and ev.learned == 16 and 'stop' or nil)\n"
        "  end\n"
        "end })\n"
        "frames, stopped = r.frames, r.stopped\n");
    CHECK(lua.text("kinds") == "new_task new_class new_class examples examples phase_end ");
    CHECK(lua.integer("frames") == 16);
  }
  SUBCASE("a table { stop = true }") {
    lua.run(
        "r = rt:learn_stream(stream, { batch = 8, every = 8, timeout = 1, on = function(ev)\n"
        "  while ev.learned < 16 do ev = coroutine.yield({ stop = false }) end\n"
        "  coroutine.yield({ stop = true })\n"
        "end })\n"
        "frames, stopped = r.frames, r.stopped\n");
    CHECK(lua.integer("frames") == 16);
  }
  SUBCASE("the handler returns: it is resumed no more, phase_end included") {
    lua.run(
        "calls = 0\n"
        "r = rt:learn_stream(stream, { batch = 8, every = 8, timeout = 1, on = function(ev)\n"
        "  calls = calls + 1\n"
        "  while ev.learned < 16 do calls = calls + 1; ev = coroutine.yield() end\n"
        "end })\n"
        "frames, stopped = r.frames, r.stopped\n");
    CHECK(lua.integer("frames") == 16);
  }
  CHECK(std::get<bool>(lua.global("stopped")));
  CHECK(lua.counter("learned") == 16);
  CHECK(lua.counter("queued") == 24);
  CHECK(lua.reconciles());
}

TEST_CASE("a handler consolidates and snapshots between batches") {
  StreamLua lua;
  test::TempDir dir;
  lua.publish_and_wait(0, 32);
  lua.run("path = '" + dir.file("quiet.engram") +
          "'\n"
          "sleeps = 0\n"
          "r = rt:learn_stream(stream, { batch = 8, every = 16, quiet = 0.3, timeout = 5,\n"
          "  on = function(ev)\n"
          "    while true do\n"
          "      if ev.kind == 'examples' then\n"
          "        local s = rt:consolidate { steps = 3, batch = 16, progress = false }\n"
          "        sleeps = sleeps + s.iterations\n"
          "      elseif ev.kind == 'quiet' then\n"
          "        rt:snapshot(path, { learned = ev.learned })\n"
          "        return 'stop'\n"
          "      end\n"
          "      ev = coroutine.yield()\n"
          "    end\n"
          "  end })\n"
          "local rt2, state = engram.restore(path, { dataset = ds })\n"
          "restored_learned = state.learned\n"
          "rt2:close()\n");
  CHECK(lua.integer("sleeps") == 6);  // two examples events, 3 steps each
  CHECK(lua.integer("restored_learned") == 32);
  CHECK(lua.counter("learned") == 32);
  CHECK(lua.reconciles());
}

TEST_CASE("a replay table in a reply changes the batches that follow") {
  StreamLua lua;
  lua.publish_and_wait(0, 16);
  lua.publish_and_wait(1, 32);
  lua.run(
      "sampler_calls = 0\n"
      "local function weights(info)\n"
      "  sampler_calls = sampler_calls + 1\n"
      "  return { class = { [0] = 1, [1] = 3 } }\n"
      "end\n"
      "r = rt:learn_stream(stream, { batch = 8, replay = 0, every = 8, timeout = 1,\n"
      "  on = function(ev)\n"
      "    while true do\n"
      "      local reply\n"
      "      if ev.kind == 'new_task' and ev.task == 1 then\n"
      "        reply = { replay = { per_batch = 5, sampler = weights } }\n"
      "      end\n"
      "      ev = coroutine.yield(reply)\n"
      "    end\n"
      "  end })\n"
      "recalled, batches = r.recalled, r.batches\n");
  CHECK(lua.integer("batches") == 6);
  // 2 batches of task 0 and the first of task 1 without replay, then 3 batches of 5.
  CHECK(lua.integer("recalled") == 15);
  CHECK(lua.integer("sampler_calls") == 1);  // once for the phase, never per batch or sample
  CHECK(lua.reconciles());
}

TEST_CASE("a handler error carries file.lua:LINE; no frame is lost and learning goes on") {
  StreamLua lua;
  lua.publish_and_wait(0, 40);
  lua.run(
      "ok, err = pcall(rt.learn_stream, rt, stream, { batch = 8, every = 16, timeout = 1,\n"
      "  on = function(ev)\n"
      "    while true do\n"
      "      if ev.kind == 'examples' then error('no consolidation today') end\n"
      "      ev = coroutine.yield()\n"
      "    end\n"
      "  end })\n");
  CHECK_FALSE(std::get<bool>(lua.global("ok")));
  const std::string err = lua.text("err");
  CHECK_MESSAGE(contains(err, "events.lua:4: no consolidation today"), err);
  CHECK(lua.counter("learned") == 16);
  CHECK(lua.counter("queued") == 24);
  CHECK(lua.counter("held") == 0);
  CHECK(lua.reconciles());
  lua.run("r = rt:learn_stream(stream, { batch = 8, timeout = 0.5 })\nframes = r.frames\n");
  CHECK(lua.integer("frames") == 24);
  CHECK(lua.counter("learned") == 40);
  CHECK(lua.reconciles());
}

TEST_CASE("a reply the runtime cannot read is an error naming the line of the yield") {
  StreamLua lua;
  lua.publish_and_wait(0, 48);
  // Each call learns one batch, then its first event (new_task, then examples) gets the reply.
  auto reply_error = [&](const std::string& reply) {
    return lua.error(
        "rt:learn_stream(stream, { batch = 8, every = 8, timeout = 1,\n"
        "  on = function(ev) coroutine.yield(" +
        reply + ") end })\n");
  };
  std::string m = reply_error("42");
  CHECK_MESSAGE(contains(m,
                         "events.lua:2: event handler yielded a number; a reply is nothing, "
                         "\"stop\" or a table"),
                m);
  m = reply_error("'halt'");
  CHECK_MESSAGE(contains(m, "events.lua:2: event handler yielded \"halt\""), m);
  m = reply_error("{ replya = 3 }");
  CHECK_MESSAGE(contains(m,
                         "events.lua:2: event handler reply: unknown field 'replya' (did you "
                         "mean 'replay'?)"),
                m);
  m = reply_error("{ replay = -1 }");
  CHECK_MESSAGE((contains(m, "events.lua:2: ") && contains(m, "per_batch")), m);
  m = reply_error("{ replay = { sampler = 'loudest' } }");
  CHECK_MESSAGE((contains(m, "events.lua:2: ") && contains(m, "loudest")), m);
  m = reply_error("'stop', 'now'");
  CHECK_MESSAGE(contains(m, "events.lua:2: event handler yielded 2 values"), m);
  CHECK(lua.counter("learned") == 48);
  CHECK(lua.counter("held") == 0);
  CHECK(lua.reconciles());
}

TEST_CASE("the instruction budget stops a handler that loops forever") {
  StreamLua lua;
  lua.publish_and_wait(0, 40);
  lua.engine.set_max_instructions(20'000'000);
  Status s = lua.engine.run_string(
      "rt:learn_stream(stream, { batch = 8, every = 16, timeout = 1, on = function(ev)\n"
      "  while true do\n"
      "    if ev.kind == 'examples' then\n"
      "      pcall(function() while true do end end)  -- pcall cannot swallow the kill\n"
      "    end\n"
      "    ev = coroutine.yield()\n"
      "  end\n"
      "end })\n",
      "events.lua");
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(contains(s.message(), "events.lua:4: instruction budget of 20000000 exceeded"),
                s.message());
  CHECK(lua.counter("learned") == 16);
  CHECK(lua.counter("held") == 0);
  CHECK(lua.reconciles());
  // The next entry has a fresh budget; the runtime learns the frames given back.
  lua.run("r = rt:learn_stream(stream, { batch = 8, timeout = 0.5 })\nframes = r.frames\n");
  CHECK(lua.integer("frames") == 24);
  CHECK(lua.reconciles());
}

TEST_CASE("the memory budget stops a handler that hoards") {
  StreamLua lua;
  lua.publish_and_wait(0, 24);
  lua.engine.set_max_memory_bytes(size_t{32} << 20);
  Status s = lua.engine.run_string(
      "rt:learn_stream(stream, { batch = 8, timeout = 1, on = function(ev)\n"
      "  local t = {}\n"
      "  for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n"
      "end })\n",
      "events.lua");
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == ErrorCode::budget_exceeded);
  CHECK_MESSAGE(contains(s.message(), "memory budget of 33554432 bytes"), s.message());
  lua.engine.collect_garbage();
  CHECK(lua.counter("learned") == 8);
  CHECK(lua.reconciles());
  lua.run("r = rt:learn_stream(stream, { batch = 8, timeout = 0.5 })\nframes = r.frames\n");
  CHECK(lua.integer("frames") == 16);
}

TEST_CASE("learn_stream's event options are checked") {
  StreamLua lua;
  CHECK(contains(lua.error("rt:learn_stream(stream, { every = 10 })"),
                 "every and quiet need an event handler (on)"));
  CHECK(contains(lua.error("rt:learn_stream(stream, { on = 3 })"),
                 "learn_stream options.on must be a function (the event handler), got number"));
  CHECK(contains(
      lua.error("rt:learn_stream(stream, { on = function() end, quiet = 2, timeout = 1 })"),
      "quiet (2 s) must be below timeout (1 s)"));
  CHECK(contains(lua.error("rt:learn_stream(stream, { on = function() end, evry = 2 })"),
                 "unknown field 'evry' (did you mean 'every'?)"));
  CHECK(contains(lua.error("coroutine.wrap(function()\n"
                           "  rt:learn_stream(stream, { on = function() end })\n"
                           "end)()\n"),
                 "events.lua:2: learn_stream options.on: an event handler needs the call made "
                 "from the script's main thread"));
}

}  // namespace engram
