// position_tables_test - Unit tests for position_tables.hpp: per-token tables, dense rows and the size limit.
#include <selfextend/position_tables.hpp>

#include <random>
#include <vector>

#include "test_helpers.hpp"

using selfextend::plan;
using selfextend::shift_rule;
using selfextend::table_phase;
using selfextend::token_array;

namespace {

std::vector<std::int64_t> dense_row(const plan& p, std::int64_t query, std::int64_t tokens) {
  std::vector<std::int64_t> row(static_cast<std::size_t>(tokens));
  selfextend::fill_dense_row(p, query, 0, row);
  return row;
}

/// Brute force of the pair rule under p.shift as a real number (float shift: group minus (W mod G)/G).
double brute_real(std::int64_t i, std::int64_t j, const plan& p) {
  if (j > i) return -1;
  const std::int64_t v = brute::relative_position(i, j, p.group, p.window);
  if (i - j < p.window || p.shift == shift_rule::integer) return static_cast<double>(v);
  return static_cast<double>(v) - static_cast<double>(p.window % p.group) / static_cast<double>(p.group);
}

}  // namespace

TEST(PositionTablesTest, DenseMatrixReproducesPaperFigureThree) {
  // docs/concepts.md#the-map, paper Fig. 3: N=10, W=4, G=2, with -1 above the diagonal.
  const std::vector<std::vector<std::int64_t>> lower = {
      {0}, {1, 0}, {2, 1, 0}, {3, 2, 1, 0}, {4, 3, 2, 1, 0}, {4, 4, 3, 2, 1, 0}, {5, 5, 4, 3, 2, 1, 0},
      {5, 5, 4, 4, 3, 2, 1, 0}, {6, 6, 5, 5, 4, 3, 2, 1, 0}, {6, 6, 5, 5, 4, 4, 3, 2, 1, 0}};
  const plan p{2, 4, shift_rule::integer};
  for (std::int64_t i = 0; i < 10; ++i) {
    std::vector<std::int64_t> expected = lower[static_cast<std::size_t>(i)];
    expected.resize(10, -1);
    EXPECT_EQ(expected, dense_row(p, i, 10)) << "row " << i;
  }
}

TEST(PositionTablesTest, TokenTablesOfPaperFigureThree) {
  const auto t = selfextend::build_position_tables({2, 4, shift_rule::integer}, 10);
  EXPECT_EQ((std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), t.neighbor_query_position);
  EXPECT_EQ((std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), t.neighbor_key_position);
  EXPECT_EQ((std::vector<std::int64_t>{2, 2, 3, 3, 4, 4, 5, 5, 6, 6}), t.group_query_position);
  EXPECT_EQ((std::vector<std::int64_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}), t.group_key_position);
  EXPECT_TRUE(t.group_query_position_real.empty());
  EXPECT_EQ(0.0, t.fractional_offset);
}

TEST(PositionTablesTest, FloatShiftGivesRealGroupQueryPositions) {
  // W=5, G=2: f = 1/2, gq(t) = floor(t/2) + 5 - 2.5.
  const auto t = selfextend::build_position_tables({2, 5, shift_rule::fractional}, 6);
  EXPECT_EQ((std::vector<std::int64_t>{3, 3, 4, 4, 5, 5}), t.group_query_position);
  EXPECT_EQ((std::vector<double>{2.5, 2.5, 3.5, 3.5, 4.5, 4.5}), t.group_query_position_real);
  EXPECT_EQ(0.5, t.fractional_offset);
}

TEST(PositionTablesTest, TablesAndDenseRowsEqualBruteForceOverRandomPlans) {
  std::mt19937_64 rng(2024);
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t group = 1 + static_cast<std::int64_t>(rng() % 9);
    const std::int64_t window = 1 + static_cast<std::int64_t>(rng() % 30);
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 90);
    const plan p{group, window, trial % 2 ? shift_rule::fractional : shift_rule::integer};
    SCOPED_TRACE("G=" + std::to_string(group) + " W=" + std::to_string(window) + " N=" + std::to_string(tokens) +
                 " shift=" + std::string(selfextend::to_string(p.shift)));
    const auto t = selfextend::build_position_tables(p, tokens);
    std::vector<std::int64_t> expected_gq, expected_gk, identity;
    for (std::int64_t k = 0; k < tokens; ++k) {
      identity.push_back(k);
      expected_gq.push_back(k / group + window - window / group);
      expected_gk.push_back(k / group);
    }
    EXPECT_EQ(identity, t.neighbor_query_position);
    EXPECT_EQ(identity, t.neighbor_key_position);
    EXPECT_EQ(expected_gq, t.group_query_position);
    EXPECT_EQ(expected_gk, t.group_key_position);
    // Prefill: every row, integer and real; the per-token arrays through the selection rule give the same matrix.
    for (std::int64_t i = 0; i < tokens; ++i) {
      std::vector<std::int64_t> expected(static_cast<std::size_t>(tokens), -1);
      std::vector<double> expected_real(static_cast<std::size_t>(tokens), -1);
      std::vector<std::int64_t> via_tables(static_cast<std::size_t>(tokens), -1);
      std::vector<double> via_tables_real(static_cast<std::size_t>(tokens), -1);
      for (std::int64_t j = 0; j <= i; ++j) {
        const auto k = static_cast<std::size_t>(j);
        expected[k] = brute::relative_position(i, j, group, window);
        expected_real[k] = brute_real(i, j, p);
        via_tables[k] = t.relative_position(i, j).position;
        const bool neighbor = selfextend::uses_neighbor_branch(i, j, window);
        const double q = neighbor ? static_cast<double>(t.neighbor_query_position[static_cast<std::size_t>(i)])
                         : p.shift == shift_rule::fractional ? t.group_query_position_real[static_cast<std::size_t>(i)]
                                                             : static_cast<double>(t.group_query_position[static_cast<std::size_t>(i)]);
        const double kpos = static_cast<double>(neighbor ? t.neighbor_key_position[k] : t.group_key_position[k]);
        via_tables_real[k] = q - kpos;
      }
      EXPECT_EQ(expected, dense_row(p, i, tokens)) << "row " << i;
      std::vector<double> real(static_cast<std::size_t>(tokens));
      selfextend::fill_dense_row(p, i, 0, std::span<double>(real));
      EXPECT_EQ(expected_real, real) << "real row " << i;
      EXPECT_EQ(expected, via_tables) << "tables row " << i;
      // A runtime subtracts the two real rotations: one more rounding than the exact value.
      for (std::size_t k = 0; k < expected_real.size(); ++k) EXPECT_NEAR(expected_real[k], via_tables_real[k], 1e-12) << "real tables row " << i;
    }
    // Decode: the single row of the query at N - 1 over N keys is the last prefill row.
    EXPECT_EQ((std::vector<std::int64_t>{tokens}), selfextend::dense_shape(tokens, table_phase::decode));
    std::vector<std::int64_t> last(static_cast<std::size_t>(tokens));
    for (std::int64_t j = 0; j < tokens; ++j) last[static_cast<std::size_t>(j)] = brute::relative_position(tokens - 1, j, group, window);
    EXPECT_EQ(last, dense_row(p, tokens - 1, tokens));
  }
}

TEST(PositionTablesTest, ChunkedFillsEqualWholeTables) {
  // Streaming writers fill arbitrary chunks; the seams must not matter.
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 100; ++trial) {
    const plan p{1 + static_cast<std::int64_t>(rng() % 7), 1 + static_cast<std::int64_t>(rng() % 20),
                 trial % 2 ? shift_rule::fractional : shift_rule::integer};
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 120);
    const auto whole = selfextend::build_position_tables(p, tokens);
    for (const token_array which : selfextend::all_token_arrays) {
      std::vector<std::int64_t> pieced(static_cast<std::size_t>(tokens));
      std::vector<double> pieced_real(static_cast<std::size_t>(tokens));
      for (std::int64_t first = 0; first < tokens;) {
        const std::int64_t count = std::min<std::int64_t>(tokens - first, 1 + static_cast<std::int64_t>(rng() % 13));
        selfextend::fill_token_positions(p, which, first, std::span<std::int64_t>(pieced).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(count)));
        selfextend::fill_token_positions(p, which, first, std::span<double>(pieced_real).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(count)));
        first += count;
      }
      EXPECT_EQ(whole[which], pieced) << selfextend::to_string(which);
      for (std::size_t k = 0; k < pieced.size(); ++k) {
        const double expected = which == token_array::group_query_position && p.shift == shift_rule::fractional
                                    ? whole.group_query_position_real[k]
                                    : static_cast<double>(whole[which][k]);
        EXPECT_EQ(expected, pieced_real[k]);
      }
    }
    // A slice of keys of a dense row equals the same slice of the full row.
    const std::int64_t query = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(tokens));
    const auto full = dense_row(p, query, tokens);
    const std::int64_t first_key = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(tokens));
    std::vector<std::int64_t> slice(static_cast<std::size_t>(tokens - first_key));
    selfextend::fill_dense_row(p, query, first_key, slice);
    EXPECT_EQ(std::vector<std::int64_t>(full.begin() + first_key, full.end()), slice);
  }
}

TEST(PositionTablesTest, LargePositionsStayExact) {
  // Beyond 2^53 the integer path must not go through double.
  const plan p{3, 7, shift_rule::integer};
  std::vector<std::int64_t> out(4);
  const std::int64_t first = (std::int64_t{1} << 60) + 1;
  selfextend::fill_token_positions(p, token_array::group_query_position, first, out);
  for (std::size_t k = 0; k < out.size(); ++k) EXPECT_EQ((first + static_cast<std::int64_t>(k)) / 3 + 7 - 2, out[k]);
}

TEST(PositionTablesTest, RejectsInvalidInputWithClearMessages) {
  std::vector<std::int64_t> out(3);
  EXPECT_THROW_MSG((void)selfextend::build_position_tables({0, 4}, 10), selfextend::invalid_params, "group = 0: must be at least 1");
  EXPECT_THROW_MSG((void)selfextend::build_position_tables({2, 4}, 0), selfextend::invalid_params, "tokens = 0: must be at least 1");
  EXPECT_THROW_MSG(selfextend::fill_token_positions({2, 4}, token_array::group_key_position, -1, out),
                   selfextend::invalid_params, "first_token = -1: must be at least 0");
  EXPECT_THROW_MSG(selfextend::fill_dense_row({2, 4}, -2, 0, out), selfextend::invalid_params, "query = -2: must be at least 0");
  EXPECT_THROW_MSG(selfextend::fill_token_positions({2, 4}, token_array::group_key_position, INT64_MAX - 1, out),
                   selfextend::invalid_params, "first_token = 9223372036854775806: the range of positions does not fit in 64 bits");
}

TEST(PositionTablesTest, DenseSizeLimitNamesTheBytes) {
  EXPECT_EQ(800, selfextend::dense_table_bytes(10, table_phase::prefill));
  EXPECT_EQ(80, selfextend::dense_table_bytes(10, table_phase::decode));
  EXPECT_EQ(INT64_MAX, selfextend::dense_table_bytes(INT64_MAX, table_phase::prefill));
  EXPECT_NO_THROW(selfextend::require_dense_size(11585, table_phase::prefill, selfextend::default_dense_limit_bytes, false));
  EXPECT_THROW_MSG(selfextend::require_dense_size(11586, table_phase::prefill, selfextend::default_dense_limit_bytes, false),
                   selfextend::invalid_params,
                   "tokens = 11586: the dense [N, N] table would be 1.00 GiB (1073883168 bytes), above the limit of "
                   "1.00 GiB (1073741824 bytes); use `force` to write it anyway");
  EXPECT_NO_THROW(selfextend::require_dense_size(11586, table_phase::prefill, selfextend::default_dense_limit_bytes, true));
  EXPECT_NO_THROW(selfextend::require_dense_size(100000000, table_phase::decode, selfextend::default_dense_limit_bytes, false));
}

TEST(PositionTablesTest, PhaseAndArrayNamesRoundTrip) {
  EXPECT_EQ(table_phase::decode, selfextend::parse_table_phase("decode"));
  EXPECT_EQ(table_phase::prefill, selfextend::parse_table_phase(selfextend::to_string(table_phase::prefill)));
  EXPECT_FALSE(selfextend::parse_table_phase("prefil"));
  EXPECT_EQ("group_key_position", selfextend::to_string(token_array::group_key_position));
}

TEST(PositionTablesTest, LongChunksEqualTheFormulaForEveryGroupSize) {
  // Chunks of thousands of tokens take the block path for small G; check it at odd offsets.
  for (std::int64_t group = 1; group <= 70; ++group) {
    const plan p{group, 37, shift_rule::integer};
    for (const std::int64_t first : {std::int64_t{0}, std::int64_t{5}, group * 1000 + 3}) {
      std::vector<std::int64_t> gq(5000), gk(5000), row(6000);
      selfextend::fill_token_positions(p, token_array::group_query_position, first, gq);
      selfextend::fill_token_positions(p, token_array::group_key_position, first, gk);
      selfextend::fill_dense_row(p, 5999 + first, first, row);
      std::vector<std::int64_t> expected_gq, expected_gk, expected_row;
      for (std::int64_t t = first; t < first + 5000; ++t) {
        expected_gq.push_back(t / group + 37 - 37 / group);
        expected_gk.push_back(t / group);
      }
      for (std::int64_t j = first; j < first + 6000; ++j) expected_row.push_back(brute::relative_position(5999 + first, j, group, 37));
      EXPECT_EQ(expected_gq, gq) << "G=" << group << " first=" << first;
      EXPECT_EQ(expected_gk, gk) << "G=" << group << " first=" << first;
      EXPECT_EQ(expected_row, row) << "G=" << group << " first=" << first;
    }
  }
}
