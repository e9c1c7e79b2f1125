#include "runtime/lua_engine.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "runtime/log.h"
#include "runtime/lua_sandbox.h"

namespace engram {
namespace {

// Without a protected call around it, a Lua error ends in the panic handler and abort(). The
// engine only touches the state in protected mode, so this is a bug: say so before dying.
int panic(lua_State* L) {
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  log_error("lua", std::string("unprotected Lua error (engine bug): ") + msg);
  return 0;
}

// "demo.lua" for "@dir/demo.lua", "=demo.lua" or a plain name.
std::string display_name(const std::string& chunk_name) {
  if (!chunk_name.empty() && (chunk_name[0] == '@' || chunk_name[0] == '=')) {
    std::string rest = chunk_name.substr(1);
    if (chunk_name[0] == '@') {
      const size_t slash = rest.find_last_of('/');
      if (slash != std::string::npos) rest = rest.substr(slash + 1);
    }
    return rest;
  }
  return chunk_name;
}

}  // namespace

LuaEngine::Entry::Entry(LuaEngine& engine) : engine_(engine) {
  if (engine_.depth_++ == 0) {
    engine_.instructions_ = 0;
    engine_.kill_ = Kill::none;  // a host-level kill outside any entry (raw lua_pcall)
    engine_.kill_message_.clear();
  }
}

LuaEngine::Entry::~Entry() {
  if (--engine_.depth_ == 0) {
    engine_.kill_ = Kill::none;
    engine_.kill_message_.clear();
  }
}

LuaEngine::LuaEngine(LuaLimits limits) : limits_(limits) {
  print_sink_ = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  L_ = lua_newstate(&LuaEngine::allocate, this);
  if (L_ == nullptr) throw std::bad_alloc();
  lua_atpanic(L_, &panic);
  lua_setwarnf(L_, &LuaEngine::warning, this);
  // Installed before any other thread exists: every coroutine inherits the hook.
  lua_sethook(L_, &LuaEngine::count_hook, LUA_MASKCOUNT, kHookInterval);
  Expected<int> opened = protect(0, [](lua_State* L) {
    open_sandbox(L, &LuaEngine::print);
    lua_getglobal(L, "xpcall");
    lua_pushcclosure(L, &LuaEngine::safe_xpcall, 1);
    lua_setglobal(L, "xpcall");
    return 0;
  });
  if (!opened.ok()) {
    lua_close(L_);
    throw std::bad_alloc();
  }
  enforce_memory_ = true;
}

LuaEngine::~LuaEngine() {
  enforce_memory_ = false;
  lua_close(L_);
}

LuaEngine& LuaEngine::from_state(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<LuaEngine*>(ud);
}

// Memory budget: a growing request that would pass max_memory_bytes fails, which Lua turns
// into an emergency collection and then a "not enough memory" error (LUA_ERRMEM). Shrinking
// and freeing never fail, as Lua requires.
void* LuaEngine::allocate(void* ud, void* ptr, size_t old_size, size_t new_size) noexcept {
  auto* self = static_cast<LuaEngine*>(ud);
  const size_t old_bytes = ptr != nullptr ? old_size : 0;  // without ptr, old_size is a type tag
  if (new_size == 0) {
    std::free(ptr);
    self->memory_used_ -= old_bytes;
    return nullptr;
  }
  if (new_size > old_bytes && self->enforce_memory_) {
    const size_t max = self->limits_.max_memory_bytes;
    const size_t others = self->memory_used_ - old_bytes;
    if (new_size > max || others > max - new_size) return nullptr;
  }
  void* out = std::realloc(ptr, new_size);
  if (out == nullptr) return nullptr;
  self->memory_used_ = self->memory_used_ - old_bytes + new_size;
  return out;
}

// Instruction budget and interrupts. Once an entry is killed the hook re-arms itself to run at
// every instruction of every thread it fires on, and raises each time: a pcall in the script
// may catch one error, but the very next instruction raises again (the Redis approach).
// Threads still armed that way heal themselves at their first check in a later entry.
void LuaEngine::count_hook(lua_State* L, lua_Debug* /*ar*/) {
  LuaEngine& self = from_state(L);
  const int interval = lua_gethookcount(L);
  if (self.kill_ == Kill::none) {
    self.instructions_ += static_cast<uint64_t>(interval);
    // Outside an entry (host code calling Lua by hand) only interrupts apply.
    const uint64_t max = self.depth_ > 0 ? self.limits_.max_instructions : 0;
    if (self.interrupt_requested_.exchange(false, std::memory_order_acq_rel)) {
      self.kill_ = Kill::interrupted;
    } else if (max != 0 && self.instructions_ > max) {
      self.kill_ = Kill::instructions;
    } else {
      if (interval != kHookInterval) {
        lua_sethook(L, &LuaEngine::count_hook, LUA_MASKCOUNT, kHookInterval);
      }
      return;
    }
    luaL_where(L, 0);
    if (self.kill_ == Kill::interrupted) {
      lua_pushliteral(L, "interrupted by the host");
    } else {
      lua_pushfstring(L, "instruction budget of %I exceeded", static_cast<lua_Integer>(max));
    }
    lua_concat(L, 2);
    self.kill_message_ = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  if (interval != 1) lua_sethook(L, &LuaEngine::count_hook, LUA_MASKCOUNT, 1);
  lua_pushstring(L, self.kill_message_.c_str());
  lua_error(L);
}

// Message handler of every call(): the error text plus a traceback from the raising point.
int LuaEngine::message_handler(lua_State* L) {
  const char* msg = lua_tostring(L, 1);
  if (msg == nullptr) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
      msg = lua_tostring(L, -1);
    } else {
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

// xpcall with the script's message handler behind a check: after a kill, the error comes from
// the count hook and the handler would run with hooks disabled (Lua calls it before unwinding),
// where a looping handler could never be stopped. Killed entries skip the script's handler.
int LuaEngine::safe_xpcall(lua_State* L) {
  lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, &LuaEngine::xpcall_handler, 1);
  lua_replace(L, 2);
  return original(L);
}

int LuaEngine::xpcall_handler(lua_State* L) {
  if (from_state(L).kill_ != Kill::none) return 1;  // the error object, untouched
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int LuaEngine::print(lua_State* L) {
  return lua_guarded(L, [](lua_State* S) {
    const int n = lua_gettop(S);
    std::string line;
    for (int i = 1; i <= n; ++i) {
      size_t len = 0;
      const char* s = luaL_tolstring(S, i, &len);
      if (i > 1) line += '\t';
      line.append(s, len);
      lua_pop(S, 1);
    }
    LuaEngine& self = from_state(S);
    if (self.print_sink_) self.print_sink_(line);
    return 0;
  });
}

void LuaEngine::warning(void* ud, const char* message, int to_continue) noexcept {
  LuaEngine& self = *static_cast<LuaEngine*>(ud);
  try {
    if (!to_continue && self.warning_.empty() && message[0] == '@') {  // a control message
      if (std::strcmp(message, "@on") == 0) self.warnings_on_ = true;
      if (std::strcmp(message, "@off") == 0) self.warnings_on_ = false;
      return;
    }
    self.warning_ += message;
    if (to_continue) return;
    if (self.warnings_on_) log_warn("lua", self.warning_);
  } catch (...) {  // out of memory: the warning is lost, Lua goes on
  }
  self.warning_.clear();
}

std::string LuaEngine::error_text(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TSTRING) {
    return std::string("(error object is a ") + luaL_typename(L, index) + " value)";
  }
  size_t len = 0;
  const char* s = lua_tolstring(L, index, &len);
  return std::string(s, len);
}

Status LuaEngine::error_status(int lua_status, const std::string& message,
                               const std::string& source) const {
  const size_t tb = message.find("\nstack traceback:");
  const std::string traceback = tb == std::string::npos ? std::string() : message.substr(tb);
  if (depth_ > 0 && kill_ != Kill::none) {
    return Status(kill_ == Kill::interrupted ? ErrorCode::closed : ErrorCode::budget_exceeded,
                  kill_message_ + traceback);
  }
  switch (lua_status) {
    case LUA_ERRRUN:
    case LUA_ERRSYNTAX:
    case LUA_ERRERR: return Status(ErrorCode::script_error, message);
    case LUA_ERRMEM:
      return Status(ErrorCode::budget_exceeded, source + ": memory budget of " +
                                                    std::to_string(limits_.max_memory_bytes) +
                                                    " bytes exceeded" + traceback);
    default:
      return Status(ErrorCode::internal,
                    source +
                        ": a C++ exception escaped a host function (wrap it in "
                        "lua_guarded): " +
                        message);
  }
}

void LuaEngine::collect_garbage() { lua_gc(L_, LUA_GCCOLLECT); }

Status LuaEngine::load_chunk(std::string_view code, const std::string& chunk_name) {
  if (!code.empty() && code[0] == LUA_SIGNATURE[0]) {
    return Status(ErrorCode::script_error,
                  display_name(chunk_name) +
                      ": precompiled Lua bytecode is refused; engram loads source text only");
  }
  if (!lua_checkstack(L_, 2)) return Status(ErrorCode::budget_exceeded, "Lua stack exhausted");
  const int status = luaL_loadbufferx(L_, code.data(), code.size(), chunk_name.c_str(), "t");
  if (status == LUA_OK) return Status();
  std::string text = error_text(L_, -1);
  lua_pop(L_, 1);
  return error_status(status, text, display_name(chunk_name));
}

Status LuaEngine::load_string(std::string_view code, const std::string& chunk_name) {
  if (chunk_name.empty()) return load_chunk(code, "=?");
  if (chunk_name[0] == '@' || chunk_name[0] == '=') return load_chunk(code, chunk_name);
  return load_chunk(code, "=" + chunk_name);
}

Status LuaEngine::load_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    const int err = errno;
    return Status(err == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                  "cannot open script '" + path + "': " + std::strerror(err));
  }
  std::string code;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) code.append(buf, n);
  if (std::ferror(file.get())) {
    return Status(ErrorCode::io_error,
                  "cannot read script '" + path + "': " + std::strerror(errno));
  }
  std::string_view view(code);
  if (!view.empty() && view[0] == '#') {  // "#!/usr/bin/env engram": keep the newline
    const size_t eol = view.find('\n');
    view = eol == std::string_view::npos ? std::string_view() : view.substr(eol);
  }
  return load_chunk(view, "@" + display_name("@" + path));
}

Status LuaEngine::run_string(std::string_view code, const std::string& chunk_name) {
  Status loaded = load_string(code, chunk_name);
  if (!loaded.ok()) return loaded;
  return call(0, 0).status();
}

Status LuaEngine::run_file(const std::string& path) {
  Status loaded = load_file(path);
  if (!loaded.ok()) return loaded;
  return call(0, 0).status();
}

Expected<int> LuaEngine::call(int nargs, int nresults) {
  if (nargs < 0 || lua_gettop(L_) < nargs + 1) {
    return Status(ErrorCode::invalid_argument, "call: the stack holds no function to call");
  }
  if (!lua_checkstack(L_, 3)) return Status(ErrorCode::budget_exceeded, "Lua stack exhausted");
  const int base = lua_gettop(L_) - nargs;  // the function
  std::string source = "?";
  if (lua_type(L_, base) == LUA_TFUNCTION) {
    lua_Debug ar;
    lua_pushvalue(L_, base);
    if (lua_getinfo(L_, ">S", &ar)) source = ar.short_src;
  }
  lua_pushcfunction(L_, &LuaEngine::message_handler);
  lua_insert(L_, base);
  Entry entry(*this);  // open until the Status is built: error_status reads the kill state
  const int status = lua_pcall(L_, nargs, nresults, base);
  lua_remove(L_, base);
  if (status == LUA_OK) return lua_gettop(L_) - base + 1;
  std::string text = error_text(L_, -1);
  lua_pop(L_, 1);
  return error_status(status, text, source);
}

}  // namespace engram
