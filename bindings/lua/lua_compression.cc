#include "bindings/lua/lua_compression.h"

#include <fmt/format.h>

#include <cstdint>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_progress.h"
#include "bindings/lua/lua_table.h"
#include "modules/association/compression_probe.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

// Integer fields take any int: measure_compression's validation says what a field needs
// ("l must be >= 2") better than a bare range would.
int int_field(lua_State* L, const char* what, const char* field, int fallback) {
  return opt_int<int>(L, 1, what, field, fallback);
}

int l_compression(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "compression";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(
        L, 1, what,
        {"dataset", "latent", "c", "l", "h", "arch", "hidden", "kl_weight", "epochs", "steps",
         "batch", "lr", "seed", "train_examples", "test_examples", "threads", "label", "progress"});
    if (lua_getfield(L, 1, "dataset") == LUA_TNIL) {
      return luaL_error(L, "compression.dataset is required (engram.dataset(\"mnist\"))");
    }
    const std::shared_ptr<const ImageDataset> ds = check_dataset(L, lua_gettop(L));
    lua_pop(L, 1);
    CompressionProbeConfig c;
    c.latent = opt_string(L, 1, what, "latent", c.latent);
    c.c = int_field(L, what, "c", c.c);
    c.l = int_field(L, what, "l", c.l);
    c.h = int_field(L, what, "h", c.h);
    c.arch = opt_string(L, 1, what, "arch", c.arch);
    c.hidden = opt_int_list(L, 1, what, "hidden", c.hidden);
    c.kl_weight = opt_number(L, 1, what, "kl_weight", c.kl_weight);
    c.epochs = int_field(L, what, "epochs", c.epochs);
    c.steps = opt_int<int64_t>(L, 1, what, "steps", c.steps, 0);
    c.batch = int_field(L, what, "batch", c.batch);
    c.lr = opt_number(L, 1, what, "lr", c.lr);
    c.seed = opt_int<uint64_t>(L, 1, what, "seed", c.seed);
    c.train_examples = opt_int<int64_t>(L, 1, what, "train_examples", 0, 0);
    c.test_examples = opt_int<int64_t>(L, 1, what, "test_examples", 0, 0);
    c.threads = int_field(L, what, "threads", c.threads);
    // One bar over the training steps, labelled by the point of the sweep it measures.
    const std::string label =
        opt_string(L, 1, what, "label",
                   c.latent == "continuous" ? fmt::format("sweep h={}", c.h)
                                            : fmt::format("sweep c={} l={}", c.c, c.l));
    const bool show = opt_boolean(L, 1, what, "progress", true);
    Progress bar(label, 0);
    bool started = false;
    TrainingProgressFn on_step;
    if (show) {
      on_step = [&](const TrainingTick& t) {
        if (!started) {
          bar.set_total(t.steps);
          started = true;
        }
        if (t.step < t.steps) {
          bar.update(t.step, fmt::format("epoch {}/{} loss {:.4f}", t.epoch, t.epochs, t.loss));
        }
      };
    }
    auto r = measure_compression(*ds, c, on_step);
    if (!r.ok()) return raise(L, r.status());
    if (started) {
      complete(bar, r->steps, fmt::format("loss {:.4f}, test L1 {:.4f}", r->final_loss, r->l1));
    }
    lua_createtable(L, 0, 16);
    lua_pushstring(L, r->latent.c_str());
    lua_setfield(L, -2, "latent");
    set_int(L, "c", r->c);
    set_int(L, "l", r->l);
    set_int(L, "h", r->h);
    set_int(L, "bits_per_code", r->bits_per_code);
    set_int(L, "image_bits", r->image_bits);
    set_number(L, "compression", r->compression);
    set_number(L, "l1", r->l1);
    set_number(L, "l1_train", r->l1_train);
    set_number(L, "l1_untrained", r->l1_untrained);
    set_number(L, "final_loss", r->final_loss);
    set_number(L, "seconds", r->seconds);
    set_int(L, "steps", r->steps);
    set_int(L, "train_examples", r->train_examples);
    set_int(L, "test_examples", r->test_examples);
    set_int(L, "weight_bytes", r->weight_bytes);
    return 1;
  });
}

}  // namespace

void open_compression(lua_State* L) {
  lua_pushcfunction(L, l_compression);
  lua_setfield(L, -2, "compression");
}

}  // namespace engram::lua
