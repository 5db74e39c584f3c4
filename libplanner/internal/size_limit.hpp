// size_limit.hpp - the one wording of a memory or file size limit the caller may lift with `force`.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <string>

#include <selfextend/error.hpp>

namespace selfextend::detail {

/// "34,359,738,368 bytes (32.0 GiB)": exact for scripts, readable for people.
[[nodiscard]] inline std::string bytes_text(std::int64_t bytes) {
  const std::string digits = std::to_string(bytes);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') grouped += ',';
    grouped += digits[i];
  }
  const auto b = static_cast<double>(bytes);
  const char* unit = " GiB";
  double value = b / (1024.0 * 1024.0 * 1024.0);
  if (b < 1024.0 * 1024.0 * 1024.0) {
    unit = " MiB";
    value = b / (1024.0 * 1024.0);
  }
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed, 1);
  return grouped + " bytes (" + std::string(buffer.data(), result.ptr) + unit + ")";
}

/// Throws invalid_params {key, value, "<what> would need <bytes>, above the limit of <limit>",
/// lifted_by "force"} unless bytes <= limit or force. Called before anything is allocated.
inline void require_within_limit(const std::string& key, const std::string& value, const std::string& what,
                                 std::int64_t bytes, std::int64_t limit, bool force) {
  if (force || bytes <= limit) return;
  throw invalid_params(std::vector<issue>{
      {key, value, what + " would need " + bytes_text(bytes) + ", above the limit of " + bytes_text(limit), "force"}});
}

}  // namespace selfextend::detail
