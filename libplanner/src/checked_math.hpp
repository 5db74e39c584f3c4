// checked_math.hpp - 128-bit intermediates so that no 64-bit input can wrap.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace selfextend::detail {

__extension__ typedef __int128 wide_int;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet

inline constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

/// Clamps a wide value into [0, INT64_MAX] (capacities saturate: "every representable N fits").
[[nodiscard]] constexpr std::int64_t saturate(wide_int v) noexcept {
  if (v > wide_int{int64_max}) return int64_max;
  if (v < 0) return 0;
  return static_cast<std::int64_t>(v);
}

/// floor(a / b) for b > 0 (C++ division truncates toward zero).
[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

[[nodiscard]] inline std::string to_text(std::int64_t v) { return std::to_string(v); }

}  // namespace selfextend::detail
