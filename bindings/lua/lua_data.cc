#include "bindings/lua/lua_data.h"

#include <set>
#include <string>

#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

std::shared_ptr<const ImageDataset>& dataset_arg(lua_State* L, int idx) {
  return check_shared<const ImageDataset>(L, idx, kDatasetMeta);
}

// Pushes the tasks of a scenario as a Lua array of Task userdata.
void push_scenario(lua_State* L, const std::shared_ptr<const ImageDataset>& ds, Scenario s) {
  lua_createtable(L, static_cast<int>(s.tasks.size()), 0);
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    auto t = std::make_shared<LuaTask>(LuaTask{ds, std::move(s.tasks[i]), s.kind});
    push_shared(L, std::move(t), kTaskMeta);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

// engram.dataset(name [, dir]) -> Dataset
int l_dataset(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const std::string name = luaL_checkstring(L, 1);
    const std::string dir = luaL_optstring(L, 2, "");
    auto ds = load_dataset(name, dir);
    if (!ds.ok()) return raise(L, ds.status());
    push_shared(L, std::make_shared<const ImageDataset>(std::move(*ds)), kDatasetMeta);
    return 1;
  });
}

// Pushes a Lua array of strings.
void push_string_list(lua_State* L, const std::vector<std::string>& values) {
  lua_createtable(L, static_cast<int>(values.size()), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    lua_pushstring(L, values[i].c_str());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

// engram.split(dataset, {{0,1},{2,3},...}) -> {Task...}
// engram.split(dataset, "groups") -> {Task...}: one task per class group (Omniglot's alphabets)
int l_split(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto ds = dataset_arg(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
      const std::string mode = lua_tostring(L, 2);
      if (mode != "groups") {
        luaL_error(L, "split: '%s' is not a split mode (use \"groups\" or a list of class groups)",
                   mode.c_str());
      }
      auto s = split_by_groups(*ds);
      if (!s.ok()) return raise(L, s.status());
      push_scenario(L, ds, std::move(*s));
      return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    std::vector<std::vector<int>> groups;
    const lua_Integer n = luaL_len(L, 2);
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_geti(L, 2, i);
      if (!lua_istable(L, -1))
        luaL_error(L, "split: group %d must be a list of classes", static_cast<int>(i));
      std::vector<int> g;
      const lua_Integer m = luaL_len(L, -1);
      for (lua_Integer j = 1; j <= m; ++j) {
        lua_geti(L, -1, j);
        const std::string name = "split: group " + std::to_string(i) + " class";
        g.push_back(check_int<int>(L, -1, name.c_str(), 0));
        lua_pop(L, 1);
      }
      groups.push_back(std::move(g));
      lua_pop(L, 1);
    }
    auto s = split_by_classes(*ds, groups);
    if (!s.ok()) return raise(L, s.status());
    push_scenario(L, ds, std::move(*s));
    return 1;
  });
}

// engram.permuted(dataset, n_tasks [, seed]) -> {Task...}
int l_permuted(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto ds = dataset_arg(L, 1);
    const int n = check_int<int>(L, 2, "permuted: n_tasks", 1, 1000);
    const uint64_t seed = lua_isnoneornil(L, 3) ? 1 : check_int<uint64_t>(L, 3, "permuted: seed");
    auto s = permuted(*ds, n, seed);
    if (!s.ok()) return raise(L, s.status());
    push_scenario(L, ds, std::move(*s));
    return 1;
  });
}

// engram.rotated(dataset, {angles...}) -> {Task...}
int l_rotated(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto ds = dataset_arg(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    std::vector<double> angles;
    for (lua_Integer i = 1; i <= luaL_len(L, 2); ++i) {
      lua_geti(L, 2, i);
      angles.push_back(luaL_checknumber(L, -1));
      lua_pop(L, 1);
    }
    auto s = rotated(*ds, angles);
    if (!s.ok()) return raise(L, s.status());
    push_scenario(L, ds, std::move(*s));
    return 1;
  });
}

// engram.joint({Task...}) -> Task: all examples of the given tasks as one task (id 0), the
// upper bound of joint training. Tasks must share a dataset and have no transform.
int l_joint(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    auto joint = std::make_shared<LuaTask>();
    joint->scenario = "joint";
    std::set<int> classes;
    for (lua_Integer i = 1; i <= luaL_len(L, 1); ++i) {
      lua_geti(L, 1, i);
      const auto& t = check_task(L, -1);
      if (!joint->dataset) joint->dataset = t->dataset;
      if (joint->dataset != t->dataset) luaL_error(L, "joint: tasks come from different datasets");
      if (t->task.transform.kind != Transform::Kind::none) {
        luaL_error(L, "joint: tasks with transforms cannot be merged");
      }
      classes.insert(t->task.classes.begin(), t->task.classes.end());
      auto& tr = joint->task.train_idx;
      auto& te = joint->task.test_idx;
      tr.insert(tr.end(), t->task.train_idx.begin(), t->task.train_idx.end());
      te.insert(te.end(), t->task.test_idx.begin(), t->task.test_idx.end());
      lua_pop(L, 1);
    }
    if (!joint->dataset) luaL_error(L, "joint: no tasks given");
    joint->task.classes.assign(classes.begin(), classes.end());
    push_shared(L, std::move(joint), kTaskMeta);
    return 1;
  });
}

int dataset_index(lua_State* L) {
  const auto& ds = dataset_arg(L, 1);
  const std::string key = luaL_checkstring(L, 2);
  if (key == "name")
    lua_pushstring(L, ds->name.c_str());
  else if (key == "train_size")
    lua_pushinteger(L, static_cast<lua_Integer>(ds->train_size()));
  else if (key == "test_size")
    lua_pushinteger(L, static_cast<lua_Integer>(ds->test_size()));
  else if (key == "classes")
    lua_pushinteger(L, ds->num_classes);
  else if (key == "rows")
    lua_pushinteger(L, ds->rows);
  else if (key == "cols")
    lua_pushinteger(L, ds->cols);
  else if (key == "source")
    lua_pushstring(L, ds->source_dir.c_str());
  else if (key == "groups")
    push_string_list(L, ds->group_names);
  else if (key == "class_names")
    push_string_list(L, ds->class_names);
  else
    lua_pushnil(L);
  return 1;
}

int task_index(lua_State* L) {
  const auto& t = check_task(L, 1);
  const std::string key = luaL_checkstring(L, 2);
  if (key == "id") {
    lua_pushinteger(L, t->task.id);
  } else if (key == "classes") {
    push_integer_list(L, std::vector<long long>(t->task.classes.begin(), t->task.classes.end()));
  } else if (key == "train_size") {
    lua_pushinteger(L, static_cast<lua_Integer>(t->task.train_idx.size()));
  } else if (key == "test_size") {
    lua_pushinteger(L, static_cast<lua_Integer>(t->task.test_idx.size()));
  } else if (key == "scenario") {
    lua_pushstring(L, t->scenario.c_str());
  } else if (key == "transform") {
    lua_pushstring(L, t->task.transform.describe().c_str());
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int task_tostring(lua_State* L) {
  const auto& t = check_task(L, 1);
  std::string classes;
  for (int c : t->task.classes) classes += (classes.empty() ? "" : ",") + std::to_string(c);
  lua_pushfstring(L, "Task %d (%s, classes {%s}, %d train)", t->task.id, t->scenario.c_str(),
                  classes.c_str(), static_cast<int>(t->task.train_idx.size()));
  return 1;
}

// Metatable with __index as a function (fields), __gc and __tostring.
template <typename T>
void register_fields_type(lua_State* L, const char* meta, lua_CFunction index,
                          lua_CFunction tostring) {
  luaL_newmetatable(L, meta);
  lua_pushcfunction(L, &gc_shared<T>);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, index);
  lua_setfield(L, -2, "__index");
  if (tostring != nullptr) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

}  // namespace

std::shared_ptr<const ImageDataset>& check_dataset(lua_State* L, int idx) {
  return dataset_arg(L, idx);
}

std::shared_ptr<LuaTask>& check_task(lua_State* L, int idx) {
  return check_shared<LuaTask>(L, idx, kTaskMeta);
}

void open_data(lua_State* L) {
  register_fields_type<const ImageDataset>(L, kDatasetMeta, dataset_index, nullptr);
  register_fields_type<LuaTask>(L, kTaskMeta, task_index, task_tostring);
  const luaL_Reg funcs[] = {{"dataset", l_dataset}, {"split", l_split}, {"permuted", l_permuted},
                            {"rotated", l_rotated}, {"joint", l_joint}, {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

}  // namespace engram::lua
