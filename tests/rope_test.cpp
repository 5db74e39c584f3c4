// rope_test - Unit tests for rope.hpp: every frequency rule against values computed here in long
// double straight from transformers' formulas (written independently of the library), the edge
// cases of each rule, validation, the plan's rotation positions and the angle table.
#include <selfextend/rope.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>
#include <vector>

#include "test_helpers.hpp"

using selfextend::evaluate_rope;
using selfextend::invalid_params;
using selfextend::rope_frequencies;
using selfextend::rope_pair_change;
using selfextend::rope_rule;
using selfextend::rope_scaling;
using selfextend::rope_scaling_type;

namespace {

using real = long double;
constexpr real two_pi = 2 * std::numbers::pi_v<long double>;

/// theta^(-2c/R) as transformers writes it: 1 / theta^(arange(0, R, 2) / R).
std::vector<real> plain(real theta, int rotary) {
  std::vector<real> inv;
  for (int d = 0; d < rotary; d += 2) inv.push_back(1.0L / std::pow(theta, static_cast<real>(d) / rotary));
  return inv;
}

void expect_frequencies(const std::vector<real>& expected, const rope_frequencies& f, double rel = 1e-13) {
  ASSERT_EQ(expected.size(), f.inv_freq.size());
  for (std::size_t c = 0; c < expected.size(); ++c) {
    EXPECT_NEAR(static_cast<double>(expected[c]), f.inv_freq[c], rel * static_cast<double>(expected[c])) << "pair " << c;
    EXPECT_NEAR(static_cast<double>(two_pi / expected[c]), f.wavelength[c], rel * static_cast<double>(two_pi / expected[c]))
        << "pair " << c;
  }
}

rope_rule rule_with(rope_scaling s, double theta, std::int64_t rotary, std::int64_t max_positions) {
  return {theta, rotary, max_positions, std::move(s)};
}

/// transformers' yarn, step by step: correction dims, optional truncation, clamps, ramp, blend.
std::vector<real> yarn_reference(real theta, int rotary, real factor, real window, real beta_fast, real beta_slow,
                                 bool truncate, real* low_out = nullptr, real* high_out = nullptr) {
  auto correction = [&](real rotations) {
    return rotary * std::log(window / (rotations * two_pi)) / (2 * std::log(theta));
  };
  real low = correction(beta_fast), high = correction(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max<real>(low, 0);
  high = std::min<real>(high, rotary - 1);
  if (low_out) *low_out = low;
  if (high_out) *high_out = high;
  if (low == high) high += 0.001L;
  std::vector<real> inv;
  const std::vector<real> base = plain(theta, rotary);
  for (int c = 0; c < rotary / 2; ++c) {
    const real ramp = std::clamp((c - low) / (high - low), real{0}, real{1});
    const real extrapolation_factor = 1 - ramp;
    inv.push_back(base[static_cast<std::size_t>(c)] / factor * (1 - extrapolation_factor) +
                  base[static_cast<std::size_t>(c)] * extrapolation_factor);
  }
  return inv;
}

/// Llama-3.1-8B's rope_scaling: factor 8, low 1, high 4, original 8192.
rope_scaling llama31_scaling() {
  rope_scaling s;
  s.type = rope_scaling_type::llama3;
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_context = 8192;
  return s;
}

}  // namespace

TEST(RopeTest, DefaultRuleIsThePowerOfTheta) {
  for (const int rotary : {2, 16, 64, 128}) {
    const rope_frequencies f = evaluate_rope({10000.0, rotary, 4096, std::nullopt});
    expect_frequencies(plain(10000.0L, rotary), f);
    EXPECT_EQ(1.0, f.attention_factor);
    EXPECT_EQ(rope_scaling_type::none, f.type);
    EXPECT_EQ(1.0, f.inv_freq[0]);
    EXPECT_EQ(f.theta_inv_freq, f.inv_freq);
    EXPECT_TRUE(std::all_of(f.change.begin(), f.change.end(), [](rope_pair_change c) { return c == rope_pair_change::kept; }));
  }
  EXPECT_EQ(selfextend::theta_inverse_frequencies(500000.0, 128), evaluate_rope({500000.0, 128, 8192, std::nullopt}).inv_freq);
}

TEST(RopeTest, LinearDividesEveryFrequencyAndFactorOneKeepsThem) {
  rope_scaling s;
  s.type = rope_scaling_type::linear;
  s.factor = 4;
  const rope_frequencies f = evaluate_rope(rule_with(s, 10000.0, 128, 4096));
  std::vector<real> expected = plain(10000.0L, 128);
  for (real& e : expected) e /= 4;
  expect_frequencies(expected, f);
  EXPECT_EQ(1.0, f.attention_factor);
  EXPECT_EQ(rope_pair_change::divided, f.change[0]);
  s.factor = 1;
  const rope_frequencies one = evaluate_rope(rule_with(s, 10000.0, 128, 4096));
  EXPECT_EQ(one.theta_inv_freq, one.inv_freq);
  EXPECT_EQ(rope_pair_change::kept, one.change[63]);
}

TEST(RopeTest, DynamicKeepsThetaUpToMaxPositionsAndGrowsItPast) {
  rope_scaling s;
  s.type = rope_scaling_type::dynamic;
  s.factor = 2;
  const rope_rule rule = rule_with(s, 10000.0, 128, 4096);
  for (const std::int64_t below : {0, 1, 1000, 4095, 4096}) {  // 0: none given, transformers' init length
    const rope_frequencies f = evaluate_rope(rule, below);
    EXPECT_EQ(f.theta_inv_freq, f.inv_freq) << below;
    EXPECT_EQ(10000.0, f.dynamic_theta) << below;
  }
  for (const std::int64_t above : {4097, 10000, 131072}) {
    const real grown = 10000.0L * std::pow(2.0L * above / 4096 - 1, 128.0L / 126.0L);
    const rope_frequencies f = evaluate_rope(rule, above);
    EXPECT_NEAR(static_cast<double>(grown), f.dynamic_theta, 1e-12 * static_cast<double>(grown));
    expect_frequencies(plain(grown, 128), f, 1e-12);
    EXPECT_EQ(1.0, f.attention_factor);
    EXPECT_EQ(1.0, f.inv_freq[0]);  // pair 0 has frequency 1 under any base
    EXPECT_EQ(rope_pair_change::rescaled, f.change[1]);
  }
  // factor 1 still grows the base past the window: (1·n/M − 0)^(R/(R−2)).
  s.factor = 1;
  const rope_frequencies one = evaluate_rope(rule_with(s, 10000.0, 64, 2048), 8192);
  EXPECT_NEAR(static_cast<double>(10000.0L * std::pow(4.0L, 64.0L / 62.0L)), one.dynamic_theta, 1e-8);
  // R = 2: the one pair has frequency 1, the exponent R/(R−2) never evaluated.
  s.factor = 4;
  const rope_frequencies two = evaluate_rope(rule_with(s, 10000.0, 2, 2048), 100000);
  EXPECT_EQ(std::vector<double>{1.0}, two.inv_freq);
}

TEST(RopeTest, YarnMatchesTheRampOfQwenTwoPointFive) {
  // Qwen2.5-7B-Instruct's documented YaRN: theta 1e6, head_dim 128, factor 4, original 32768.
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 4;
  s.original_context = 32768;
  const rope_frequencies f = evaluate_rope(rule_with(s, 1e6, 128, 131072));
  real low = 0, high = 0;
  expect_frequencies(yarn_reference(1e6L, 128, 4, 32768, 32, 1, true, &low, &high), f);
  EXPECT_EQ(23.0L, low);
  EXPECT_EQ(40.0L, high);
  EXPECT_EQ(23.0, f.ramp_low);
  EXPECT_EQ(40.0, f.ramp_high);
  EXPECT_NEAR(0.1 * std::log(4.0) + 1, f.attention_factor, 1e-15);
  EXPECT_EQ(rope_pair_change::kept, f.change[23]);
  EXPECT_EQ(rope_pair_change::blended, f.change[24]);
  EXPECT_EQ(rope_pair_change::blended, f.change[39]);
  EXPECT_EQ(rope_pair_change::divided, f.change[40]);
  EXPECT_EQ(f.theta_inv_freq[0], f.inv_freq[0]);
  EXPECT_DOUBLE_EQ(f.theta_inv_freq[63] / 4, f.inv_freq[63]);
  // Without truncation the bounds stay fractional.
  s.truncate = false;
  const rope_frequencies untruncated = evaluate_rope(rule_with(s, 1e6, 128, 131072));
  expect_frequencies(yarn_reference(1e6L, 128, 4, 32768, 32, 1, false, &low, &high), untruncated);
  EXPECT_NEAR(static_cast<double>(low), untruncated.ramp_low, 1e-12);
  EXPECT_GT(untruncated.ramp_low, 23.5);
}

TEST(RopeTest, YarnRampBoundsClampAtZeroAndAtRotaryDimsMinusOne) {
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 8;
  // A short window: beta_fast's dim is negative, clamped to 0.
  s.original_context = 64;
  real low = 0, high = 0;
  const rope_frequencies short_window = evaluate_rope(rule_with(s, 10000.0, 16, 512));
  expect_frequencies(yarn_reference(10000.0L, 16, 8, 64, 32, 1, true, &low, &high), short_window);
  EXPECT_EQ(0.0L, low);
  EXPECT_EQ(0.0, short_window.ramp_low);
  // A huge window: beta_slow's dim passes R − 1 = 15 and is clamped there (R − 1, not R/2 − 1:
  // transformers' bound, so the ramp never reaches 1 over the 8 pairs).
  s.original_context = 1000000000;
  const rope_frequencies long_window = evaluate_rope(rule_with(s, 10000.0, 16, 1000000000));
  expect_frequencies(yarn_reference(10000.0L, 16, 8, 1e9L, 32, 1, true, &low, &high), long_window);
  EXPECT_EQ(15.0L, high);
  EXPECT_EQ(15.0, long_window.ramp_high);
  EXPECT_EQ(13.0, long_window.ramp_low);
  EXPECT_EQ(rope_pair_change::kept, long_window.change[7]);  // below the ramp's start
  // Both bounds past R − 1: low > high after the clamp; transformers' ramp is then 1 everywhere.
  s.original_context = 1000000000000;
  const rope_frequencies inverted = evaluate_rope(rule_with(s, 10.0, 16, 1000000000000));
  expect_frequencies(yarn_reference(10.0L, 16, 8, 1e12L, 32, 1, true, &low, &high), inverted);
  EXPECT_GT(low, high);
  EXPECT_TRUE(std::all_of(inverted.change.begin(), inverted.change.end(),
                          [](rope_pair_change c) { return c == rope_pair_change::divided; }));
}

TEST(RopeTest, YarnEqualBoundsWidenByAThousandthAndBetaZeroMeansTheDefault) {
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 2;
  s.original_context = 4096;
  s.beta_fast = 8;
  s.beta_slow = 8;  // same rotations: equal bounds after floor/ceil only if the dim is an integer; use untruncated
  s.truncate = false;
  real low = 0, high = 0;
  const rope_frequencies equal = evaluate_rope(rule_with(s, 10000.0, 64, 8192));
  expect_frequencies(yarn_reference(10000.0L, 64, 2, 4096, 8, 8, false, &low, &high), equal);
  EXPECT_EQ(low, high);
  s = {};
  s.type = rope_scaling_type::yarn;
  s.factor = 2;
  s.original_context = 4096;
  s.beta_fast = 0;
  s.beta_slow = 0;
  rope_scaling defaults = s;
  defaults.beta_fast = 32;
  defaults.beta_slow = 1;
  EXPECT_EQ(evaluate_rope(rule_with(defaults, 10000.0, 64, 8192)).inv_freq,
            evaluate_rope(rule_with(s, 10000.0, 64, 8192)).inv_freq);
}

TEST(RopeTest, YarnAttentionFactorFromFactorMscaleOrGiven) {
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 40;
  s.original_context = 4096;
  const rope_rule base = rule_with(s, 10000.0, 64, 163840);
  EXPECT_NEAR(0.1 * std::log(40.0) + 1, evaluate_rope(base).attention_factor, 1e-15);
  // DeepSeek-V3: mscale = mscale_all_dim = 1: the ratio is 1.
  s.mscale = 1;
  s.mscale_all_dim = 1;
  EXPECT_EQ(1.0, evaluate_rope(rule_with(s, 10000.0, 64, 163840)).attention_factor);
  s.mscale = 0.707;
  const double expected = (0.1 * 0.707 * std::log(40.0) + 1) / (0.1 * std::log(40.0) + 1);
  EXPECT_NEAR(expected, evaluate_rope(rule_with(s, 10000.0, 64, 163840)).attention_factor, 1e-15);
  s.mscale_all_dim = 0;  // both must be set (non-zero) for the ratio
  EXPECT_NEAR(0.1 * std::log(40.0) + 1, evaluate_rope(rule_with(s, 10000.0, 64, 163840)).attention_factor, 1e-15);
  s.attention_factor = 1.25;
  EXPECT_EQ(1.25, evaluate_rope(rule_with(s, 10000.0, 64, 163840)).attention_factor);
  // factor 1: nothing moves and the attention factor is 1.
  rope_scaling one;
  one.type = rope_scaling_type::yarn;
  one.factor = 1;
  one.original_context = 4096;
  const rope_frequencies f = evaluate_rope(rule_with(one, 10000.0, 64, 4096));
  EXPECT_EQ(1.0, f.attention_factor);
  expect_frequencies(plain(10000.0L, 64), f, 1e-15);
  // Without original_max_position_embeddings the window is max_position_embeddings.
  one.original_context.reset();
  one.factor = 4;
  EXPECT_EQ(4096, evaluate_rope(rule_with(one, 10000.0, 64, 4096)).original_context);
}

TEST(RopeTest, LongropeChoosesShortFactorsUpToTheOriginalWindowAndLongPast) {
  // Phi-3.5-mini's shape: head_dim 96, theta 10000, original 4096, max 131072 (factor 32).
  rope_scaling s;
  s.type = rope_scaling_type::longrope;
  s.factor = 32;
  s.original_context = 4096;
  for (int c = 0; c < 48; ++c) {
    s.short_factor.push_back(1.0 + 0.01 * c);
    s.long_factor.push_back(1.0 + 0.7 * c);
  }
  const rope_rule rule = rule_with(s, 10000.0, 96, 131072);
  auto expected = [&](const std::vector<double>& ext) {
    std::vector<real> inv;
    for (int d = 0, c = 0; d < 96; d += 2, ++c)
      inv.push_back(1.0L / (static_cast<real>(ext[static_cast<std::size_t>(c)]) * std::pow(10000.0L, d / 96.0L)));
    return inv;
  };
  const double attention = std::sqrt(1 + std::log(32.0) / std::log(4096.0));
  for (const std::int64_t tokens : {0, 100, 4096}) {  // exactly at the window: still short
    const rope_frequencies f = evaluate_rope(rule, tokens);
    EXPECT_FALSE(f.long_factors) << tokens;
    expect_frequencies(expected(s.short_factor), f);
    EXPECT_NEAR(attention, f.attention_factor, 1e-15);
  }
  for (const std::int64_t tokens : {4097, 131072}) {
    const rope_frequencies f = evaluate_rope(rule, tokens);
    EXPECT_TRUE(f.long_factors) << tokens;
    expect_frequencies(expected(s.long_factor), f);
    EXPECT_NEAR(attention, f.attention_factor, 1e-15);  // the same for both lists
    EXPECT_EQ(rope_pair_change::kept, f.change[0]);    // long factor 1.0
    EXPECT_EQ(rope_pair_change::rescaled, f.change[1]);
  }
  s.attention_factor = 1.1;
  EXPECT_EQ(1.1, evaluate_rope(rule_with(s, 10000.0, 96, 131072), 5000).attention_factor);
  s.attention_factor.reset();
  s.factor = 1;
  EXPECT_EQ(1.0, evaluate_rope(rule_with(s, 10000.0, 96, 4096), 5000).attention_factor);
}

TEST(RopeTest, Llama3DividesLowFrequenciesKeepsHighAndBlendsBetween) {
  // Llama-3.1-8B: theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192.
  rope_scaling s = llama31_scaling();
  const rope_frequencies f = evaluate_rope(rule_with(s, 500000.0, 128, 131072));
  std::vector<real> expected;
  int kept = 0, blended = 0, divided = 0;
  for (const real inv : plain(500000.0L, 128)) {
    const real wavelength = two_pi / inv;
    if (wavelength < 8192.0L / 4) {
      expected.push_back(inv);
      ++kept;
    } else if (wavelength > 8192.0L / 1) {
      expected.push_back(inv / 8);
      ++divided;
    } else {
      const real smooth = (8192 / wavelength - 1) / (4 - 1);
      expected.push_back((1 - smooth) * inv / 8 + smooth * inv);
      ++blended;
    }
  }
  expect_frequencies(expected, f);
  EXPECT_EQ(29, kept);
  EXPECT_EQ(6, blended);
  EXPECT_EQ(29, divided);
  for (int c = 0; c < 64; ++c) {
    const rope_pair_change want = c <= 28 ? rope_pair_change::kept : c <= 34 ? rope_pair_change::blended : rope_pair_change::divided;
    EXPECT_EQ(want, f.change[static_cast<std::size_t>(c)]) << "pair " << c;
  }
  EXPECT_EQ(1.0, f.attention_factor);
  EXPECT_EQ(1.0, f.inv_freq[0]);
  s.factor = 1;  // factor 1: the blend is between equal values
  const rope_frequencies one = evaluate_rope(rule_with(s, 500000.0, 128, 131072));
  expect_frequencies(plain(500000.0L, 128), one, 1e-15);
}

TEST(RopeTest, PartialRotaryRulesUseTheRotaryDims) {
  // Phi-2's 32 rotated dims of 80 under yarn: R = 32 in every exponent and in the R − 1 clamp.
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 4;
  s.original_context = 2048;
  const rope_frequencies f = evaluate_rope(rule_with(s, 10000.0, 32, 8192));
  EXPECT_EQ(16u, f.inv_freq.size());
  expect_frequencies(yarn_reference(10000.0L, 32, 4, 2048, 32, 1, true), f);
  s = {};
  s.type = rope_scaling_type::linear;
  s.factor = 2;
  std::vector<real> expected = plain(10000.0L, 32);
  for (real& e : expected) e /= 2;
  expect_frequencies(expected, evaluate_rope(rule_with(s, 10000.0, 32, 2048)));
}

TEST(RopeTest, GgufRopeFreqsDividePerPair) {
  rope_scaling s;  // what llama.cpp's converter stores for Llama-3.1: type none plus rope_freqs
  for (int c = 0; c < 4; ++c) s.freq_factors.push_back(c < 2 ? 1.0 : 8.0);
  const rope_frequencies f = evaluate_rope(rule_with(s, 10000.0, 8, 4096));
  const std::vector<real> base = plain(10000.0L, 8);
  expect_frequencies({base[0], base[1], base[2] / 8, base[3] / 8}, f);
  EXPECT_EQ(rope_pair_change::kept, f.change[1]);
  EXPECT_EQ(rope_pair_change::rescaled, f.change[2]);
}

TEST(RopeTest, GgufLlama3AsRopeFreqsEqualsTheLlama3Rule) {
  // What llama.cpp's converter writes for Llama-3.1: the divisors theta_inv / llama3_inv per pair,
  // no low/high_freq_factor; the reader labels it llama3 with the largest divisor as factor.
  const rope_frequencies hf = evaluate_rope(rule_with(llama31_scaling(), 500000.0, 128, 131072));
  rope_scaling gguf;
  gguf.type = rope_scaling_type::llama3;
  gguf.factor = 8;
  for (std::size_t c = 0; c < 64; ++c)
    gguf.freq_factors.push_back(static_cast<double>(static_cast<float>(hf.theta_inv_freq[c] / hf.inv_freq[c])));
  const rope_frequencies from_gguf = evaluate_rope(rule_with(gguf, 500000.0, 128, 131072));
  for (std::size_t c = 0; c < 64; ++c) {
    EXPECT_NEAR(hf.inv_freq[c], from_gguf.inv_freq[c], 1e-7 * hf.inv_freq[c]) << c;  // float32 tensor data
    EXPECT_EQ(hf.change[c], from_gguf.change[c]) << c;
  }
}

// Llama-4-Scout states low_freq_factor == high_freq_factor == 1: transformers' rule is then a step
// (divide every pair whose wavelength exceeds original_context, keep the rest).
TEST(RopeTest, Llama3WithEqualFactorsIsAStepAsInLlama4Scout) {
  rope_scaling s;
  s.type = rope_scaling_type::llama3;
  s.factor = 16;
  s.low_freq_factor = 1;
  s.high_freq_factor = 1;
  s.original_context = 8192;
  const rope_frequencies f = evaluate_rope(rule_with(s, 500000.0, 128, 10485760));
  std::size_t divided = 0;
  for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
    const double wavelength = 2 * std::numbers::pi / f.theta_inv_freq[c];
    if (wavelength > 8192) {
      EXPECT_EQ(f.inv_freq[c], f.theta_inv_freq[c] / 16) << c;
      EXPECT_EQ(f.change[c], rope_pair_change::divided) << c;
      ++divided;
    } else {
      EXPECT_EQ(f.inv_freq[c], f.theta_inv_freq[c]) << c;
      EXPECT_EQ(f.change[c], rope_pair_change::kept) << c;
    }
  }
  EXPECT_GT(divided, 0u);
  EXPECT_LT(divided, f.inv_freq.size());
}

TEST(RopeTest, ValidationNamesTheKey) {
  rope_scaling s;
  s.type = rope_scaling_type::llama3;
  s.factor = 8;
  s.high_freq_factor = 4;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 500000.0, 128, 8192)), invalid_params,
                   "low_freq_factor = (absent): is required by the llama3 rule");
  s.low_freq_factor = 5;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 500000.0, 128, 8192)), invalid_params,
                   "high_freq_factor = 4: must be at least low_freq_factor (5)");
  s = {};
  s.type = rope_scaling_type::longrope;
  s.factor = 32;
  s.original_context = 4096;
  s.short_factor.assign(47, 1.0);
  s.long_factor.assign(48, 1.0);
  s.long_factor[3] = 0;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 96, 131072)), invalid_params,
                   "short_factor = 47 values: must hold rotary_dims / 2 = 48 values; long_factor = 0 at index 3: every "
                   "value must be a finite number greater than 0");
  s.short_factor.clear();
  s.long_factor.assign(48, 1.0);
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 96, 131072)), invalid_params,
                   "short_factor = (absent): is required: 48 numbers (rotary_dims / 2)");
  s = {};
  s.type = rope_scaling_type::linear;
  s.factor = -2;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 64, 2048)), invalid_params,
                   "factor = -2: must be a finite number greater than 0");
  s = {};
  s.type = rope_scaling_type::dynamic;
  s.factor = 2;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 64, 0)), invalid_params,
                   "max_position_embeddings = 0: must be at least 1 (the dynamic rule needs it)");
  s = {};
  s.type = rope_scaling_type::yarn;
  s.factor = 2;
  s.beta_fast = -1;
  s.attention_factor = 0;
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 64, 2048)), invalid_params,
                   "attention_factor = 0: must be a finite number greater than 0; beta_fast = -1: must be a finite "
                   "number >= 0 (0: the default 32)");
  s = {};
  s.freq_factors.assign(3, 1.0);
  EXPECT_THROW_MSG((void)evaluate_rope(rule_with(s, 10000.0, 64, 2048)), invalid_params,
                   "rope_freqs = 3 values: must hold rotary_dims / 2 = 32 values");
  EXPECT_THROW_MSG((void)evaluate_rope({-1.0, 7, 2048, std::nullopt}), invalid_params,
                   "rope_theta = -1: must be a finite number greater than 0; rotary_dims = 7: must be even and at least 2");
  EXPECT_THROW_MSG((void)evaluate_rope({10000.0, 64, 2048, std::nullopt}, -5), invalid_params,
                   "tokens = -5: must be at least 0");
  EXPECT_FALSE(selfextend::parse_rope_scaling_type("ntk"));
  EXPECT_EQ(rope_scaling_type::longrope, selfextend::parse_rope_scaling_type("su"));
}

TEST(RopeTest, PlanRotationPositionsAreTheNeighborAndGroupPositionsOnce) {
  for (const selfextend::shift_rule shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional})
    for (const std::int64_t group : {1, 3, 4})
      for (const std::int64_t window : {1, 5, 8}) {
        const selfextend::plan p{group, window, shift};
        const std::int64_t tokens = 40;
        std::set<double> expected;
        for (std::int64_t i = 0; i < tokens; ++i) {
          expected.insert(static_cast<double>(i));                     // neighbor query and key
          expected.insert(static_cast<double>(i / group));             // group key floor(j/G)
          if (i >= window) {
            const double shifted = static_cast<double>(i / group + window) -
                                   (shift == selfextend::shift_rule::integer ? static_cast<double>(window / group)
                                                                            : static_cast<double>(window) / static_cast<double>(group));
            expected.insert(shifted);
          }
        }
        const std::vector<double> actual = selfextend::plan_rotation_positions(p, tokens);
        ASSERT_EQ(expected.size(), actual.size());
        std::size_t n = 0;
        for (const double e : expected) EXPECT_NEAR(e, actual[n++], 1e-12);
      }
  EXPECT_THROW_MSG((void)selfextend::plan_rotation_positions({2, 4}, 0), invalid_params, "tokens = 0: must be at least 1");
}

TEST(RopeTest, AngleTableCarriesTheAttentionFactor) {
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 4;
  s.original_context = 1024;
  const rope_frequencies f = evaluate_rope(rule_with(s, 10000.0, 8, 4096));
  const std::vector<double> positions{0.0, 3.0, 7.25};
  const selfextend::rope_angle_table t = selfextend::rope_angles(f, positions);
  ASSERT_EQ(4, t.pairs);
  ASSERT_EQ(12u, t.cos.size());
  for (std::size_t p = 0; p < 3; ++p)
    for (std::size_t c = 0; c < 4; ++c) {
      EXPECT_DOUBLE_EQ(f.attention_factor * std::cos(positions[p] * f.inv_freq[c]), t.cos[p * 4 + c]);
      EXPECT_DOUBLE_EQ(f.attention_factor * std::sin(positions[p] * f.inv_freq[c]), t.sin[p * 4 + c]);
    }
  EXPECT_EQ(f.attention_factor, t.cos[0]);
  EXPECT_EQ(3 * 8 + 3 * 4 * 2 * 8, selfextend::rope_angle_table_bytes(3, 4));
  const std::vector<double> bad{1.0, std::nan("")};
  EXPECT_THROW_MSG((void)selfextend::rope_angles(f, bad), invalid_params, "positions = nan at index 1: must be finite");
}

TEST(RopeTest, PlanTableRefusesBeforeAllocatingAndHugeRotaryDimsAreRefused) {
  const rope_frequencies f = evaluate_rope({10000.0, 128, 4096, std::nullopt});
  EXPECT_EQ(2 * 1000000000000 - 4, selfextend::plan_rotation_positions_bound({2, 4}, 1000000000000));
  EXPECT_EQ(INT64_MAX, selfextend::plan_rotation_positions_bound({2, 1}, INT64_MAX));
  EXPECT_EQ(10, selfextend::plan_rotation_positions_bound({2, 40}, 10));
  EXPECT_THROW_MSG((void)selfextend::plan_rope_angles(f, {2, 4}, 1000000000000), invalid_params,
                   "positions_for = up to 1999999999996 positions x 64 pairs: the cos/sin table needs up to 1.83 PiB (2063999999995872 bytes), "
                   "more than the limit of 1.00 GiB (1073741824 bytes) (use force to build it anyway)");
  const selfextend::rope_angle_table small = selfextend::plan_rope_angles(f, {3, 4, selfextend::shift_rule::fractional}, 12);
  EXPECT_EQ(selfextend::plan_rotation_positions({3, 4, selfextend::shift_rule::fractional}, 12), small.positions);
  EXPECT_EQ(small, selfextend::rope_angles(f, small.positions));
  EXPECT_THROW_MSG((void)evaluate_rope({10000.0, std::int64_t{1} << 40, 4096, std::nullopt}), invalid_params,
                   "rotary_dims = 1099511627776: must be at most 1048576 (no model rotates more)");
}
