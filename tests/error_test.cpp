// error_test - Unit tests for error.hpp: issue messages and invalid_params.
#include <selfextend/error.hpp>

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
