// text.hpp - how the library spells numbers in its messages and reasons (one rule everywhere).
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace selfextend::detail {

/// An integer as decimal text: 1024 -> "1024".
[[nodiscard]] inline std::string num(std::int64_t value) { return std::to_string(value); }

/// A real with `decimals` digits after the point, locale-free: fixed(2730.67, 1) -> "2730.7".
[[nodiscard]] inline std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed, decimals);
  return std::string(buffer.data(), result.ptr);
}

}  // namespace selfextend::detail
