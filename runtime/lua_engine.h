// LuaEngine: one sandboxed Lua 5.4 state with an instruction budget, a memory budget and
// errors that read `name.lua:LINE: message` followed by a stack traceback.
//
// Threading: an engine and everything created from it (coroutines, the lua_State) belong to
// one thread at a time. Only interrupt() and clear_interrupt() may be called from any thread.
//
// Exceptions: Lua is built as C++, so a Lua error unwinds as a C++ exception of Lua's own type.
// Every public function catches Lua errors and reports a Status; no exception leaves the engine.
// Host C functions must not let a C++ exception escape into Lua: wrap their body in
// lua_guarded() (register_closure does it for you).
//
// Budgets: the instruction budget counts Lua VM instructions only; work done inside one C call
// (a pathological string.find pattern, a host function) is not counted, though its memory is.
// Scripts cannot escape a kill with pcall, xpcall handlers, coroutines or __close handlers
// (see count_hook and lua_sandbox.h for how).
#pragma once

#include <lua.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/lua_value.h"
#include "runtime/status.h"

namespace engram {

struct LuaLimits {
  // VM instructions one entry from the host (run_*, call, a coroutine resume) may execute;
  // 0 = unlimited. Checked every LuaEngine::kHookInterval instructions.
  uint64_t max_instructions = 0;
  // Bytes the whole state may hold at once (all allocations of the allocator).
  size_t max_memory_bytes = size_t{256} << 20;
};

// Receives one line printed by a script, without the trailing newline.
using LuaPrintSink = std::function<void(std::string_view line)>;
// A host function with state. Returns the number of results it pushed, like a lua_CFunction.
using LuaHostFunction = std::function<int(lua_State* L)>;

// Runs body(L) (which returns a result count) and turns a std::exception it throws into a Lua
// error "<script>.lua:LINE: <what()>". Lua errors raised inside body pass through untouched.
// Use it as the whole body of every lua_CFunction that calls code which may throw.
template <typename F>
int lua_guarded(lua_State* L, F&& body) {
  try {
    return std::forward<F>(body)(L);
  } catch (const std::exception& e) {
    return luaL_error(L, "%s", e.what());
  }
}

class LuaCoroutine;

class LuaEngine {
 public:
  static constexpr int kHookInterval = 1000;  // instructions between two budget checks

  // Creates the sandboxed state described in lua_sandbox.h (base, table, string, math,
  // coroutine and utf8 only; no bytecode; restricted collectgarbage; no __gc from scripts),
  // print to stdout, and xpcall whose message handler is skipped once an entry is killed.
  // Throws std::bad_alloc only if the process itself is out of memory.
  explicit LuaEngine(LuaLimits limits = LuaLimits{});
  // Closes the state. All LuaCoroutine objects of this engine must be destroyed first.
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // --- limits ---
  const LuaLimits& limits() const { return limits_; }
  // New limits apply from the next allocation / the next budget check. A memory limit below
  // memory_used() makes every growing allocation fail until the collector frees enough.
  void set_limits(const LuaLimits& limits) { limits_ = limits; }
  void set_max_instructions(uint64_t n) { limits_.max_instructions = n; }
  void set_max_memory_bytes(size_t n) { limits_.max_memory_bytes = n; }
  // Bytes currently allocated by the state (engine thread only).
  size_t memory_used() const { return memory_used_; }
  // Instructions counted in the current or last entry (a multiple of kHookInterval).
  uint64_t instructions_used() const { return instructions_; }
  // Any thread: stops the running entry (or the next one, if none is running) at its next
  // budget check with ErrorCode::closed "... interrupted by the host". Code blocked inside a
  // host C function is only stopped once it returns to Lua.
  void interrupt() { interrupt_requested_.store(true, std::memory_order_release); }
  // Any thread: withdraws an interrupt that no entry has observed yet.
  void clear_interrupt() { interrupt_requested_.store(false, std::memory_order_release); }
  // Runs a full garbage collection.
  void collect_garbage();

  // --- output ---
  // Where `print` writes. An empty sink discards output. The sink runs on the engine thread;
  // an exception it throws becomes a Lua error at the print call.
  void set_print_sink(LuaPrintSink sink) { print_sink_ = std::move(sink); }
  // A script's warn(...) (and Lua's own warnings, e.g. an error in a __gc metamethod) goes to
  // the log (runtime/log.h) at level warn under the source "lua". On by default; the script
  // turns it off and on again with warn("@off") and warn("@on").

  // --- loading and running ---
  // Compiles Lua source text and pushes the chunk as a function. chunk_name "demo.lua" makes
  // messages read "demo.lua:3: ..." (a leading '@' or '=' is kept as given). Precompiled
  // bytecode is refused (script_error). On error nothing is pushed.
  Status load_string(std::string_view code, const std::string& chunk_name);
  // Reads and compiles a file, chunk name "@<basename>". A first line starting with '#' is
  // skipped. not_found / io_error if it cannot be read; script_error for syntax or bytecode.
  Status load_file(const std::string& path);
  // load_string + call(0, 0).
  Status run_string(std::string_view code, const std::string& chunk_name);
  // load_file + call(0, 0).
  Status run_file(const std::string& path);
  // Calls the function below the nargs arguments on top of state()'s stack (both are popped)
  // under the budgets, which restart for this entry unless it is nested in a running script.
  // Returns the number of results left on the stack (nresults, or all with LUA_MULTRET).
  // Errors: script_error, budget_exceeded (instructions or memory), closed (interrupted),
  // internal (a C++ exception escaped a host function); the message carries the traceback.
  // On error nothing is left on the stack. Call it from host code, or from a host function
  // running on the main thread (not from inside a coroutine).
  Expected<int> call(int nargs, int nresults);
  // Calls global function `name` with scalar arguments and returns its scalar results (as
  // call(); not_found if the global is not a function). Leaves the stack as it found it.
  Expected<std::vector<LuaValue>> call_global(const std::string& name,
                                              const std::vector<LuaValue>& args = {});

  // --- host bindings (raw sets on the globals table; no script metamethod runs) ---
  Status set_global(const std::string& name, const LuaValue& value);
  // The global's scalar value (nil for absent globals and non-scalar values).
  Expected<LuaValue> get_global(const std::string& name);
  // Exposes a plain C function as global `name`. It must not let C++ exceptions escape.
  Status register_function(const std::string& name, lua_CFunction fn);
  // Exposes a host function object as global `name`; the engine owns the copy and runs it
  // through lua_guarded, so std::exception becomes a Lua error with the script line.
  Status register_closure(const std::string& name, LuaHostFunction fn);
  // Adds the functions of a null-terminated luaL_Reg array to global table `name` (created if
  // missing), e.g. the `engram` module. The array only needs to live during the call.
  Status register_library(const std::string& name, const luaL_Reg* funcs);
  // Sets global table `arg`: arg[0] = script name, arg[1..n] = args (strings).
  Status set_script_args(const std::string& script_name, const std::vector<std::string>& args);
  // Merges "key=value" assignments (from `--set`) into global table `config`. A value that
  // reads as a Lua number becomes a number, "true"/"false" a boolean, anything else a string.
  // invalid_argument (and nothing is set) if an assignment has no '=' or an empty key.
  Status set_config(const std::vector<std::string>& assignments);

  // --- raw access ---
  // The main thread. Host code may use the C API on it directly; anything that may raise
  // (allocating, calling Lua) must run inside protect() or call(), never bare.
  lua_State* state() { return L_; }
  // Runs body(L) in protected mode, where body may raise Lua errors and throw std::exception.
  // The nargs values on top of the stack are popped and passed as body's arguments 1..nargs;
  // body returns how many values it leaves, and they stay on the stack on success. No budget
  // entry is opened (host plumbing, not script code).
  template <typename F>
  Expected<int> protect(int nargs, F&& body);
  // The engine that owns L (any thread of the state).
  static LuaEngine& from_state(lua_State* L);

 private:
  friend class LuaCoroutine;
  enum class Kill { none, instructions, interrupted };

  // Opens a budget entry; nested entries (a host function calling back into Lua) share the
  // outermost one so that a script cannot reset its own budget.
  class Entry {
   public:
    explicit Entry(LuaEngine& engine);
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    LuaEngine& engine_;
  };

  static void* allocate(void* ud, void* ptr, size_t old_size, size_t new_size) noexcept;
  static void count_hook(lua_State* L, lua_Debug* ar);
  static int message_handler(lua_State* L);
  static int print(lua_State* L);
  // Lua's warning function (lua_setwarnf): collects pieces until the last one, then logs.
  static void warning(void* ud, const char* message, int to_continue) noexcept;
  static int safe_xpcall(lua_State* L);
  static int xpcall_handler(lua_State* L);
  // The error object at index as text, without converting it in place (no allocation).
  static std::string error_text(lua_State* L, int index);
  Status load_chunk(std::string_view code, const std::string& chunk_name);
  // The Status for a failed entry or load: lua_status plus the error text (traceback included),
  // source names the chunk for memory errors that carry no position. Inside an entry that the
  // hook killed, the kill (budget or interrupt) wins over whatever error ended the entry.
  Status error_status(int lua_status, const std::string& message, const std::string& source) const;

  lua_State* L_ = nullptr;
  LuaLimits limits_;
  size_t memory_used_ = 0;
  bool enforce_memory_ = false;  // off while the state is being built
  uint64_t instructions_ = 0;
  int depth_ = 0;
  Kill kill_ = Kill::none;
  std::string kill_message_;
  std::atomic<bool> interrupt_requested_{false};
  LuaPrintSink print_sink_;
  std::string warning_;  // the pieces of a warning collected so far
  bool warnings_on_ = true;
};

template <typename F>
Expected<int> LuaEngine::protect(int nargs, F&& body) {
  using Body = std::remove_reference_t<F>;
  struct Thunk {
    static int run(lua_State* L) {
      Body* fn = static_cast<Body*>(lua_touserdata(L, -1));
      lua_pop(L, 1);
      return lua_guarded(L, *fn);
    }
  };
  if (!lua_checkstack(L_, 3)) return Status(ErrorCode::budget_exceeded, "Lua stack exhausted");
  const int base = lua_gettop(L_) - nargs;
  lua_pushcfunction(L_, &Thunk::run);
  lua_insert(L_, base + 1);
  lua_pushlightuserdata(L_, const_cast<void*>(static_cast<const void*>(&body)));
  const int status = lua_pcall(L_, nargs + 1, LUA_MULTRET, 0);
  if (status == LUA_OK) return lua_gettop(L_) - base;
  std::string text = error_text(L_, -1);
  lua_pop(L_, 1);
  return error_status(status, text, "host");
}

}  // namespace engram
