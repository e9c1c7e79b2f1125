#include "bindings/lua/lua_lifelong.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <memory>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_progress.h"
#include "bindings/lua/lua_table.h"
#include "modules/lifelong/lifelong_protocol.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

// distributions = {{0}, {1, 2}, ...}: pushed by push_subtable at the top of the stack.
std::vector<std::vector<int>> read_distributions(lua_State* L) {
  std::vector<std::vector<int>> out;
  const int table = lua_gettop(L);
  const lua_Integer n = luaL_len(L, table);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_geti(L, table, i);
    if (!lua_istable(L, -1)) {
      luaL_error(L, "lifelong_vae.distributions[%d] must be a list of classes",
                 static_cast<int>(i));
    }
    std::vector<int> classes;
    const lua_Integer m = luaL_len(L, -1);
    for (lua_Integer k = 1; k <= m; ++k) {
      lua_geti(L, -1, k);
      classes.push_back(check_int<int>(L, -1, "lifelong_vae.distributions class", 0, 1 << 20));
      lua_pop(L, 1);
    }
    out.push_back(std::move(classes));
    lua_pop(L, 1);
  }
  return out;
}

void push_matrix(lua_State* L, const std::vector<std::vector<double>>& rows) {
  lua_createtable(L, static_cast<int>(rows.size()), 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    push_number_list(L, rows[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

int l_lifelong_vae(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "lifelong_vae";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what,
               {"dataset",
                "distributions",
                "batch_mode",
                "j",
                "f",
                "hidden",
                "lr",
                "tau",
                "consistency",
                "mutual_info",
                "grow",
                "seed",
                "device",
                "batch",
                "max_steps",
                "patience",
                "eval_every",
                "validation",
                "test_examples",
                "grid",
                "grid_samples",
                "progress"});
    if (lua_getfield(L, 1, "dataset") == LUA_TNIL) {
      return luaL_error(L, "lifelong_vae.dataset is required (engram.dataset(\"fashion-mnist\"))");
    }
    const std::shared_ptr<const ImageDataset> ds = check_dataset(L, lua_gettop(L));
    lua_pop(L, 1);
    LifelongProtocolConfig c;
    if (push_subtable(L, 1, what, "distributions")) {
      c.distributions = read_distributions(L);
      lua_pop(L, 1);
    } else {
      for (int k = 0; k < ds->num_classes; ++k) c.distributions.push_back({k});
    }
    c.batch_mode = opt_boolean(L, 1, what, "batch_mode", c.batch_mode);
    LifelongVaeConfig& v = c.vae;
    v.rows = static_cast<int>(ds->rows);
    v.cols = static_cast<int>(ds->cols);
    v.j = opt_int<int>(L, 1, what, "j", v.j);
    v.f = opt_int<int>(L, 1, what, "f", v.f);
    v.hidden = opt_int_list(L, 1, what, "hidden", v.hidden);
    v.lr = opt_number(L, 1, what, "lr", v.lr);
    v.tau = opt_number(L, 1, what, "tau", v.tau);
    v.consistency = opt_number(L, 1, what, "consistency", v.consistency);
    v.mutual_info = opt_number(L, 1, what, "mutual_info", v.mutual_info);
    v.grow = opt_boolean(L, 1, what, "grow", v.grow);
    v.seed = opt_int<uint64_t>(L, 1, what, "seed", v.seed);
    v.device = opt_string(L, 1, what, "device", v.device);
    c.batch = opt_int<int>(L, 1, what, "batch", c.batch);
    c.max_steps = opt_int<int>(L, 1, what, "max_steps", c.max_steps);
    c.patience = opt_int<int>(L, 1, what, "patience", c.patience);
    c.eval_every = opt_int<int>(L, 1, what, "eval_every", c.eval_every);
    c.validation = opt_int<int>(L, 1, what, "validation", c.validation);
    c.test_examples = opt_int<int64_t>(L, 1, what, "test_examples", c.test_examples);
    c.grid_path = opt_string(L, 1, what, "grid", c.grid_path);
    c.grid_samples = opt_int<int>(L, 1, what, "grid_samples", c.grid_samples);
    const bool show = opt_boolean(L, 1, what, "progress", true);
    // A bar per interval ("lifelong 4/10", or "lifelong batch" for the upper bound) over its
    // max_steps, ended at the step where early stopping ended it, with the -ELBO measured then.
    std::unique_ptr<Progress> bar;
    int64_t steps_done = 0;
    LifelongStepFn on_step;
    LifelongProgressFn on_interval;
    if (show) {
      const size_t intervals = c.distributions.size();
      on_step = [&](int interval, int64_t step, double best) {
        if (!bar) {
          const std::string label = c.batch_mode
                                        ? std::string("lifelong batch")
                                        : fmt::format("lifelong {}/{}", interval + 1, intervals);
          bar = std::make_unique<Progress>(label, c.max_steps);
        }
        steps_done = step;
        if (step < c.max_steps) {
          bar->update(step, std::isfinite(best) ? fmt::format("validation -ELBO {:.2f}", best)
                                                : std::string());
        }
      };
      on_interval = [&](int, const LifelongProtocolResult& so_far) {
        if (!bar) return;
        bar->set_total(steps_done);
        complete(*bar, steps_done,
                 fmt::format("test -ELBO {:.2f} over {} distribution(s)", so_far.elbo.back(),
                             c.batch_mode ? intervals : so_far.elbo.size()));
        bar.reset();
      };
    }
    auto r = run_lifelong_protocol(*ds, c, on_interval, on_step);
    bar.reset();
    if (!r.ok()) return raise(L, r.status());
    lua_createtable(L, 0, 10);
    push_number_list(L, r->elbo);
    lua_setfield(L, -2, "elbo");
    push_matrix(L, r->elbo_matrix);
    lua_setfield(L, -2, "elbo_matrix");
    push_matrix(L, r->consistency);
    lua_setfield(L, -2, "consistency");
    push_integer_list(L, {r->steps.begin(), r->steps.end()});
    lua_setfield(L, -2, "steps");
    push_integer_list(L, {r->real_examples.begin(), r->real_examples.end()});
    lua_setfield(L, -2, "real_examples");
    push_number_list(L, r->interval_seconds);
    lua_setfield(L, -2, "interval_seconds");
    set_number(L, "seconds", r->seconds);
    set_int(L, "weight_bytes", r->weight_bytes);
    set_int(L, "j", r->final_j);
    return 1;
  });
}

}  // namespace

void open_lifelong(lua_State* L) {
  lua_pushcfunction(L, l_lifelong_vae);
  lua_setfield(L, -2, "lifelong_vae");
}

}  // namespace engram::lua
