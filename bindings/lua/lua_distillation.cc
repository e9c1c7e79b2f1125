#include "bindings/lua/lua_distillation.h"

#include <fmt/format.h>

#include <cmath>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_progress.h"
#include "bindings/lua/lua_table.h"
#include "bindings/lua/lua_userdata.h"
#include "modules/distill/distiller.h"
#include "modules/distill/teacher.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

constexpr const char* kTeacherMeta = "engram.Teacher";
constexpr const char* kMemoryMeta = "engram.RecollectionMemory";

std::shared_ptr<const ImageDataset> dataset_field(lua_State* L, const char* what) {
  lua_getfield(L, 1, "dataset");
  if (lua_isnil(L, -1)) luaL_error(L, "%s.dataset is required (engram.dataset(\"mnist\"))", what);
  std::shared_ptr<const ImageDataset> ds = check_dataset(L, -1);
  lua_pop(L, 1);
  return ds;
}

int l_teacher(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "teacher";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what,
               {"dataset", "net", "hidden", "epochs", "batch", "lr", "lr_decay", "seed", "cache",
                "progress"});
    auto ds = dataset_field(L, what);
    TeacherOptions o;
    o.net.net = opt_string(L, 1, what, "net", "cnn");
    o.net.hidden = opt_int_list(L, 1, what, "hidden", o.net.hidden);
    o.epochs = opt_int<int>(L, 1, what, "epochs", o.epochs, 0, 1000);
    o.batch = opt_int<int>(L, 1, what, "batch", o.batch, 1, 1 << 16);
    o.lr = opt_number(L, 1, what, "lr", o.lr);
    o.lr_decay = opt_number(L, 1, what, "lr_decay", o.lr_decay);
    o.seed = opt_int<uint64_t>(L, 1, what, "seed", 1);
    o.cache = opt_string(L, 1, what, "cache", "");
    const bool show = opt_boolean(L, 1, what, "progress", true);
    // A bar per epoch ("teacher epoch 3/8"), ended with the epoch's test accuracy.
    EpochBars bars("teacher", show);
    auto on_epoch = [&bars](int, double accuracy) {
      bars.finish_epoch(fmt::format("test accuracy {:.4f}", accuracy));
    };
    auto t = train_teacher(*ds, o, on_epoch, bars.callback());
    if (!t.ok()) return raise(L, t.status());
    push_shared(L, std::make_shared<Teacher>(std::move(*t)), kTeacherMeta);
    return 1;
  });
}

int l_teacher_info(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const Teacher& t = *check_shared<Teacher>(L, 1, kTeacherMeta);
    lua_createtable(L, 0, 3);
    set_number(L, "accuracy", t.test_accuracy);
    set_number(L, "seconds", t.train_seconds);
    lua_pushboolean(L, t.from_cache);
    lua_setfield(L, -2, "from_cache");
    return 1;
  });
}

int l_teacher_accuracy(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    lua_pushnumber(L, check_shared<Teacher>(L, 1, kTeacherMeta)->test_accuracy);
    return 1;
  });
}

int l_recollections(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "recollections";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what,
               {"dataset", "c", "l", "arch", "hidden", "tau", "epochs", "batch", "seed", "lr",
                "cache", "progress"});
    auto ds = dataset_field(L, what);
    RecollectionStoreOptions o;
    o.dvae.hidden = {512};
    o.dvae.c = opt_int<int>(L, 1, what, "c", 168, 1, 65536);
    o.dvae.l = opt_int<int>(L, 1, what, "l", 2, 2, 65536);
    o.dvae.arch = opt_string(L, 1, what, "arch", o.dvae.arch);
    if (o.dvae.arch == "conv") o.dvae.hidden = {0};
    o.dvae.hidden = opt_int_list(L, 1, what, "hidden", o.dvae.hidden);
    o.dvae.tau = opt_number(L, 1, what, "tau", o.dvae.tau);
    o.dvae.lr = opt_number(L, 1, what, "lr", o.dvae.lr);
    o.dvae.seed = opt_int<uint64_t>(L, 1, what, "seed", 1);
    o.epochs = opt_int<int>(L, 1, what, "epochs", o.epochs, 0, 1000);
    o.batch = opt_int<int>(L, 1, what, "batch", o.batch, 1, 1 << 16);
    o.cache = opt_string(L, 1, what, "cache", "");
    const bool show = opt_boolean(L, 1, what, "progress", true);
    // A bar per epoch of the VAE's training ("memory c=168 l=2 epoch 3/30").
    auto store = [&] {
      EpochBars bars(fmt::format("memory c={} l={}", o.dvae.c, o.dvae.l), show);
      return RecollectionStore::build(*ds, o, bars.callback());
    }();
    if (!store.ok()) return raise(L, store.status());
    push_shared(L, std::shared_ptr<RecollectionStore>(std::move(*store)), kMemoryMeta);
    return 1;
  });
}

int l_memory_stats(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const RecollectionStoreStats& s = check_shared<RecollectionStore>(L, 1, kMemoryMeta)->stats();
    lua_createtable(L, 0, 10);
    set_int(L, "c", s.c);
    set_int(L, "l", s.l);
    set_int(L, "codes", s.codes);
    set_int(L, "bits_per_code", s.bits_per_code);
    set_number(L, "compression", s.compression);
    set_int(L, "buffer_bytes", s.buffer_bytes);
    set_int(L, "decoder_weight_bytes", s.decoder_weight_bytes);
    set_number(L, "l1", s.l1_distortion);
    set_number(L, "seconds", s.train_seconds);
    if (std::isfinite(s.neg_elbo)) set_number(L, "neg_elbo", s.neg_elbo);
    lua_pushboolean(L, s.from_cache);
    lua_setfield(L, -2, "from_cache");
    return 1;
  });
}

int l_distill(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const char* what = "distill";
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, what,
               {"dataset", "teacher", "memory", "student", "hidden", "source", "curriculum", "k",
                "n", "similarity", "msss_gamma", "batch", "lr", "seed", "episodes", "checkpoints",
                "label", "progress"});
    auto ds = dataset_field(L, what);
    lua_getfield(L, 1, "teacher");
    std::shared_ptr<Teacher> teacher = check_shared<Teacher>(L, -1, kTeacherMeta);
    lua_pop(L, 1);
    std::shared_ptr<RecollectionStore> memory;
    if (lua_getfield(L, 1, "memory") != LUA_TNIL) {
      memory = check_shared<RecollectionStore>(L, -1, kMemoryMeta);
    }
    lua_pop(L, 1);
    DistillOptions o;
    o.student.net = opt_string(L, 1, what, "student", "cnn");
    o.student.hidden = opt_int_list(L, 1, what, "hidden", {300, 300});
    o.source = opt_string(L, 1, what, "source", o.source);
    o.curriculum = opt_string(L, 1, what, "curriculum", o.curriculum);
    o.k = opt_int<int>(L, 1, what, "k", o.k, 1, 100000);
    o.n = opt_int<int>(L, 1, what, "n", o.n, 1, 100000);
    o.similarity = opt_string(L, 1, what, "similarity", o.similarity);
    o.msss_gamma = opt_number(L, 1, what, "msss_gamma", o.msss_gamma);
    o.batch = opt_int<int>(L, 1, what, "batch", o.batch, 1, 1 << 16);
    o.lr = opt_number(L, 1, what, "lr", o.lr);
    o.seed = opt_int<uint64_t>(L, 1, what, "seed", 1);
    o.episodes = opt_int<int64_t>(L, 1, what, "episodes", o.episodes, 0);
    std::vector<int> cps = opt_int_list(L, 1, what, "checkpoints", {100, 1000, 10000});
    o.checkpoints.assign(cps.begin(), cps.end());
    std::string label = "distill " + o.source;
    if (o.curriculum != "random") label += " " + o.curriculum;
    label = opt_string(L, 1, what, "label", label);
    const bool show = opt_boolean(L, 1, what, "progress", true) && o.episodes > 0;
    // One bar over the episodes, with the student's loss and its last checkpoint accuracy.
    Progress bar(label, o.episodes);
    auto extra = [](double loss, const DistillResult& so_far) {
      std::string text = fmt::format("loss {:.4f}", loss);
      if (!so_far.accuracy.empty()) {
        text +=
            fmt::format(", accuracy {:.4f} at {}", so_far.accuracy.back(), so_far.episodes.back());
      }
      return text;
    };
    double last_loss = NAN;
    DistillProgressFn on_episode;
    if (show) {
      on_episode = [&](int64_t episode, double loss, const DistillResult& so_far) {
        last_loss = loss;
        if (episode < o.episodes) bar.update(episode, extra(loss, so_far));
      };
    }
    auto r = distill(*ds, *teacher->learner, memory.get(), o, on_episode);
    if (!r.ok()) return raise(L, r.status());
    if (show) complete(bar, o.episodes, extra(last_loss, *r));
    lua_createtable(L, 0, 8);
    lua_createtable(L, static_cast<int>(r->episodes.size()), 0);
    for (size_t i = 0; i < r->episodes.size(); ++i) {
      lua_pushinteger(L, r->episodes[i]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setfield(L, -2, "episodes");
    lua_createtable(L, static_cast<int>(r->accuracy.size()), 0);
    for (size_t i = 0; i < r->accuracy.size(); ++i) {
      lua_pushnumber(L, r->accuracy[i]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setfield(L, -2, "accuracy");
    set_number(L, "seconds", r->seconds);
    set_number(L, "eval_seconds", r->eval_seconds);
    set_int(L, "drawn", r->examples_drawn);
    set_number(L, "drawn_mean_pixel", r->drawn_mean_pixel);
    set_number(L, "trained_mean_pixel", r->trained_mean_pixel);
    set_int(L, "skipped_steps", r->skipped_steps);
    return 1;
  });
}

}  // namespace

void open_distillation(lua_State* L) {
  static const luaL_Reg teacher_methods[] = {
      {"accuracy", l_teacher_accuracy}, {"info", l_teacher_info}, {nullptr, nullptr}};
  register_type<Teacher>(L, kTeacherMeta, teacher_methods);
  static const luaL_Reg memory_methods[] = {{"stats", l_memory_stats}, {nullptr, nullptr}};
  register_type<RecollectionStore>(L, kMemoryMeta, memory_methods);
  lua_pushcfunction(L, l_teacher);
  lua_setfield(L, -2, "teacher");
  lua_pushcfunction(L, l_recollections);
  lua_setfield(L, -2, "recollections");
  lua_pushcfunction(L, l_distill);
  lua_setfield(L, -2, "distill");
}

}  // namespace engram::lua
