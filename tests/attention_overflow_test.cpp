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

// One score alone overflows float32 while the row's other score, its maximum, is finite. Without
// FMA (SSE2) its products overflow to +inf and -inf, which sum to NaN; with FMA the sum stays +inf,
// and +inf - +inf is NaN after the maximum is subtracted. Either way the exponential must carry the
// NaN into the output (and so to the refusal), not turn it into a weight of 0 that silently drops
// the key; a clamp written as max(x, limit) did exactly that on SSE2.
TEST(AttentionOverflowTest, TiledRefusesASingleNaNScoreOnEveryVectorUnit) {
  selfextend::attention_params p;
  p.shape = {1, 1, 1, 2, 4};  // one query (at position 1) over two keys
  p.extension = {2, 4, selfextend::shift_rule::integer};
  p.rope.rotary_dims = 2;  // dims 2 and 3 are not rotated, so the products are exactly as written
  // q = k0 in dims 2, 3 up to the sign of dim 3: q·k0 = 1e40 - 1e40 (0 in double, NaN in float32);
  // q·k1 is small and finite, and is the row's maximum.
  const std::vector<double> q{0.1, 0.2, 1e20, 1e20};
  const std::vector<double> k{0.3, 0.1, 1e20, -1e20, 0.2, 0.4, 0.0, 0.0};
  const std::vector<double> v{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0};
  for (const double x : selfextend::reference_attention(p, q, k, v)) ASSERT_TRUE(std::isfinite(x));
  const std::vector<float> qf(q.begin(), q.end()), kf(k.begin(), k.end()), vf(v.begin(), v.end());
  for (const selfextend::simd_level level :
       {selfextend::simd_level::sse2, selfextend::simd_level::avx2, selfextend::simd_level::avx512}) {
    p.simd = level;
    try {
      (void)selfextend::tiled_attention(p, qf, kf, vf);
      ADD_FAILURE() << "expected invalid_params at " << selfextend::to_string(selfextend::tiled_attention_simd(level));
    } catch (const selfextend::invalid_params& e) {
      EXPECT_NE(std::string::npos, e.issues().front().rule.find("overflows float32"));
    }
  }
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
