// Generative knowledge distillation from Lua (modules/distill): a teacher, a recollection memory
// of the training set, and distillation runs of a student under a curriculum.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds to the table on top of the stack:
//   engram.teacher{dataset = ds, net = "cnn", hidden = {...}, epochs = 8, batch = 128,
//                  lr = 1e-3, lr_decay = 0.7, seed = 1, cache = "path"}  -> Teacher
//     teacher:accuracy() -> test accuracy; teacher:info() -> {accuracy, seconds, from_cache}
//   engram.recollections{dataset = ds, c = 168, l = 2, hidden = {512}, epochs = 10,
//                        batch = 128, seed = 1}  -> Memory
//     memory:stats() -> {c, l, codes, bits_per_code, compression, buffer_bytes,
//                        decoder_weight_bytes, l1, seconds}
//   engram.distill{dataset = ds, teacher = t, memory = m (for "buffer" / "codes"),
//                  student = "cnn" | "mlp", hidden = {300, 300},
//                  source = "real" | "real_teacher" | "buffer" | "codes",
//                  curriculum = "random" | "active" | "active_diverse", k = 10, n = 10,
//                  similarity = "dot" | "cosine" | "centered" (MSSS of active_diverse),
//                  msss_gamma = 1 (fraction of candidates each MSSS step examines),
//                  batch = 1, lr = 1e-3, seed = 1, episodes = 10000,
//                  checkpoints = {100, 1000, 10000}}
//     -> {episodes = {...}, accuracy = {...}, seconds, eval_seconds, drawn,
//         drawn_mean_pixel, trained_mean_pixel}
void open_distillation(lua_State* L);

}  // namespace engram::lua
