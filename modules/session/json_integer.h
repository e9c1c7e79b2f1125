// Reading integer settings from JSON (agent configurations, snapshot sections) with the range
// checked on the JSON number itself, before it is narrowed to the field's type.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "runtime/status.h"

namespace engram {

namespace json_integer_detail {

// a < b for integers of any signedness, without the usual arithmetic conversions.
template <typename A, typename B>
constexpr bool less(A a, B b) {
  if constexpr (std::is_signed_v<A> == std::is_signed_v<B>) {
    return a < b;
  } else if constexpr (std::is_signed_v<A>) {
    return a < 0 || static_cast<std::make_unsigned_t<A>>(a) < b;
  } else {
    return b >= 0 && a < static_cast<std::make_unsigned_t<B>>(b);
  }
}

template <typename T, typename V>
constexpr bool in_range(V v, T min, T max) {
  return !less(v, min) && !less(max, v);
}

}  // namespace json_integer_detail

// `value` as a T in [min, max] (all of T by default). A float with an integral value (5.0,
// 1e3) counts as an integer. Errors name `name`: malformed when `value` is not an integer
// ("tasks must be an integer, got 2.5"), invalid_argument when it is outside the range
// ("tasks must be in [1, 65536], got 1099511627776"). Nothing is narrowed before the check.
template <typename T>
Expected<T> json_integer(const nlohmann::json& value, const std::string& name,
                         T min = std::numeric_limits<T>::min(),
                         T max = std::numeric_limits<T>::max()) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "integer settings only");
  using json_integer_detail::in_range;
  const auto out_of_range = [&] {
    return Status(ErrorCode::invalid_argument, name + " must be in [" + std::to_string(min) + ", " +
                                                   std::to_string(max) + "], got " + value.dump());
  };
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (!in_range(v, min, max)) return out_of_range();
    return static_cast<T>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    if (!in_range(v, min, max)) return out_of_range();
    return static_cast<T>(v);
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d) {
      constexpr double two_63 = 9223372036854775808.0;  // exact in a double
      if (d >= -two_63 && d < two_63) {
        const auto v = static_cast<int64_t>(d);
        if (!in_range(v, min, max)) return out_of_range();
        return static_cast<T>(v);
      }
      if (d >= 0 && d < 2 * two_63) {
        const auto v = static_cast<uint64_t>(d);
        if (!in_range(v, min, max)) return out_of_range();
        return static_cast<T>(v);
      }
      return out_of_range();
    }
  }
  return Status(ErrorCode::malformed, name + " must be an integer, got " + value.dump());
}

}  // namespace engram
