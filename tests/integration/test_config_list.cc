// `engram config --list` prints every option from its declaration, and the README's option
// tables are exactly that output: documentation and readers cannot drift apart. Runs the built
// binary, whose path CMake passes as ENGRAM_CLI.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/cli_runner.h"
#include "tests/temp_dir.h"

namespace {

using engram::test::contains;
using engram::test::quote;
using engram::test::run_engram;

const char* const kBegin = "<!-- BEGIN engram config list -->\n";
const char* const kEnd = "<!-- END engram config list -->";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// `engram config --list`'s standard output (stderr is checked apart: it must be empty).
std::string config_list() {
  engram::test::TempDir dir;
  const std::string out = dir.path() + "/options.md";
  auto r = run_engram("config --list > " + quote(out));
  CHECK(r.exit_code == 0);
  CHECK_MESSAGE(r.output.empty(), "engram config --list wrote to stderr: " << r.output);
  return read_text(out);
}

}  // namespace

TEST_CASE("engram config --list prints every option table") {
  const std::string md = config_list();
  for (const char* heading :
       {"### runtime\n", "### neocortex\n", "### memory\n", "### memory kind `dvae`\n",
        "### memory kind `raw`\n", "### memory kind `none`\n", "### memory kind `lwf`\n",
        "### replay\n", "### agent (C API)\n", "### agent input\n", "### agent learning\n"}) {
    CHECK_MESSAGE(contains(md, heading), heading);
  }
  CHECK(contains(md, "| `tasks` | integer | `5` | [1, 65536] |"));
  CHECK(contains(md, "| `c` | integer | `100` | [1, 65536] | categorical latent variables"));
  CHECK(contains(md, "| `sampler` | choice | `\"uniform\"` | `uniform`, `class_balanced`,"));
  // Without --list it is a usage error.
  CHECK(run_engram("config").exit_code == 2);
}

TEST_CASE("the README's option tables are `engram config --list`") {
  const std::string readme = read_text(ENGRAM_SOURCE_DIR "/README.md");
  const size_t begin = readme.find(kBegin);
  REQUIRE_MESSAGE(begin != std::string::npos, "README.md has no line " << kBegin);
  const size_t from = begin + std::string(kBegin).size();
  const size_t end = readme.find(kEnd, from);
  REQUIRE_MESSAGE(end != std::string::npos, "README.md has no line " << kEnd);
  // To update: replace the lines between the markers with `engram config --list`'s output.
  CHECK(readme.substr(from, end - from) == config_list());
}
