#include "runtime/unit_interval.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace engram {
namespace {

float load(const unsigned char* p, size_t i) {
  float v;
  std::memcpy(&v, p + i * sizeof(float), sizeof(float));
  return v;
}

}  // namespace

const char* value_fault_name(ValueFault fault) {
  switch (fault) {
    case ValueFault::none: return "none";
    case ValueFault::non_finite: return "non_finite";
    case ValueFault::out_of_range: return "out_of_range";
  }
  return "unknown";
}

std::string UnitIntervalCheck::describe() const {
  switch (fault) {
    case ValueFault::none: return "";
    case ValueFault::non_finite: return fmt::format("value {} is {}", index, value);
    case ValueFault::out_of_range:
      return fmt::format("value {} is {}, outside [0, 1]", index, value);
  }
  return "";
}

UnitIntervalCheck check_unit_interval(const void* values, size_t count) {
  const auto* p = static_cast<const unsigned char*>(values);
  // Fast pass: one branch-free comparison per value (NaN fails both comparisons).
  bool all_in = true;
  for (size_t i = 0; i < count; ++i) {
    const float v = load(p, i);
    all_in &= (v >= 0.0f) & (v <= 1.0f);
  }
  UnitIntervalCheck check;
  if (all_in) return check;
  // Slow pass, only on refusal: the first non-finite value, else the first out of range.
  for (size_t i = 0; i < count; ++i) {
    const float v = load(p, i);
    if (!std::isfinite(v)) return {ValueFault::non_finite, i, v};
    if (check.fault == ValueFault::none && !(v >= 0.0f && v <= 1.0f)) {
      check = {ValueFault::out_of_range, i, v};
    }
  }
  return check;
}

}  // namespace engram
