// attention_overflow_test.cpp - finite inputs the float32 kernel cannot represent are refused, never
// returned as NaN; the double reference computes them.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <selfextend/attention.hpp>
#include <selfextend/error.hpp>

namespace {

selfextend::attention_params overflow_params() {
  selfextend::attention_params p;
  p.shape = {1, 1, 64, 64, 64};
  p.extension = {2, 8, selfextend::shift_rule::integer};
  return p;
}

TEST(AttentionOverflowTest, TiledRefusesWhatOverflowsFloat32WhereTheReferenceIsFinite) {
  const selfextend::attention_params p = overflow_params();
  const std::vector<double> big(64 * 64, 2e19);
  const std::vector<double> reference = selfextend::reference_attention(p, big, big, big);
  for (const double x : reference) ASSERT_TRUE(std::isfinite(x));
  const std::vector<float> big_f(big.begin(), big.end());
  try {
    (void)selfextend::tiled_attention(p, big_f, big_f, big_f);
    FAIL() << "expected invalid_params";
  } catch (const selfextend::invalid_params& e) {
    ASSERT_EQ(1u, e.issues().size());
    EXPECT_EQ("kernel", e.issues().front().key);
    EXPECT_NE(std::string::npos, e.issues().front().rule.find("overflows float32"));
  }
  // Inputs well inside float32 still run.
  const std::vector<float> small(64 * 64, 0.5f);
  for (const float x : selfextend::tiled_attention(p, small, small, small)) EXPECT_TRUE(std::isfinite(x));
}

TEST(AttentionOverflowTest, Float64BeyondFloat32IsNamedWithItsValueNotAsInf) {
  const std::vector<double> fine{1.0, -3.0e38, 0.5};
  EXPECT_EQ((std::vector<float>{1.0f, -3.0e38f, 0.5f}), selfextend::to_float32("q", fine));
  const std::vector<double> big{1.0, 2.0, -1e39};
  try {
    (void)selfextend::to_float32("q", big, 10);
    FAIL() << "expected invalid_params";
  } catch (const selfextend::invalid_params& e) {
    EXPECT_EQ("q = -1e+39: (element 12) is beyond float32's range (|x| <= 3.4e38), in which this kernel computes; "
              "use `kernel` reference",
              std::string(e.what()));
  }
  // Infinities and NaN pass through: require_finite names them as such.
  const std::vector<double> inf{INFINITY};
  EXPECT_TRUE(std::isinf(selfextend::to_float32("q", inf).front()));
}

}  // namespace
