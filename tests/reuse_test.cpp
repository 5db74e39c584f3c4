// reuse_test - Unit tests for reuse.hpp: closed-form reuse counts against brute force, fractions and buckets.
#include <selfextend/reuse.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "test_helpers.hpp"

using selfextend::plan;
using selfextend::self_extend_params;
using selfextend::shift_rule;

TEST(ReuseTest, PaperFigureThreeCounts) {
  const auto s = selfextend::compute_reuse({16, 10, {2, 4, shift_rule::integer}});
  EXPECT_EQ((std::vector<std::int64_t>{10, 9, 8, 7, 9, 8, 4}), s.counts);
  EXPECT_EQ((std::vector<std::int64_t>{10, 9, 8, 7, 0, 0, 0}), s.neighbor_counts);
  EXPECT_EQ((std::vector<std::int64_t>{0, 0, 0, 0, 9, 8, 4}), s.group_counts);
  EXPECT_EQ(55, s.total_pairs);
  EXPECT_EQ(34, s.neighbor_pairs);
  EXPECT_EQ(21, s.group_pairs);
  EXPECT_EQ(6, s.max_position);
  EXPECT_EQ(7, s.distinct_positions);
  EXPECT_EQ((selfextend::position_range{0, 3}), s.neighbor_range);
  EXPECT_EQ((selfextend::position_range{4, 6}), s.group_range);
  // L = 16: nothing reaches 8 (L/2) or 11 (2L/3).
  EXPECT_EQ(0, s.pairs_past_half);
  EXPECT_EQ(0.0, s.fraction_positions_past_half);
}

TEST(ReuseTest, CountsEqualBruteForceBincountOverRandomPlans) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 500; ++trial) {
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() % 12);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 40);
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 260);
    const std::int64_t context = window + 1 + static_cast<std::int64_t>(rng() % 80);
    const plan p{group, window, trial % 3 == 0 ? shift_rule::fractional : shift_rule::integer};
    SCOPED_TRACE("L=" + std::to_string(context) + " G=" + std::to_string(group) + " W=" + std::to_string(window) +
                 " N=" + std::to_string(tokens));
    const auto s = selfextend::compute_reuse({context, tokens, p});
    const std::int64_t pmax = s.max_position;
    std::vector<std::int64_t> neighbor(static_cast<std::size_t>(pmax) + 1, 0), grouped(neighbor);
    for (std::int64_t i = 0; i < tokens; ++i)
      for (std::int64_t j = 0; j <= i; ++j) {
        const auto q = static_cast<std::size_t>(brute::relative_position(i, j, group, window));
        ASSERT_LT(q, neighbor.size());
        ++(i - j < window ? neighbor : grouped)[q];
      }
    std::vector<std::int64_t> all(neighbor.size());
    std::int64_t half = 0, two_thirds = 0, past_l = 0, distinct = 0, distinct_half = 0;
    for (std::size_t q = 0; q < all.size(); ++q) {
      all[q] = neighbor[q] + grouped[q];
      const auto pos = static_cast<std::int64_t>(q);
      if (2 * pos >= context) half += all[q];
      if (3 * pos >= 2 * context) two_thirds += all[q];
      if (pos >= context) past_l += all[q];
      distinct += all[q] > 0;
      distinct_half += all[q] > 0 && 2 * pos >= context;
    }
    EXPECT_EQ(neighbor, s.neighbor_counts);
    EXPECT_EQ(grouped, s.group_counts);
    EXPECT_EQ(all, s.counts);
    EXPECT_EQ(tokens * (tokens + 1) / 2, s.total_pairs);
    EXPECT_EQ(half, s.pairs_past_half);
    EXPECT_EQ(two_thirds, s.pairs_past_two_thirds);
    EXPECT_EQ(past_l, s.pairs_past_context);
    EXPECT_EQ(distinct, s.distinct_positions);
    EXPECT_EQ(distinct_half, s.positions_past_half);
    EXPECT_DOUBLE_EQ(static_cast<double>(half) / static_cast<double>(s.total_pairs), s.fraction_pairs_past_half);
  }
}

TEST(ReuseTest, HugeBlocksAndHugeContextsStayExact) {
  // A block's partial-group sum passes 2^63 before halving when G is in the billions.
  const std::int64_t n = 4'000'000'000;
  const auto s = selfextend::compute_reuse({INT64_MAX, n, {n, 1, shift_rule::integer}});
  EXPECT_EQ(n / 2 * (n + 1), s.total_pairs);
  std::int64_t sum = 0;
  for (const std::int64_t c : s.counts) {
    EXPECT_GE(c, 0);
    sum += c;
  }
  EXPECT_EQ(s.total_pairs, sum);
  EXPECT_EQ(0, s.pairs_past_two_thirds);
  // 2L overflows 64 bits here; the thresholds must not.
  const std::int64_t big = std::int64_t{1} << 62;
  const auto t = selfextend::compute_reuse({big, 100, {2, 10, shift_rule::integer}});
  EXPECT_EQ(big / 2, t.half_from);
  EXPECT_EQ(big / 3 * 2 + 1, t.two_thirds_from);  // ceil(2^63 / 3): 2^62 = 3q + 1, so 2^63 = 6q + 2
  EXPECT_EQ(0, t.pairs_past_half);
  EXPECT_EQ(0, t.pairs_past_two_thirds);
}

TEST(ReuseTest, RefusesCountArraysAboveTheMemoryLimit) {
  EXPECT_THROW_MSG((void)selfextend::compute_reuse({INT64_MAX, 4'000'000'000, {2, 1, shift_rule::integer}}),
                   selfextend::invalid_params,
                   "tokens = 4000000000: the per-position count arrays (4 x (P_max + 2) int64 while built, P_max + 1 = "
                   "2000000001) would be 59.6 GiB (64000000064 bytes), above the limit of 1.00 GiB (1073741824 bytes); "
                   "use `force` to go past it");
}

TEST(ReuseTest, SummaryWithoutArraysEqualsTheArrays) {
  // The summary and the histogram are streamed in O(1) memory; they must equal what the arrays give.
  std::mt19937_64 rng(14);
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t context = std::uniform_int_distribution<std::int64_t>(2, 300)(rng);
    const std::int64_t window = std::uniform_int_distribution<std::int64_t>(1, context - 1)(rng);
    const std::int64_t group = std::uniform_int_distribution<std::int64_t>(1, 40)(rng);
    const std::int64_t tokens = std::uniform_int_distribution<std::int64_t>(1, 3000)(rng);
    const selfextend::self_extend_params params{context, tokens, {group, window, trial % 2 ? shift_rule::integer : shift_rule::fractional}};
    const auto with = selfextend::compute_reuse(params);
    auto without = selfextend::compute_reuse(params, {.keep_counts = false});
    EXPECT_TRUE(without.counts.empty() && without.neighbor_counts.empty() && without.group_counts.empty());
    const std::int64_t range = std::max(context, with.max_position + 1);
    for (const std::int64_t buckets : {std::int64_t{1}, std::int64_t{7}, std::int64_t{16}, range}) {
      // Each bar's closed-form sums against adding up the arrays position by position.
      const auto bars = selfextend::bucket_reuse(without, range, buckets);
      for (const auto& bar : bars) {
        std::int64_t neighbor = 0, grouped = 0;
        for (std::int64_t q = bar.first; q <= std::min(bar.last, with.max_position); ++q) {
          neighbor += with.neighbor_counts[static_cast<std::size_t>(q)];
          grouped += with.group_counts[static_cast<std::size_t>(q)];
        }
        ASSERT_EQ((selfextend::reuse_bucket{bar.first, bar.last, neighbor, grouped}), bar)
            << "L=" << context << " N=" << tokens << " G=" << group << " W=" << window << " B=" << buckets;
      }
      ASSERT_EQ(bars, selfextend::bucket_reuse(with, range, buckets));
    }
    without.counts = with.counts;
    without.neighbor_counts = with.neighbor_counts;
    without.group_counts = with.group_counts;
    ASSERT_EQ(with, without) << "L=" << context << " N=" << tokens << " G=" << group << " W=" << window;
  }
}

TEST(ReuseTest, BillionTokensSummaryAndHistogramInBoundedMemory) {
  // 10^9 tokens with G = 8: P_max ~ 1.25e8, arrays of 3 GB that the text output never needed.
  const std::int64_t n = 1'000'000'000;
  const selfextend::self_extend_params params{4096, n, {8, 1024, shift_rule::integer}};
  EXPECT_THROW_MSG((void)selfextend::compute_reuse(params), selfextend::invalid_params,
                   "tokens = 1000000000: the per-position count arrays (4 x (P_max + 2) int64 while built, P_max + 1 = "
                   "125000896) would be 3.73 GiB (4000028704 bytes), above the limit of 1.00 GiB (1073741824 bytes); "
                   "use `force` to go past it");
  const auto s = selfextend::compute_reuse(params, {.keep_counts = false});
  EXPECT_TRUE(s.counts.empty());
  EXPECT_EQ(n / 2 * (n + 1), s.total_pairs);
  EXPECT_EQ(s.total_pairs, s.neighbor_pairs + s.group_pairs);
  const auto bars = selfextend::bucket_reuse(s, std::max<std::int64_t>(4096, s.max_position + 1), 16);
  ASSERT_EQ(16u, bars.size());
  std::int64_t sum = 0;
  for (const auto& b : bars) sum += b.neighbor + b.group;
  EXPECT_EQ(s.total_pairs, sum);
  EXPECT_THROW_MSG((void)selfextend::bucket_reuse(s, 4096, selfextend::max_reuse_buckets + 1), selfextend::invalid_params,
                   "buckets = 1048577: must be at most 1048576");
}

TEST(ReuseTest, BillionTokensDoNotOverflow) {
  // N = 1e9, G = 1024: 5e17 pairs; the counts must still sum to N(N+1)/2 exactly.
  const std::int64_t n = 1'000'000'000;
  const auto s = selfextend::compute_reuse({4096, n, {1024, 1024, shift_rule::integer}});
  EXPECT_EQ(n * (n + 1) / 2, s.total_pairs);
  std::int64_t sum = 0;
  for (const std::int64_t c : s.counts) sum += c;
  EXPECT_EQ(s.total_pairs, sum);
  EXPECT_EQ(n, s.counts[0]);
  EXPECT_EQ(s.max_position + 1, static_cast<std::int64_t>(s.counts.size()));
  EXPECT_EQ(s.total_pairs, s.pairs_past_context + (s.total_pairs - s.pairs_past_context));
}

TEST(ReuseTest, SeedExampleReachesPastTwoThirdsWithGroupFive) {
  // L=4096, N=15800, W=1024, G=5: group positions 1024..3979; 2L/3 = 2730.67.
  const auto s = selfextend::compute_reuse({4096, 15800, {5, 1024, shift_rule::integer}});
  EXPECT_EQ(3979, s.max_position);
  EXPECT_EQ((selfextend::position_range{1024, 3979}), s.group_range);
  EXPECT_EQ(3980, s.distinct_positions);
  EXPECT_EQ(3979 - 2048 + 1, s.positions_past_half);
  EXPECT_EQ(3979 - 2731 + 1, s.positions_past_two_thirds);
  EXPECT_EQ(0, s.pairs_past_context);
  EXPECT_GT(s.fraction_pairs_past_two_thirds, 0.0);
}

TEST(ReuseTest, PairCountOverflowIsRefusedNotUndefined) {
  // N = INT64_MAX: N + 1 wrapped before the 128-bit product (UBSan, reuse --tokens 9223372036854775807).
  EXPECT_THROW_MSG((void)selfextend::compute_reuse({3, INT64_MAX, {2, 1, shift_rule::integer}}), selfextend::invalid_params,
                   "tokens = 9223372036854775807: too many pairs for 64-bit counts (N(N+1)/2 must fit)");
}

TEST(ReuseTest, RejectsInvalidInput) {
  EXPECT_THROW_MSG((void)selfextend::compute_reuse({4096, 100, {2, 4096}}), selfextend::invalid_params,
                   "window = 4096: must be smaller than context (4096)");
  EXPECT_THROW_MSG((void)selfextend::compute_reuse({std::nullopt, 100, {2, 4}}), selfextend::invalid_params,
                   "context = (none): is required for reuse statistics");
  EXPECT_THROW_MSG((void)selfextend::compute_reuse({4096, 5'000'000'000, {1'000'000'000, 4}}), selfextend::invalid_params,
                   "tokens = 5000000000: too many pairs for 64-bit counts (N(N+1)/2 must fit)");
}

TEST(ReuseTest, BucketsSumCountsOverTheWindow) {
  const auto s = selfextend::compute_reuse({16, 10, {2, 4, shift_rule::integer}});
  const auto bars = selfextend::bucket_reuse(s, 16, 4);
  ASSERT_EQ(4u, bars.size());
  EXPECT_EQ((selfextend::reuse_bucket{0, 3, 34, 0}), bars[0]);
  EXPECT_EQ((selfextend::reuse_bucket{4, 7, 0, 21}), bars[1]);
  EXPECT_EQ((selfextend::reuse_bucket{8, 11, 0, 0}), bars[2]);
  EXPECT_EQ((selfextend::reuse_bucket{12, 15, 0, 0}), bars[3]);
  const auto narrow = selfextend::bucket_reuse(s, 7, 3);  // width 3: [0,2] [3,5] [6,6]
  ASSERT_EQ(3u, narrow.size());
  EXPECT_EQ((selfextend::reuse_bucket{6, 6, 0, 4}), narrow[2]);
  EXPECT_EQ(5u, selfextend::bucket_reuse(s, 5, 100).size());
  EXPECT_THROW_MSG((void)selfextend::bucket_reuse(s, 0, 4), selfextend::invalid_params, "range_end = 0: must be at least 1");
}

TEST(ReuseTest, ClosedFormSummaryAndRangesEqualTheArrays) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() % 13);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 40);
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 300);
    const std::int64_t context = window + 1 + static_cast<std::int64_t>(rng() % 90);
    const self_extend_params params{context, tokens, {group, window, trial % 4 == 0 ? shift_rule::fractional : shift_rule::integer}};
    SCOPED_TRACE("L=" + std::to_string(context) + " G=" + std::to_string(group) + " W=" + std::to_string(window) +
                 " N=" + std::to_string(tokens));
    const auto full = selfextend::compute_reuse(params);
    auto summary = selfextend::summarise_reuse(params);
    EXPECT_TRUE(summary.counts.empty() && summary.neighbor_counts.empty() && summary.group_counts.empty());
    summary.counts = full.counts;
    summary.neighbor_counts = full.neighbor_counts;
    summary.group_counts = full.group_counts;
    EXPECT_EQ(full, summary);
    // Any range, including ones that start before 0 or end past P_max.
    for (int k = 0; k < 20; ++k) {
      const std::int64_t first = static_cast<std::int64_t>(rng() % 400) - 50;
      const std::int64_t last = first + static_cast<std::int64_t>(rng() % 200);
      std::int64_t n = 0, g = 0;
      for (std::int64_t q = std::max<std::int64_t>(first, 0); q <= std::min(last, full.max_position); ++q) {
        n += full.neighbor_counts[static_cast<std::size_t>(q)];
        g += full.group_counts[static_cast<std::size_t>(q)];
      }
      EXPECT_EQ((selfextend::reuse_bucket{first, last, n, g}), selfextend::count_reuse(params, first, last));
    }
    // Buckets straight from the arrays equal the closed form's, from either stats.
    const std::int64_t range_end = std::max(context, full.max_position + 1) + static_cast<std::int64_t>(rng() % 30);
    const std::int64_t bars = 1 + static_cast<std::int64_t>(rng() % 70);
    const auto from_summary = selfextend::bucket_reuse(selfextend::summarise_reuse(params), range_end, bars);
    EXPECT_EQ(selfextend::bucket_reuse(full, range_end, bars), from_summary);
    for (const selfextend::reuse_bucket& b : from_summary) {
      std::int64_t n = 0, g = 0;
      for (std::int64_t q = b.first; q <= std::min(b.last, full.max_position); ++q) {
        n += full.neighbor_counts[static_cast<std::size_t>(q)];
        g += full.group_counts[static_cast<std::size_t>(q)];
      }
      EXPECT_EQ(n, b.neighbor);
      EXPECT_EQ(g, b.group);
    }
  }
}

TEST(ReuseTest, ClosedFormReachesEveryCountableN) {
  // The largest N whose N(N+1)/2 fits: no arrays, exact totals, buckets that add up.
  const std::int64_t n = 4'294'967'295;
  const self_extend_params params{4096, n, {8, 1024, shift_rule::integer}};
  const auto s = selfextend::summarise_reuse(params);
  EXPECT_EQ(n * ((n + 1) / 2), s.total_pairs);  // n is odd
  EXPECT_EQ(s.total_pairs, s.neighbor_pairs + s.group_pairs);
  EXPECT_EQ(1024 * n - 1024 * 1023 / 2, s.neighbor_pairs);
  EXPECT_EQ((n - 1) / 8 + 1024 - 128, s.max_position);
  const auto bars = selfextend::bucket_reuse(s, s.max_position + 1, 1000);
  std::int64_t sum = 0;
  for (const selfextend::reuse_bucket& b : bars) sum += b.neighbor + b.group;
  EXPECT_EQ(s.total_pairs, sum);
  EXPECT_EQ(s.total_pairs, selfextend::count_reuse(params, 0, s.max_position).group + s.neighbor_pairs);
  // Position 0: every token with itself.
  EXPECT_EQ((selfextend::reuse_bucket{0, 0, n, 0}), selfextend::count_reuse(params, 0, 0));
  EXPECT_THROW_MSG((void)selfextend::summarise_reuse({4096, n + 1, {8, 1024}}), selfextend::invalid_params,
                   "tokens = 4294967296: too many pairs for 64-bit counts (N(N+1)/2 must fit)");
  EXPECT_THROW_MSG((void)selfextend::count_reuse(params, 5, 4), selfextend::invalid_params,
                   "last = 4: must be at least first (5)");
  EXPECT_EQ((selfextend::reuse_bucket{3, 5, 7, 17}), selfextend::count_reuse({16, 10, {2, 4}}, 3, 5));
}

namespace {

using selfextend::method_kind;
using selfextend::method_params;

/// Every method's counts by visiting each causal pair: the bucket floor(remap position) of the
/// branch select_branch names.
void expect_method_reuse_equals_pairs(const method_params& m, std::int64_t L, std::int64_t N) {
  const selfextend::method_reuse_stats s = selfextend::compute_method_reuse(m, L, N);
  const std::size_t branches = selfextend::branch_names(m.kind).size();
  std::vector<std::vector<std::int64_t>> want(branches, std::vector<std::int64_t>(s.counts.size(), 0));
  std::int64_t dropped = 0;
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t j = 0; j <= i; ++j) {
      const selfextend::remapped_position r = selfextend::remap(m, i, j);
      if (!r.attended) {
        ++dropped;
        continue;
      }
      const auto bucket = static_cast<std::size_t>(std::floor(r.position));
      ASSERT_LT(bucket, s.counts.size()) << selfextend::to_string(m.kind) << " " << i << " " << j;
      ++want[static_cast<std::size_t>(*selfextend::select_branch(m, i, j))][bucket];
    }
  ASSERT_EQ(s.branch_counts, want) << selfextend::to_string(m.kind) << " N " << N;
  EXPECT_EQ(s.dropped_pairs, dropped);
  EXPECT_EQ(s.dropped_pairs, selfextend::dropped_pairs(m, N));
  EXPECT_EQ(s.attended_pairs + s.dropped_pairs, N * (N + 1) / 2);
  EXPECT_EQ(s.max_position, static_cast<std::int64_t>(std::floor(selfextend::largest_position(m, N))));
  EXPECT_GT(s.counts.back(), 0);  // the last bucket is used
  std::int64_t past_half = 0;
  for (std::size_t p = static_cast<std::size_t>(s.half_from); p < s.counts.size(); ++p) past_half += s.counts[p];
  EXPECT_EQ(s.pairs_past_half, past_half);
}

}  // namespace

TEST(ReuseTest, EveryMethodsCountsEqualTheirPairsPositions) {
  for (std::int64_t N = 1; N <= 70; N += 3) {
    for (const selfextend::shift_rule shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional})
      for (std::int64_t G = 1; G <= 4; ++G)
        for (std::int64_t W = 1; W <= 7; W += 3) {
          method_params m;
          m.self_extend = {G, W, shift};
          expect_method_reuse_equals_pairs(m, 16, N);
        }
    for (std::int64_t c = 3; c <= 13; c += 2)
      for (std::int64_t w = 0; 2 * w < c; ++w) {
        method_params m;
        m.kind = method_kind::dca;
        m.chunk_size = c;
        m.local_window = w;
        expect_method_reuse_equals_pairs(m, 16, N);
      }
    for (std::int64_t w = 1; w <= 9; w += 4)
      for (const double k : {2.0, 3.0, 2.5, 16.0}) {
        method_params m;
        m.kind = method_kind::leaky_rerope;
        m.window = w;
        m.leak = k;
        expect_method_reuse_equals_pairs(m, 16, N);
        m.kind = method_kind::rerope;
        expect_method_reuse_equals_pairs(m, 16, N);
      }
    for (std::int64_t S = 0; S <= 4; S += 2)
      for (std::int64_t R = 1; R <= 9; R += 4) {
        method_params m;
        m.kind = method_kind::streaming;
        m.start_size = S;
        m.recent_size = R;
        expect_method_reuse_equals_pairs(m, 16, N);
      }
  }
}

TEST(ReuseTest, MethodReuseAtLengthAndItsMemoryGuard) {
  // Qwen2.5-1M's DCA at a million tokens: O(chunk) work, no pair visited; every pair attended.
  method_params qwen;
  qwen.kind = method_kind::dca;
  qwen.chunk_size = 262144;
  qwen.local_window = 8192;
  const selfextend::method_reuse_stats s = selfextend::compute_method_reuse(qwen, 262144, 1'000'000);
  EXPECT_EQ(s.attended_pairs, s.total_pairs);
  EXPECT_EQ(s.max_position, 262144);
  EXPECT_EQ(s.pairs_past_context, s.counts[262144]);  // only the inter-chunk query's own key sits at L
  // Leaky ReRoPE k = 2 over 2^31 tokens needs about 2^30 buckets x 3 arrays: refused without force.
  method_params leaky;
  leaky.kind = method_kind::leaky_rerope;
  leaky.window = 512;
  leaky.leak = 2;
  EXPECT_GT(selfextend::method_reuse_bytes(leaky, std::int64_t{1} << 31), selfextend::max_reuse_bytes);
  try {
    (void)selfextend::compute_method_reuse(leaky, 4096, std::int64_t{1} << 31);
    ADD_FAILURE() << "no refusal";
  } catch (const selfextend::invalid_params& e) {
    EXPECT_EQ(e.issues()[0].key, "tokens");
    EXPECT_NE(std::string(e.what()).find("force"), std::string::npos) << e.what();
  }
}
