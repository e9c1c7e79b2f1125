#include "bindings/lua/lua_runtime.h"

#include <fmt/format.h>

#include <algorithm>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_events.h"
#include "bindings/lua/lua_json.h"
#include "bindings/lua/lua_remote.h"
#include "bindings/lua/lua_replay.h"
#include "bindings/lua/lua_stream.h"
#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "io/reports/png_image.h"
#include "io/reports/progress.h"
#include "modules/distributed/snapshot_ranks.h"
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
// modules/session/session_settings.h, as the C API's JSON and snapshot configs are. placement,
// curve and heartbeat put modules in other processes (lua_remote.h).
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
        {"placement", SettingType::table, nlohmann::json::object(), "modules in other processes"},
        {"curve", SettingType::table, nlohmann::json::object(), "CURVE keys of those links"},
        {"heartbeat", SettingType::table, nlohmann::json::object(), "heartbeats of those links"},
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
    config->remote = remote_modules_from_lua(L, 1, "runtime");
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
  if (stats.association_steps > 0) {  // a variational association learned (nats per image)
    set_int(L, "association_steps", stats.association_steps);
    set_number(L, "association_neg_elbo", stats.association_neg_elbo);
    set_number(L, "association_reconstruction", stats.association_reconstruction);
    set_number(L, "association_kl", stats.association_kl);
  }
  const LearningCurve& c = stats.curve;
  if (c.every > 0) {
    // curve = {every, iteration, loss, loss_replay, samples_per_s [, association_neg_elbo]}:
    // iterations of the phase; loss is the mean real-data loss over the last `every`.
    lua_createtable(L, 0, 6);
    set_int(L, "every", c.every);
    push_integer_list(L, std::vector<long long>(c.iteration.begin(), c.iteration.end()));
    lua_setfield(L, -2, "iteration");
    push_number_list(L, c.loss_real);
    lua_setfield(L, -2, "loss");
    push_number_list(L, c.loss_replay);
    lua_setfield(L, -2, "loss_replay");
    push_number_list(L, c.samples_per_second);
    lua_setfield(L, -2, "samples_per_s");
    if (!c.association_neg_elbo.empty()) {
      push_number_list(L, c.association_neg_elbo);
      lua_setfield(L, -2, "association_neg_elbo");
    }
    lua_setfield(L, -2, "curve");
  }
}

// Points of a phase's learning curve when the options do not say (iterations).
constexpr int kDefaultRecordEvery = 50;

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
// every, record_every}) -> stats table. record_every: a point of stats.curve every this many
// iterations (default 50, 0 = no curve). steps_per_batch: steps on each real batch (codes stored
// once). replay: a number (recollections per batch) or a table (lua_replay.h). on: an event handler
// (lua_events.h) resumed on new_task, new_class, every `every` examples, phase_end.
int l_learn(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const auto& task = check_task(L, 2);
    LearnOptions o;
    o.record_every = kDefaultRecordEvery;
    std::string label = "task " + std::to_string(task->task.id);
    bool show = true, has_handler = false;
    if (!lua_isnoneornil(L, 3)) {
      const char* what = "learn options";
      check_keys(L, 3, what,
                 {"iterations", "batch", "steps_per_batch", "replay", "window", "label", "progress",
                  "on", "every", "record_every"});
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
      o.record_every = opt_int<int>(L, 3, what, "record_every", o.record_every, 0, 100000000);
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
      bar.finish_at(stats.iterations, fmt::format("{:.1f} s, {:.0f} samples/s", stats.seconds,
                                                  stats.samples_per_second));
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

// rt:recollection_grid(path, {tasks = {...}, per_class = 8, classes = {...}}) -> {rows,
// columns, width, height, classes, recollections}: writes one grayscale PNG at `path`, a row per
// class: per_class real test images of the class (from the task holding it, transformed as the
// task is) on the left, one mid-gray separator tile, then per_class recollections of the class
// from the memory (Session::recollections: decoded codes for dvae, stored images for raw) on the
// right; mid-gray tiles where the memory holds nothing of the class (recollections[i] = 0).
// classes (ids): default every class of `tasks` the runtime has learned. Errors: a memory kind
// with no recollections by class (none, lwf, arm, lifelong_vae), a class in none of the tasks,
// an unwritable path.
int l_recollection_grid(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto& rt = runtime_arg(L);
    const std::string path = luaL_checkstring(L, 2);
    const char* what = "recollection_grid options";
    luaL_checktype(L, 3, LUA_TTABLE);
    check_keys(L, 3, what, {"tasks", "per_class", "classes"});
    const int per_class = opt_int<int>(L, 3, what, "per_class", 8, 1, 256);
    std::vector<std::shared_ptr<LuaTask>> tasks;
    if (!push_subtable(L, 3, what, "tasks")) luaL_error(L, "%s: tasks is required", what);
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; ++i) {
      tasks.push_back(check_task(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (tasks.empty()) luaL_error(L, "%s: tasks is empty", what);
    std::vector<int> classes = opt_int_list(L, 3, what, "classes", {});
    if (classes.empty()) {
      for (const auto& t : tasks) {
        for (int c : t->task.classes) {
          if (c >= 0 && static_cast<size_t>(c) < rt->seen_classes().size() &&
              rt->seen_classes()[static_cast<size_t>(c)] &&
              std::find(classes.begin(), classes.end(), c) == classes.end()) {
            classes.push_back(c);
          }
        }
      }
      if (classes.empty()) luaL_error(L, "%s: the runtime learned no class of these tasks", what);
    }
    const ImageDataset& ds = *tasks.front()->dataset;
    const int rows = static_cast<int>(ds.rows), cols = static_cast<int>(ds.cols);
    const size_t pixels = ds.pixels_per_image();
    const int columns = 2 * per_class + 1;
    std::vector<float> tiles(classes.size() * columns * pixels, 0.5f);
    std::vector<long long> recalled;
    for (size_t r = 0; r < classes.size(); ++r) {
      const int c = classes[r];
      const LuaTask* holder = nullptr;
      for (const auto& t : tasks) {
        const auto& tc = t->task.classes;
        if (std::find(tc.begin(), tc.end(), c) != tc.end()) holder = t.get();
      }
      if (holder == nullptr) luaL_error(L, "%s: class %d is in none of the tasks", what, c);
      if (holder->dataset->pixels_per_image() != pixels ||
          static_cast<int64_t>(pixels) != rt->values_per_observation()) {
        luaL_error(L, "%s: the tasks' images differ in size from the runtime's", what);
      }
      // The first per_class test images of the class.
      std::vector<uint32_t> idx;
      for (uint32_t i : holder->task.test_idx) {
        if (idx.size() == static_cast<size_t>(per_class)) break;
        if (holder->dataset->test_y[i] == c) idx.push_back(i);
      }
      float* row = tiles.data() + r * columns * pixels;
      fill_images(*holder->dataset, holder->task, false, idx.data(), idx.size(), row);
      auto recollections = rt->recollections(c, per_class);
      if (!recollections.ok()) return raise(L, recollections.status());
      std::copy(recollections->begin(), recollections->end(), row + (per_class + 1) * pixels);
      recalled.push_back(static_cast<long long>(recollections->size() / pixels));
    }
    if (Status s = write_image_grid_png(path, tiles.data(), static_cast<int>(tiles.size() / pixels),
                                        rows, cols, columns);
        !s.ok()) {
      return raise(L, s);
    }
    constexpr int kPadding = 2;  // write_image_grid_png's default
    lua_createtable(L, 0, 6);
    set_int(L, "rows", static_cast<long long>(classes.size()));
    set_int(L, "columns", columns);
    set_int(L, "width", columns * cols + (columns - 1) * kPadding);
    set_int(L, "height", static_cast<long long>(classes.size()) * (rows + kPadding) - kPadding);
    push_integer_list(L, std::vector<long long>(classes.begin(), classes.end()));
    lua_setfield(L, -2, "classes");
    push_integer_list(L, recalled);
    lua_setfield(L, -2, "recollections");
    return 1;
  });
}

// rt:consolidate() -> nil: a consolidation boundary (freeze the association's decoder copy,
// seal the buffer, keep the classifier as the teacher).
// rt:consolidate{steps, batch, association, sampler, candidates, targets, temperature, delay,
//                window, label, progress, on, every, record_every} -> stats table: a
// consolidation phase on recollections only (Session::consolidate); steps = 0 does nothing. on:
// an event handler resumed every `every` recollections and at phase_end. record_every: as
// rt:learn's, in steps (loss is then 0: no real data; loss_replay is the phase's loss).
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
                "delay", "window", "label", "progress", "on", "every", "record_every"});
    ConsolidateOptions o;
    o.steps = opt_int<int>(L, 2, what, "steps", o.steps, 0, 100000000);
    o.batch = opt_int<int>(L, 2, what, "batch", o.batch, 1, 1 << 20);
    o.association = opt_boolean(L, 2, what, "association", o.association);
    o.window = opt_int<int>(L, 2, what, "window", o.window, 1, 1024);
    const std::string label = opt_string(L, 2, what, "label", "consolidation");
    const bool show = opt_boolean(L, 2, what, "progress", true);
    o.every_examples = opt_int<int64_t>(L, 2, what, "every", 0, 0, 1LL << 40);
    o.record_every = opt_int<int>(L, 2, what, "record_every", kDefaultRecordEvery, 0, 100000000);
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
    if (show && o.steps > 0)
      bar.finish_at(stats.iterations, fmt::format("{:.1f} s", stats.seconds));
    push_phase_stats(L, stats);
    return 1;
  });
}

// rt:memory() -> {codes_stored, capacity, seen, bits_per_item, bytes_used, budget_bytes,
//                 association_weight_bytes, decoder_weight_bytes, memory_weight_bytes,
//                 classifier_weight_bytes, incremental_bytes, total_bytes, kind,
//                 per_class = {...}, per_task = {...}}
int l_memory(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto m = runtime_arg(L)->memory_stats();
    if (!m.ok()) return raise(L, m.status());
    lua_createtable(L, 0, 16);
    set_int(L, "codes_stored", m->codes_stored);
    set_int(L, "capacity", m->capacity);
    set_int(L, "seen", m->seen);
    set_int(L, "bits_per_item", m->bits_per_item);
    set_int(L, "code_bits", m->code_bits);
    set_int(L, "bytes_used", m->bytes_used);
    set_int(L, "budget_bytes", m->budget_bytes);
    set_int(L, "association_weight_bytes", m->association_weight_bytes);
    set_int(L, "decoder_weight_bytes", m->decoder_weight_bytes);
    set_int(L, "memory_weight_bytes", m->memory_weight_bytes);
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

// engram.restore(path, {dataset = ds, progress = true, placement, curve, heartbeat}) -> runtime,
// state (placement etc. as engram.runtime's: where the restored modules run): a new runtime with
// the learning state of snapshot `path` and the state table it was taken with. Nothing changes
// on error. Unless progress = false, a progress line "restore <file name>" counts its two
// steps: reading and verifying the file, then starting the runtime with the state.
int l_restore(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const std::string path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, "restore", {"dataset", "progress", "placement", "curve", "heartbeat"});
    const RemoteModulesConfig remote = remote_modules_from_lua(L, 2, "restore");
    lua_getfield(L, 2, "dataset");
    if (lua_isnil(L, -1)) luaL_error(L, "restore: dataset is required (engram.dataset(\"mnist\"))");
    std::shared_ptr<const ImageDataset> ds = check_dataset(L, -1);
    lua_pop(L, 1);
    const bool show = opt_boolean(L, 2, "restore", "progress", true);
    // Session::restore in its two steps, so that the bar can tell them apart.
    Progress bar("restore " + path.substr(path.find_last_of('/') + 1), 2);
    auto sections = read_snapshot_on_ranks(path);  // rank 0 reads, sends to every rank
    if (!sections.ok()) return raise(L, sections.status());
    size_t bytes = 0;
    for (const auto& section : *sections) bytes += section.second.size();
    const std::string read = fmt::format("{:.1f} MB read", static_cast<double>(bytes) / 1e6);
    if (show) bar.update(1, read);
    std::string state;
    auto session = Session::restore_sections(*sections, ds, &state,
                                             remote.placement.empty() ? nullptr : &remote);
    if (!session.ok()) {
      return raise(L, Status(session.status().code(), path + ": " + session.status().message()));
    }
    if (show) {
      const std::string done = read + ", runtime started";
      bar.update(2, done);
      bar.finish(done);
    }
    push_shared(L, std::shared_ptr<Session>(std::move(*session)), kRuntimeMeta);
    push_json(L, nlohmann::json::parse(state));
    return 2;
  });
}

// Appends value to the array field `key` of the table at `index` (created when absent).
void append_to(lua_State* L, int index, const char* key) {
  index = lua_absindex(L, index);
  if (lua_getfield(L, index, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, index, key);
  }
  lua_insert(L, -2);  // array, value
  lua_rawseti(L, -2, static_cast<lua_Integer>(luaL_len(L, -2) + 1));
  lua_pop(L, 1);
}

// engram.append_curve(curve, stats, task, offset) -> curve: appends the points of a phase's
// stats.curve (rt:learn) to a run's curve {every, iteration, task, loss, samples_per_s [,
// association_neg_elbo]}: iteration = offset + the phase's iteration, task = `task` for each
// point. association_neg_elbo is kept only while every point has one. Errors: stats without a
// curve, a different `every` than the curve's.
int l_append_curve(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    const lua_Integer task = luaL_checkinteger(L, 3);
    const lua_Integer offset = luaL_checkinteger(L, 4);
    if (lua_getfield(L, 2, "curve") != LUA_TTABLE) {
      luaL_error(L, "append_curve: the stats have no curve (record_every = 0?)");
    }
    const int phase = lua_gettop(L);
    lua_getfield(L, phase, "every");
    const lua_Integer every = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "every");
    if (lua_isnil(L, -1)) {
      lua_pushinteger(L, every);
      lua_setfield(L, 1, "every");
    } else if (lua_tointeger(L, -1) != every) {
      luaL_error(L, "append_curve: every %d differs from the curve's %d", static_cast<int>(every),
                 static_cast<int>(lua_tointeger(L, -1)));
    }
    lua_pop(L, 1);
    for (const char* key : {"iteration", "task", "loss", "samples_per_s"}) {
      if (lua_getfield(L, 1, key) != LUA_TTABLE) {
        lua_newtable(L);
        lua_setfield(L, 1, key);
      }
      lua_pop(L, 1);
    }
    lua_getfield(L, 1, "iteration");
    const lua_Integer before = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
    lua_pop(L, 1);
    lua_getfield(L, 1, "association_neg_elbo");
    const bool had_elbo = before == 0 || (lua_istable(L, -1) && luaL_len(L, -1) == before);
    lua_pop(L, 1);
    lua_getfield(L, phase, "association_neg_elbo");
    const bool elbo = had_elbo && lua_istable(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, phase, "iteration");
    const lua_Integer points = luaL_len(L, -1);
    lua_pop(L, 1);
    for (lua_Integer k = 1; k <= points; ++k) {
      lua_getfield(L, phase, "iteration");
      lua_rawgeti(L, -1, k);
      lua_pushinteger(L, offset + lua_tointeger(L, -1));
      append_to(L, 1, "iteration");
      lua_pop(L, 2);
      lua_pushinteger(L, task);
      append_to(L, 1, "task");
      for (const char* key : {"loss", "samples_per_s", "association_neg_elbo"}) {
        if (std::string(key) == "association_neg_elbo" && !elbo) continue;
        lua_getfield(L, phase, key);
        lua_rawgeti(L, -1, k);
        append_to(L, 1, key);
        lua_pop(L, 1);
      }
    }
    if (!elbo) {
      lua_pushnil(L);
      lua_setfield(L, 1, "association_neg_elbo");
    }
    lua_settop(L, 1);
    return 1;
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
  const luaL_Reg methods[] = {{"learn", l_learn},
                              {"accuracy", l_accuracy},
                              {"distortion", l_distortion},
                              {"consolidate", l_consolidate},
                              {"memory", l_memory},
                              {"counters", l_counters},
                              {"snapshot", l_snapshot},
                              {"learn_stream", learn_stream},
                              {"recollection_grid", l_recollection_grid},
                              {"close", l_close},
                              {nullptr, nullptr}};
  register_type<Session>(L, kRuntimeMeta, methods);
  const luaL_Reg funcs[] = {{"runtime", l_runtime},
                            {"restore", l_restore},
                            {"append_curve", l_append_curve},
                            {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

}  // namespace engram::lua
