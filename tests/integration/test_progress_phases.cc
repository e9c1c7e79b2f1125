// Progress of the long phases a script runs (issue 18): training a teacher and a memory,
// distillation, the lifelong VAE protocol, a compression probe, stream learning and a restore each
// print progress lines on stderr. Captured in a file (not a terminal) they are plain lines with
// the phase's label, a percentage and a rate, and no "\r"; set_progress_quiet(true) (the CLI's
// --quiet) and a call's progress = false silence them. Everything runs on the tiny "bars" images.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bindings/lua/lua_data.h"
#include "bindings/lua/lua_userdata.h"
#include "io/reports/progress.h"
#include "tests/integration/stream_test_util.h"
#include "tests/modules/lua_test_engine.h"
#include "tests/temp_dir.h"

namespace engram {
namespace {

using test::contains;

// While alive, the process's stderr (fd 2) goes to a file instead of where it went before.
class StderrToFile {
 public:
  explicit StderrToFile(const std::string& path) {
    std::fflush(stderr);
    saved_ = dup(2);
    REQUIRE(saved_ >= 0);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(dup2(fd, 2) == 2);
    close(fd);
  }
  ~StderrToFile() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
  }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

 private:
  int saved_ = -1;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The progress lines of `text` that start with `label` followed by a space.
std::vector<std::string> progress_lines(const std::string& text, const std::string& label) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind(label + " ", 0) == 0) out.push_back(line);
  }
  return out;
}

// An engine with the engram module and the bars images as the global `ds`.
struct BarsLua : test::LuaTestEngine {
  std::shared_ptr<const ImageDataset> data = test::bars();

  BarsLua() : LuaTestEngine("progress.lua") {
    auto pushed = engine.protect(0, [this](lua_State* L) {
      lua::push_shared(L, data, lua::kDatasetMeta);
      lua_setglobal(L, "ds");
      return 0;
    });
    REQUIRE(pushed.ok());
  }
};

// Runs `code` with stderr in a file; returns what was written there.
std::string stderr_of(BarsLua& lua, const std::string& code) {
  test::TempDir dir;
  const std::string path = dir.path() + "/stderr.txt";
  {
    StderrToFile capture(path);
    lua.run(code);
  }
  return read_text(path);
}

// Every phase of the script below, as the label its final line starts with and a part of what
// that line must say after the counts.
struct Phase {
  std::string label, final_part;
};

const std::vector<Phase> kPhases = {
    {"teacher epoch 1/2", "100% 18/18"},
    {"teacher epoch 2/2", "test accuracy"},
    {"memory c=8 l=2 epoch 1/1", "100% 18/18"},
    {"distill buffer active", "100% 40/40"},
    {"lifelong 1/2", "test -ELBO"},
    {"lifelong 2/2", "test -ELBO"},
    {"sweep c=8 l=2", "100% 12/12"},
};

// The teacher, memory, distillation, lifelong and compression phases, tiny. `extra` is added to
// every call's options (e.g. "progress = false, ").
std::string offline_phases(const std::string& extra) {
  return "local t = engram.teacher{ " + extra +
         "dataset = ds, net = 'mlp', hidden = {16}, epochs = 2, batch = 64 }\n"
         "local m = engram.recollections{ " +
         extra +
         "dataset = ds, c = 8, l = 2, hidden = {32}, epochs = 1, batch = 64 }\n"
         "engram.distill{ " +
         extra +
         "dataset = ds, teacher = t, memory = m, student = 'mlp', hidden = {16},\n"
         "  source = 'buffer', curriculum = 'active', k = 4, episodes = 40, checkpoints = {40} }\n"
         "engram.lifelong_vae{ " +
         extra +
         "dataset = ds, distributions = {{0}, {1}}, hidden = {32}, f = 4, batch = 16,\n"
         "  max_steps = 12, eval_every = 4, patience = 8, validation = 20, test_examples = 20 }\n"
         "engram.compression{ " +
         extra +
         "dataset = ds, c = 8, l = 2, hidden = {32}, steps = 12, batch = 32,\n"
         "  train_examples = 256, test_examples = 64 }\n";
}

}  // namespace

TEST_CASE("offline phases print plain progress lines with label, percentage and rate") {
  BarsLua lua;
  const std::string out = stderr_of(lua, offline_phases(""));
  INFO("stderr:\n" << out);
  CHECK_FALSE(contains(out, "\r"));  // a file is not a terminal: no redrawn bar
  for (const Phase& phase : kPhases) {
    const std::vector<std::string> lines = progress_lines(out, phase.label);
    REQUIRE_MESSAGE(!lines.empty(), "no progress line for " << phase.label);
    // Short phases print only their final line (the next plain line would be due in 10 s).
    CHECK(lines.size() == 1);
    const std::string& last = lines.back();
    CHECK(contains(last, "100% "));
    CHECK(contains(last, " it/s in "));
    CHECK(contains(last, phase.final_part));
    CHECK_FALSE(contains(last, "["));  // no bar in plain mode
  }
  // The losses are reported, the lifelong intervals end where early stopping or max_steps did.
  CHECK(contains(progress_lines(out, "teacher epoch 1/2")[0], "loss "));
  CHECK(contains(progress_lines(out, "memory c=8 l=2 epoch 1/1")[0], " -ELBO "));  // a VAE
  CHECK(contains(progress_lines(out, "distill buffer active")[0], "accuracy "));
}

TEST_CASE("offline phases are silent with set_progress_quiet(true) or progress = false") {
  BarsLua lua;
  set_progress_quiet(true);
  const std::string quiet = stderr_of(lua, offline_phases(""));
  set_progress_quiet(false);
  const std::string off = stderr_of(lua, offline_phases("progress = false, "));
  for (const std::string* out : {&quiet, &off}) {
    INFO("stderr:\n" << *out);
    for (const Phase& phase : kPhases) CHECK(progress_lines(*out, phase.label).empty());
    CHECK_FALSE(contains(*out, "it/s"));
  }
}

TEST_CASE("stream learning and a restore print plain progress lines; quiet silences them") {
  BarsLua lua;
  test::TempDir dir;
  const std::string snapshot = dir.path() + "/bars.snap";
  lua.run(
      "rt = engram.runtime{ dataset = ds, tasks = 2, neocortex = { hidden = {32} },\n"
      "                     memory = { kind = 'raw', budget_bytes = 4000 } }\n"
      "stream = engram.stream{ endpoint = 'tcp://127.0.0.1:0', values = 64, classes = 4 }\n"
      "endpoint = stream:endpoint()\n");
  test::FramePublisher pub(std::get<std::string>(lua.global("endpoint")));
  auto publish = [&](size_t n) {
    lua.run("before = stream:counters().accepted");
    const auto before = std::get<int64_t>(lua.global("before"));
    pub.send_all(*lua.data, test::of_classes(*lua.data, {0, 1}, n), 0);
    REQUIRE(test::eventually([&] {
      lua.run("accepted = stream:counters().accepted");
      return std::get<int64_t>(lua.global("accepted")) == before + static_cast<int64_t>(n);
    }));
  };

  // All the batches asked for, then a call that ends early when the stream goes quiet: its last
  // line counts the batches it learned as the whole.
  publish(32);
  std::string out = stderr_of(lua, "rt:learn_stream(stream, { batch = 8, batches = 4 })");
  std::vector<std::string> lines = progress_lines(out, "stream");
  REQUIRE_MESSAGE(lines.size() == 1, out);
  CHECK(contains(lines[0], "stream 100% 4/4 "));
  CHECK(contains(lines[0], " it/s in "));
  CHECK(contains(lines[0], "32 frames"));
  publish(16);
  out = stderr_of(lua, "rt:learn_stream(stream, { batch = 8, batches = 100, timeout = 0.3 })");
  lines = progress_lines(out, "stream");
  REQUIRE_MESSAGE(lines.size() == 1, out);
  CHECK(contains(lines[0], "stream 100% 2/2 "));
  CHECK(contains(lines[0], "16 frames"));

  out = stderr_of(lua, "rt:snapshot('" + snapshot +
                           "', { n = 1 })\n"
                           "rt2 = engram.restore('" +
                           snapshot + "', { dataset = ds })\n");
  lines = progress_lines(out, "restore bars.snap");
  REQUIRE_MESSAGE(lines.size() == 1, out);
  CHECK(contains(lines[0], "100% 2/2 "));
  CHECK(contains(lines[0], " it/s in "));
  CHECK(contains(lines[0], "MB read, runtime started"));
  CHECK_FALSE(contains(out, "\r"));

  // Quiet: the process-wide switch, and each call's progress = false.
  publish(16);
  set_progress_quiet(true);
  out = stderr_of(lua,
                  "rt:learn_stream(stream, { batch = 8, batches = 2 })\n"
                  "rt3 = engram.restore('" +
                      snapshot + "', { dataset = ds })\n");
  set_progress_quiet(false);
  CHECK_MESSAGE(!contains(out, "it/s"), out);
  publish(16);
  out = stderr_of(lua,
                  "rt:learn_stream(stream, { batch = 8, batches = 2, progress = false })\n"
                  "rt4 = engram.restore('" +
                      snapshot + "', { dataset = ds, progress = false })\n");
  CHECK_MESSAGE(!contains(out, "it/s"), out);
  lua.run("rt2:close() rt3:close() rt4:close() rt:close() stream:close()");
}

}  // namespace engram
