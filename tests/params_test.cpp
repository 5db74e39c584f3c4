// params_test - Unit tests for params.hpp: validation rules and messages.
#include <selfextend/params.hpp>

#include "test_helpers.hpp"

using selfextend::issue;
using selfextend::self_extend_params;
using selfextend::shift_rule;
using selfextend::validate;

TEST(ParamsTest, ValidPlanHasNoIssues) {
  EXPECT_TRUE(validate(self_extend_params{4096, 15800, {8, 1024, shift_rule::integer}}).empty());
  EXPECT_TRUE(validate(self_extend_params{std::nullopt, 1, {1, 1, shift_rule::fractional}}).empty());
}

TEST(ParamsTest, EveryBrokenRuleIsReportedWithKeyValueAndRule) {
  const auto issues = validate(self_extend_params{1, 0, {0, -3, shift_rule::integer}});
  ASSERT_EQ(4u, issues.size());
  EXPECT_EQ((issue{"tokens", "0", "must be at least 1"}), issues[0]);
  EXPECT_EQ((issue{"group", "0", "must be at least 1"}), issues[1]);
  EXPECT_EQ((issue{"window", "-3", "must be at least 1"}), issues[2]);
  EXPECT_EQ((issue{"context", "1", "must be at least 2"}), issues[3]);
}

TEST(ParamsTest, WindowMustBeSmallerThanKnownContext) {
  const auto issues = validate(self_extend_params{4096, 100, {4, 4096, shift_rule::integer}});
  ASSERT_EQ(1u, issues.size());
  EXPECT_EQ("window = 4096: must be smaller than context (4096)", issues[0].message());
  EXPECT_TRUE(validate(self_extend_params{std::nullopt, 100, {4, 4096, shift_rule::integer}}).empty());
}

TEST(ParamsTest, RequireValidThrowsAllIssues) {
  EXPECT_THROW_MSG(selfextend::require_valid(self_extend_params{4096, -1, {0, 1, shift_rule::integer}}),
                   selfextend::invalid_params, "tokens = -1: must be at least 1; group = 0: must be at least 1");
}

TEST(ParamsTest, ShiftRuleRoundTripsThroughText) {
  EXPECT_EQ(shift_rule::integer, selfextend::parse_shift_rule("int"));
  EXPECT_EQ(shift_rule::fractional, selfextend::parse_shift_rule("float"));
  EXPECT_FALSE(selfextend::parse_shift_rule("Int").has_value());
  EXPECT_EQ("float", selfextend::to_string(shift_rule::fractional));
}

TEST(ParamsTest, IntegersAreReadWholeAndIn64Bits) {
  EXPECT_EQ(-5, selfextend::parse_integer("tokens", "-5"));
  EXPECT_EQ(15800, selfextend::parse_integer("tokens", "+15800"));
  EXPECT_EQ(INT64_MAX, selfextend::parse_integer("tokens", "9223372036854775807"));
  EXPECT_EQ(INT64_MIN, selfextend::parse_integer("tokens", "-9223372036854775808"));
  EXPECT_THROW_MSG((void)selfextend::parse_integer("group", "99999999999999999999"), selfextend::invalid_params,
                   "group = 99999999999999999999: does not fit in 64 bits");
  for (const char* bad : {"", "+", "1e3", "12 ", " 12", "0x10", "1,000", "--1"})
    EXPECT_THROW_MSG((void)selfextend::parse_integer("window", bad), selfextend::invalid_params,
                     std::string("window = ") + bad + ": must be an integer");
}
