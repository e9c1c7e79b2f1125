// Omniglot from Lua: engram.dataset("omniglot") exposes its alphabets (ds.groups) and character
// names, and engram.split(ds, "groups") makes one task per alphabet; datasets without groups
// and unknown split modes are refused with messages that say so.
#include <doctest/doctest.h>

#include <string>

#include "tests/modules/lua_test_engine.h"

namespace engram {
namespace {

using test::contains;

const std::string kShipped = std::string(ENGRAM_SOURCE_DIR) + "/data/omniglot";

TEST_CASE("engram.dataset('omniglot') and engram.split(ds, 'groups')") {
  test::LuaTestEngine lua("omniglot.lua");
  lua.run("ds = engram.dataset('omniglot', '" + kShipped +
          "')\n"
          "tasks = engram.split(ds, 'groups')\n"
          "n_tasks, n_groups, classes = #tasks, #ds.groups, ds.classes\n"
          "first_group, katakana = ds.groups[1], ds.groups[4]\n"
          "last_class = ds.class_names[ds.classes]\n"
          "kata_first, kata_last = tasks[4].classes[1], tasks[4].classes[#tasks[4].classes]\n"
          "kata_train, kata_test = tasks[4].train_size, tasks[4].test_size\n"
          "total = 0\n"
          "for _, t in ipairs(tasks) do total = total + #t.classes end\n");
  CHECK(std::get<int64_t>(lua.global("n_tasks")) == 8);
  CHECK(std::get<int64_t>(lua.global("n_groups")) == 8);
  CHECK(std::get<int64_t>(lua.global("classes")) == 242);
  CHECK(std::get<int64_t>(lua.global("total")) == 242);
  CHECK(std::get<std::string>(lua.global("first_group")) == "Balinese");
  CHECK(std::get<std::string>(lua.global("katakana")) == "Japanese_(katakana)");
  CHECK(std::get<std::string>(lua.global("last_class")) == "Tagalog/character17");
  // Balinese 24, Early_Aramaic 22, Greek 24 characters come first.
  CHECK(std::get<int64_t>(lua.global("kata_first")) == 70);
  CHECK(std::get<int64_t>(lua.global("kata_last")) == 116);
  CHECK(std::get<int64_t>(lua.global("kata_train")) == 47 * 18);
  CHECK(std::get<int64_t>(lua.global("kata_test")) == 47 * 2);

  std::string m = lua.error("engram.split(ds, 'alphabets')");
  CHECK(contains(m, "'alphabets' is not a split mode"));
  CHECK(contains(m, "omniglot.lua:1"));
}

TEST_CASE("engram.split(ds, 'groups') refuses a dataset without groups") {
  test::LuaTestEngine lua("mnist.lua");
  lua.run("ds = engram.dataset('mnist')\ngroups = #ds.groups\n");
  CHECK(std::get<int64_t>(lua.global("groups")) == 0);
  const std::string m = lua.error("engram.split(ds, 'groups')");
  CHECK(contains(m, "mnist has no class groups"));
}

}  // namespace
}  // namespace engram
