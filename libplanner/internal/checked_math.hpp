// checked_math.hpp - 128-bit intermediates so that no 64-bit input can wrap.
#pragma once

#include <cstdint>
#include <limits>

namespace selfextend::detail {

__extension__ typedef __int128 wide_int;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet

inline constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

/// Clamps a wide value into [0, INT64_MAX] (capacities saturate: "every representable N fits").
[[nodiscard]] constexpr std::int64_t saturate(wide_int v) noexcept {
  if (v > wide_int{int64_max}) return int64_max;
  if (v < 0) return 0;
  return static_cast<std::int64_t>(v);
}

/// ceil(a / b) for a >= 0, b > 0, in 128 bits so that a may be 2L or 3(N - W) near 2^63.
[[nodiscard]] constexpr wide_int ceil_div(wide_int a, wide_int b) noexcept { return (a + b - 1) / b; }

}  // namespace selfextend::detail
