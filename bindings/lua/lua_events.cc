#include "bindings/lua/lua_events.h"

#include <utility>

#include "bindings/lua/lua_replay.h"
#include "bindings/lua/lua_table.h"

namespace engram::lua {
namespace {

constexpr const char* kReplyForms = "nothing, \"stop\" or a table { replay = ..., stop = true }";

// "file.lua:LINE" of the function at `index` of L's stack (not popped), "?" if unknown.
std::string definition_of(lua_State* L, int index) {
  lua_Debug ar;
  lua_pushvalue(L, index);
  if (lua_getinfo(L, ">S", &ar) == 0) return "?";
  return std::string(ar.short_src) + ":" + std::to_string(ar.linedefined);
}

// Reads the reply table on top of S (a protect() body): stop and replay.
EventReply read_reply_table(lua_State* S, Session& session) {
  const int t = lua_gettop(S);
  const char* what = "event handler reply";
  check_keys(S, t, what, {"replay", "stop"});
  EventReply reply;
  lua_pushliteral(S, "stop");
  const int stop = lua_rawget(S, t);
  if (stop == LUA_TBOOLEAN) {
    reply.stop = lua_toboolean(S, -1) != 0;
  } else if (stop != LUA_TNIL) {
    luaL_error(S, "%s: stop must be a boolean, got %s", what, lua_typename(S, stop));
  }
  lua_pop(S, 1);
  lua_pushliteral(S, "replay");
  if (lua_rawget(S, t) != LUA_TNIL)
    reply.replay = read_replay(S, -1, "event handler reply: replay", session);
  lua_pop(S, 1);
  return reply;
}

}  // namespace

Expected<LuaEventHandler> LuaEventHandler::from_stack(LuaEngine& engine, Session& session) {
  lua_State* L = engine.state();
  std::string defined_at = "?";
  if (lua_gettop(L) >= 1 && lua_type(L, -1) == LUA_TFUNCTION) defined_at = definition_of(L, -1);
  auto co = LuaCoroutine::from_stack(engine);
  if (!co.ok()) {
    return Status(co.status().code(), "event handler: " + co.status().message());
  }
  return LuaEventHandler(std::move(co).value(), session, std::move(defined_at));
}

Expected<EventReply> LuaEventHandler::handle(const LearningEvent& event) {
  if (failed_) {
    return Status(ErrorCode::invalid_argument, "event handler: it failed and cannot be resumed");
  }
  if (co_.done()) {
    EventReply finished;
    finished.stop = true;
    return finished;
  }
  auto state = co_.resume_with([&event](lua_State* S) {
    lua_createtable(S, 0, 5);
    lua_pushstring(S, event_name(event.kind));
    lua_setfield(S, -2, "kind");
    set_int(S, "learned", event.learned);
    set_int(S, "batches", event.batches);
    if (event.task >= 0) set_int(S, "task", event.task);
    if (event.class_id >= 0) set_int(S, "class", event.class_id);
    return 1;
  });
  if (!state.ok()) {
    failed_ = true;
    return state.status();
  }
  return read_reply(state->finished());
}

Expected<EventReply> LuaEventHandler::read_reply(bool finished) {
  lua_State* T = co_.thread();
  const int n = co_.value_count();
  auto bad = [&](const std::string& what) {
    failed_ = true;  // a reply it cannot mean is an error, not a guess: nothing more runs
    return Status(ErrorCode::script_error, reply_position(finished) + ": event handler " +
                                               (finished ? "returned " : "yielded ") + what +
                                               "; a reply is " + kReplyForms);
  };
  EventReply reply;
  reply.stop = finished;
  if (n == 0) return reply;
  if (n > 1) return bad(std::to_string(n) + " values");
  const int top = lua_gettop(T);
  switch (lua_type(T, top)) {
    case LUA_TNIL: return reply;
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(T, top, &len);  // a string: read in place, no conversion
      const std::string text(s, len);
      if (text == "stop") {
        reply.stop = true;
        return reply;
      }
      return bad("\"" + text + "\"");
    }
    case LUA_TTABLE: break;
    default: return bad(std::string("a ") + lua_typename(T, lua_type(T, top)));
  }
  // The table is read on the main thread, in protected mode and with raw access (no script
  // metamethod runs outside the handler's own resume).
  LuaEngine& engine = LuaEngine::from_state(T);
  lua_State* L = engine.state();
  if (!lua_checkstack(T, 1) || !lua_checkstack(L, 2)) {
    failed_ = true;
    return Status(ErrorCode::budget_exceeded, "event handler: Lua stack exhausted");
  }
  lua_pushvalue(T, top);
  lua_xmove(T, L, 1);
  EventReply read;
  Expected<int> done = engine.protect(1, [this, &read](lua_State* S) {
    read = read_reply_table(S, *session_);
    return 0;
  });
  if (!done.ok()) {
    failed_ = true;
    return Status(done.status().code(), reply_position(finished) + ": " + done.status().message());
  }
  read.stop = read.stop || finished;
  return read;
}

std::string LuaEventHandler::reply_position(bool finished) const {
  if (!finished && co_.thread() != nullptr) {
    // Level 0 is coroutine.yield itself (a C function): the first level with a line is the
    // script line that yielded.
    lua_Debug ar;
    for (int level = 0; lua_getstack(co_.thread(), level, &ar) != 0; ++level) {
      if (lua_getinfo(co_.thread(), "Sl", &ar) != 0 && ar.currentline > 0) {
        return std::string(ar.short_src) + ":" + std::to_string(ar.currentline);
      }
    }
  }
  return defined_at_;
}

int raise_handler_error(lua_State* L, const Status& s) {
  if (s.code() == ErrorCode::budget_exceeded) {
    // Lua raises a memory error (LUA_ERRMEM) for its own out-of-memory message; the string is
    // preallocated, so pushing it needs no memory.
    lua_pushliteral(L, "not enough memory");
    return lua_error(L);
  }
  lua_pushlstring(L, s.message().data(), s.message().size());
  return lua_error(L);
}

bool check_event_handler(lua_State* L, int index, const char* what) {
  const int on = lua_getfield(L, index, "on");
  lua_pop(L, 1);
  if (on == LUA_TNIL) return false;
  if (on != LUA_TFUNCTION) {
    luaL_error(L, "%s.on must be a function (the event handler), got %s", what,
               lua_typename(L, on));
  }
  // LuaCoroutine resumes from the engine's main thread: a handler started from inside a
  // coroutine (or from another handler) would resume from the wrong one.
  const bool main_thread = lua_pushthread(L) == 1;
  lua_pop(L, 1);
  if (!main_thread) {
    luaL_error(L,
               "%s.on: an event handler needs the call made from the script's main thread, not "
               "from a coroutine or another handler",
               what);
  }
  return true;
}

}  // namespace engram::lua
