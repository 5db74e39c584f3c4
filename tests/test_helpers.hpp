// test_helpers.hpp - shared test utilities: exact exception-text checks (after fmt's gtest-extra.h)
// and a brute-force reference of the Self-Extend pair rule written straight from docs/concepts.md#the-map.
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

/// Expects `statement` to throw `exception` whose what() equals `message` exactly.
#define EXPECT_THROW_MSG(statement, exception, message)                                   \
  do {                                                                                    \
    bool sxp_caught_ = false;                                                             \
    try {                                                                                 \
      statement;                                                                          \
    } catch (const exception& e) {                                                        \
      sxp_caught_ = true;                                                                 \
      EXPECT_EQ(std::string(message), std::string(e.what()));                             \
    }                                                                                     \
    EXPECT_TRUE(sxp_caught_) << #statement " did not throw " #exception;                  \
  } while (false)

namespace brute {

/// The pair rule, independent of the library: neighbor iff i - j < W, else
/// (floor(i/G) + W - floor(W/G)) - floor(j/G). Non-negative inputs only.
inline std::int64_t relative_position(std::int64_t i, std::int64_t j, std::int64_t group, std::int64_t window) {
  if (i - j < window) return i - j;
  return (i / group + window - window / group) - j / group;
}

}  // namespace brute
