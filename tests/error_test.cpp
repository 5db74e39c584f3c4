// error_test - Unit tests for error.hpp: issue messages and invalid_params.
#include <selfextend/error.hpp>

#include <stdexcept>

#include <gtest/gtest-spi.h>

#include "test_helpers.hpp"

TEST(ErrorTest, MessageFollowsKeyValueRuleFormat) {
  EXPECT_EQ("window = 5000: must be smaller than context (4096)",
            (selfextend::issue{"window", "5000", "must be smaller than context (4096)"}.message()));
}

TEST(ErrorTest, InvalidParamsJoinsIssuesAndKeepsThem) {
  const selfextend::invalid_params e({{"a", "1", "r1"}, {"b", "2", "r2"}});
  EXPECT_STREQ("a = 1: r1; b = 2: r2", e.what());
  ASSERT_EQ(2u, e.issues().size());
  EXPECT_EQ("b", e.issues()[1].key);
  const std::invalid_argument& base = e;  // catchable as the standard type
  EXPECT_STREQ("a = 1: r1; b = 2: r2", base.what());
}

TEST(TestHelpersTest, ThrowMsgReportsAnotherExceptionTypeInsteadOfAborting) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THROW_MSG(throw std::runtime_error("disk full"), selfextend::invalid_params, "unused"),
      "threw another exception than selfextend::invalid_params: disk full");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_MSG(throw 42, selfextend::invalid_params, "unused"),
                          "threw a non-standard exception, not selfextend::invalid_params");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_MSG((void)0, selfextend::invalid_params, "unused"),
                          "did not throw selfextend::invalid_params");
}
