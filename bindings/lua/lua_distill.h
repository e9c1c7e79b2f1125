// Generative distillation helpers in Lua: engram.latent_size.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds engram.latent_size to the table on top of the stack:
//   engram.latent_size{budget_bytes = 4704000, examples = 60000, rho = 1,
//                      kind = "incremental" | "total", max_c = 2^20, max_l = 2^16,
//                      param_quadratic_bits = 64, param_linear_bits = 0, param_fixed_bits = 0}
//   -> {c, l, capacity_bits, bits_per_code, parameter_bits, bytes}
// budget_bytes and examples are required; the param_* fields model the autoencoder's size
// |theta| = quadratic * (c*l)^2 + linear * (c*l) + fixed bits, counted by a "total" budget only
// (see modules/distill/latent_budget.h). Bad fields and budgets too small for any code raise a
// Lua error naming the problem.
void open_distill(lua_State* L);

}  // namespace engram::lua
