// text.hpp - how the library spells numbers, shapes and sizes in its messages, reasons and
// text formats (one rule for each, everywhere), and the validate-then-throw step.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <selfextend/error.hpp>

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

/// The shortest text that reads back as the same double: 0.1 -> "0.1", 3.0 -> "3".
[[nodiscard]] inline std::string real_text(double value) {
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

/// The real-number rule of the JSON and CSV outputs: the shortest round-trip text, always with a
/// '.' or an exponent so that a real stays a real when read back: 3.0 -> "3.0", 2.5 -> "2.5".
[[nodiscard]] inline std::string real_number(double value) {
  std::string text = real_text(value);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

/// A shape as messages show it: {2, 12, 8} -> "[2, 12, 8]".
[[nodiscard]] inline std::string shape_text(std::span<const std::int64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// A tensor's [heads, tokens, dim] the same way.
[[nodiscard]] inline std::string shape_text(std::int64_t heads, std::int64_t tokens, std::int64_t dim) {
  const std::array<std::int64_t, 3> extents{heads, tokens, dim};
  return shape_text(extents);
}

/// A size for messages: the largest binary unit it reaches, then the exact count, so two sizes
/// that round alike still read apart: 512 -> "512 bytes", 1536 -> "1.50 KiB (1536 bytes)",
/// 3200000000 -> "2.98 GiB (3200000000 bytes)".
[[nodiscard]] inline std::string format_bytes(std::int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  constexpr const char* units[] = {" KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return fixed(value, value < 10 ? 2 : 1) + units[unit] + " (" + std::to_string(bytes) + " bytes)";
}

/// The step every computing function starts with: throws invalid_params carrying every issue, if any.
inline void throw_if_any(std::vector<issue> issues) {
  if (!issues.empty()) throw invalid_params(std::move(issues));
}

}  // namespace selfextend::detail
