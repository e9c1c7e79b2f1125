#include "bindings/lua/lua_runtime.h"

#include <fmt/format.h>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_events.h"
#include "bindings/lua/lua_json.h"
#include "bindings/lua/lua_replay.h"
#include "bindings/lua/lua_stream.h"
#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "io/reports/progress.h"
#include "modules/session/session.h"
#include "modules/session/session_settings.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

constexpr const char* kRuntimeMeta = "engram.Runtime";

std::shared_ptr<Session>& runtime_arg(lua_State* L) {
  return check_shared<Session>(L, 1, kRuntimeMeta);
}

// Empty Lua tables convert to empty JSON arrays; in a configuration tree they are empty
// tables of options ({} reads as every default).
void empty_tables_as_objects(nlohmann::json& j) {
  if (j.is_array() && j.empty()) {
    j = nlohmann::json::object();
    return;
  }
  if (j.is_structured()) {
    for (auto& item : j) empty_tables_as_objects(item);
  }
}

// The table at `index` without its `dataset` and `endpoints` fields (they are not JSON), as
// JSON.
nlohmann::json settings_tree(lua_State* L, int index) {
  index = lua_absindex(L, index);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const std::string key = lua_tostring(L, -2);
      if (key == "dataset" || key == "endpoints") {
        lua_pop(L, 1);
        continue;
      }
    }
    lua_pushvalue(L, -2);  // key, value, key
    lua_insert(L, -2);     // key, key, value
    lua_rawset(L, -4);     // key
  }
  nlohmann::json tree = to_json(L, -1, "runtime");
  lua_pop(L, 1);
  empty_tables_as_objects(tree);
  return tree;
}

// engram.runtime{ dataset = ds, tasks = 5, seed = 1, threads = 1, device = "cpu",
//                 neocortex = {...}, memory = {...}, endpoints = {...} } -> Runtime. Every
// setting but dataset and endpoints is read through the declarations of
// modules/session/session_settings.h, as the C API's JSON and snapshot configs are.
int l_runtime(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "dataset");
    if (lua_isnil(L, -1)) luaL_error(L, "runtime.dataset is required (engram.dataset(\"mnist\"))");
    std::shared_ptr<const ImageDataset> ds = check_dataset(L, -1);
    lua_pop(L, 1);
    // Named beside the declared settings so that a misspelt one is recognised.
    static const std::vector<Setting> lua_only = {
        {"dataset", SettingType::table, nlohmann::json::object(), "the dataset (engram.dataset)"},
        {"endpoints", SettingType::table, nlohmann::json::object(), "actor endpoints"},
    };
    auto config = session_config_from_settings(settings_tree(L, 1), "runtime", lua_only);
    if (!config.ok()) return raise(L, config.status());
    if (push_subtable(L, 1, "runtime", "endpoints")) {
      check_keys(L, -1, "runtime.endpoints", {"hippocampus", "association", "neocortex", "driver"});
      for (const char* name : {"hippocampus", "association", "neocortex", "driver"}) {
        std::string e = opt_string(L, lua_gettop(L), "runtime.endpoints", name, "");
        if (!e.empty()) config->endpoints[name] = e;
      }
      lua_pop(L, 1);
    }
    auto session = Session::create(*config, ds);
    if (!session.ok()) return raise(L, session.status());
    push_shared(L, std::shared_ptr<Session>(std::move(*session)), kRuntimeMeta);
    return 1;
  });
}

// Pushes the figures of a phase as a table.
void push_phase_stats(lua_State* L, const PhaseStats& stats) {
  lua_createtable(L, 0, 8);
  set_int(L, "iterations", stats.iterations);
  set_number(L, "seconds", stats.seconds);
  set_number(L, "samples_per_second", stats.samples_per_second);
  set_number(L, "loss_real", stats.loss_real);
  set_number(L, "loss_replay", stats.loss_replay);
  set_int(L, "real_examples", stats.real_examples);
  set_int(L, "recalled_examples", stats.recalled_examples);
  set_int(L, "skipped_steps", stats.skipped_steps);  // non-finite loss or gradients
  // Recollections per class (index = class id + 1), after any selection.
  push_integer_list(
      L, std::vector<long long>(stats.recalled_per_class.begin(), stats.recalled_per_class.end()));
  lua_setfield(L, -2, "recalled_per_class");
  set_int(L, "events", stats.events);
  lua_pushboolean(L, stats.stopped);
  lua_setfield(L, -2, "stopped");
}

// A progress bar for a phase of `total` steps (null callback when not shown).
ProgressFn phase_progress(Progress& bar, bool show) {
  if (!show) return nullptr;
  return [&bar](int done, int total, const PhaseStats& s) {
    if (done == total) return;  // finish() prints the final line
    bar.update(done, fmt::format("loss {:.3f}/{:.3f} {:.0f} samples/s", s.loss_real, s.loss_replay,
                                 s.samples_per_second));
  };
}

// rt:learn(task, {iterations, batch, steps_per_batch, replay, window, label, progress, on,
// every}) -> stats table. steps_per_batch: steps on each real batch (codes stored once). replay: a
// number (recollections per batch) or a table (lua_replay.h). on: an event handler (lua_events.h)
// resumed on new_task, new_class, every `every` examples, phase_end.
int l_learn(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const auto& task = check_task(L, 2);
    LearnOptions o;
    std::string label = "task " + std::to_string(task->task.id);
    bool show = true, has_handler = false;
    if (!lua_isnoneornil(L, 3)) {
      const char* what = "learn options";
      check_keys(L, 3, what,
                 {"iterations", "batch", "steps_per_batch", "replay", "window", "label", "progress",
                  "on", "every"});
      o.iterations = opt_int<int>(L, 3, what, "iterations", o.iterations, 0, 100000000);
      o.batch = opt_int<int>(L, 3, what, "batch", o.batch, 1, 1 << 20);
      o.steps_per_batch = opt_int<int>(L, 3, what, "steps_per_batch", o.steps_per_batch, 1, 1000);
      lua_getfield(L, 3, "replay");
      o.replay = read_replay(L, -1, "learn options.replay", *rt);
      lua_pop(L, 1);
      o.window = opt_int<int>(L, 3, what, "window", o.window, 1, 1024);
      label = opt_string(L, 3, what, "label", label);
      show = opt_boolean(L, 3, what, "progress", show);
      o.every_examples = opt_int<int64_t>(L, 3, what, "every", 0, 0, 1LL << 40);
      has_handler = check_event_handler(L, 3, what);
    }
    if (o.every_examples > 0 && !has_handler) {
      luaL_error(L, "learn options: every needs an event handler (on)");
    }
    Progress bar(label, o.iterations);
    const PhaseStats stats =
        call_with_event_handler<PhaseStats>(L, 3, has_handler, *rt, [&](LearningEventHook hook) {
          o.on_event = std::move(hook);
          return rt->learn(task->task, o, phase_progress(bar, show));
        });
    if (show)
      bar.finish(
          fmt::format("{:.1f} s, {:.0f} samples/s", stats.seconds, stats.samples_per_second));
    push_phase_stats(L, stats);
    return 1;
  });
}

// rt:accuracy(task, "class" | "task") -> number in [0,1]
int l_accuracy(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const auto& task = check_task(L, 2);
    const std::string mode = luaL_optstring(L, 3, "class");
    if (mode != "class" && mode != "task")
      luaL_error(L, "accuracy: mode must be \"class\" or \"task\"");
    auto acc = rt->accuracy(task->task, mode == "class");
    if (!acc.ok()) return raise(L, acc.status());
    lua_pushnumber(L, *acc);
    return 1;
  });
}

// rt:distortion(task [, max_examples]) -> mean L1 pixel error of recollections
int l_distortion(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const auto& task = check_task(L, 2);
    const size_t n =
        lua_isnoneornil(L, 3) ? 1000 : check_int<size_t>(L, 3, "distortion: max_examples", 1);
    auto d = rt->distortion(task->task, n);
    if (!d.ok()) return raise(L, d.status());
    lua_pushnumber(L, *d);
    return 1;
  });
}

// rt:consolidate() -> nil: a consolidation boundary (freeze the association's decoder copy,
// seal the buffer, keep the classifier as the teacher).
// rt:consolidate{steps, batch, association, sampler, candidates, targets, temperature, delay,
//                window, label, progress, on, every} -> stats table: a consolidation phase on
// recollections only (Session::consolidate); steps = 0 does nothing. on: an event handler
// resumed every `every` recollections and at phase_end.
int l_consolidate(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    if (lua_isnoneornil(L, 2)) {
      if (Status s = rt->consolidate(); !s.ok()) return raise(L, s);
      return 0;
    }
    const char* what = "consolidate options";
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, what,
               {"steps", "batch", "association", "sampler", "candidates", "targets", "temperature",
                "delay", "window", "label", "progress", "on", "every"});
    ConsolidateOptions o;
    o.steps = opt_int<int>(L, 2, what, "steps", o.steps, 0, 100000000);
    o.batch = opt_int<int>(L, 2, what, "batch", o.batch, 1, 1 << 20);
    o.association = opt_boolean(L, 2, what, "association", o.association);
    o.window = opt_int<int>(L, 2, what, "window", o.window, 1, 1024);
    const std::string label = opt_string(L, 2, what, "label", "consolidation");
    const bool show = opt_boolean(L, 2, what, "progress", true);
    o.every_examples = opt_int<int64_t>(L, 2, what, "every", 0, 0, 1LL << 40);
    const bool has_handler = check_event_handler(L, 2, what);
    if (o.every_examples > 0 && !has_handler) {
      luaL_error(L, "consolidate options: every needs an event handler (on)");
    }
    // The recall options, read as a replay table.
    lua_newtable(L);
    for (const char* key : {"sampler", "candidates", "targets", "temperature", "delay"}) {
      lua_getfield(L, 2, key);
      lua_setfield(L, -2, key);
    }
    o.replay = read_replay(L, -1, what, *rt);
    lua_pop(L, 1);
    Progress bar(label, o.steps);
    const PhaseStats stats =
        call_with_event_handler<PhaseStats>(L, 2, has_handler, *rt, [&](LearningEventHook hook) {
          o.on_event = std::move(hook);
          return rt->consolidate(o, phase_progress(bar, show && o.steps > 0));
        });
    if (show && o.steps > 0) bar.finish(fmt::format("{:.1f} s", stats.seconds));
    push_phase_stats(L, stats);
    return 1;
  });
}

// rt:memory() -> {codes_stored, capacity, seen, bits_per_item, bytes_used, budget_bytes,
//                 association_weight_bytes, decoder_weight_bytes, classifier_weight_bytes,
//                 per_class = {...}, per_task = {...}}
int l_memory(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto m = runtime_arg(L)->memory_stats();
    if (!m.ok()) return raise(L, m.status());
    lua_createtable(L, 0, 12);
    set_int(L, "codes_stored", m->codes_stored);
    set_int(L, "capacity", m->capacity);
    set_int(L, "seen", m->seen);
    set_int(L, "bits_per_item", m->bits_per_item);
    set_int(L, "code_bits", m->code_bits);
    set_int(L, "bytes_used", m->bytes_used);
    set_int(L, "budget_bytes", m->budget_bytes);
    set_int(L, "association_weight_bytes", m->association_weight_bytes);
    set_int(L, "decoder_weight_bytes", m->decoder_weight_bytes);
    set_int(L, "classifier_weight_bytes", m->classifier_weight_bytes);
    set_int(L, "incremental_bytes", m->incremental_bytes);
    set_int(L, "total_bytes", m->total_bytes);
    lua_pushstring(L, m->kind.c_str());
    lua_setfield(L, -2, "kind");
    push_integer_list(L, std::vector<long long>(m->per_class.begin(), m->per_class.end()));
    lua_setfield(L, -2, "per_class");
    push_integer_list(L, std::vector<long long>(m->per_task.begin(), m->per_task.end()));
    lua_setfield(L, -2, "per_task");
    return 1;
  });
}

// rt:counters() -> { {actor=, messages_in=, messages_out=, bytes_in=, bytes_out=, errors=,
//                     drops=}, ... }
int l_counters(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto counters = runtime_arg(L)->counters();
    lua_createtable(L, static_cast<int>(counters.size()), 0);
    for (size_t i = 0; i < counters.size(); ++i) {
      const CounterSnapshot& c = counters[i];
      lua_createtable(L, 0, 8);
      lua_pushstring(L, c.actor.c_str());
      lua_setfield(L, -2, "actor");
      set_int(L, "messages_in", static_cast<int64_t>(c.messages_in));
      set_int(L, "messages_out", static_cast<int64_t>(c.messages_out));
      set_int(L, "bytes_in", static_cast<int64_t>(c.bytes_in));
      set_int(L, "bytes_out", static_cast<int64_t>(c.bytes_out));
      set_int(L, "errors", static_cast<int64_t>(c.errors));
      set_int(L, "drops", static_cast<int64_t>(c.drops));
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    return 1;
  });
}

// rt:snapshot(path [, state]): writes the runtime's whole learning state, plus `state` (any
// JSON-able table: curriculum position, metrics so far), to `path` atomically.
int l_snapshot(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const char* path = luaL_checkstring(L, 2);
    std::string state = "{}";
    if (!lua_isnoneornil(L, 3)) state = to_json(L, 3, "snapshot").dump();
    if (Status s = rt->snapshot(path, state); !s.ok()) return raise(L, s);
    return 0;
  });
}

// engram.restore(path, {dataset = ds}) -> runtime, state: a new runtime with the learning state
// of snapshot `path` and the state table it was taken with. Nothing changes on error.
int l_restore(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, "restore", {"dataset"});
    lua_getfield(L, 2, "dataset");
    if (lua_isnil(L, -1)) luaL_error(L, "restore: dataset is required (engram.dataset(\"mnist\"))");
    std::shared_ptr<const ImageDataset> ds = check_dataset(L, -1);
    lua_pop(L, 1);
    std::string state;
    auto session = Session::restore(path, ds, &state);
    if (!session.ok()) return raise(L, session.status());
    push_shared(L, std::shared_ptr<Session>(std::move(*session)), kRuntimeMeta);
    push_json(L, nlohmann::json::parse(state));
    return 2;
  });
}

// rt:close(): stops the actors now (also happens when the runtime is garbage collected).
int l_close(lua_State* L) {
  auto* p = static_cast<std::shared_ptr<Session>*>(luaL_checkudata(L, 1, kRuntimeMeta));
  p->reset();
  return 0;
}

}  // namespace

void open_runtime(lua_State* L) {
  const luaL_Reg methods[] = {{"learn", l_learn},           {"accuracy", l_accuracy},
                              {"distortion", l_distortion}, {"consolidate", l_consolidate},
                              {"memory", l_memory},         {"counters", l_counters},
                              {"snapshot", l_snapshot},     {"learn_stream", learn_stream},
                              {"close", l_close},           {nullptr, nullptr}};
  register_type<Session>(L, kRuntimeMeta, methods);
  const luaL_Reg funcs[] = {{"runtime", l_runtime}, {"restore", l_restore}, {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

}  // namespace engram::lua
