// check_unit_interval: the value check every input path runs before learning.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/unit_interval.h"

using namespace engram;

TEST_CASE("values in [0, 1] pass, including both ends and negative zero") {
  const std::vector<float> v = {0.0f, 1.0f, 0.5f, -0.0f, 1e-30f};
  CHECK(check_unit_interval(v.data(), v.size()).ok());
  CHECK(check_unit_interval(nullptr, 0).ok());
}

TEST_CASE("the first non-finite value is named, even after an out-of-range one") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.5f, 2.0f, 0.1f, nan, -inf};
  UnitIntervalCheck c = check_unit_interval(v.data(), v.size());
  CHECK(c.fault == ValueFault::non_finite);
  CHECK(c.index == 3);
  CHECK(c.describe() == "value 3 is nan");
  v = {0.5f, -inf};
  c = check_unit_interval(v.data(), v.size());
  CHECK(c.fault == ValueFault::non_finite);
  CHECK(c.index == 1);
}

TEST_CASE("finite values outside [0, 1] are out of range") {
  const std::vector<float> v = {0.5f, 0.25f, 1.5f, -0.5f};
  const UnitIntervalCheck c = check_unit_interval(v.data(), v.size());
  CHECK(c.fault == ValueFault::out_of_range);
  CHECK(c.index == 2);
  CHECK(c.value == 1.5f);
  CHECK(c.describe() == "value 2 is 1.5, outside [0, 1]");
  CHECK(std::string(value_fault_name(c.fault)) == "out_of_range");
}

TEST_CASE("unaligned buffers are read correctly") {
  std::vector<unsigned char> bytes(1 + 3 * sizeof(float));
  const float v[3] = {0.25f, 0.75f, 7.0f};
  std::memcpy(bytes.data() + 1, v, sizeof v);
  const UnitIntervalCheck c = check_unit_interval(bytes.data() + 1, 3);
  CHECK(c.fault == ValueFault::out_of_range);
  CHECK(c.index == 2);
  CHECK(check_unit_interval(bytes.data() + 1, 2).ok());
}
