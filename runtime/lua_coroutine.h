// LuaCoroutine: a script function running as a coroutine that the host resumes on events
// ("N samples arrived", "the sensor went quiet"), possibly long after it yielded.
#pragma once

#include <lua.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/lua_engine.h"
#include "runtime/lua_value.h"
#include "runtime/status.h"

namespace engram {

enum class CoroutineStatus { yielded, finished };

// The outcome of one successful resume.
struct CoroutineState {
  CoroutineStatus status = CoroutineStatus::finished;
  // Values passed to coroutine.yield, or returned by the function when it finished; values
  // with no scalar form read as nil here (see LuaCoroutine::thread()).
  std::vector<LuaValue> values;

  bool yielded() const { return status == CoroutineStatus::yielded; }
  bool finished() const { return status == CoroutineStatus::finished; }
};

// Pushes resume arguments onto L (the engine's main thread) and returns how many. It runs in
// protected mode: it may raise Lua errors or throw std::exception.
using LuaArgPusher = std::function<int(lua_State* L)>;

// Owns one Lua thread, anchored in the registry while this object lives. Movable, not copyable.
// Must be destroyed before its engine, on the engine's thread.
class LuaCoroutine {
 public:
  // Pops the function on top of engine.state()'s stack (popped even on error) and wraps it.
  static Expected<LuaCoroutine> from_stack(LuaEngine& engine);
  // Wraps global function `name`; not_found if it is not a function.
  static Expected<LuaCoroutine> from_global(LuaEngine& engine, const std::string& name);
  // Compiles a chunk (see LuaEngine::load_string) and wraps it; the first resume runs it.
  static Expected<LuaCoroutine> from_chunk(LuaEngine& engine, std::string_view code,
                                           const std::string& chunk_name);

  LuaCoroutine(LuaCoroutine&& other) noexcept;
  LuaCoroutine& operator=(LuaCoroutine&& other) noexcept;
  LuaCoroutine(const LuaCoroutine&) = delete;
  LuaCoroutine& operator=(const LuaCoroutine&) = delete;
  // Closes pending to-be-closed variables of a suspended coroutine and releases the thread.
  ~LuaCoroutine();

  // Starts the coroutine (args become the function's parameters) or continues it after a
  // yield (args become the results of coroutine.yield), under a fresh instruction budget
  // unless called from inside a running script. Errors: as LuaEngine::call, with a traceback
  // of the coroutine's stack; after an error the coroutine is done. invalid_argument if the
  // coroutine is already done.
  Expected<CoroutineState> resume(const std::vector<LuaValue>& args = {});
  // As resume(), with arguments of any type pushed by push_args.
  Expected<CoroutineState> resume_with(const LuaArgPusher& push_args);

  // True once the coroutine finished or failed; it cannot be resumed any more.
  bool done() const { return done_; }
  // The coroutine's Lua thread. After a resume its top value_count() slots hold the values
  // of CoroutineState (tables included) until the next resume; read them, do not pop them.
  lua_State* thread() const { return thread_; }
  int value_count() const { return pending_; }
  // Where the function was defined, e.g. "demo.lua" (used in memory budget messages).
  const std::string& name() const { return name_; }

 private:
  LuaCoroutine(LuaEngine* engine, lua_State* thread, int ref, std::string name)
      : engine_(engine), thread_(thread), ref_(ref), name_(std::move(name)) {}
  void release();
  Status fail(int lua_status);

  LuaEngine* engine_ = nullptr;
  lua_State* thread_ = nullptr;
  int ref_ = LUA_NOREF;
  std::string name_;
  int pending_ = 0;  // values left on thread_ by the last resume
  bool started_ = false;
  bool done_ = false;
};

}  // namespace engram
