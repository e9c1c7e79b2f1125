#include "bindings/lua/lua_distill.h"

#include "bindings/lua/lua_table.h"
#include "modules/distill/latent_budget.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

// The field must be present: opt_* readers fall back silently, a budget must not.
void require_field(lua_State* L, int index, const char* what, const char* field) {
  const int type = lua_getfield(L, index, field);
  lua_pop(L, 1);
  if (type == LUA_TNIL) luaL_error(L, "%s.%s is required", what, field);
}

int l_latent_size(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "latent_size";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what,
               {"budget_bytes", "rho", "examples", "kind", "max_c", "max_l", "param_quadratic_bits",
                "param_linear_bits", "param_fixed_bits"});
    require_field(L, 1, what, "budget_bytes");
    require_field(L, 1, what, "examples");
    LatentBudget b;
    b.budget_bytes = opt_number(L, 1, what, "budget_bytes", 0);
    b.rho = opt_number(L, 1, what, "rho", b.rho);
    // Integer fields take any int64: optimize_latent_size's messages say what a field means
    // ("examples (N) must be >= 1") better than a bare range would.
    b.examples = opt_int<int64_t>(L, 1, what, "examples", 0);
    auto kind = parse_budget_kind(opt_string(L, 1, what, "kind", "incremental"));
    if (!kind.ok()) return raise(L, kind.status());
    b.kind = *kind;
    b.max_c = opt_int<int64_t>(L, 1, what, "max_c", b.max_c);
    b.max_l = opt_int<int64_t>(L, 1, what, "max_l", b.max_l);
    b.parameters.quadratic_bits =
        opt_number(L, 1, what, "param_quadratic_bits", b.parameters.quadratic_bits);
    b.parameters.linear_bits =
        opt_number(L, 1, what, "param_linear_bits", b.parameters.linear_bits);
    b.parameters.fixed_bits = opt_number(L, 1, what, "param_fixed_bits", b.parameters.fixed_bits);
    auto size = optimize_latent_size(b);
    if (!size.ok()) return raise(L, size.status());
    lua_createtable(L, 0, 6);
    set_int(L, "c", size->c);
    set_int(L, "l", size->l);
    set_number(L, "capacity_bits", size->capacity_bits);
    set_int(L, "bits_per_code", size->bits_per_code);
    set_number(L, "parameter_bits", size->parameter_bits);
    set_number(L, "bytes", size->bytes);
    return 1;
  });
}

}  // namespace

void open_distill(lua_State* L) {
  lua_pushcfunction(L, l_latent_size);
  lua_setfield(L, -2, "latent_size");
}

}  // namespace engram::lua
