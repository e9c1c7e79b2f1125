// The range check every observation passes before engram learns from it: values are finite and
// in [0, 1] (pixels of u8 inputs are scaled into it; f32 inputs must already be in it). One NaN
// or Inf that reaches a learner turns its weights into NaN for good, silently, so every input
// path (sensor frames, the C API, Session batches) refuses such values and counts why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace engram {

// Why a set of values was refused.
enum class ValueFault { none, non_finite, out_of_range };

// Stable short name: "none", "non_finite", "out_of_range".
const char* value_fault_name(ValueFault fault);

struct UnitIntervalCheck {
  ValueFault fault = ValueFault::none;
  size_t index = 0;  // the first offending value (when fault != none)
  float value = 0;   // its value

  bool ok() const { return fault == ValueFault::none; }
  // E.g. "value 17 is NaN" or "value 3 is 1.5, outside [0, 1]"; "" when ok().
  std::string describe() const;
};

// Checks `count` floats at `values` (which need not be aligned). A non-finite value is reported
// in preference to an out-of-range one: NaN and Inf are the faults that poison learning.
UnitIntervalCheck check_unit_interval(const void* values, size_t count);

}  // namespace engram
