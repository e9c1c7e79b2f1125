// Datasets and scenarios in Lua: engram.dataset, engram.split, engram.permuted, engram.rotated,
// engram.joint. Tasks are userdata sharing their dataset.
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
