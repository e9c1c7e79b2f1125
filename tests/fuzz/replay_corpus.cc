// Replays a committed seed corpus (tests/fuzz/corpus/ENGRAM_FUZZ_CORPUS) through the fuzz target
// it is linked with, without libFuzzer: runs in every build (gcc, sanitizers) as a regression
// test, so an input that once crashed a decoder, once committed, keeps being checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST_CASE("every input of the committed corpus gives a value or an error") {
  const std::filesystem::path dir =
      std::filesystem::path(ENGRAM_SOURCE_DIR) / "tests/fuzz/corpus" / ENGRAM_FUZZ_CORPUS;
  REQUIRE(std::filesystem::is_directory(dir));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  for (const auto& path : files) {
    INFO("input: ", path.string());
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The target traps on a broken invariant; the sanitizers report memory errors.
    CHECK(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) ==
          0);
  }
}
