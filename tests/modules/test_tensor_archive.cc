// TensorArchive: engram's own format for module state (no TorchScript is ever parsed from a
// snapshot): round trips, and every kind of damaged input refused with a message.
#include "modules/common/tensor_archive.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <string>

namespace engram {
namespace {

TensorArchive sample() {
  TensorArchive a;
  a.put("net/0.weight", at::arange(12, at::kFloat).reshape({3, 4}));
  a.put("net/0.bias", at::zeros({3}));
  a.put("opt/step", at::tensor(std::vector<int64_t>{7}, at::kLong));
  a.put("opt/options", at::tensor(std::vector<double>{1e-3, 0.9}, at::kDouble));
  a.put("rng", at::arange(5, at::kByte));
  a.put("empty", at::empty({0, 4}));
  return a;
}

TEST_CASE("a tensor archive round trips names, dtypes, shapes and values") {
  const std::string bytes = sample().to_bytes();
  auto back = TensorArchive::from_bytes(bytes);
  REQUIRE(back.ok());
  CHECK(at::equal(back->get("net/0.weight", at::kFloat, {3, 4}).value(),
                  at::arange(12, at::kFloat).reshape({3, 4})));
  CHECK(back->get("opt/step", at::kLong, {1}).value().item<int64_t>() == 7);
  CHECK(back->get("opt/options", at::kDouble).value()[1].item<double>() == 0.9);
  CHECK(back->get("empty", at::kFloat, {0, 4}).ok());
  CHECK(back->to_bytes() == bytes);
}

TEST_CASE("get names what is missing or different") {
  const TensorArchive a = sample();
  auto missing = a.get("net/1.weight", at::kFloat);
  CHECK(missing.status().code() == ErrorCode::malformed);
  CHECK(missing.status().message().find("'net/1.weight' is missing") != std::string::npos);
  auto dtype = a.get("net/0.bias", at::kLong);
  CHECK(dtype.status().message().find("expected Long") != std::string::npos);
  auto shape = a.get("net/0.weight", at::kFloat, {4, 3});
  CHECK(shape.status().message().find("shape [3, 4], this configuration [4, 3]") !=
        std::string::npos);
}

TEST_CASE("every truncation and a byte flip in the header are refused, never read past the end") {
  const std::string bytes = sample().to_bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = TensorArchive::from_bytes(bytes.substr(0, n));
    CHECK_FALSE(r.ok());
  }
  CHECK_FALSE(TensorArchive::from_bytes(bytes + "x").ok());  // trailing bytes
  std::string version = bytes;
  version[8] = 2;
  CHECK(TensorArchive::from_bytes(version).status().code() == ErrorCode::unsupported_version);
  std::string count = bytes;
  count[12] = static_cast<char>(0xff);
  count[13] = static_cast<char>(0xff);
  count[14] = static_cast<char>(0xff);
  CHECK(TensorArchive::from_bytes(count).status().code() == ErrorCode::malformed);
}

TEST_CASE("forged sizes cannot make the parser allocate or read what the input does not hold") {
  TensorArchive a;
  a.put("x", at::zeros({2, 2}));
  std::string bytes = a.to_bytes();
  // Header 16 bytes, name length 2 + "x" 1, dtype 1, dims 1, then the first size (i64).
  const size_t first_size = 16 + 2 + 1 + 1 + 1;
  std::string huge = bytes;
  const int64_t big = int64_t{1} << 40;
  std::memcpy(&huge[first_size], &big, sizeof big);
  auto r = TensorArchive::from_bytes(huge);
  CHECK(r.status().code() == ErrorCode::malformed);
  std::string dtype = bytes;
  dtype[16 + 2 + 1] = 9;
  CHECK(TensorArchive::from_bytes(dtype).status().message().find("unknown dtype") !=
        std::string::npos);
}

TEST_CASE("a LibTorch archive (engram 0.1.0 state) is recognised and refused with the reason") {
  auto r = TensorArchive::from_bytes(std::string("PK\x03\x04", 4) + std::string(100, '\0'));
  CHECK(r.status().code() == ErrorCode::malformed);
  CHECK(r.status().message().find("LibTorch archive") != std::string::npos);
  CHECK(TensorArchive::from_bytes("").status().code() == ErrorCode::malformed);
}

}  // namespace
}  // namespace engram
