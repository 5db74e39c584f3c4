// test_helpers.hpp - shared test utilities: exact exception-text checks (after fmt's gtest-extra.h)
// and a brute-force reference of the Self-Extend pair rule written straight from docs/concepts.md#the-map.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include <gtest/gtest.h>

/// Expects `statement` to throw `expected_type` whose what() equals `message` exactly. Any other
/// exception is reported as a failure naming what was thrown instead of ending the test program.
#define EXPECT_THROW_MSG(statement, expected_type, message)                                   \
  do {                                                                                    \
    bool sxp_caught_ = false;                                                             \
    try {                                                                                 \
      statement;                                                                          \
    } catch (const expected_type& e) {                                                        \
      sxp_caught_ = true;                                                                 \
      EXPECT_EQ(std::string(message), std::string(e.what()));                             \
    } catch (const std::exception& e) {                                                   \
      sxp_caught_ = true;                                                                 \
      ADD_FAILURE() << #statement " threw another exception than " #expected_type ": "        \
                    << e.what();                                                          \
    } catch (...) {                                                                       \
      sxp_caught_ = true;                                                                 \
      ADD_FAILURE() << #statement " threw a non-standard exception, not " #expected_type;     \
    }                                                                                     \
    EXPECT_TRUE(sxp_caught_) << #statement " did not throw " #expected_type;                  \
  } while (false)

namespace brute {

/// The pair rule, independent of the library: neighbor iff i - j < W, else
/// (floor(i/G) + W - floor(W/G)) - floor(j/G). Non-negative inputs only.
inline std::int64_t relative_position(std::int64_t i, std::int64_t j, std::int64_t group, std::int64_t window) {
  if (i - j < window) return i - j;
  return (i / group + window - window / group) - j / group;
}

}  // namespace brute
