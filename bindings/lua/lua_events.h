// Event handlers of Lua curricula: a script function that the runtime runs as a coroutine
// (runtime/lua_coroutine.h) and resumes on each event while it learns from a stream
// (`rt:learn_stream(stream, { on = handler, every = N, quiet = T })`).
//
// The handler receives one table per event (as its argument the first time, as the result of
// coroutine.yield afterwards):
//   { kind = "examples" | "quiet" | "new_class" | "new_task" | "phase_end",
//     learned = <frames learned by the call so far>, batches = <batches learned so far>,
//     task = <task id of the batch just learned>, class = <the new class, new_class only> }
// and answers with what it yields:
//   nothing or nil                    go on
//   "stop"                            stop: no further batch is learned
//   { replay = <spec>, stop = <bool> }  the replay of the following batches (a number of
//                                       recollections per batch or a table of replay options,
//                                       as rt:learn's `replay`: lua_replay.h), and/or stop
// When the function returns (its return value is read as a last reply), the call stops, and
// it is resumed no more (phase_end included). It may call runtime methods (rt:consolidate(),
// rt:snapshot(...)) but not start another handler. The engine's instruction and memory
// budgets apply: the handler runs inside the entry of the script that called learn_stream.
#pragma once

#include <lua.hpp>

#include <functional>
#include <optional>
#include <string>

#include "modules/session/session.h"
#include "modules/session/stream_learning.h"
#include "runtime/lua_coroutine.h"
#include "runtime/lua_engine.h"
#include "runtime/status.h"

namespace engram::lua {

class LuaEventHandler {
 public:
  // Pops the function on top of engine.state()'s stack (popped even on error) and wraps it.
  // Call on the engine's main thread. Replay replies are read for `session` (a sampler
  // function sees what it has learned), which must outlive the handler. Errors:
  // invalid_argument (not a function), budget_exceeded.
  static Expected<LuaEventHandler> from_stack(LuaEngine& engine, Session& session);

  // Resumes the handler with `event` and reads its reply. After the function returned, every
  // further event is answered with stop and the function is not run. Errors: the handler's
  // (script_error with `file.lua:LINE: message` and a traceback, budget_exceeded, closed), or a
  // reply that is none of the above (script_error naming the line of the yield, or where the
  // function is defined when it returned); the handler is done after any error.
  Expected<EventReply> handle(const LearningEvent& event);

  // True once the function returned or failed.
  bool done() const { return co_.done() || failed_; }

 private:
  LuaEventHandler(LuaCoroutine co, Session& session, std::string defined_at)
      : co_(std::move(co)), session_(&session), defined_at_(std::move(defined_at)) {}
  // The reply in the values the last resume left on the coroutine's stack.
  Expected<EventReply> read_reply(bool finished);
  // "file.lua:LINE" of the yield the coroutine is suspended in, or of the function's
  // definition once it returned.
  std::string reply_position(bool finished) const;

  LuaCoroutine co_;
  Session* session_;
  std::string defined_at_;  // "file.lua:LINE" where the function was defined
  bool failed_ = false;     // its last reply could not be read
};

// Raises a handler's failure `s` (from LuaEventHandler::handle) in L, the thread that called
// the learning function: its message as it is (it starts with the handler's `file.lua:LINE`),
// and a budget failure as a memory error, so that the script's entry ends with budget_exceeded
// rather than script_error (an exceeded instruction budget or an interrupt is reported as such
// by the engine whatever is raised). Never returns.
int raise_handler_error(lua_State* L, const Status& s);

// Whether the options table at `index` has an event handler: `on` nil (no) or a function (yes;
// then the call must come from the script's main thread, see LuaCoroutine). Raises a Lua error
// naming `what`.on otherwise.
bool check_event_handler(lua_State* L, int index, const char* what);

// Runs `call` with a hook that resumes the handler options[index].on (a null hook when
// has_handler is false). The handler lives for the call only. When the call fails, the error is
// raised in L (as the handler's own error when it came from the handler). Use in a function
// called from Lua.
template <typename T>
T call_with_event_handler(lua_State* L, int index, bool has_handler, Session& session,
                          const std::function<Expected<T>(LearningEventHook)>& call) {
  bool handler_failed = false;
  Expected<T> result = [&]() -> Expected<T> {
    std::optional<LuaEventHandler> handler;
    LearningEventHook hook;
    if (has_handler) {
      lua_getfield(L, index, "on");
      auto made = LuaEventHandler::from_stack(LuaEngine::from_state(L), session);
      if (!made.ok()) return made.status();
      handler.emplace(std::move(made).value());
      hook = [&handler, &handler_failed](const LearningEvent& e) {
        auto reply = handler->handle(e);
        handler_failed = !reply.ok();
        return reply;
      };
    }
    return call(hook);
  }();
  if (!result.ok()) {
    if (handler_failed) raise_handler_error(L, result.status());
    luaL_error(L, "%s", result.status().message().c_str());
  }
  return std::move(result).value();
}

}  // namespace engram::lua
