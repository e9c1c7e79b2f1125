// What a run records for its report, as scripts see it: rt:learn's learning curve (record_every)
// and the dvae association's negative ELBO, engram.append_curve's run curve across tasks, and
// rt:recollection_grid's PNG (a row per class: real test images, then recollections decoded
// from the memory), with clear errors for kinds that have no recollections and bad options.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "io/reports/png_image.h"
#include "tests/modules/lua_test_engine.h"
#include "tests/temp_dir.h"

namespace engram {
namespace {

using test::contains;

constexpr int kTile = 28, kPad = 2, kPerClass = 6;

// An engine with the repository's MNIST, two Split MNIST tasks and a runtime `rt` of `kind`
// that learned task 1 for 100 iterations (a curve point every 25) into `p1`.
struct Lua : test::LuaTestEngine {
  explicit Lua(const std::string& kind) : LuaTestEngine("records.lua") {
    const std::string memory = kind == "dvae" ? "{kind = 'dvae', c = 32, l = 4, hidden = {128}}"
                                              : "{kind = '" + kind + "', budget_bytes = 300 * 784}";
    run("ds = engram.dataset('mnist', '" ENGRAM_SOURCE_DIR
        "/data/mnist')\n"
        "tasks = engram.split(ds, {{0, 1}, {2, 3}})\n"
        "rt = engram.runtime{dataset = ds, tasks = 2, seed = 2,\n"
        "  neocortex = {hidden = {64}}, memory = " +
        memory +
        "}\n"
        "p1 = rt:learn(tasks[1], {iterations = 100, batch = 32, replay = 32, progress = false,\n"
        "                         record_every = 25})");
  }
  double number(const std::string& expr) {
    run("value_ = " + expr);
    LuaValue v = global("value_");
    if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return std::get<double>(v);
  }
};

// Mean and spread of the pixels of tile (row, column) of a recollection grid.
struct TileStats {
  double mean = 0, spread = 0;
};
TileStats tile_stats(const GrayImage& img, int row, int column) {
  double s = 0, ss = 0;
  for (int y = 0; y < kTile; ++y) {
    for (int x = 0; x < kTile; ++x) {
      const double v = img.at(column * (kTile + kPad) + x, row * (kTile + kPad) + y) / 255.0;
      s += v;
      ss += v * v;
    }
  }
  const double n = kTile * kTile, mean = s / n;
  return {mean, std::sqrt(std::max(0.0, ss / n - mean * mean))};
}
// Mean absolute difference between two tiles.
double tile_difference(const GrayImage& img, int row, int a, int b) {
  double d = 0;
  for (int y = 0; y < kTile; ++y) {
    for (int x = 0; x < kTile; ++x) {
      const int yy = row * (kTile + kPad) + y;
      d += std::abs(img.at(a * (kTile + kPad) + x, yy) - img.at(b * (kTile + kPad) + x, yy));
    }
  }
  return d / (kTile * kTile * 255.0);
}

}  // namespace

TEST_CASE("rt:learn records a curve and the dvae's -ELBO; append_curve joins the tasks") {
  Lua lua("dvae");
  CHECK(lua.number("p1.curve.every") == 25);
  CHECK(lua.number("#p1.curve.iteration") == 4);
  CHECK(lua.number("p1.curve.iteration[4]") == 100);
  for (int k = 1; k <= 4; ++k) {
    const std::string at = "[" + std::to_string(k) + "]";
    const double loss = lua.number("p1.curve.loss" + at);
    CHECK(std::isfinite(loss));
    CHECK(loss > 0);
    CHECK(lua.number("p1.curve.samples_per_s" + at) > 0);
    CHECK(std::isfinite(lua.number("p1.curve.association_neg_elbo" + at)));
  }
  // The VAE learns: its -ELBO (nats per image, ~540 for an untrained decoder) falls.
  const double first = lua.number("p1.curve.association_neg_elbo[1]");
  const double last = lua.number("p1.curve.association_neg_elbo[4]");
  MESSAGE("dvae -ELBO over task 1: " << first << " -> " << last);
  CHECK(last < first - 20);
  CHECK(lua.number("p1.association_steps") == 100);
  const double elbo = lua.number("p1.association_neg_elbo");
  CHECK(elbo == doctest::Approx(lua.number("p1.association_reconstruction + p1.association_kl")));
  CHECK(elbo > last);  // the mean over the phase is above its end
  CHECK(lua.number("p1.association_kl") >= 0);

  lua.run(
      "p2 = rt:learn(tasks[2], {iterations = 60, batch = 32, replay = 32, progress = false,\n"
      "                         record_every = 25})\n"
      "curve = engram.append_curve({}, p1, 1, 0)\n"
      "curve = engram.append_curve(curve, p2, 2, p1.iterations)");
  CHECK(lua.number("#p2.curve.iteration") == 2);  // 60 / 25: the partial stretch is not a point
  CHECK(lua.number("#curve.iteration") == 6);
  CHECK(lua.number("curve.iteration[5]") == 125);
  CHECK(lua.number("curve.iteration[6]") == 150);
  CHECK(lua.number("curve.task[4]") == 1);
  CHECK(lua.number("curve.task[5]") == 2);
  CHECK(lua.number("#curve.loss") == 6);
  CHECK(lua.number("#curve.samples_per_s") == 6);
  CHECK(lua.number("#curve.association_neg_elbo") == 6);
  // Task 2 replays: its points count real and replayed samples, so more per second than the
  // task-1 point's real ones alone would not be a contradiction; they are positive.
  CHECK(lua.number("curve.samples_per_s[6]") > 0);

  // record_every = 0: no curve; a curve of another `every` is refused; a negative value too.
  lua.run("p3 = rt:learn(tasks[2], {iterations = 5, progress = false, record_every = 0})");
  CHECK(lua.number("p3.curve == nil and 1 or 0") == 1);
  CHECK(contains(lua.error("engram.append_curve(curve, p3, 2, 160)"), "no curve"));
  lua.run(
      "p4 = rt:learn(tasks[2], {iterations = 10, batch = 8, progress = false, record_every = 5})");
  CHECK(contains(lua.error("engram.append_curve(curve, p4, 2, 160)"), "every 5"));
  CHECK(contains(lua.error("rt:learn(tasks[2], {iterations = 5, record_every = -1})"),
                 "record_every"));
  // A consolidation phase records its steps (no real data: the loss is 0, loss_replay is not).
  lua.run("s = rt:consolidate{steps = 20, batch = 32, record_every = 10, progress = false}");
  CHECK(lua.number("#s.curve.iteration") == 2);
  CHECK(lua.number("s.curve.loss_replay[2]") > 0);
}

TEST_CASE("rt:recollection_grid writes real examples beside decoded recollections") {
  test::TempDir dir;
  Lua lua("dvae");
  const std::string path = dir.file("grid.png");
  lua.run("g = rt:recollection_grid('" + path +
          "', {tasks = tasks, per_class = " + std::to_string(kPerClass) + "})");
  // Only task 1 was learned: classes 0 and 1.
  CHECK(lua.number("g.rows") == 2);
  CHECK(lua.number("g.classes[1]") == 0);
  CHECK(lua.number("g.classes[2]") == 1);
  CHECK(lua.number("g.recollections[1]") == kPerClass);
  const int columns = 2 * kPerClass + 1;
  CHECK(lua.number("g.columns") == columns);
  auto img = read_png_gray(path);
  REQUIRE_MESSAGE(img.ok(), img.status().to_string());
  CHECK(img->width == columns * kTile + (columns - 1) * kPad);
  CHECK(img->height == 2 * kTile + kPad);
  CHECK(lua.number("g.width") == img->width);
  CHECK(lua.number("g.height") == img->height);
  for (int row = 0; row < 2; ++row) {
    CAPTURE(row);
    for (int k = 0; k < kPerClass; ++k) {
      const TileStats real = tile_stats(*img, row, k);
      const TileStats recalled = tile_stats(*img, row, kPerClass + 1 + k);
      // Digits: dark background, bright strokes; decodes are not blank or uniform.
      CHECK(real.spread > 0.15);
      CHECK(recalled.spread > 0.1);
      CHECK(recalled.mean > 0.02);
      CHECK(recalled.mean < 0.5);
      // A recollection is not a copy of the real example beside it (a draw from the memory).
      CHECK(tile_difference(*img, row, k, kPerClass + 1 + k) > 0.02);
    }
    // The separator tile is mid gray.
    CHECK(tile_stats(*img, row, kPerClass).mean == doctest::Approx(128 / 255.0).epsilon(0.01));
  }
  // Classes named: a learned one and one with nothing stored yet (gray tiles, count 0).
  lua.run("h = rt:recollection_grid('" + dir.file("h.png") +
          "', {tasks = tasks, per_class = 2, classes = {1, 3}})");
  CHECK(lua.number("h.rows") == 2);
  CHECK(lua.number("h.recollections[1]") == 2);
  CHECK(lua.number("h.recollections[2]") == 0);
  // Mistakes are refused naming them.
  CHECK(contains(lua.error("rt:recollection_grid('" + dir.file("x.png") +
                           "', {tasks = tasks, classes = {7}})"),
                 "class 7"));
  CHECK(contains(lua.error("rt:recollection_grid('" + dir.file("x.png") + "', {per_class = 2})"),
                 "tasks"));
  CHECK(contains(
      lua.error("rt:recollection_grid('" + dir.file("x.png") + "', {tasks = tasks, per_clas = 2})"),
      "per_clas"));
  CHECK(contains(lua.error("rt:recollection_grid('/nonexistent/dir/x.png', {tasks = tasks})"),
                 "/nonexistent/dir"));
}

TEST_CASE("raw recollections are stored images; kinds without stored codes are refused") {
  test::TempDir dir;
  {
    Lua lua("raw");
    lua.run("g = rt:recollection_grid('" + dir.file("raw.png") +
            "', {tasks = tasks, per_class = 3})");
    auto img = read_png_gray(dir.file("raw.png"));
    REQUIRE(img.ok());
    for (int row = 0; row < 2; ++row) {
      for (int k = 0; k < 3; ++k) CHECK(tile_stats(*img, row, 4 + k).spread > 0.2);
    }
    // raw stores no ELBO.
    CHECK(lua.number("p1.association_neg_elbo == nil and 1 or 0") == 1);
    CHECK(lua.number("p1.curve.association_neg_elbo == nil and 1 or 0") == 1);
  }
  Lua none("none");
  const std::string e =
      none.error("rt:recollection_grid('" + dir.file("n.png") + "', {tasks = tasks})");
  CHECK(contains(e, "\"none\""));
  CHECK(contains(e, "stores no codes"));
}

}  // namespace engram
