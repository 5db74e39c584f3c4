// position_map_test - Unit tests for position_map.hpp: the exact pair map, shifts and P_max.
#include <selfextend/position_map.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "test_helpers.hpp"

using selfextend::branch;
using selfextend::map_pair;
using selfextend::plan;
using selfextend::shift_rule;

TEST(PositionMapTest, ReproducesPaperFigureThreeExactly) {
  // docs/concepts.md#the-map, paper Fig. 3: N=10, W=4, G=2, rows i = 0..9, entries j = 0..i.
  const std::vector<std::vector<std::int64_t>> expected = {
      {0}, {1, 0}, {2, 1, 0}, {3, 2, 1, 0}, {4, 3, 2, 1, 0}, {4, 4, 3, 2, 1, 0}, {5, 5, 4, 3, 2, 1, 0},
      {5, 5, 4, 4, 3, 2, 1, 0}, {6, 6, 5, 5, 4, 3, 2, 1, 0}, {6, 6, 5, 5, 4, 4, 3, 2, 1, 0}};
  const plan p{2, 4, shift_rule::integer};
  for (std::int64_t i = 0; i < 10; ++i) {
    std::vector<std::int64_t> row;
    for (std::int64_t j = 0; j <= i; ++j) row.push_back(map_pair(i, j, p).position);
    EXPECT_EQ(expected[static_cast<std::size_t>(i)], row) << "row " << i;
  }
}

TEST(PositionMapTest, BoundaryIsStrictDistanceWindowMinusOneIsNeighbor) {
  const plan p{3, 5, shift_rule::integer};
  EXPECT_EQ(branch::neighbor, map_pair(20, 16, p).from);  // d = 4 = W - 1
  EXPECT_EQ(4, map_pair(20, 16, p).position);
  EXPECT_EQ(branch::group, map_pair(20, 15, p).from);     // d = 5 = W
}

TEST(PositionMapTest, PositionsInsideNeighborWindowAreUnchanged) {
  const plan p{7, 100, shift_rule::integer};
  for (std::int64_t i = 0; i < 300; i += 7)
    for (std::int64_t j = std::max<std::int64_t>(0, i - 99); j <= i; ++j) EXPECT_EQ(i - j, map_pair(i, j, p).position);
}

TEST(PositionMapTest, IntegerShiftMakesUsedPositionsContiguous) {
  // With the int shift the group branch starts at exactly W: positions 0..P_max are all used.
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() % 9);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 40);
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 200);
    const plan p{group, window, shift_rule::integer};
    std::vector<bool> used(static_cast<std::size_t>(tokens), false);
    for (std::int64_t i = 0; i < tokens; ++i)
      for (std::int64_t j = 0; j <= i; ++j) used[static_cast<std::size_t>(map_pair(i, j, p).position)] = true;
    const std::int64_t pmax = selfextend::max_position(tokens, p);
    for (std::int64_t q = 0; q <= pmax; ++q) EXPECT_TRUE(used[static_cast<std::size_t>(q)]) << "G=" << group << " W=" << window << " N=" << tokens << " p=" << q;
    for (std::int64_t q = pmax + 1; q < tokens; ++q) EXPECT_FALSE(used[static_cast<std::size_t>(q)]);
  }
}

TEST(PositionMapTest, MapPairEqualsBruteForceRuleOverRandomPlans) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() % 16);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 64);
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 160);
    const plan p{group, window, shift_rule::integer};
    for (std::int64_t i = 0; i < tokens; ++i)
      for (std::int64_t j = 0; j <= i; ++j) {
        const auto m = map_pair(i, j, p);
        ASSERT_EQ(brute::relative_position(i, j, group, window), m.position)
            << "G=" << group << " W=" << window << " i=" << i << " j=" << j;
        ASSERT_EQ(i - j < window ? branch::neighbor : branch::group, m.from);
      }
  }
}

TEST(PositionMapTest, FloatShiftSubtractsFractionalOffsetInGroupBranchOnly) {
  const plan p{3, 5, shift_rule::fractional};  // W mod G = 2 -> f = 2/3
  EXPECT_DOUBLE_EQ(2.0 / 3.0, selfextend::fractional_offset(p));
  // group: floor(20/3) + 5 - 5/3 - floor(2/3) = 6 + 5 - 1.6667 - 0
  EXPECT_DOUBLE_EQ(6.0 + 5.0 - 5.0 / 3.0, selfextend::map_pair_real(20, 2, p));
  EXPECT_DOUBLE_EQ(3.0, selfextend::map_pair_real(20, 17, p));
  EXPECT_DOUBLE_EQ(6.0 + 5.0 - 5.0 / 3.0, selfextend::group_query_position_real(20, p));
}

TEST(PositionMapTest, ShiftsAgreeIffWindowDivisibleByGroup) {
  for (std::int64_t g = 1; g <= 9; ++g)
    for (std::int64_t w = 1; w <= 40; ++w) {
      const double f = selfextend::fractional_offset({g, w, shift_rule::fractional});
      EXPECT_EQ(w % g == 0, f == 0.0) << "G=" << g << " W=" << w;
      EXPECT_EQ(0.0, selfextend::fractional_offset({g, w, shift_rule::integer}));
    }
}

TEST(PositionMapTest, MaxPositionEqualsBruteForceMaximum) {
  for (std::int64_t g = 1; g <= 9; ++g)
    for (std::int64_t w = 1; w <= 30; ++w) {
      std::int64_t running = 0;
      for (std::int64_t n = 1; n <= 120; ++n) {
        for (std::int64_t j = 0; j < n; ++j) running = std::max(running, brute::relative_position(n - 1, j, g, w));
        ASSERT_EQ(running, selfextend::max_position(n, {g, w, shift_rule::integer})) << "G=" << g << " W=" << w << " N=" << n;
      }
    }
}

TEST(PositionMapTest, HugeTokenCountsDoNotWrap) {
  const std::int64_t n = std::int64_t{1} << 62;
  EXPECT_EQ((n - 1) / 8 + 1024 - 128, selfextend::max_position(n, {8, 1024, shift_rule::integer}));
  EXPECT_EQ(n - 1, selfextend::max_position(n, {1, 1024, shift_rule::integer}));
  const std::int64_t top = INT64_MAX;
  EXPECT_EQ(top - 1, selfextend::max_position(top, {1, top - 1, shift_rule::integer}));
  EXPECT_EQ(top - 1, selfextend::max_position(top, {2, top - 1, shift_rule::integer}));
}

TEST(PositionMapTest, RejectsKeysAfterQueryAndNegativeIndices) {
  const plan p{2, 4, shift_rule::integer};
  EXPECT_THROW_MSG((void)map_pair(3, 4, p), selfextend::invalid_params, "key = 4: must not exceed the query (3)");
  EXPECT_THROW_MSG((void)map_pair(3, -1, p), selfextend::invalid_params, "key = -1: must be at least 0");
  EXPECT_THROW_MSG((void)map_pair(3, 1, {0, 4, shift_rule::integer}), selfextend::invalid_params,
                   "group = 0: must be at least 1");
  EXPECT_THROW_MSG((void)selfextend::max_position(0, p), selfextend::invalid_params, "tokens = 0: must be at least 1");
}
