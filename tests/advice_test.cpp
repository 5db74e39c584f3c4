// advice_test - Unit tests for advice.hpp: capacity, reach, verdicts, min-group searches and the advisor.
#include <selfextend/advice.hpp>

#include <random>
#include <vector>

#include <selfextend/position_map.hpp>

#include "test_helpers.hpp"

using selfextend::advice_request;
using selfextend::assess;
using selfextend::plan;
using selfextend::shift_rule;
using selfextend::verdict;

namespace {

/// Brute-force P_max for every N in [1, max_tokens] by walking all pairs row by row.
std::vector<std::int64_t> brute_max_positions(std::int64_t group, std::int64_t window, std::int64_t max_tokens) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(max_tokens + 1), 0);
  std::int64_t running = 0;
  for (std::int64_t n = 1; n <= max_tokens; ++n) {
    for (std::int64_t j = 0; j < n; ++j) running = std::max(running, brute::relative_position(n - 1, j, group, window));
    out[static_cast<std::size_t>(n)] = running;
  }
  return out;
}

}  // namespace

TEST(AdviceTest, CapacityMaxPositionAndFitsEqualBruteForceExhaustively) {
  // Every L <= 64, G <= 9, W < L, N <= 3 * capacity. P_max does not depend on L, so one brute-force
  // walk per (G, W) serves every L.
  for (std::int64_t group = 1; group <= 9; ++group) {
    for (std::int64_t window = 1; window < 64; ++window) {
      const std::int64_t largest_capacity = group * (64 - window + window / group);
      const std::vector<std::int64_t> pmax = brute_max_positions(group, window, 3 * largest_capacity);
      for (std::int64_t context = std::max<std::int64_t>(2, window + 1); context <= 64; ++context) {
        const plan p{group, window, shift_rule::integer};
        const std::int64_t capacity = selfextend::capacity_exact(context, p);
        std::int64_t brute_capacity = 0;  // largest N whose brute-force P_max <= L - 1
        for (std::int64_t n = 1; n <= 3 * capacity; ++n) {
          const bool brute_fits = pmax[static_cast<std::size_t>(n)] <= context - 1;
          if (brute_fits) brute_capacity = n;
          const auto a = assess({context, n, p});
          ASSERT_EQ(pmax[static_cast<std::size_t>(n)], a.max_position) << "G=" << group << " W=" << window << " N=" << n;
          ASSERT_EQ(brute_fits, a.fits) << "L=" << context << " G=" << group << " W=" << window << " N=" << n;
        }
        ASSERT_EQ(brute_capacity, capacity) << "L=" << context << " G=" << group << " W=" << window;
        ASSERT_EQ(capacity + window % group, selfextend::capacity_paper(context, p));
      }
    }
  }
}

TEST(AdviceTest, SeedExampleMatchesThePaperFigures) {
  // LongLM README: 15,800 tokens on Llama-2 (4096) with W = 1024.
  const auto g5 = assess({4096, 15800, {5, 1024, shift_rule::integer}});
  EXPECT_EQ(16384, g5.capacity_paper);
  EXPECT_EQ(16380, g5.capacity_exact);  // 5 * (3072 + 204)
  EXPECT_EQ(3979, g5.max_position);
  EXPECT_DOUBLE_EQ(3979.2, g5.effective_reach);
  EXPECT_TRUE(g5.fits);
  EXPECT_EQ(verdict::less_trained, g5.band);
  const auto g8 = assess({4096, 15800, {8, 1024, shift_rule::integer}});
  EXPECT_EQ(2870, g8.max_position);
  EXPECT_DOUBLE_EQ(2871.0, g8.effective_reach);
  EXPECT_EQ(verdict::less_trained, g8.band);
  EXPECT_EQ(5, selfextend::min_group_for_capacity(4096, 15800, 1024));
  EXPECT_EQ(9, selfextend::min_group_for_two_thirds(4096, 15800, 1024));
  EXPECT_EQ(15, selfextend::min_group_for_half(4096, 15800, 1024));
  EXPECT_EQ(verdict::borderline, assess({4096, 15800, {9, 1024, shift_rule::integer}}).band);
  EXPECT_EQ(verdict::within_well_trained, assess({4096, 15800, {15, 1024, shift_rule::integer}}).band);
  EXPECT_EQ(verdict::exceeds_window, assess({4096, 15800, {4, 1024, shift_rule::integer}}).band);
}

TEST(AdviceTest, BoundsUseExactRationalComparison) {
  // R = W + (N - W)/G equal to 2L/3 exactly must not satisfy the strict bound.
  // L = 3000: 2L/3 = 2000; W = 1000, G = 2, N = 3000 -> R = 2000.
  const auto a = assess({3000, 3000, {2, 1000, shift_rule::integer}});
  EXPECT_DOUBLE_EQ(2000.0, a.effective_reach);
  EXPECT_FALSE(a.satisfies_two_thirds);
  const auto b = assess({3000, 2999, {2, 1000, shift_rule::integer}});
  EXPECT_TRUE(b.satisfies_two_thirds);
  // L/2 = 1500 with R = 1500 exactly: not satisfied.
  EXPECT_FALSE(assess({3000, 2000, {2, 1000, shift_rule::integer}}).satisfies_half);
}

TEST(AdviceTest, MinGroupSearchesEqualLinearScan) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t context = 2 + static_cast<std::int64_t>(rng() % 300);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(context - 1));
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 4000);
    std::int64_t g = 1;
    while (!assess({context, tokens, {g, window, shift_rule::integer}}).fits) ++g;
    ASSERT_EQ(g, selfextend::min_group_for_capacity(context, tokens, window)) << "L=" << context << " W=" << window << " N=" << tokens;
    // Bounds are monotone in G; scan up to a G beyond which they can no longer change.
    std::optional<std::int64_t> two_thirds, half;
    for (std::int64_t k = 1; k <= 3 * tokens + 2; ++k) {
      const auto a = assess({context, tokens, {k, window, shift_rule::integer}});
      if (!two_thirds && a.satisfies_two_thirds) two_thirds = k;
      if (!half && a.satisfies_half) half = k;
      if (two_thirds && half) break;
    }
    ASSERT_EQ(two_thirds, selfextend::min_group_for_two_thirds(context, tokens, window)) << "L=" << context << " W=" << window << " N=" << tokens;
    ASSERT_EQ(half, selfextend::min_group_for_half(context, tokens, window)) << "L=" << context << " W=" << window << " N=" << tokens;
  }
}

TEST(AdviceTest, FittingIsNotMonotoneInGroup) {
  // floor(W/G) shrinks as G grows: G = 2 fits six tokens in L = 5 with W = 4, G = 5 does not.
  EXPECT_TRUE(assess({5, 6, {2, 4, shift_rule::integer}}).fits);
  EXPECT_FALSE(assess({5, 6, {5, 4, shift_rule::integer}}).fits);
  EXPECT_EQ(2, selfextend::min_group_for_capacity(5, 6, 4));
}

TEST(AdviceTest, HugeInputsSaturateInsteadOfWrapping) {
  const std::int64_t n = std::int64_t{1} << 62;
  EXPECT_EQ(INT64_MAX, selfextend::capacity_exact(INT64_MAX, {INT64_MAX, 1, shift_rule::integer}));
  EXPECT_EQ(INT64_MAX, selfextend::capacity_paper(INT64_MAX, {4, 1, shift_rule::integer}));
  const auto a = assess({4096, n, {1024, 1024, shift_rule::integer}});
  EXPECT_FALSE(a.fits);
  EXPECT_EQ(n / 3072 + (n % 3072 != 0), selfextend::min_group_for_capacity(4096, n, 1024));
  EXPECT_TRUE(selfextend::min_group_for_two_thirds(4096, n, 1024).has_value());
  EXPECT_FALSE(selfextend::min_group_for_two_thirds(4096, INT64_MAX, 1).has_value() &&
               *selfextend::min_group_for_two_thirds(4096, INT64_MAX, 1) < 0);
}

TEST(AdviceTest, BoundsStayExactNearInt64Limits) {
  // R = (L - 1) + 1/G with L = G = 2^63 - 1: far above 2L/3. Multiplying by G would pass 2^127.
  const std::int64_t top = INT64_MAX;
  const auto a = assess({top, top, {top, top - 1, shift_rule::integer}});
  EXPECT_FALSE(a.satisfies_two_thirds);
  EXPECT_FALSE(a.satisfies_half);
  EXPECT_EQ(verdict::less_trained, a.band);
  // Against a linear scan of the exact rational rule at huge magnitudes, fraction parts included.
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 2000; ++trial) {
    const std::int64_t context = static_cast<std::int64_t>(rng() >> 1) | 2;
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(context - 1));
    const std::int64_t tokens = static_cast<std::int64_t>(rng() >> 1) | 1;
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() >> (1 + rng() % 62));
    const auto b = assess({context, tokens, {group, window, shift_rule::integer}});
    // Reference with long double fractions only where the whole parts are decisive.
    const long double reach = tokens <= window ? static_cast<long double>(tokens)
                                               : static_cast<long double>(window) +
                                                     static_cast<long double>((tokens - window) / group) +
                                                     static_cast<long double>((tokens - window) % group) / group;
    const long double half = static_cast<long double>(context) / 2, two_thirds = 2.0L * context / 3;
    if (std::abs(reach - half) > 1e-3L * half) {
      EXPECT_EQ(reach < half, b.satisfies_half) << context << " " << tokens << " " << group << " " << window;
    }
    if (std::abs(reach - two_thirds) > 1e-3L * two_thirds) {
      EXPECT_EQ(reach < two_thirds, b.satisfies_two_thirds) << context << " " << tokens << " " << group << " " << window;
    }
  }
}

TEST(AdviceTest, BoundsAreImpossibleWhenWindowTooLarge) {
  EXPECT_FALSE(selfextend::min_group_for_half(4096, 10000, 2048).has_value());
  EXPECT_TRUE(selfextend::min_group_for_two_thirds(4096, 10000, 2048).has_value());
  EXPECT_FALSE(selfextend::min_group_for_two_thirds(4096, 10000, 2731).has_value());
}

TEST(AdviceTest, FloatShiftReportsOffsetAndWarnsWhenShiftsDisagree) {
  const auto a = assess({4096, 15800, {3, 1024, shift_rule::fractional}});
  EXPECT_DOUBLE_EQ(1.0 / 3.0, a.fractional_offset);
  ASSERT_EQ(1u, a.warnings.size());
  EXPECT_NE(std::string::npos, a.warnings[0].find("W mod G = 1"));
  EXPECT_TRUE(assess({4096, 15800, {8, 1024, shift_rule::fractional}}).warnings.empty());
}

TEST(AdviceTest, AdvisorRecommendsSmallestGroupMeetingTwoThirdsForSeed) {
  advice_request req;
  req.context = 4096;
  req.tokens = 15800;
  const auto a = selfextend::advise(req);
  EXPECT_TRUE(a.extension_needed);
  // W is free: 1024 (= L/4) moves to 1026, the nearest multiple of G = 9, so LongLM's two shifts agree.
  EXPECT_EQ((plan{9, 1026, shift_rule::integer}), a.recommended.extension);
  EXPECT_EQ(0, a.recommended.extension.window % a.recommended.extension.group);
  EXPECT_EQ(1026, a.window_for_min_groups);
  EXPECT_EQ(5, a.min_group_for_capacity);
  EXPECT_EQ(9, a.min_group_for_two_thirds);
  EXPECT_EQ(15, a.min_group_for_half);
  EXPECT_FALSE(a.recommended.reasons.empty());
  EXPECT_EQ(5u, a.candidates.size());
  EXPECT_EQ(a.recommended, a.candidates.front());
  for (const auto& c : a.candidates) {
    EXPECT_TRUE(c.judgement.fits);
    EXPECT_TRUE(c.judgement.satisfies_two_thirds);
    EXPECT_FALSE(c.reasons.empty());
  }
}

TEST(AdviceTest, AdvisorWithFixedWindowListsSmallestFittingAsLessTrainedAlternative) {
  advice_request req;
  req.context = 4096;
  req.tokens = 15800;
  req.window = 1024;
  const auto a = selfextend::advise(req);
  ASSERT_EQ(4u, a.candidates.size());  // G = 9 (2/3), 15 (1/2), 16 (divides W), 5 (capacity)
  EXPECT_EQ(9, a.candidates[0].extension.group);
  EXPECT_EQ(1024, a.candidates[0].extension.window);  // a fixed W is never moved
  EXPECT_FALSE(a.candidates[0].judgement.warnings.empty());
  EXPECT_EQ(15, a.candidates[1].extension.group);
  EXPECT_EQ(16, a.candidates[2].extension.group);
  EXPECT_EQ(5, a.candidates[3].extension.group);
  EXPECT_EQ(verdict::less_trained, a.candidates[3].judgement.band);
}

TEST(AdviceTest, HalfTargetPrefersLargerGroup) {
  advice_request req;
  req.context = 4096;
  req.tokens = 15800;
  req.window = 1024;
  req.target = selfextend::target_fraction::half;
  EXPECT_EQ(15, selfextend::advise(req).recommended.extension.group);
}

TEST(AdviceTest, NoExtensionNeededWhenTokensFitContextIsNative) {
  advice_request req;
  req.context = 4096;
  for (const std::int64_t tokens : {1, 3000, 4096}) {
    req.tokens = tokens;
    const auto a = selfextend::advise(req);
    EXPECT_FALSE(a.extension_needed);
    EXPECT_EQ(1, a.recommended.extension.group);
    EXPECT_EQ(verdict::native, a.recommended.judgement.band);
    EXPECT_TRUE(a.recommended.judgement.fits);
    EXPECT_FALSE(a.window_for_min_groups);
    EXPECT_FALSE(a.min_group_for_capacity);
    EXPECT_FALSE(a.min_group_for_two_thirds);
    EXPECT_FALSE(a.min_group_for_half);
    ASSERT_EQ(1u, a.recommended.reasons.size());
    EXPECT_EQ("N = " + std::to_string(tokens) + " <= L = 4096: the model reads all " + std::to_string(tokens) +
                  " tokens at the positions it was trained on; no Self-Extend needed (G = 1)",
              a.recommended.reasons.front());
    EXPECT_EQ(a.candidates, std::vector<selfextend::ranked_plan>{a.recommended});
  }
  // One token past L: extension needed, the smallest groups reported, no verdict native anywhere.
  req.tokens = 4097;
  const auto past = selfextend::advise(req);
  EXPECT_TRUE(past.extension_needed);
  EXPECT_EQ(2, past.recommended.extension.group);
  EXPECT_EQ(2, past.min_group_for_capacity);
  for (const auto& c : past.candidates) EXPECT_NE(verdict::native, c.judgement.band);
}

TEST(AdviceTest, NativeVerdictMeansNoPairIsGroupedAndAllFit) {
  // G = 1 within L, or any G when N <= W (every pair is a neighbour): native.
  EXPECT_EQ(verdict::native, assess({4096, 3000, {1, 1024}}).band);
  EXPECT_EQ(verdict::native, assess({4096, 1000, {8, 1024}}).band);
  EXPECT_TRUE(assess({4096, 1000, {8, 1024}}).warnings.empty());
  EXPECT_EQ(verdict::exceeds_window, assess({4096, 4097, {1, 1024}}).band);
  // G > 1 groups pairs at N <= L for no gain: judged by its reach, and warned about.
  const auto grouped = assess({4096, 3000, {4, 1024}});
  EXPECT_EQ(verdict::within_well_trained, grouped.band);
  ASSERT_EQ(1u, grouped.warnings.size());
  EXPECT_EQ("N = 3000 <= L = 4096: no extension is needed; G = 1 reads every position as trained (verdict native), "
            "G = 4 groups the positions past W = 1024 for no gain",
            grouped.warnings.front());
}

TEST(AdviceTest, DefaultMaxGroupIsPassedWhenNoPlanWithinItFits) {
  advice_request req;
  req.context = 4096;
  req.tokens = 1'000'000;
  const auto a = selfextend::advise(req);
  EXPECT_TRUE(a.past_max_group);
  EXPECT_TRUE(a.recommended.judgement.fits);
  EXPECT_GT(a.recommended.extension.group, selfextend::default_max_group);
  EXPECT_EQ(586, a.recommended.extension.group);  // the smallest with R < 2L/3 at W = 1024
  EXPECT_EQ(1024, a.recommended.extension.window);
  EXPECT_EQ("G = 586 is past the default max_group 64 (LongLM's README finds G from 2 to 64 reasonable for "
            "Llama-2): no plan with G <= 64 fits N = 1000000 with L = 4096",
            a.recommended.reasons.front());
  for (const auto& c : a.candidates) {
    EXPECT_TRUE(c.judgement.fits);
    EXPECT_GT(c.extension.group, 64);
  }
  // The plans within the cap stay listed, as not fitting: one per window, G = 64.
  ASSERT_EQ(4u, a.capped.size());
  for (const auto& c : a.capped) {
    EXPECT_EQ(64, c.extension.group);
    EXPECT_FALSE(c.judgement.fits);
    EXPECT_EQ(verdict::exceeds_window, c.judgement.band);
  }
  EXPECT_EQ(326, a.min_group_for_capacity);
  EXPECT_EQ(586, a.min_group_for_two_thirds);
}

TEST(AdviceTest, ExplicitMaxGroupIsAHardCapNamingTheSmallestGroupThatFits) {
  advice_request req;
  req.context = 4096;
  req.tokens = 1'000'000;
  req.window = 1024;
  req.max_group = 64;
  try {
    (void)selfextend::advise(req);
    FAIL() << "expected no_solution";
  } catch (const selfextend::no_solution& e) {
    EXPECT_EQ("max_group", e.reason().key);
    EXPECT_EQ(326, e.least_satisfying());
    EXPECT_EQ("max_group = 64: no plan with G <= 64 fits N = 1000000 tokens with L = 4096: the smallest G that fits "
              "is 326 (W = 1024); raise `max_group` to at least 326 or leave it out",
              std::string(e.what()));
  }
  // W free: the smallest over the windows tried (L/8 = 512 needs the least).
  req.window.reset();
  try {
    (void)selfextend::advise(req);
    FAIL() << "expected no_solution";
  } catch (const selfextend::no_solution& e) {
    EXPECT_EQ(selfextend::min_group_for_capacity(4096, 1'000'000, 512), e.least_satisfying());
  }
  // At the smallest G that fits, the cap holds and the plan fits.
  req.window = 1024;
  req.max_group = 326;
  const auto a = selfextend::advise(req);
  EXPECT_FALSE(a.past_max_group);
  EXPECT_TRUE(a.capped.empty());
  EXPECT_EQ(326, a.recommended.extension.group);
  EXPECT_TRUE(a.recommended.judgement.fits);
  for (const auto& c : a.candidates) EXPECT_LE(c.extension.group, 326);
}

TEST(AdviceTest, ValidateReportsEveryRuleWithoutThrowing) {
  EXPECT_TRUE(selfextend::validate(advice_request{}).empty());
  advice_request req;
  req.context = 1;
  req.tokens = 0;
  req.window = 0;
  req.group = 0;
  req.max_group = 0;
  req.top = 0;
  std::vector<std::string> messages;
  for (const selfextend::issue& i : selfextend::validate(req)) messages.push_back(i.message());
  EXPECT_EQ((std::vector<std::string>{"context = 1: must be at least 2", "tokens = 0: must be at least 1",
                                      "window = 0: must be at least 1", "group = 0: must be at least 1",
                                      "max_group = 0: must be at least 1", "top = 0: must be at least 1"}),
            messages);
}

TEST(AdviceTest, InvalidRequestsNameTheirFields) {
  advice_request req;
  req.context = 4096;
  req.tokens = 0;
  req.window = 5000;
  req.top = 0;
  EXPECT_THROW_MSG((void)selfextend::advise(req), selfextend::invalid_params,
                   "tokens = 0: must be at least 1; window = 5000: must be smaller than context (4096); top = 0: must be at least 1");
  EXPECT_THROW_MSG((void)assess({std::nullopt, 10, {}}), selfextend::invalid_params,
                   "context = (none): is required (the pretrained context L)");
}
