// Datasets and scenarios in Lua: engram.dataset, engram.split, engram.permuted, engram.rotated,
// engram.joint. Tasks are userdata sharing their dataset.
//
// Dataset fields: name, train_size, test_size, classes, rows, cols, source, and for datasets
// with class groups (omniglot: alphabets) groups = {group names...} and class_names =
// {names...} (class k is class_names[k + 1]; both {} for MNIST). Alphabets as tasks:
//   local ds = engram.dataset("omniglot")
//   local tasks = engram.split(ds, "groups")   -- tasks[i] holds the characters of ds.groups[i]
// (an error for a dataset without groups). engram.split(ds, {{0,1},{2,3}}) splits by classes.
#pragma once

#include <lua.hpp>

#include <memory>

#include "io/datasets/dataset.h"
#include "io/datasets/scenario.h"

namespace engram::lua {

inline constexpr const char* kDatasetMeta = "engram.Dataset";
inline constexpr const char* kTaskMeta = "engram.Task";

struct LuaTask {
  std::shared_ptr<const ImageDataset> dataset;
  Task task;
  std::string scenario;  // "split", "permuted", "rotated", "joint"
};

// Registers the metatables and adds the functions to the table on top of the stack.
void open_data(lua_State* L);

// The dataset / task userdata at idx (Lua error otherwise).
std::shared_ptr<const ImageDataset>& check_dataset(lua_State* L, int idx);
std::shared_ptr<LuaTask>& check_task(lua_State* L, int idx);

}  // namespace engram::lua
