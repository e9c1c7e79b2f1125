// The lifelong generative-modelling protocol of papers/002 from Lua: engram.lifelong_vae.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds engram.lifelong_vae to the table on top of the stack:
//   engram.lifelong_vae{dataset = ds, distributions = {{0}, {1}, ...} (default: each class),
//                       batch_mode = false, j = 1, f = 16, hidden = {512, 512}, lr = 1e-3,
//                       tau = 1, consistency = 1, mutual_info = 1, grow = true, seed = 1,
//                       device = "cpu", batch = 64, max_steps = 2000, patience = 50,
//                       eval_every = 10, validation = 200, test_examples = 0,
//                       grid = "path.png", grid_samples = 10}
//   -> {elbo = {...}, elbo_matrix = {{...}}, consistency = {{...}}, steps = {...},
//       real_examples = {...}, interval_seconds = {...}, seconds, weight_bytes, j}
// Runs modules/lifelong/lifelong_protocol.h's protocol (see there for each field) and blocks
// until it ends. Bad fields raise a Lua error naming the field.
void open_lifelong(lua_State* L);

}  // namespace engram::lua
