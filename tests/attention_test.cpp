// attention_test - Unit tests for attention.hpp: reference vs tiled vs table-driven kernels, plain-attention limits, decode, LSE merge, validation.
#include <selfextend/attention.hpp>
#include <selfextend/conformance.hpp>
#include <selfextend/npy.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_tolerances.hpp"
#include "kernel_inputs.hpp"
#include "test_helpers.hpp"

using selfextend::attention_params;
using selfextend::attention_shape;
using selfextend::invalid_params;
using selfextend::rope_style;
using selfextend::shift_rule;
using selfextend::simd_level;

namespace {

/// The kernel tolerance declared in docs/kernels.md: |tiled - reference| <= atol + rtol·|reference|.
constexpr double tiled_atol = kernel_tolerance::tiled_unit_scale.atol;
constexpr double tiled_rtol = kernel_tolerance::tiled_unit_scale.rtol;

using kernel_inputs::inputs;
using kernel_inputs::random_inputs;

std::string describe(const attention_params& p) {
  std::ostringstream text;
  text << "H=" << p.shape.heads << " Hkv=" << p.shape.kv_heads << " Nq=" << p.shape.query_tokens
       << " Nk=" << p.shape.key_tokens << " D=" << p.shape.head_dim << " G=" << p.extension.group
       << " W=" << p.extension.window << " shift=" << selfextend::to_string(p.extension.shift)
       << " style=" << selfextend::to_string(p.rope.style) << " R=" << p.rope.rotary_dims
       << " theta=" << p.rope.theta << " inv_freq=" << p.rope.inv_freq.size() << " values attention_factor="
       << p.rope.attention_factor << " scale_base=" << p.rope.scale_base << " threads=" << p.threads
       << " simd=" << selfextend::to_string(p.simd);
  return text.str();
}

/// Expects every element within atol + rtol·|expected|; prints the parameters and the worst element.
template <class A, class B>
void expect_close(const std::vector<A>& expected, const std::vector<B>& actual, double atol, double rtol,
                  const attention_params& p) {
  ASSERT_EQ(expected.size(), actual.size()) << describe(p);
  double worst = 0;
  std::size_t worst_at = 0;
  std::size_t bad = 0;
  for (std::size_t n = 0; n < expected.size(); ++n) {
    const double e = static_cast<double>(expected[n]);
    const double a = static_cast<double>(actual[n]);
    const double excess = std::abs(a - e) / (atol + rtol * std::abs(e));
    if (!(excess <= 1.0)) ++bad;
    if (!(excess <= worst)) {
      worst = excess;
      worst_at = n;
    }
  }
  EXPECT_EQ(0u, bad) << describe(p) << "\n  atol=" << atol << " rtol=" << rtol << " worst element " << worst_at
                     << ": expected " << static_cast<double>(expected[worst_at]) << ", got "
                     << static_cast<double>(actual[worst_at]) << " (" << worst << "x the tolerance)";
}

/// Plain causal RoPE attention written independently of the library (no Self-Extend): the
/// limit G = 1 and N <= W must reduce to. neox layout, full rotary, no log scaling.
std::vector<double> plain_causal_rope(const attention_shape& s, double theta, const inputs& x) {
  const auto D = static_cast<std::size_t>(s.head_dim);
  auto rotated = [&](const double* row, double position) {
    std::vector<double> out(row, row + D);
    for (std::size_t c = 0; c < D / 2; ++c) {
      const double angle = position * std::pow(theta, -2.0 * static_cast<double>(c) / static_cast<double>(D));
      out[c] = row[c] * std::cos(angle) - row[c + D / 2] * std::sin(angle);
      out[c + D / 2] = row[c + D / 2] * std::cos(angle) + row[c] * std::sin(angle);
    }
    return out;
  };
  std::vector<double> out(x.q.size(), 0.0);
  for (std::int64_t h = 0; h < s.heads; ++h) {
    const std::int64_t kv = h / (s.heads / s.kv_heads);
    for (std::int64_t r = 0; r < s.query_tokens; ++r) {
      const std::int64_t i = s.key_tokens - s.query_tokens + r;
      const auto qrow = rotated(&x.q[static_cast<std::size_t>((h * s.query_tokens + r) * s.head_dim)], static_cast<double>(i));
      std::vector<double> scores;
      for (std::int64_t j = 0; j <= i; ++j) {
        const auto krow = rotated(&x.k[static_cast<std::size_t>((kv * s.key_tokens + j) * s.head_dim)], static_cast<double>(j));
        double dot = 0;
        for (std::size_t d = 0; d < D; ++d) dot += qrow[d] * krow[d];
        scores.push_back(dot / std::sqrt(static_cast<double>(D)));
      }
      const double top = *std::max_element(scores.begin(), scores.end());
      double sum = 0;
      for (double& sc : scores) sum += (sc = std::exp(sc - top));
      for (std::int64_t j = 0; j <= i; ++j)
        for (std::size_t d = 0; d < D; ++d)
          out[static_cast<std::size_t>((h * s.query_tokens + r) * s.head_dim) + d] +=
              scores[static_cast<std::size_t>(j)] / sum * x.v[static_cast<std::size_t>((kv * s.key_tokens + j) * s.head_dim) + d];
    }
  }
  return out;
}

attention_params random_params(std::mt19937_64& rng, std::int64_t max_tokens) {
  auto pick = [&](std::int64_t lo, std::int64_t hi) { return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)); };
  attention_params p;
  const std::int64_t dims[] = {2, 4, 6, 8, 16, 20, 32, 48, 64, 80, 128};
  p.shape.head_dim = dims[rng() % std::size(dims)];
  p.shape.kv_heads = pick(1, 2);
  p.shape.heads = p.shape.kv_heads * pick(1, 3);  // grouped-query when > 1
  p.shape.key_tokens = pick(1, max_tokens);
  switch (rng() % 4) {  // a quarter decode steps, a quarter chunked prefills, half whole prefills
    case 0: p.shape.query_tokens = 1; break;
    case 1: p.shape.query_tokens = pick(1, p.shape.key_tokens); break;
    default: p.shape.query_tokens = p.shape.key_tokens; break;
  }
  p.extension.group = pick(1, 9);
  p.extension.window = pick(1, std::max<std::int64_t>(1, p.shape.key_tokens));
  p.extension.shift = rng() % 2 ? shift_rule::integer : shift_rule::fractional;
  p.rope.style = rng() % 2 ? rope_style::neox : rope_style::gptj;
  p.rope.rotary_dims = rng() % 3 == 0 ? 2 * pick(1, p.shape.head_dim / 2) : 0;  // partial rotary a third of the time
  p.rope.theta = rng() % 2 ? 10000.0 : 500000.0;
  p.rope.scale_base = rng() % 3 == 0 ? static_cast<double>(pick(2, 64)) : 0.0;
  p.threads = pick(1, 3);
  return p;
}

}  // namespace

TEST(AttentionTest, TiledEqualsReferenceOverRandomShapesOnEveryVectorUnit) {
  std::mt19937_64 rng(2024);
  const simd_level levels[] = {simd_level::sse2, simd_level::avx2, simd_level::avx512};
  for (int trial = 0; trial < 90; ++trial) {
    attention_params p = random_params(rng, trial < 60 ? 140 : 400);
    p.simd = levels[trial % 3];
    const inputs x = random_inputs(p.shape, rng);
    const std::vector<double> expected = selfextend::reference_attention(p, x.q, x.k, x.v);
    const std::vector<float> actual = selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf());
    expect_close(expected, actual, tiled_atol, tiled_rtol, p);
  }
}

TEST(AttentionTest, TiledEqualsReferenceAtLongRangeWithSharpScores) {
  // Positions past several RoPE table blocks, large-magnitude inputs (peaked softmax), both shifts.
  std::mt19937_64 rng(77);
  for (const shift_rule shift : {shift_rule::integer, shift_rule::fractional}) {
    attention_params p;
    p.shape = {2, 1, 1500, 1500, 64};
    p.extension = {7, 100, shift};
    p.rope.theta = 10000.0;
    const inputs x = random_inputs(p.shape, rng, 3.0);
    // Scores here reach |40| instead of |4|: float32 rounding of a score grows with its terms'
    // magnitude (docs/kernels.md), so the absolute tolerance is 10x the unit-scale one.
    expect_close(selfextend::reference_attention(p, x.q, x.k, x.v),
                 selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), kernel_tolerance::tiled_large_scores.atol, kernel_tolerance::tiled_large_scores.rtol, p);
  }
}

TEST(AttentionTest, TiledResultDoesNotDependOnThreadCount) {
  std::mt19937_64 rng(5);
  attention_params p;
  p.shape = {3, 3, 300, 300, 32};
  p.extension = {4, 50, shift_rule::integer};
  const inputs x = random_inputs(p.shape, rng);
  p.threads = 1;
  const std::vector<float> one = selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf());
  p.threads = 3;
  EXPECT_EQ(one, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()));
}

TEST(AttentionTest, GroupOneAndShortInputsEqualPlainCausalRopeAttention) {
  std::mt19937_64 rng(3);
  struct limit_case {
    std::int64_t group, window, tokens;
  };
  for (const limit_case c : {limit_case{1, 1, 40}, limit_case{1, 7, 33}, limit_case{4, 40, 40}, limit_case{8, 100, 57}}) {
    attention_params p;
    p.shape = {2, 1, c.tokens, c.tokens, 16};
    p.extension = {c.group, c.window, shift_rule::fractional};
    const inputs x = random_inputs(p.shape, rng);
    const std::vector<double> plain = plain_causal_rope(p.shape, p.rope.theta, x);
    expect_close(plain, selfextend::reference_attention(p, x.q, x.k, x.v), kernel_tolerance::reference_vs_plain.atol,
                 kernel_tolerance::reference_vs_plain.rtol, p);
    expect_close(plain, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), tiled_atol, tiled_rtol, p);
  }
}

TEST(AttentionTest, LastPrefillRowEqualsDecodeStepOverSameCache) {
  std::mt19937_64 rng(9);
  for (const shift_rule shift : {shift_rule::integer, shift_rule::fractional}) {
    attention_params prefill;
    prefill.shape = {4, 2, 150, 150, 24};
    prefill.extension = {3, 20, shift};
    prefill.rope.scale_base = 16;
    const inputs x = random_inputs(prefill.shape, rng);
    attention_params decode = prefill;
    decode.shape.query_tokens = 1;
    std::vector<double> last_q;
    for (std::int64_t h = 0; h < 4; ++h)
      for (std::int64_t d = 0; d < 24; ++d) last_q.push_back(x.q[static_cast<std::size_t>((h * 150 + 149) * 24 + d)]);
    const std::vector<double> full = selfextend::reference_attention(prefill, x.q, x.k, x.v);
    std::vector<double> last_rows;
    for (std::int64_t h = 0; h < 4; ++h)
      for (std::int64_t d = 0; d < 24; ++d) last_rows.push_back(full[static_cast<std::size_t>((h * 150 + 149) * 24 + d)]);
    expect_close(last_rows, selfextend::reference_attention(decode, last_q, x.k, x.v), kernel_tolerance::prefill_row_vs_decode.atol,
                 kernel_tolerance::prefill_row_vs_decode.rtol, decode);
    const std::vector<float> last_qf(last_q.begin(), last_q.end());
    expect_close(last_rows, selfextend::tiled_attention(decode, last_qf, x.kf(), x.vf()), tiled_atol, tiled_rtol, decode);
  }
}

/// The last `count` token rows of every head of a [heads, tokens, dim] tensor.
template <class T>
std::vector<T> last_rows_of(const std::vector<T>& x, std::int64_t heads, std::int64_t tokens, std::int64_t dim,
                            std::int64_t count) {
  std::vector<T> rows;
  for (std::int64_t h = 0; h < heads; ++h) {
    const auto begin = x.begin() + static_cast<std::ptrdiff_t>((h * tokens + tokens - count) * dim);
    rows.insert(rows.end(), begin, begin + static_cast<std::ptrdiff_t>(count * dim));
  }
  return rows;
}

TEST(AttentionTest, ChunkedPrefillEqualsTheLastRowsOfTheFullPrefill) {
  // A chunk of Nq queries at the end of an Nk-token cache (positions Nk - Nq .. Nk - 1): the
  // reference computes each row on its own, so the chunk is bit-identical to those rows of the
  // full prefill; the tiled kernel agrees within its tolerance. Chunks before, straddling and
  // past the window boundary, both shifts, GQA, log scaling, partial rotary, gptj.
  std::mt19937_64 rng(41);
  struct chunk_case {
    std::int64_t tokens, chunk, group, window;
    shift_rule shift;
    rope_style style;
    std::int64_t rotary;
  };
  for (const chunk_case c : {chunk_case{150, 16, 3, 20, shift_rule::integer, rope_style::neox, 0},
                             chunk_case{150, 16, 3, 140, shift_rule::fractional, rope_style::neox, 0},  // straddles W
                             chunk_case{150, 149, 4, 7, shift_rule::fractional, rope_style::gptj, 12},
                             chunk_case{97, 1, 5, 96, shift_rule::integer, rope_style::neox, 0},        // decode at p = W
                             chunk_case{300, 130, 6, 64, shift_rule::integer, rope_style::gptj, 0}}) {
    attention_params full;
    full.shape = {4, 2, c.tokens, c.tokens, 24};
    full.extension = {c.group, c.window, c.shift};
    full.rope.style = c.style;
    full.rope.rotary_dims = c.rotary;
    full.rope.scale_base = 16;
    const inputs x = random_inputs(full.shape, rng);
    attention_params chunk = full;
    chunk.shape.query_tokens = c.chunk;
    const std::vector<double> chunk_q = last_rows_of(x.q, 4, c.tokens, 24, c.chunk);
    const std::vector<double> expected = last_rows_of(selfextend::reference_attention(full, x.q, x.k, x.v), 4, c.tokens, 24, c.chunk);
    EXPECT_EQ(expected, selfextend::reference_attention(chunk, chunk_q, x.k, x.v)) << describe(chunk);
    const std::vector<float> chunk_qf(chunk_q.begin(), chunk_q.end());
    for (const simd_level level : {simd_level::sse2, simd_level::avx512}) {
      chunk.simd = level;
      expect_close(expected, selfextend::tiled_attention(chunk, chunk_qf, x.kf(), x.vf()), tiled_atol, tiled_rtol, chunk);
    }
    // The table-driven kernel reads element Nk - Nq + r of the exported tables.
    const selfextend::position_tables tables = selfextend::build_position_tables(chunk.extension, c.tokens);
    EXPECT_EQ(expected, selfextend::table_attention(chunk, tables, chunk_q, x.k, x.v)) << describe(chunk);
  }
}

TEST(AttentionTest, MoreQueriesThanKeysAreRejected) {
  attention_params p;
  p.shape = {1, 1, 5, 4, 2};
  EXPECT_THROW_MSG(selfextend::require_valid(p), invalid_params,
                   "q = [1, 5, 2]: tokens (5) must be at most k's tokens (4): the queries are the newest Nq of the Nk "
                   "cached tokens");
}

TEST(AttentionTest, LogSumExpMergeOfNeighborAndGroupSoftmaxesEqualsSingleSoftmax) {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 12; ++trial) {
    attention_params p = random_params(rng, 90);
    const inputs x = random_inputs(p.shape, rng);
    const auto neighbor = selfextend::reference_branch_attention(p, selfextend::branch::neighbor, x.q, x.k, x.v);
    const auto group = selfextend::reference_branch_attention(p, selfextend::branch::group, x.q, x.k, x.v);
    const auto merged = selfextend::merge_partial_attention(neighbor, group);
    expect_close(selfextend::reference_attention(p, x.q, x.k, x.v), merged.out, kernel_tolerance::lse_merge.atol, kernel_tolerance::lse_merge.rtol, p);
  }
}

TEST(AttentionTest, MergeKeepsRowsWithoutKeysEmpty) {
  const double inf = std::numeric_limits<double>::infinity();
  const selfextend::partial_attention empty{{0.0, 0.0}, {-inf}};
  const selfextend::partial_attention some{{1.0, 2.0}, {0.5}};
  EXPECT_EQ(some, selfextend::merge_partial_attention(empty, some));
  EXPECT_EQ(empty, selfextend::merge_partial_attention(empty, empty));
  EXPECT_THROW_MSG((void)selfextend::merge_partial_attention(empty, {{0.0}, {0.0, 0.0}}), invalid_params,
                   "log_sum_exp = 1 and 2 rows: both partials must have the same sizes");
}

TEST(AttentionTest, TableDrivenPathEqualsReference) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 20; ++trial) {
    const attention_params p = random_params(rng, 120);
    const inputs x = random_inputs(p.shape, rng);
    // The tokens layout (docs/formats.md#arrays), built here from the position map's per-token functions.
    std::vector<std::int64_t> identity, group_key;
    std::vector<double> group_query;
    for (std::int64_t t = 0; t < p.shape.key_tokens; ++t) {
      identity.push_back(t);
      group_query.push_back(selfextend::group_query_position_real(t, p.extension));
      group_key.push_back(selfextend::group_key_position(t, p.extension));
    }
    const selfextend::token_positions tables{identity, identity, group_query, group_key};
    // Same arithmetic on the same positions: bit-identical.
    EXPECT_EQ(selfextend::reference_attention(p, x.q, x.k, x.v), selfextend::table_attention(p, tables, x.q, x.k, x.v))
        << describe(p);
  }
}

TEST(AttentionTest, ExportedPositionTablesDriveTheKernelToTheReferenceResult) {
  // The tables sxplan table exports (build_position_tables), not the formula, choose every rotation.
  std::mt19937_64 rng(19);
  for (int trial = 0; trial < 20; ++trial) {
    const attention_params p = random_params(rng, 120);
    const inputs x = random_inputs(p.shape, rng);
    const selfextend::position_tables tables = selfextend::build_position_tables(p.extension, p.shape.key_tokens);
    EXPECT_EQ(selfextend::reference_attention(p, x.q, x.k, x.v), selfextend::table_attention(p, tables, x.q, x.k, x.v))
        << describe(p);
  }
  attention_params p;
  p.shape = {1, 1, 3, 3, 2};
  p.extension = {2, 2, shift_rule::integer};
  const std::vector<double> x(6, 0.5);
  EXPECT_THROW_MSG((void)selfextend::table_attention(p, selfextend::build_position_tables({3, 2}, 3), x, x, x),
                   invalid_params, "tables = G = 3, W = 2, int shift: must be built for the kernel's plan (G = 2, W = 2, int shift)");
  EXPECT_THROW_MSG((void)selfextend::table_attention(p, selfextend::build_position_tables({2, 2}, 2), x, x, x),
                   invalid_params, "tables = neighbor_query_position has 2 elements: must cover the 3 key tokens");
}

TEST(AttentionTest, TableDrivenPathRejectsShortTables) {
  attention_params p;
  p.shape = {1, 1, 3, 3, 2};
  const std::vector<std::int64_t> two{0, 1};
  const std::vector<double> two_real{0.0, 1.0};
  const std::vector<double> x(6, 0.5);
  EXPECT_THROW_MSG((void)selfextend::table_attention(p, {two, two, two_real, two}, x, x, x), invalid_params,
                   "tables = neighbor_query_position has 2 elements: must cover the 3 key tokens");
}

TEST(AttentionTest, ReferenceOfOneKeyCopiesValue) {
  attention_params p;
  p.shape = {1, 1, 2, 2, 2};
  const std::vector<double> q{1, 2, 3, 4}, k{5, 6, 7, 8}, v{0.25, -1.5, 9, 10};
  const std::vector<double> out = selfextend::reference_attention(p, q, k, v);
  EXPECT_EQ(0.25, out[0]);
  EXPECT_EQ(-1.5, out[1]);
}

TEST(AttentionTest, ShapeFromArraysAcceptsRankTwoAndThreeAndGroupedQuery) {
  const std::vector<std::int64_t> q{32, 10, 128}, kv{8, 10, 128}, q2{10, 64}, k2{10, 64}, decode{32, 1, 128};
  EXPECT_EQ((attention_shape{32, 8, 10, 10, 128}), selfextend::make_attention_shape(q, kv, kv));
  EXPECT_EQ((attention_shape{1, 1, 10, 10, 64}), selfextend::make_attention_shape(q2, k2, k2));
  EXPECT_EQ((attention_shape{32, 8, 1, 10, 128}), selfextend::make_attention_shape(decode, kv, kv));
}

TEST(AttentionTest, ShapeFromArraysRejectsMismatchesNamingTheArray) {
  const std::vector<std::int64_t> q{6, 10, 8}, k{4, 10, 8}, v{4, 9, 8}, k_dim{3, 10, 4}, k3{3, 10, 8}, q_tokens{6, 11, 8},
      rank1{10}, zero{0, 8};
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(q, k, v), invalid_params,
                   "v = [4, 9, 8]: must have the shape of k [4, 10, 8]");
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(q, k_dim, k_dim), invalid_params,
                   "k = [3, 10, 4]: head_dim (last extent) must equal q's (8)");
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(q, k, k), invalid_params,
                   "q = [6, 10, 8]: heads (6) must be a multiple of k's heads (4)");
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(q_tokens, k3, k3), invalid_params,
                   "q = [6, 11, 8]: tokens (11) must be at most k's tokens (10): the queries are the newest Nq of the Nk cached tokens");
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(rank1, k, k), invalid_params,
                   "q = [10]: must have shape [heads, tokens, head_dim] or [tokens, head_dim]");
  EXPECT_THROW_MSG((void)selfextend::make_attention_shape(q, zero, zero), invalid_params,
                   "k = [0, 8]: every extent must be at least 1");
}

TEST(AttentionTest, ValidateNamesEveryBrokenRuleByItsFlag) {
  attention_params p;
  p.shape = {1, 1, 4, 4, 7};
  p.extension = {0, 0, shift_rule::integer};
  p.rope.theta = -1;
  p.rope.scale_base = 0.5;
  p.threads = -2;
  const std::vector<selfextend::issue> expected = {
      {"group", "0", "must be at least 1"},
      {"window", "0", "must be at least 1"},
      {"rope_theta", "-1", "must be a finite number greater than 0"},
      {"rotary_dims", "7", "must be even (head_dim is odd: give the rotary dims explicitly)"},
      {"scale_base", "0.5", "must be greater than 1, or <= 0 to disable"},
      {"threads", "-2", "must be between 0 (all cores) and 1024"}};
  EXPECT_EQ(expected, selfextend::validate(p));
  p = attention_params{};
  p.shape = {1, 1, 4, 4, 8};
  p.rope.rotary_dims = 10;
  EXPECT_EQ((std::vector<selfextend::issue>{{"rotary_dims", "10", "must be between 2 and head_dim (8)"}}),
            selfextend::validate(p));
  p.rope.rotary_dims = 3;
  EXPECT_EQ((std::vector<selfextend::issue>{{"rotary_dims", "3", "must be even"}}), selfextend::validate(p));
  p.rope.rotary_dims = 4;
  p.rope.scale_base = -1;  // LongLM's "off"
  EXPECT_TRUE(selfextend::validate(p).empty());
}

TEST(AttentionTest, ExplicitFrequenciesEqualToTheThetaRuleGiveIdenticalOutput) {
  std::mt19937_64 rng(41);
  for (int trial = 0; trial < 12; ++trial) {
    attention_params p = random_params(rng, 120);
    const inputs x = random_inputs(p.shape, rng);
    const std::vector<double> theta_ref = selfextend::reference_attention(p, x.q, x.k, x.v);
    const std::vector<float> theta_tiled = selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf());
    const std::int64_t rotary = p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
    for (std::int64_t c = 0; c < rotary / 2; ++c)
      p.rope.inv_freq.push_back(std::pow(p.rope.theta, -2.0 * static_cast<double>(c) / static_cast<double>(rotary)));
    p.rope.theta = 3.0;  // ignored once the frequencies are given
    EXPECT_EQ(theta_ref, selfextend::reference_attention(p, x.q, x.k, x.v)) << describe(p);
    EXPECT_EQ(theta_tiled, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf())) << describe(p);
  }
}

TEST(AttentionTest, ExplicitFrequenciesReplaceTheThetaRuleInEveryKernel) {
  // Frequencies of theta 500000 given explicitly under theta 10000 rotate as theta 500000 does;
  // arbitrary positive frequencies agree between the kernels.
  std::mt19937_64 rng(43);
  std::uniform_real_distribution<double> log_freq(-12.0, 0.5);
  for (int trial = 0; trial < 15; ++trial) {
    attention_params p = random_params(rng, 150);
    const inputs x = random_inputs(p.shape, rng);
    const std::int64_t rotary = p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
    attention_params by_theta = p;
    by_theta.rope.theta = 500000.0;
    p.rope.theta = 10000.0;
    for (std::int64_t c = 0; c < rotary / 2; ++c)
      p.rope.inv_freq.push_back(std::pow(500000.0, -2.0 * static_cast<double>(c) / static_cast<double>(rotary)));
    EXPECT_EQ(selfextend::reference_attention(by_theta, x.q, x.k, x.v), selfextend::reference_attention(p, x.q, x.k, x.v))
        << describe(p);
    for (double& f : p.rope.inv_freq) f = std::exp(log_freq(rng));
    const std::vector<double> expected = selfextend::reference_attention(p, x.q, x.k, x.v);
    expect_close(expected, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), tiled_atol, tiled_rtol, p);
    const selfextend::position_tables tables = selfextend::build_position_tables(p.extension, p.shape.key_tokens);
    EXPECT_EQ(expected, selfextend::table_attention(p, tables, x.q, x.k, x.v)) << describe(p);
  }
}

TEST(AttentionTest, AttentionFactorScalesTheRotatedDimsOfQueryAndKey) {
  // cos·a and sin·a rotate a·x instead of x on the R rotated dims (rotation is linear), so the
  // kernel with factor a equals the kernel without it on q and k whose first R dims (both
  // layouts pair dims inside [0, R)) were multiplied by a; the pass-through dims stay as they are.
  std::mt19937_64 rng(47);
  for (int trial = 0; trial < 15; ++trial) {
    attention_params p = random_params(rng, 150);
    const inputs x = random_inputs(p.shape, rng);
    const double factor = 0.5 + static_cast<double>(rng() % 100) / 80.0;
    const std::int64_t rotary = p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
    inputs scaled = x;
    for (std::vector<double>* t : {&scaled.q, &scaled.k})
      for (std::size_t e = 0; e < t->size(); ++e)
        if (static_cast<std::int64_t>(e % static_cast<std::size_t>(p.shape.head_dim)) < rotary) (*t)[e] *= factor;
    const std::vector<double> expected = selfextend::reference_attention(p, scaled.q, scaled.k, scaled.v);
    p.rope.attention_factor = factor;
    const std::vector<double> actual = selfextend::reference_attention(p, x.q, x.k, x.v);
    expect_close(expected, actual, kernel_tolerance::attention_factor.atol, kernel_tolerance::attention_factor.rtol, p);
    const selfextend::position_tables tables = selfextend::build_position_tables(p.extension, p.shape.key_tokens);
    EXPECT_EQ(actual, selfextend::table_attention(p, tables, x.q, x.k, x.v)) << describe(p);
    expect_close(actual, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), tiled_atol, tiled_rtol, p);
  }
}

TEST(AttentionTest, ValidateChecksTheFrequenciesAndTheAttentionFactor) {
  attention_params p;
  p.shape = {1, 1, 4, 4, 8};
  p.rope.rotary_dims = 6;
  p.rope.inv_freq = {1.0, 0.5};
  p.rope.attention_factor = 0;
  EXPECT_EQ((std::vector<selfextend::issue>{
                {"attention_factor", "0", "must be a finite number greater than 0"},
                {"inv_freq", "2 values", "must hold rotary_dims / 2 = 3 values"}}),
            selfextend::validate(p));
  p.rope.attention_factor = std::numeric_limits<double>::infinity();
  p.rope.inv_freq = {1.0, -0.5, 0.0};
  EXPECT_EQ((std::vector<selfextend::issue>{
                {"attention_factor", "inf", "must be a finite number greater than 0"},
                {"inv_freq", "-0.5 at index 1", "every value must be a finite number greater than 0"}}),
            selfextend::validate(p));
  p.rope.attention_factor = 1.25;
  p.rope.inv_freq = {1.0, 0.5, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_EQ((std::vector<selfextend::issue>{
                {"inv_freq", "nan at index 2", "every value must be a finite number greater than 0"}}),
            selfextend::validate(p));
  p.rope.inv_freq = {1.0, 0.5, 0.25};
  EXPECT_TRUE(selfextend::validate(p).empty());
  const std::vector<double> x(32, 0.5);
  p.rope.inv_freq = {1.0};
  EXPECT_THROW_MSG((void)selfextend::reference_attention(p, x, x, x), invalid_params,
                   "inv_freq = 1 value: must hold rotary_dims / 2 = 3 values");
}

TEST(AttentionTest, MemoryGuardRefusesLargeWorkUnlessForcedAndSaysTheSize) {
  attention_params p;
  p.shape = {1, 1, 64, 64, 16};
  p.memory_limit = 1000;
  const std::vector<float> x(64 * 16, 0.5f);
  const std::vector<double> xd(64 * 16, 0.5);
  EXPECT_GT(selfextend::attention_working_memory(p, selfextend::attention_kernel::tiled), 1000);
  try {
    (void)selfextend::tiled_attention(p, x, x, x);
    ADD_FAILURE() << "no throw";
  } catch (const invalid_params& e) {
    EXPECT_EQ("q", e.issues().at(0).key);
    EXPECT_NE(std::string::npos, std::string(e.what()).find("of working memory, more than the limit of 1000 bytes; use `force` to run anyway"))
        << e.what();
  }
  EXPECT_THROW((void)selfextend::reference_attention(p, xd, xd, xd), invalid_params);
  p.force = true;
  EXPECT_EQ(x.size(), selfextend::tiled_attention(p, x, x, x).size());
}

TEST(AttentionTest, KernelsRejectSpansOfTheWrongSize) {
  attention_params p;
  p.shape = {1, 1, 4, 4, 2};
  const std::vector<float> right(8, 1.0f), wrong(7, 1.0f);
  EXPECT_THROW_MSG((void)selfextend::tiled_attention(p, right, wrong, right), invalid_params,
                   "k = 7 elements: must hold [1, 4, 2] elements");
}

TEST(AttentionTest, NonFiniteInputIsReportedWithItsLocation) {
  std::vector<float> x(2 * 3 * 4, 1.0f);
  EXPECT_FALSE(selfextend::find_non_finite<float>(x, 3, 4));
  x[1 * 12 + 2 * 4 + 3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ((selfextend::tensor_index{1, 2, 3}), selfextend::find_non_finite<float>(x, 3, 4));
  EXPECT_THROW_MSG(selfextend::require_finite("k", x, 3, 4), invalid_params,
                   "k = nan at [head 1, token 2, dim 3]: must be finite");
  std::vector<double> y(4, 0.0);
  y[2] = -std::numeric_limits<double>::infinity();
  EXPECT_THROW_MSG(selfextend::require_finite("q", y, 2, 2), invalid_params,
                   "q = -inf at [head 0, token 1, dim 0]: must be finite");
}

TEST(AttentionTest, CompareReportsErrorsWorstElementAndVerdict) {
  const std::vector<double> reference{1.0, -2.0, 0.0, 4.0};
  const std::vector<double> candidate{1.0, -2.001, 0.0, 4.0};
  const selfextend::verification loose = selfextend::compare_outputs(reference, candidate, 2, 2, {1e-5, 1e-3});
  EXPECT_TRUE(loose.passed);
  EXPECT_NEAR(0.001, loose.max_abs_error, 1e-12);
  EXPECT_NEAR(0.0005, loose.max_rel_error, 1e-12);
  EXPECT_EQ((selfextend::tensor_index{0, 0, 1}), loose.worst);
  EXPECT_NEAR(1e-6 / 21.0, loose.nmse, 1e-12);
  const selfextend::verification strict = selfextend::compare_outputs(reference, candidate, 2, 2, {1e-5, 1e-4});
  EXPECT_FALSE(strict.passed);
  EXPECT_EQ(1, strict.mismatches);
  const std::vector<double> with_nan{1.0, -2.0, std::nan(""), 4.0};
  const selfextend::verification broken = selfextend::compare_outputs(reference, with_nan, 1, 4, {});
  EXPECT_FALSE(broken.passed);
  EXPECT_EQ((selfextend::tensor_index{0, 0, 2}), broken.worst);
  const std::vector<double> one{1.0};
  EXPECT_THROW_MSG((void)selfextend::compare_outputs(reference, one, 2, 2, {}), invalid_params,
                   "candidate = 1 elements: must hold as many elements as the reference output (4)");
  EXPECT_THROW_MSG((void)selfextend::compare_outputs(reference, candidate, 2, 2, {-1.0, 0.0}), invalid_params,
                   "atol = -1: must be a finite number >= 0");
}

TEST(AttentionTest, VerifyPassesTheTiledOutputAndFailsAPerturbedOne) {
  std::mt19937_64 rng(21);
  attention_params p;
  p.shape = {2, 1, 100, 100, 32};
  p.extension = {4, 16, shift_rule::fractional};
  const inputs x = random_inputs(p.shape, rng);
  const std::vector<float> tiled = selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf());
  std::vector<double> candidate(tiled.begin(), tiled.end());
  EXPECT_TRUE(selfextend::verify_attention(p, x.q, x.k, x.v, candidate, {}).passed);
  candidate[static_cast<std::size_t>((1 * 100 + 57) * 32 + 5)] += 0.01;
  const selfextend::verification v = selfextend::verify_attention(p, x.q, x.k, x.v, candidate, {});
  EXPECT_FALSE(v.passed);
  EXPECT_EQ((selfextend::tensor_index{1, 57, 5}), v.worst);
}

TEST(AttentionTest, KernelNamesRoundTrip) {
  EXPECT_EQ("reference", selfextend::to_string(selfextend::attention_kernel::reference));
  EXPECT_EQ(selfextend::attention_kernel::tiled, selfextend::parse_attention_kernel("tiled"));
  EXPECT_FALSE(selfextend::parse_attention_kernel("flash"));
  EXPECT_NE(simd_level::automatic, selfextend::tiled_attention_simd());
  EXPECT_EQ(simd_level::sse2, selfextend::tiled_attention_simd(simd_level::sse2));
}

/// SXPLAN_ISA set to `value` (unset for nullptr) for one scope, then put back as it was: CI runs
/// the whole suite under each forced vector unit.
class scoped_isa {
 public:
  explicit scoped_isa(const char* value) {
    if (const char* old = std::getenv("SXPLAN_ISA")) saved_ = old;
    if (value) ::setenv("SXPLAN_ISA", value, 1);
    else ::unsetenv("SXPLAN_ISA");
  }
  ~scoped_isa() {
    if (saved_) ::setenv("SXPLAN_ISA", saved_->c_str(), 1);
    else ::unsetenv("SXPLAN_ISA");
  }
  scoped_isa(const scoped_isa&) = delete;
  scoped_isa& operator=(const scoped_isa&) = delete;

 private:
  std::optional<std::string> saved_;
};

TEST(AttentionTest, ForcedVectorUnitIsObeyedByEveryKernelAndRefusedWhenUnknownOrMissing) {
  simd_level cpu{};
  {
    const scoped_isa unset(nullptr);
    cpu = selfextend::tiled_attention_simd();
    const scoped_isa empty("");
    EXPECT_EQ(cpu, selfextend::tiled_attention_simd());
    const scoped_isa automatic("auto");
    EXPECT_EQ(cpu, selfextend::tiled_attention_simd());
  }
  for (const simd_level level : {simd_level::sse2, simd_level::avx2, simd_level::avx512}) {
    const std::string name(selfextend::to_string(level));
    const scoped_isa forced(name.c_str());
    if (static_cast<int>(level) <= static_cast<int>(cpu)) {
      EXPECT_EQ(level, selfextend::tiled_attention_simd()) << name;
      EXPECT_EQ(level, selfextend::tiled_attention_simd(simd_level::avx512)) << name;  // a cap never widens it
      EXPECT_EQ(simd_level::sse2, selfextend::tiled_attention_simd(simd_level::sse2)) << name;
    } else {
      const std::string unit = level == simd_level::avx512 ? "AVX-512 F/VL/DQ/BW" : "AVX2 with FMA";
      EXPECT_THROW_MSG((void)selfextend::tiled_attention_simd(), invalid_params,
                       "SXPLAN_ISA = " + name + ": this CPU has no " + unit + "; its widest vector unit is " +
                           std::string(selfextend::to_string(cpu)));
    }
  }
  // An unknown name is refused by each kernel that dispatches, before it computes anything.
  const scoped_isa bogus("avx1024");
  const std::string message = "SXPLAN_ISA = avx1024: must be one of sse2, avx2, avx512 or auto";
  EXPECT_THROW_MSG((void)selfextend::tiled_attention_simd(), invalid_params, message);
  attention_params p;
  p.extension = {2, 2, shift_rule::integer};
  p.rope.theta = 10000.0;
  p.shape = {1, 1, 4, 4, 2};
  const std::vector<float> xf(8, 0.5f);
  const std::vector<double> xd(8, 0.5);
  EXPECT_THROW_MSG((void)selfextend::tiled_attention(p, xf, xf, xf), invalid_params, message);
  EXPECT_THROW_MSG((void)selfextend::blocked_attention(p, xd, xd, xd), invalid_params, message);
  EXPECT_NO_THROW((void)selfextend::reference_attention(p, xd, xd, xd));  // not vectorised by hand: no dispatch
}

namespace {

/// Scaled-model cases shared by the tiled and the PyTorch cross-checks: a rule, its spelling for
/// attention_torch_check.py, and a shape where the rule changes some pairs and keeps others.
struct scaled_case {
  attention_shape shape;
  std::int64_t group, window;
  shift_rule shift;
  rope_style style;
  selfextend::rope_rule rule;
  std::string torch_rule;
};

std::vector<scaled_case> scaled_cases() {
  std::vector<scaled_case> cases;
  // Filled field by field: GCC 12 misreads a braced scaled_case's optional as uninitialised.
  const auto add = [&](attention_shape shape, std::int64_t group, std::int64_t window, shift_rule shift,
                       rope_style style, double theta, std::int64_t rotary, std::int64_t max_positions,
                       const selfextend::rope_scaling& scaling, std::string torch_rule) {
    scaled_case c;
    c.shape = shape;
    c.group = group;
    c.window = window;
    c.shift = shift;
    c.style = style;
    c.rule.theta = theta;
    c.rule.rotary_dims = rotary;
    c.rule.max_position_embeddings = max_positions;
    c.rule.scaling = scaling;
    c.torch_rule = std::move(torch_rule);
    cases.push_back(std::move(c));
  };
  selfextend::rope_scaling llama3;
  llama3.type = selfextend::rope_scaling_type::llama3;
  llama3.factor = 8;
  llama3.low_freq_factor = 1;
  llama3.high_freq_factor = 4;
  llama3.original_context = 64;  // wavelengths 6..2e5: some pairs kept, some blended, most divided
  add({2, 1, 60, 60, 32}, 4, 8, shift_rule::integer, rope_style::neox, 500000.0, 32, 512, llama3,
      "llama3:factor=8,low_freq_factor=1,high_freq_factor=4,original=64");
  selfextend::rope_scaling yarn;
  yarn.type = selfextend::rope_scaling_type::yarn;
  yarn.factor = 4;
  yarn.original_context = 16;
  yarn.mscale = 0.8;
  yarn.mscale_all_dim = 1.0;  // attention factor (0.08 ln 4 + 1) / (0.1 ln 4 + 1) != 1
  add({3, 1, 1, 50, 32}, 5, 12, shift_rule::fractional, rope_style::gptj, 10000.0, 16, 64, yarn,
      "yarn:factor=4,original=16,mscale=0.8,mscale_all_dim=1");  // decode, partial rotary
  selfextend::rope_scaling yarn_plain = yarn;
  yarn_plain.mscale.reset();
  yarn_plain.mscale_all_dim.reset();
  add({2, 2, 45, 45, 16}, 3, 6, shift_rule::integer, rope_style::neox, 10000.0, 16, 64, yarn_plain,
      "yarn:factor=4,original=16");
  selfextend::rope_scaling longrope;
  longrope.type = selfextend::rope_scaling_type::longrope;
  longrope.factor = 8;
  longrope.original_context = 32;
  for (int c = 0; c < 8; ++c) {
    longrope.short_factor.push_back(1.0 + 0.05 * c);
    longrope.long_factor.push_back(1.0 + 1.5 * c);
  }
  add({2, 2, 40, 40, 16}, 4, 6, shift_rule::fractional, rope_style::neox, 10000.0, 16, 256, longrope,
      "longrope:factor=8,original=32");  // 40 keys > 32: long factors
  add({2, 1, 32, 32, 16}, 4, 6, shift_rule::integer, rope_style::gptj, 10000.0, 16, 256, longrope,
      "longrope:factor=8,original=32");  // exactly the window: short factors
  selfextend::rope_scaling dynamic;
  dynamic.type = selfextend::rope_scaling_type::dynamic;
  dynamic.factor = 2;
  add({1, 1, 70, 70, 16}, 5, 10, shift_rule::integer, rope_style::neox, 10000.0, 16, 32, dynamic,
      "dynamic:factor=2,max_position_embeddings=32");
  selfextend::rope_scaling linear;
  linear.type = selfextend::rope_scaling_type::linear;
  linear.factor = 2;
  add({2, 1, 33, 33, 20}, 3, 7, shift_rule::fractional, rope_style::gptj, 10000.0, 8, 64, linear,
      "linear:factor=2");
  return cases;
}

attention_params scaled_params(const scaled_case& c) {
  attention_params p;
  p.shape = c.shape;
  p.extension = {c.group, c.window, c.shift};
  p.rope = selfextend::rope_params_for(c.rule, c.shape.key_tokens, c.style);
  return p;
}

}  // namespace

TEST(AttentionTest, TiledEqualsReferenceOnScaledModels) {
  std::mt19937_64 rng(53);
  for (const scaled_case& c : scaled_cases()) {
    const attention_params p = scaled_params(c);
    ASSERT_FALSE(p.rope.inv_freq.empty()) << c.torch_rule;
    const inputs x = random_inputs(p.shape, rng);
    expect_close(selfextend::reference_attention(p, x.q, x.k, x.v), selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()),
                 tiled_atol, tiled_rtol, p);
  }
}

TEST(AttentionTest, RopeParamsForARuleEvaluateItAtTheKeyCount) {
  selfextend::rope_scaling longrope;
  longrope.type = selfextend::rope_scaling_type::longrope;
  longrope.factor = 8;
  longrope.original_context = 32;
  longrope.short_factor.assign(4, 1.0);
  longrope.long_factor.assign(4, 2.0);
  const selfextend::rope_rule rule{10000.0, 8, 256, longrope};
  const selfextend::rope_params at_window = selfextend::rope_params_for(rule, 32, rope_style::neox);
  const selfextend::rope_params past = selfextend::rope_params_for(rule, 33, rope_style::gptj, 16);
  EXPECT_EQ(selfextend::theta_inverse_frequencies(10000.0, 8), at_window.inv_freq);
  EXPECT_EQ(1.0 / (2.0 * std::pow(10000.0, 2.0 / 8)), past.inv_freq[1]);
  EXPECT_EQ(rope_style::gptj, past.style);
  EXPECT_EQ(16, past.scale_base);
  EXPECT_EQ(8, past.rotary_dims);
  EXPECT_EQ(std::sqrt(1 + std::log(8.0) / std::log(32.0)), past.attention_factor);
  // The default rule leaves the frequencies to theta.
  const selfextend::rope_params plain = selfextend::rope_params_for({500000.0, 64, 8192, std::nullopt}, 100, rope_style::neox);
  EXPECT_TRUE(plain.inv_freq.empty());
  EXPECT_EQ(500000.0, plain.theta);
  EXPECT_EQ(1.0, plain.attention_factor);
}

#ifdef PLANNER_SYSTEM_PYTHON
namespace {

/// Writes q, k, v to `dir` and runs attention_torch_check.py on them with `args` (GROUP WINDOW
/// SHIFT STYLE ROTARY THETA SCALE_BASE [RULE]): the exit status, and out.npy in `out` on success.
int run_torch_check(const std::filesystem::path& dir, const inputs& x, const attention_shape& s,
                    const std::string& args, std::vector<double>& out) {
  const std::vector<std::int64_t> q_shape{s.heads, s.query_tokens, s.head_dim};
  const std::vector<std::int64_t> kv_shape{s.kv_heads, s.key_tokens, s.head_dim};
  selfextend::write_npy(dir / "q.npy", selfextend::npy_array::from(std::span<const double>(x.q), q_shape));
  selfextend::write_npy(dir / "k.npy", selfextend::npy_array::from(std::span<const double>(x.k), kv_shape));
  selfextend::write_npy(dir / "v.npy", selfextend::npy_array::from(std::span<const double>(x.v), kv_shape));
  const std::string cmd = std::string(PLANNER_SYSTEM_PYTHON) + " " PLANNER_TESTS_SOURCE_DIR "/attention_torch_check.py " +
                          dir.string() + " " + args;
  const int status = std::system(cmd.c_str());
  if (status == 0) {
    const selfextend::npy_array result = selfextend::read_npy(dir / "out.npy", "out");
    EXPECT_EQ(q_shape, result.shape);
    out = result.to_doubles();
  }
  return status;
}

}  // namespace

TEST(AttentionTest, ReferenceMatchesIndependentPyTorchImplementation) {
  // tests/attention_torch_check.py computes the same attention with PyTorch in float64, the way
  // LongLM's eager patch does (two full score matrices and a window mask).
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sxplan-torch-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(31);
  struct torch_case {
    attention_shape shape;
    std::int64_t group, window;
    shift_rule shift;
    rope_style style;
    std::int64_t rotary;
    double scale_base;
  };
  const torch_case cases[] = {
      {{2, 2, 40, 40, 16}, 4, 6, shift_rule::integer, rope_style::neox, 0, 0},
      {{4, 2, 33, 33, 20}, 3, 7, shift_rule::fractional, rope_style::gptj, 8, 0},
      {{3, 1, 1, 50, 32}, 5, 12, shift_rule::fractional, rope_style::neox, 0, 12},   // decode, GQA
      {{1, 1, 64, 64, 8}, 1, 3, shift_rule::integer, rope_style::gptj, 0, 20},        // G = 1
  };
  for (const torch_case& c : cases) {
    attention_params p;
    p.shape = c.shape;
    p.extension = {c.group, c.window, c.shift};
    p.rope.style = c.style;
    p.rope.rotary_dims = c.rotary;
    p.rope.scale_base = c.scale_base;
    const inputs x = random_inputs(p.shape, rng);
    const std::string args = std::to_string(c.group) + " " + std::to_string(c.window) + " " +
                             std::string(selfextend::to_string(c.shift)) + " " +
                             std::string(selfextend::to_string(c.style)) + " " +
                             std::to_string(c.rotary == 0 ? c.shape.head_dim : c.rotary) + " 10000 " +
                             std::to_string(c.scale_base);
    std::vector<double> out;
    const int status = run_torch_check(dir, x, c.shape, args, out);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "python3-torch is not installed";
    ASSERT_EQ(0, status) << args;
    expect_close(out, selfextend::reference_attention(p, x.q, x.k, x.v), kernel_tolerance::torch_float64.atol,
                 kernel_tolerance::torch_float64.rtol, p);
  }
  std::filesystem::remove_all(dir);
}

TEST(AttentionTest, KernelsOnScaledModelsMatchIndependentPyTorchImplementation) {
  // attention_torch_check.py computes each rule's frequencies and attention factor itself, from
  // transformers' formulas, and applies the factor to cos and sin as transformers does.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sxplan-torch-scaled-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(59);
  for (const scaled_case& c : scaled_cases()) {
    const attention_params p = scaled_params(c);
    const inputs x = random_inputs(p.shape, rng);
    if (c.rule.scaling && !c.rule.scaling->short_factor.empty()) {
      const std::vector<std::int64_t> pairs{static_cast<std::int64_t>(c.rule.scaling->short_factor.size())};
      selfextend::write_npy(dir / "short_factor.npy",
                            selfextend::npy_array::from(std::span<const double>(c.rule.scaling->short_factor), pairs));
      selfextend::write_npy(dir / "long_factor.npy",
                            selfextend::npy_array::from(std::span<const double>(c.rule.scaling->long_factor), pairs));
    }
    std::ostringstream theta;
    theta.precision(17);
    theta << c.rule.theta;
    const std::string args = std::to_string(c.group) + " " + std::to_string(c.window) + " " +
                             std::string(selfextend::to_string(c.shift)) + " " +
                             std::string(selfextend::to_string(c.style)) + " " + std::to_string(c.rule.rotary_dims) +
                             " " + theta.str() + " 0 " + c.torch_rule;
    std::vector<double> torch_out;
    const int status = run_torch_check(dir, x, c.shape, args, torch_out);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "python3-torch is not installed";
    ASSERT_EQ(0, status) << args;
    expect_close(torch_out, selfextend::reference_attention(p, x.q, x.k, x.v), kernel_tolerance::torch_float64.atol,
                 kernel_tolerance::torch_float64.rtol, p);
    expect_close(torch_out, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), tiled_atol, tiled_rtol, p);
    // The same inputs rotated with plain theta differ from the model's attention.
    attention_params plain = p;
    plain.rope.inv_freq.clear();
    plain.rope.attention_factor = 1;
    const selfextend::verification wrong = selfextend::compare_outputs(
        torch_out, selfextend::reference_attention(plain, x.q, x.k, x.v), p.shape.query_tokens, p.shape.head_dim, {});
    EXPECT_FALSE(wrong.passed) << c.torch_rule << ": plain theta passes at max error " << wrong.max_abs_error;
  }
  std::filesystem::remove_all(dir);
}
#endif

TEST(AttentionTest, SampledRowsAlwaysIncludeTheWindowAndGroupBoundaries) {
  attention_params p;
  p.shape = {2, 1, 300, 300, 8};
  p.extension = {3, 40, shift_rule::integer};
  const selfextend::row_sample sample = selfextend::sample_query_rows(p, 50, 7);
  const std::set<std::int64_t> rows(sample.rows.begin(), sample.rows.end());
  EXPECT_EQ(50u, rows.size());
  EXPECT_TRUE(std::is_sorted(sample.rows.begin(), sample.rows.end()));
  // First and last rows; around every multiple of W (40, 80, ..., 280); the G boundary after each.
  for (const std::int64_t r : {0, 299, 39, 40, 41, 79, 80, 81, 119, 120, 121, 279, 280, 281, 41, 42, 80, 81})
    EXPECT_TRUE(rows.count(r)) << r;
  EXPECT_GE(sample.boundary_rows, 20);
  EXPECT_EQ(sample, selfextend::sample_query_rows(p, 50, 7));     // seeded
  EXPECT_NE(sample, selfextend::sample_query_rows(p, 50, 8));
  EXPECT_EQ(300u, selfextend::sample_query_rows(p, 1000, 0).rows.size());  // all rows when K >= Nq
  // A chunk: positions Nk - Nq + r, so the boundary at W = 40 is row 40 - (300 - 100) < 0: absent.
  p.shape.query_tokens = 100;
  for (const std::int64_t r : selfextend::sample_query_rows(p, 10, 0).rows) EXPECT_LT(r, 100);
  EXPECT_THROW_MSG((void)selfextend::sample_query_rows(p, 0, 0), invalid_params, "rows = 0: must be at least 1");
}

TEST(AttentionTest, ReferenceRowsEqualThoseRowsOfTheFullResultAndVerifyChecksOnlyThem) {
  std::mt19937_64 rng(61);
  attention_params p;
  p.shape = {4, 2, 90, 130, 16};
  p.extension = {3, 25, shift_rule::fractional};
  p.rope.scale_base = 8;
  const inputs x = random_inputs(p.shape, rng);
  const std::vector<double> full = selfextend::reference_attention(p, x.q, x.k, x.v);
  const std::vector<std::int64_t> rows{0, 7, 44, 89};
  std::vector<double> picked;
  for (std::int64_t h = 0; h < 4; ++h)
    for (const std::int64_t r : rows)
      for (std::int64_t d = 0; d < 16; ++d) picked.push_back(full[static_cast<std::size_t>((h * 90 + r) * 16 + d)]);
  EXPECT_EQ(picked, selfextend::reference_attention_rows(p, x.q, x.k, x.v, rows));

  std::vector<double> candidate = full;
  candidate[static_cast<std::size_t>((2 * 90 + 50) * 16 + 3)] += 1.0;  // row 50: not in the sample
  EXPECT_TRUE(selfextend::verify_attention_rows(p, x.q, x.k, x.v, candidate, {}, rows).passed);
  candidate[static_cast<std::size_t>((3 * 90 + 44) * 16 + 5)] += 1.0;  // row 44: in it
  const selfextend::verification v = selfextend::verify_attention_rows(p, x.q, x.k, x.v, candidate, {}, rows);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ((selfextend::tensor_index{3, 44, 5}), v.worst);
  const std::vector<std::int64_t> bad{90};
  EXPECT_THROW_MSG((void)selfextend::reference_attention_rows(p, x.q, x.k, x.v, bad), invalid_params,
                   "rows = 90: must be a query row in [0, 90)");
}

TEST(AttentionTest, DecodeSplitAcrossThreadsMergesToTheReference) {
  // One head, one query over 3000 keys: with 2 or 3 threads the keys are split between them and
  // the partial softmaxes merged by log-sum-exp; every split count gives the reference result.
  std::mt19937_64 rng(71);
  for (const std::int64_t queries : {std::int64_t{1}, std::int64_t{5}}) {
    attention_params p;
    p.shape = {1, 1, queries, 3000, 64};
    p.extension = {6, 500, shift_rule::fractional};
    p.rope.scale_base = 32;
    const inputs x = random_inputs(p.shape, rng);
    const std::vector<double> expected = selfextend::reference_attention(p, x.q, x.k, x.v);
    for (const std::int64_t threads : {1, 2, 3, 8}) {
      p.threads = threads;
      for (const simd_level level : {simd_level::sse2, simd_level::avx512}) {
        p.simd = level;
        expect_close(expected, selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf()), tiled_atol, tiled_rtol, p);
      }
    }
  }
}

// ---- The blocked double-precision kernel (the fast oracle) against the reference ----

namespace {

constexpr double blocked_atol = kernel_tolerance::blocked_vs_reference.atol;
constexpr double blocked_rtol = kernel_tolerance::blocked_vs_reference.rtol;

/// Random params with, on top of random_params, given frequencies or an attention factor now and then.
attention_params random_blocked_params(std::mt19937_64& rng, std::int64_t max_tokens) {
  attention_params p = random_params(rng, max_tokens);
  const std::int64_t rotary = p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
  if (rng() % 4 == 0) {
    std::uniform_real_distribution<double> frequency(1e-5, 1.5);
    p.rope.inv_freq.resize(static_cast<std::size_t>(rotary / 2));
    for (double& f : p.rope.inv_freq) f = frequency(rng);
  }
  if (rng() % 4 == 0) p.rope.attention_factor = 1.0 + static_cast<double>(rng() % 100) / 200.0;
  return p;
}

}  // namespace

TEST(BlockedAttentionTest, EqualsReferenceOverRandomShapesOnEveryVectorUnit) {
  // Shapes up to 420 tokens: several query blocks (96 rows) and key tiles (32 keys), partial
  // tiles, every mix of decode, chunk and prefill, GQA, both shifts and layouts, partial rotary,
  // log scaling, given frequencies and the attention factor, 1 to 3 threads.
  std::mt19937_64 rng(1201);
  const simd_level levels[] = {simd_level::sse2, simd_level::avx2, simd_level::avx512};
  for (int trial = 0; trial < 150; ++trial) {
    attention_params p = random_blocked_params(rng, trial < 100 ? 150 : 420);
    p.simd = levels[trial % 3];
    const inputs x = random_inputs(p.shape, rng);
    expect_close(selfextend::reference_attention(p, x.q, x.k, x.v), selfextend::blocked_attention(p, x.q, x.k, x.v),
                 blocked_atol, blocked_rtol, p);
  }
}

TEST(BlockedAttentionTest, EqualsReferenceOverEveryFeatureCombination) {
  // Every combination of shift, layout, rotary, frequencies/factor, log scaling, GQA and query
  // count (prefill, chunk straddling W, decode), for plans where W mod G is and is not 0, G = 1,
  // and N <= W, on every vector unit.
  std::mt19937_64 rng(1202);
  struct plan_case {
    std::int64_t group, window;
  };
  const plan_case plans[] = {{4, 40}, {3, 41}, {1, 17}, {5, 300}, {8, 1}};
  int combinations = 0;
  for (const plan_case pc : plans)
    for (const shift_rule shift : {shift_rule::integer, shift_rule::fractional})
      for (const rope_style style : {rope_style::neox, rope_style::gptj})
        for (const std::int64_t rotary : {std::int64_t{0}, std::int64_t{12}})
          for (const bool given : {false, true})
            for (const double scale_base : {0.0, 24.0})
              for (const std::int64_t queries : {std::int64_t{200}, std::int64_t{57}, std::int64_t{1}}) {
                attention_params p;
                p.shape = {4, 2, queries, 200, 20};
                p.extension = {pc.group, pc.window, shift};
                p.rope.style = style;
                p.rope.rotary_dims = rotary;
                p.rope.scale_base = scale_base;
                if (given) {
                  const std::int64_t r = rotary == 0 ? 20 : rotary;
                  for (std::int64_t c = 0; c < r / 2; ++c)
                    p.rope.inv_freq.push_back(std::pow(40000.0, -2.0 * static_cast<double>(c) / static_cast<double>(r)) /
                                              (c % 3 == 0 ? 4.0 : 1.0));
                  p.rope.attention_factor = 1.17;
                }
                p.simd = static_cast<simd_level>(1 + combinations % 3);
                p.threads = 1 + combinations % 2;
                const inputs x = random_inputs(p.shape, rng);
                expect_close(selfextend::reference_attention(p, x.q, x.k, x.v),
                             selfextend::blocked_attention(p, x.q, x.k, x.v), blocked_atol, blocked_rtol, p);
                ++combinations;
              }
  EXPECT_EQ(5 * 2 * 2 * 2 * 2 * 2 * 3, combinations);
}

TEST(BlockedAttentionTest, EqualsReferenceAtLongRangeWithSharpScores) {
  // Inputs ~ N(0, 9): scores up to ~40, a peaked softmax, the exponentials spanning hundreds of
  // orders of magnitude; positions past 1500, both shifts.
  std::mt19937_64 rng(1203);
  for (const shift_rule shift : {shift_rule::integer, shift_rule::fractional}) {
    attention_params p;
    p.shape = {2, 1, 1500, 1500, 64};
    p.extension = {7, 100, shift};
    const inputs x = random_inputs(p.shape, rng, 3.0);
    expect_close(selfextend::reference_attention(p, x.q, x.k, x.v), selfextend::blocked_attention(p, x.q, x.k, x.v),
                 blocked_atol, blocked_rtol, p);
  }
}

TEST(BlockedAttentionTest, EqualsReferenceOnEveryConformanceCase) {
  // The suite's cases (conformance.hpp), each built to expose one porting bug, with the suite's
  // own inputs; the reference output is the suite's expected.npy.
  for (const selfextend::conformance_case& c : selfextend::conformance_cases({})) {
    const selfextend::conformance_tensors t = selfextend::conformance_data(c, 0);
    const std::vector<double> q(t.q.begin(), t.q.end()), k(t.k.begin(), t.k.end()), v(t.v.begin(), t.v.end());
    SCOPED_TRACE(c.name);
    expect_close(t.expected, selfextend::blocked_attention(c.params, q, k, v), blocked_atol, blocked_rtol, c.params);
  }
}

TEST(BlockedAttentionTest, GroupOneAndShortInputsEqualPlainCausalRopeAttention) {
  std::mt19937_64 rng(1204);
  for (const std::int64_t tokens : {std::int64_t{40}, std::int64_t{130}}) {
    for (const selfextend::plan& plan : {selfextend::plan{1, 1, shift_rule::fractional},
                                         selfextend::plan{1, 9, shift_rule::integer},
                                         selfextend::plan{8, tokens, shift_rule::fractional}}) {
      attention_params p;
      p.shape = {2, 1, tokens, tokens, 16};
      p.extension = plan;
      const inputs x = random_inputs(p.shape, rng);
      expect_close(plain_causal_rope(p.shape, p.rope.theta, x), selfextend::blocked_attention(p, x.q, x.k, x.v),
                   kernel_tolerance::reference_vs_plain.atol, kernel_tolerance::reference_vs_plain.rtol, p);
    }
  }
}

TEST(BlockedAttentionTest, ResultDoesNotDependOnThreadCount) {
  std::mt19937_64 rng(1205);
  attention_params p;
  p.shape = {3, 1, 300, 300, 24};
  p.extension = {4, 50, shift_rule::fractional};
  const inputs x = random_inputs(p.shape, rng);
  p.threads = 1;
  const std::vector<double> one = selfextend::blocked_attention(p, x.q, x.k, x.v);
  for (const std::int64_t threads : {2, 3, 7}) {
    p.threads = threads;
    EXPECT_EQ(one, selfextend::blocked_attention(p, x.q, x.k, x.v)) << threads << " threads";
  }
}

TEST(BlockedAttentionTest, RowsAreThoseRowsOfTheFullResultBitForBit) {
  // A row's arithmetic does not depend on which rows share its block: the tiles past its own
  // position add exact zeros. Rows in any order, a chunk, and out of range rejected.
  std::mt19937_64 rng(1206);
  attention_params p;
  p.shape = {4, 2, 250, 260, 16};
  p.extension = {3, 25, shift_rule::fractional};
  p.rope.scale_base = 8;
  const inputs x = random_inputs(p.shape, rng);
  const std::vector<double> full = selfextend::blocked_attention(p, x.q, x.k, x.v);
  const std::vector<std::int64_t> rows{249, 0, 7, 24, 25, 26, 44, 130, 200};
  std::vector<double> picked;
  for (std::int64_t h = 0; h < 4; ++h)
    for (const std::int64_t r : rows)
      for (std::int64_t d = 0; d < 16; ++d) picked.push_back(full[static_cast<std::size_t>((h * 250 + r) * 16 + d)]);
  EXPECT_EQ(picked, selfextend::blocked_attention_rows(p, x.q, x.k, x.v, rows));
  expect_close(selfextend::reference_attention_rows(p, x.q, x.k, x.v, rows),
               selfextend::blocked_attention_rows(p, x.q, x.k, x.v, rows), blocked_atol, blocked_rtol, p);
  const std::vector<std::int64_t> bad{250};
  EXPECT_THROW_MSG((void)selfextend::blocked_attention_rows(p, x.q, x.k, x.v, bad), invalid_params,
                   "rows = 250: must be a query row in [0, 250)");
}

TEST(BlockedAttentionTest, VerifyUsesEitherDoubleOracleAndRefusesTheFloatKernel) {
  std::mt19937_64 rng(1207);
  attention_params p;
  p.shape = {2, 1, 100, 100, 32};
  p.extension = {4, 16, shift_rule::fractional};
  const inputs x = random_inputs(p.shape, rng);
  const std::vector<float> tiled = selfextend::tiled_attention(p, x.qf(), x.kf(), x.vf());
  std::vector<double> candidate(tiled.begin(), tiled.end());
  candidate[static_cast<std::size_t>((1 * 100 + 57) * 32 + 5)] += 0.01;
  const selfextend::verification by_blocked = selfextend::verify_attention(p, x.q, x.k, x.v, candidate, {});
  const selfextend::verification by_reference = selfextend::verify_attention(
      p, x.q, x.k, x.v, candidate, {}, {}, selfextend::attention_kernel::reference);
  for (const selfextend::verification& v : {by_blocked, by_reference}) {
    EXPECT_FALSE(v.passed);
    EXPECT_EQ(1, v.mismatches);
    EXPECT_EQ((selfextend::tensor_index{1, 57, 5}), v.worst);
  }
  EXPECT_NEAR(by_reference.max_abs_error, by_blocked.max_abs_error, 1e-12);
  EXPECT_THROW_MSG((void)selfextend::verify_attention(p, x.q, x.k, x.v, candidate, {}, {},
                                                      selfextend::attention_kernel::tiled),
                   invalid_params, "oracle = tiled: must be blocked or reference (a double-precision kernel)");
  const std::vector<std::int64_t> rows{3, 57};
  EXPECT_FALSE(selfextend::verify_attention_rows(p, x.q, x.k, x.v, candidate, {}, rows).passed);
  const std::vector<std::int64_t> other_rows{3, 58};
  EXPECT_TRUE(selfextend::verify_attention_rows(p, x.q, x.k, x.v, candidate, {}, other_rows, {},
                                                selfextend::attention_kernel::reference)
                  .passed);
}

TEST(BlockedAttentionTest, MemoryGuardAndSpanSizes) {
  attention_params p;
  p.shape = {1, 1, 64, 64, 16};
  p.memory_limit = 1000;
  const std::vector<double> x(64 * 16, 0.5);
  const std::int64_t needed = selfextend::attention_working_memory(p, selfextend::attention_kernel::blocked);
  // At least the output, the two rotated key copies and the angle table.
  EXPECT_GE(needed, 64 * 16 * 8 * 3 + 64 * 8 * 2 * 8);
  try {
    (void)selfextend::blocked_attention(p, x, x, x);
    ADD_FAILURE() << "no throw";
  } catch (const invalid_params& e) {
    const std::string text = e.what();
    EXPECT_EQ(0u, text.find("q = [1, 64, 16]: needs ")) << text;
    EXPECT_NE(std::string::npos, text.find(" of working memory, more than the limit of 1000 bytes; use `force` to run anyway"))
        << text;
  }
  p.force = true;
  EXPECT_EQ(64u * 16u, selfextend::blocked_attention(p, x, x, x).size());
  const std::vector<double> wrong(10, 0.5);
  EXPECT_THROW_MSG((void)selfextend::blocked_attention(p, x, wrong, x), invalid_params,
                   "k = 10 elements: must hold [1, 64, 16] elements");
}
