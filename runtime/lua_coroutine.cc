#include "runtime/lua_coroutine.h"

#include <utility>

#include "runtime/lua_sandbox.h"

namespace engram {

Expected<LuaCoroutine> LuaCoroutine::from_stack(LuaEngine& engine) {
  lua_State* L = engine.state();
  if (lua_gettop(L) < 1) {
    return Status(ErrorCode::invalid_argument, "coroutine: the stack holds no function");
  }
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return Status(ErrorCode::invalid_argument,
                  "coroutine: the value on the stack is not a function");
  }
  std::string name = "?";
  lua_Debug ar;
  lua_pushvalue(L, -1);
  if (lua_getinfo(L, ">S", &ar)) name = ar.short_src;
  lua_State* thread = nullptr;
  int ref = LUA_NOREF;
  Expected<int> made = engine.protect(1, [&](lua_State* S) {
    lua_State* co = lua_newthread(S);
    lua_pushvalue(S, 1);
    push_coroutine_body(S, &LuaEngine::message_handler);
    lua_xmove(S, co, 1);
    ref = luaL_ref(S, LUA_REGISTRYINDEX);  // pops the thread
    thread = co;
    return 0;
  });
  if (!made.ok()) return made.status();
  return LuaCoroutine(&engine, thread, ref, std::move(name));
}

Expected<LuaCoroutine> LuaCoroutine::from_global(LuaEngine& engine, const std::string& name) {
  lua_State* L = engine.state();
  Expected<int> pushed = engine.protect(0, [&](lua_State* S) {
    lua_rawgeti(S, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushlstring(S, name.data(), name.size());
    lua_rawget(S, -2);
    lua_remove(S, -2);
    return 1;
  });
  if (!pushed.ok()) return pushed.status();
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return Status(ErrorCode::not_found, "no global function '" + name + "'");
  }
  return from_stack(engine);
}

Expected<LuaCoroutine> LuaCoroutine::from_chunk(LuaEngine& engine, std::string_view code,
                                                const std::string& chunk_name) {
  Status loaded = engine.load_string(code, chunk_name);
  if (!loaded.ok()) return loaded;
  return from_stack(engine);
}

LuaCoroutine::LuaCoroutine(LuaCoroutine&& other) noexcept
    : engine_(std::exchange(other.engine_, nullptr)),
      thread_(std::exchange(other.thread_, nullptr)),
      ref_(std::exchange(other.ref_, LUA_NOREF)),
      name_(std::move(other.name_)),
      pending_(std::exchange(other.pending_, 0)),
      started_(other.started_),
      done_(std::exchange(other.done_, true)) {}

LuaCoroutine& LuaCoroutine::operator=(LuaCoroutine&& other) noexcept {
  if (this != &other) {
    release();
    engine_ = std::exchange(other.engine_, nullptr);
    thread_ = std::exchange(other.thread_, nullptr);
    ref_ = std::exchange(other.ref_, LUA_NOREF);
    name_ = std::move(other.name_);
    pending_ = std::exchange(other.pending_, 0);
    started_ = other.started_;
    done_ = std::exchange(other.done_, true);
  }
  return *this;
}

LuaCoroutine::~LuaCoroutine() { release(); }

void LuaCoroutine::release() {
  if (engine_ == nullptr) return;
  if (started_ && !done_) {
    // Runs __close handlers of the suspended function, under the budget like any entry.
    LuaEngine::Entry entry(*engine_);
    lua_resetthread(thread_);
  }
  const int ref = ref_;
  // luaL_unref may allocate: protected, and if it fails the thread merely stays anchored.
  (void)engine_->protect(0, [ref](lua_State* S) {
    luaL_unref(S, LUA_REGISTRYINDEX, ref);
    return 0;
  });
  engine_ = nullptr;
  thread_ = nullptr;
  ref_ = LUA_NOREF;
  done_ = true;
}

Expected<CoroutineState> LuaCoroutine::resume(const std::vector<LuaValue>& args) {
  return resume_with([&args](lua_State* L) {
    luaL_checkstack(L, static_cast<int>(args.size()), "too many coroutine arguments");
    for (const LuaValue& v : args) push_lua_value(L, v);
    return static_cast<int>(args.size());
  });
}

Expected<CoroutineState> LuaCoroutine::resume_with(const LuaArgPusher& push_args) {
  if (engine_ == nullptr || done_) {
    return Status(ErrorCode::invalid_argument,
                  "coroutine " + name_ + " is done and cannot be resumed");
  }
  lua_State* L = engine_->state();
  lua_pop(thread_, pending_);  // Lua wants the yielded values gone before the next resume
  pending_ = 0;
  Expected<int> pushed = engine_->protect(0, [&push_args](lua_State* S) { return push_args(S); });
  if (!pushed.ok()) return pushed.status();
  const int nargs = pushed.value();
  if (!lua_checkstack(thread_, nargs + 1)) {
    lua_pop(L, nargs);
    return Status(ErrorCode::budget_exceeded, "coroutine " + name_ + ": Lua stack exhausted");
  }
  lua_xmove(L, thread_, nargs);

  LuaEngine::Entry entry(*engine_);  // open until the Status is built (kill state)
  started_ = true;
  int nres = 0;
  const int status = lua_resume(thread_, L, nargs, &nres);
  if (status != LUA_OK && status != LUA_YIELD) return fail(status);
  CoroutineState state;
  state.status = status == LUA_YIELD ? CoroutineStatus::yielded : CoroutineStatus::finished;
  const int first = lua_gettop(thread_) - nres + 1;
  for (int i = first; i <= lua_gettop(thread_); ++i) {
    state.values.push_back(to_lua_value(thread_, i));
  }
  pending_ = nres;
  done_ = status == LUA_OK;
  return state;
}

// The coroutine died with the error object on top of its stack; the protected body of
// push_coroutine_body already added the traceback while that stack was intact. Memory errors
// get no message handler call and reach us re-raised by that body as plain runtime errors
// carrying Lua's fixed out-of-memory message: map them back to LUA_ERRMEM.
Status LuaCoroutine::fail(int lua_status) {
  done_ = true;
  std::string text = LuaEngine::error_text(thread_, -1);
  lua_resetthread(thread_);
  if (lua_status == LUA_ERRRUN && text == "not enough memory") lua_status = LUA_ERRMEM;
  return engine_->error_status(lua_status, text, name_);
}

}  // namespace engram
