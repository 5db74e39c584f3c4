// methods_test - The position-remap methods against brute forces written from each method's
// official code (docs/methods.md), not from methods.cpp: ChunkLlama's position tables and chunk
// loop, ReRoPE's two score sets, Leaky ReRoPE's two scaling tables, StreamingLLM's evicting cache.
#include <selfextend/attention.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/position_tables.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <cstdint>
#include <map>
#include <vector>

#include "test_helpers.hpp"

namespace {

using selfextend::method_kind;
using selfextend::method_params;

constexpr auto dca = method_params::dca;

/// ChunkLlama (chunkllama_attn_replace.py): the tables q_t, qc_t, k_t and, per query, the three
/// key ranges of its decode path (intra [s n, i], successive [s (n - 1), s n), inter [0, s (n - 1))).
std::vector<std::vector<double>> chunkllama_positions(std::int64_t tokens, std::int64_t chunk_size, std::int64_t local_window) {
  const std::int64_t chunk_len = chunk_size - local_window;
  std::vector<std::int64_t> q_t(chunk_len), qc_t(chunk_len), k_t(tokens);
  for (std::int64_t x = 0; x < chunk_len; ++x) {
    q_t[x] = x;
    qc_t[x] = std::min(x + chunk_len, chunk_size);  // (arange + chunk_len).clamp(max=chunk_size)
  }
  for (std::int64_t j = 0; j < tokens; ++j) k_t[j] = j % chunk_len;
  std::vector<std::vector<double>> rel(tokens);
  for (std::int64_t i = 0; i < tokens; ++i) {
    const std::int64_t n = i / chunk_len;  // chunk_num_curr = (kv_seq_len - 1) // chunk_len
    rel[i].assign(i + 1, -1);
    for (std::int64_t j = n * chunk_len; j <= i; ++j) rel[i][j] = static_cast<double>(q_t[i % chunk_len] - k_t[j]);
    if (n >= 1)
      for (std::int64_t j = (n - 1) * chunk_len; j < n * chunk_len; ++j) rel[i][j] = static_cast<double>(qc_t[i % chunk_len] - k_t[j]);
    if (n >= 2)
      for (std::int64_t j = 0; j < (n - 1) * chunk_len; ++j) rel[i][j] = static_cast<double>(qc_t[chunk_len - 1] - k_t[j]);
  }
  return rel;
}

/// StreamingLLM's eval loop (eval_long_ppl.py with pos_shift): one token per step, the query at the
/// cache length, keys rotated by cache slot, then StartRecentKVCache evicts to S + R.
/// Returns, per query, key -> relative position for the attended keys.
std::vector<std::map<std::int64_t, double>> streaming_positions(std::int64_t tokens, std::int64_t start, std::int64_t recent) {
  std::vector<std::int64_t> cache;  // absolute positions of the cached keys, in slot order
  std::vector<std::map<std::int64_t, double>> rel(tokens);
  for (std::int64_t i = 0; i < tokens; ++i) {
    cache.push_back(i);
    const auto query_slot = static_cast<std::int64_t>(cache.size()) - 1;
    for (std::size_t slot = 0; slot < cache.size(); ++slot) rel[i][cache[slot]] = static_cast<double>(query_slot - static_cast<std::int64_t>(slot));
    if (static_cast<std::int64_t>(cache.size()) > start + recent) {
      std::vector<std::int64_t> kept(cache.begin(), cache.begin() + start);
      kept.insert(kept.end(), cache.end() - recent, cache.end());
      cache = std::move(kept);
    }
  }
  return rel;
}

}  // namespace

TEST(MethodsTest, NamesRoundTrip) {
  for (const method_kind k : {method_kind::self_extend, method_kind::dca, method_kind::rerope, method_kind::leaky_rerope,
                              method_kind::streaming})
    EXPECT_EQ(selfextend::parse_method_kind(selfextend::to_string(k)), k);
  EXPECT_FALSE(selfextend::parse_method_kind("self-extend"));
}

TEST(MethodsTest, SelfExtendIsTheExactMapUnchanged) {
  for (const selfextend::shift_rule shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional})
    for (std::int64_t G = 1; G <= 5; ++G)
      for (std::int64_t W = 1; W <= 9; ++W) {
        method_params m;
        m.self_extend = {G, W, shift};
        double largest = 0;
        for (std::int64_t i = 0; i < 40; ++i)
          for (std::int64_t j = 0; j <= i; ++j) {
            const selfextend::remapped_position r = selfextend::remap(m, i, j);
            ASSERT_TRUE(r.attended);
            ASSERT_EQ(r.position, selfextend::map_pair_real(i, j, m.self_extend)) << G << " " << W << " " << i << " " << j;
            largest = std::max(largest, r.position);
          }
        EXPECT_EQ(selfextend::largest_position(m, 40), largest) << G << " " << W;
      }
}

TEST(MethodsTest, DcaEqualsChunkLlamasTablesAndChunkLoop) {
  for (std::int64_t c = 3; c <= 14; ++c)
    for (std::int64_t w = 0; 2 * w < c; ++w) {
      const method_params m = dca(c, w);
      const std::int64_t tokens = 5 * (c - w) + 3;
      const auto expected = chunkllama_positions(tokens, c, w);
      for (std::int64_t n = 1; n <= tokens; ++n) {
        double largest = 0;
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = 0; j <= i; ++j) {
            const selfextend::remapped_position r = selfextend::remap(m, i, j);
            ASSERT_TRUE(r.attended);
            ASSERT_EQ(r.position, expected[i][j]) << "c " << c << " w " << w << " i " << i << " j " << j;
            largest = std::max(largest, r.position);
          }
        ASSERT_EQ(selfextend::largest_position(m, n), largest) << "c " << c << " w " << w << " N " << n;
      }
    }
  // Qwen2.5-7B-Instruct-1M's settings: the inter-chunk query sits at chunk_size = 262144.
  const method_params qwen = dca(262144, 8192);
  EXPECT_EQ(selfextend::largest_position(qwen, 1000000), 262144.0);
  EXPECT_EQ(selfextend::remap(qwen, 999999, 0).position, 262144.0);
  EXPECT_EQ(selfextend::method_capacity(qwen, 262144), 253952 + 8192);  // the first N whose query reaches offset w
  EXPECT_FALSE(selfextend::method_capacity(qwen, 262145));               // then every length fits
  // ChunkLlama's defaults for Llama-2 (L = 4096): chunk_size 3072, local_window 512.
  EXPECT_FALSE(selfextend::method_capacity(dca(3072, 512), 4096));
}

TEST(MethodsTest, DcaCapacityIsTheLastLengthThatFits) {
  for (std::int64_t c = 3; c <= 12; ++c)
    for (std::int64_t w = 0; 2 * w < c; ++w)
      for (std::int64_t L = 2; L <= c + 2; ++L) {
        const method_params m = dca(c, w);
        const std::optional<std::int64_t> cap = selfextend::method_capacity(m, L);
        if (!cap) {
          EXPECT_LE(selfextend::largest_position(m, 1000), L - 1);
          continue;
        }
        EXPECT_LE(selfextend::largest_position(m, *cap), L - 1) << c << " " << w << " " << L;
        EXPECT_GT(selfextend::largest_position(m, *cap + 1), L - 1) << c << " " << w << " " << L;
      }
}

TEST(MethodsTest, ReRopeAndLeakyReRopeEqualTheirTwoScoreSets) {
  for (std::int64_t w = 1; w <= 8; ++w)
    for (const double k : {2.0, 3.0, 16.0}) {
      method_params re;
      re.kind = method_kind::rerope;
      re.window = w;
      method_params leaky = re;
      leaky.kind = method_kind::leaky_rerope;
      leaky.leak = k;
      for (std::int64_t i = 0; i < 30; ++i)
        for (std::int64_t j = 0; j <= i; ++j) {
          // rerope_patch.py: attn_weights1 (q at i, k at j) where |i - j| < window, else attn_weights2
          // (q at window, k unrotated). leaky_rerope_patch.py: the second set uses the table scaled by
          // 1/k, q at i + window (k - 1), k at j.
          const bool near = i - j < w;
          EXPECT_EQ(selfextend::remap(re, i, j).position, near ? static_cast<double>(i - j) : static_cast<double>(w));
          const double far = (static_cast<double>(i) + static_cast<double>(w) * (k - 1)) / k - static_cast<double>(j) / k;
          EXPECT_NEAR(selfextend::remap(leaky, i, j).position, near ? static_cast<double>(i - j) : far, 1e-12);
        }
      EXPECT_EQ(selfextend::largest_position(re, 30), static_cast<double>(std::min<std::int64_t>(29, w)));
      for (std::int64_t L = w + 1; L < 40; ++L) {
        const std::optional<std::int64_t> cap = selfextend::method_capacity(leaky, L);
        ASSERT_TRUE(cap);
        EXPECT_LE(selfextend::largest_position(leaky, *cap), static_cast<double>(L - 1));
        EXPECT_GT(selfextend::largest_position(leaky, *cap + 1), static_cast<double>(L - 1));
      }
    }
}

TEST(MethodsTest, StreamingEqualsTheEvictingCache) {
  for (std::int64_t S = 0; S <= 4; ++S)
    for (std::int64_t R = 1; R <= 6; ++R) {
      method_params m;
      m.kind = method_kind::streaming;
      m.start_size = S;
      m.recent_size = R;
      const std::int64_t tokens = 3 * (S + R) + 5;
      const auto expected = streaming_positions(tokens, S, R);
      std::int64_t dropped = 0;
      double largest = 0;
      for (std::int64_t i = 0; i < tokens; ++i)
        for (std::int64_t j = 0; j <= i; ++j) {
          const selfextend::remapped_position r = selfextend::remap(m, i, j);
          const auto it = expected[i].find(j);
          ASSERT_EQ(r.attended, it != expected[i].end()) << S << " " << R << " " << i << " " << j;
          if (!r.attended) {
            ++dropped;
            continue;
          }
          ASSERT_EQ(r.position, it->second) << S << " " << R << " " << i << " " << j;
          largest = std::max(largest, r.position);
        }
      EXPECT_EQ(selfextend::dropped_pairs(m, tokens), dropped);
      EXPECT_EQ(selfextend::largest_position(m, tokens), largest);
    }
}

/// A spread of valid parameters of every method, small enough for brute force over 60 tokens.
std::vector<method_params> sample_methods() {
  std::vector<method_params> out;
  for (const selfextend::shift_rule shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional})
    for (std::int64_t G = 1; G <= 4; ++G)
      for (std::int64_t W = 1; W <= 7; W += 2) {
        method_params m;
        m.self_extend = {G, W, shift};
        out.push_back(m);
      }
  for (std::int64_t c = 3; c <= 11; c += 2)
    for (std::int64_t w = 0; 2 * w < c; ++w) out.push_back(dca(c, w));
  for (std::int64_t w = 1; w <= 9; w += 4)
    for (const method_kind k : {method_kind::rerope, method_kind::leaky_rerope}) {
      method_params m;
      m.kind = k;
      m.window = w;
      m.leak = 3;
      out.push_back(m);
    }
  for (std::int64_t S = 0; S <= 3; ++S)
    for (std::int64_t R = 1; R <= 7; R += 3) {
      method_params m;
      m.kind = method_kind::streaming;
      m.start_size = S;
      m.recent_size = R;
      out.push_back(m);
    }
  return out;
}

TEST(MethodsTest, BranchRotationsReproduceEveryPairsPosition) {
  // Each method as per-token rotations in its branches: query_position(b, i) - key_position(b, j)
  // in the branch select_branch picks must be remap()'s position, and nullopt its "not attended".
  for (const method_params& m : sample_methods()) {
    const auto branches = static_cast<int>(selfextend::branch_names(m.kind).size());
    std::vector<bool> used(static_cast<std::size_t>(branches), false);
    for (std::int64_t i = 0; i < 60; ++i)
      for (std::int64_t j = 0; j <= i; ++j) {
        const selfextend::remapped_position r = selfextend::remap(m, i, j);
        const std::optional<int> b = selfextend::select_branch(m, i, j);
        ASSERT_EQ(b.has_value(), r.attended) << selfextend::to_string(m.kind) << " " << i << " " << j;
        if (!b) continue;
        used[static_cast<std::size_t>(*b)] = true;
        const double position = selfextend::branch_query_position(m, *b, i) - selfextend::branch_key_position(m, *b, j);
        // Integer tables are exact; real ones differ from remap()'s formula by one rounding.
        if (selfextend::integer_positions(m)) {
          ASSERT_EQ(position, r.position) << selfextend::to_string(m.kind) << " " << i << " " << j;
        } else {
          ASSERT_NEAR(position, r.position, 1e-12) << i << " " << j;
        }
      }
    // Every DCA sample has chunks of at most 11 tokens, so 60 tokens reach all three branches.
    if (m.kind == method_kind::dca) {
      EXPECT_TRUE(used[0] && used[1] && used[2]);
    }
  }
  const method_params se;
  EXPECT_THROW((void)selfextend::branch_query_position(se, 2, 0), selfextend::invalid_params);
  EXPECT_THROW((void)selfextend::branch_key_position(se, 0, -1), selfextend::invalid_params);
  EXPECT_THROW((void)selfextend::select_branch(se, 3, 4), selfextend::invalid_params);
  EXPECT_EQ(selfextend::branch_names(method_kind::dca),
            (std::vector<std::string_view>{"intra", "successive", "inter"}));
}

TEST(MethodsTest, DenseRowsAndBranchArraysAreThePairsPositions) {
  for (const method_params& m : sample_methods()) {
    const std::int64_t tokens = 45;
    const bool integer = selfextend::integer_positions(m);
    for (std::int64_t i = 0; i < tokens; ++i) {
      // A row from an offset key, past the diagonal, as a chunked writer asks for it.
      for (const std::int64_t first : {std::int64_t{0}, std::int64_t{7}}) {
        std::vector<double> row(static_cast<std::size_t>(tokens - first));
        selfextend::fill_method_dense_row(m, i, first, std::span<double>(row));
        std::vector<std::int64_t> ints(row.size());
        if (integer) selfextend::fill_method_dense_row(m, i, first, std::span<std::int64_t>(ints));
        for (std::int64_t j = first; j < tokens; ++j) {
          const double got = row[static_cast<std::size_t>(j - first)];
          double want = static_cast<double>(selfextend::masked_position);
          if (j <= i) {
            const selfextend::remapped_position r = selfextend::remap(m, i, j);
            want = r.attended ? r.position : static_cast<double>(selfextend::not_attended_position);
          }
          ASSERT_EQ(got, want) << selfextend::to_string(m.kind) << " " << i << " " << j;
          if (integer) {
            ASSERT_EQ(static_cast<double>(ints[static_cast<std::size_t>(j - first)]), want);
          }
        }
      }
    }
    const auto names = selfextend::method_token_array_names(m.kind);
    ASSERT_EQ(names.size(), 2 * selfextend::branch_names(m.kind).size());
    for (int b = 0; b < static_cast<int>(names.size() / 2); ++b)
      for (const auto side : {selfextend::rotation_side::query, selfextend::rotation_side::key}) {
        std::vector<double> values(20);
        selfextend::fill_branch_positions(m, b, side, 30, std::span<double>(values));
        for (std::int64_t t = 30; t < 50; ++t) {
          const double want = side == selfextend::rotation_side::query ? selfextend::branch_query_position(m, b, t)
                                                                       : selfextend::branch_key_position(m, b, t);
          ASSERT_NEAR(values[static_cast<std::size_t>(t - 30)], want, integer ? 0.0 : 1e-12) << names[2 * b] << " " << t;
        }
      }
  }
  EXPECT_EQ(selfextend::method_token_array_names(method_kind::self_extend),
            (std::vector<std::string>{"neighbor_query_position", "neighbor_key_position", "group_query_position",
                                      "group_key_position"}));
  method_params leaky;
  leaky.kind = method_kind::leaky_rerope;
  leaky.window = 4;
  std::vector<std::int64_t> ints(4);
  EXPECT_THROW(selfextend::fill_method_dense_row(leaky, 3, 0, std::span<std::int64_t>(ints)), selfextend::invalid_params);
}

TEST(MethodsTest, InvalidParametersNameTheirKey) {
  EXPECT_THROW_MSG((void)selfextend::largest_position(dca(512, 512), 10), selfextend::invalid_params,
                   "chunk_size = 512: must be larger than local_window (512)");
  EXPECT_THROW_MSG((void)selfextend::largest_position(dca(1000, 500), 10), selfextend::invalid_params,
                   "local_window = 500: must be smaller than chunk_size - local_window (chunks are chunk_size - local_window "
                   "long; ChunkLlama uses chunk_size 3L/4 and local_window L/8)");
  method_params leaky;
  leaky.kind = method_kind::leaky_rerope;
  leaky.window = 4;
  leaky.leak = 1;
  EXPECT_THROW_MSG((void)selfextend::remap(leaky, 3, 1), selfextend::invalid_params,
                   "leak = 1: must be a finite number greater than 1 (1 is no extension)");
  method_params re;
  re.kind = method_kind::rerope;
  re.window = 4;
  EXPECT_THROW_MSG((void)selfextend::remap(re, 3, 4), selfextend::invalid_params, "key = 4: must be in [0, query = 3]");
}

// `sxplan compare --tokens 16000 --model llama-2-7b`: every figure from the rules by hand.
TEST(MethodsTest, CompareOnLlama2At16000) {
  selfextend::comparison_request r;
  r.context = 4096;
  r.tokens = 16000;
  const std::vector<selfextend::method_row> rows = selfextend::compare_methods(r);
  ASSERT_EQ(rows.size(), 5u);
  // Self-Extend: the advisor's G 9, W 1026; floor(15999 / 9) + 1026 - floor(1026 / 9) = 2689.
  EXPECT_EQ(rows[0].method.self_extend, (selfextend::plan{9, 1026, selfextend::shift_rule::integer}));
  EXPECT_EQ(rows[0].largest_position, 2689.0);
  EXPECT_EQ(rows[0].capacity, 28656);
  // DCA with ChunkLlama's defaults: chunk 3072, local 512; positions stop at 3072.
  EXPECT_EQ(rows[1].method.chunk_size, 3072);
  EXPECT_EQ(rows[1].method.local_window, 512);
  EXPECT_EQ(rows[1].largest_position, 3072.0);
  EXPECT_FALSE(rows[1].capacity);
  EXPECT_EQ(rows[1].attention_cost, 1.0);
  // ReRoPE w 512.
  EXPECT_EQ(rows[2].largest_position, 512.0);
  EXPECT_TRUE(rows[2].fits);
  // Leaky ReRoPE w 512, k 16: 512 + (15999 - 512) / 16; capacity 1 + 512 + 16 (4095 - 512).
  EXPECT_EQ(rows[3].method.leak, 16.0);
  EXPECT_EQ(rows[3].largest_position, 512.0 + 15487.0 / 16.0);
  EXPECT_EQ(rows[3].capacity, 57841);
  // StreamingLLM 4 + 2000: queries past 2004 miss i - 2004 keys each: T (T + 1) / 2, T = 13995.
  EXPECT_EQ(rows[4].method.recent_size, 2000);
  EXPECT_EQ(rows[4].largest_position, 2004.0);
  EXPECT_EQ(rows[4].dropped_pairs, 13995LL * 13996 / 2);
  EXPECT_DOUBLE_EQ(rows[4].attended_share, 1.0 - (13995.0 * 13996 / 2) / (16000.0 * 16001 / 2));
  EXPECT_DOUBLE_EQ(rows[4].kv_memory, 2005.0 / 16000.0);
}

// N = 2^63 - 1: the dropped pairs saturate as a count, but the attended share comes from the exact
// count: StreamingLLM's 2005 keys of ~9.2e18 attend almost nothing.
TEST(MethodsTest, CompareSharesStayExactWhereTheCountSaturates) {
  selfextend::comparison_request r;
  r.context = 4096;
  r.tokens = INT64_MAX;
  const selfextend::method_row streaming = selfextend::compare_methods(r)[4];
  EXPECT_EQ(streaming.dropped_pairs, INT64_MAX);
  EXPECT_LT(streaming.attended_share, 1e-15);
  EXPECT_GE(streaming.attended_share, 0.0);
}

// Qwen2.5-7B-Instruct-1M's own DCA settings at 10^6 tokens: the inter-chunk query at 262144 = L.
TEST(MethodsTest, CompareUsesTheModelsOwnDcaSettings) {
  selfextend::comparison_request r;
  r.context = 262144;
  r.tokens = 1000000;
  r.dual_chunk = selfextend::dual_chunk_attention{262144, 8192, 262144};
  const std::vector<selfextend::method_row> rows = selfextend::compare_methods(r);
  EXPECT_EQ(rows[1].method.chunk_size, 262144);
  EXPECT_EQ(rows[1].method.local_window, 8192);
  EXPECT_EQ(rows[1].largest_position, 262144.0);
  EXPECT_FALSE(rows[1].fits);
  EXPECT_EQ(rows[1].capacity, 262144);
  // Leaky ReRoPE keeps k = 16: 32768 + (999999 - 32768) / 16 < L.
  EXPECT_EQ(rows[3].method.leak, 16.0);
  EXPECT_TRUE(rows[3].fits);
  // At 10^8 tokens k must grow: the smallest integer with w + (N - 1 - w) / k <= L - 1.
  r.tokens = 100000000;
  const selfextend::method_row leaky = selfextend::compare_methods(r)[3];
  const double k = leaky.method.leak;
  EXPECT_LE(32768 + (99999999 - 32768) / k, 262143.0);
  EXPECT_GT(32768 + (99999999 - 32768) / (k - 1), 262143.0);
}

namespace {

struct qkv {
  std::vector<double> q, k, v;
};

qkv random_qkv(const selfextend::attention_shape& s, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  qkv x;
  for (std::int64_t n = 0; n < s.heads * s.query_tokens * s.head_dim; ++n) x.q.push_back(normal(rng));
  for (std::int64_t n = 0; n < s.kv_heads * s.key_tokens * s.head_dim; ++n) {
    x.k.push_back(normal(rng));
    x.v.push_back(normal(rng));
  }
  return x;
}

/// One head, D = 2 (one rotated pair, inv_freq 1 for any theta): the score of (i, j) at relative
/// position d is (q0 cos d - q1 sin d) k0 + (q1 cos d + q0 sin d) k1, over sqrt(2); keys without a
/// position (`nullopt`) left out. Written without the library's rotate().
template <class Position>
std::vector<double> two_dim_attention(const qkv& x, std::int64_t tokens, Position position) {
  std::vector<double> out(static_cast<std::size_t>(2 * tokens), 0.0);
  for (std::int64_t i = 0; i < tokens; ++i) {
    std::vector<std::pair<std::int64_t, double>> scores;
    for (std::int64_t j = 0; j <= i; ++j) {
      const std::optional<double> d = position(i, j);
      if (!d) continue;
      const double q0 = x.q[2 * i], q1 = x.q[2 * i + 1], k0 = x.k[2 * j], k1 = x.k[2 * j + 1];
      scores.emplace_back(j, ((q0 * std::cos(*d) - q1 * std::sin(*d)) * k0 + (q1 * std::cos(*d) + q0 * std::sin(*d)) * k1) /
                                 std::sqrt(2.0));
    }
    double top = -1e300, sum = 0;
    for (const auto& [j, sc] : scores) top = std::max(top, sc);
    for (const auto& [j, sc] : scores) sum += std::exp(sc - top);
    for (const auto& [j, sc] : scores)
      for (int d = 0; d < 2; ++d) out[2 * i + d] += std::exp(sc - top) / sum * x.v[2 * j + d];
  }
  return out;
}

}  // namespace

// The method reference kernel: Self-Extend equals the two-branch reference; ReRoPE(w) equals
// Self-Extend with a group larger than N (every far key at w); Leaky ReRoPE and StreamingLLM equal
// a two-dimensional attention written from their rules. Tolerance 1e-12 (double, different
// association of the same products).
TEST(MethodsTest, MethodReferenceKernelEqualsIndependentAttention) {
  std::mt19937_64 rng(7);
  selfextend::attention_params p;
  p.shape = {4, 2, 37, 37, 8};
  p.rope.theta = 10000;
  const qkv x = random_qkv(p.shape, rng);
  const auto near = [](const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t n = 0; n < a.size(); ++n) ASSERT_NEAR(a[n], b[n], 1e-12 + 1e-12 * std::abs(b[n])) << n;
  };
  for (const selfextend::plan plan : {selfextend::plan{4, 6, selfextend::shift_rule::integer},
                                      selfextend::plan{3, 8, selfextend::shift_rule::fractional}}) {
    method_params m;
    m.self_extend = plan;
    p.extension = plan;
    near(selfextend::reference_method_attention(p, m, x.q, x.k, x.v), selfextend::reference_attention(p, x.q, x.k, x.v));
  }
  method_params re;
  re.kind = method_kind::rerope;
  re.window = 5;
  p.extension = {38, 5, selfextend::shift_rule::integer};
  near(selfextend::reference_method_attention(p, re, x.q, x.k, x.v), selfextend::reference_attention(p, x.q, x.k, x.v));

  selfextend::attention_params two = p;
  two.shape = {1, 1, 29, 29, 2};
  const qkv y = random_qkv(two.shape, rng);
  method_params leaky;
  leaky.kind = method_kind::leaky_rerope;
  leaky.window = 4;
  leaky.leak = 3;
  near(selfextend::reference_method_attention(two, leaky, y.q, y.k, y.v),
       two_dim_attention(y, 29, [](std::int64_t i, std::int64_t j) -> std::optional<double> {
         const double d = static_cast<double>(i - j);
         return d < 4 ? d : 4 + (d - 4) / 3;
       }));
  method_params streaming;
  streaming.kind = method_kind::streaming;
  streaming.start_size = 2;
  streaming.recent_size = 5;
  near(selfextend::reference_method_attention(two, streaming, y.q, y.k, y.v),
       two_dim_attention(y, 29, [](std::int64_t i, std::int64_t j) -> std::optional<double> {
         if (i <= 7 || i - j <= 5) return static_cast<double>(i - j);
         if (j < 2) return static_cast<double>(7 - j);
         return std::nullopt;
       }));
  method_params chunked = dca(9, 2);
  near(selfextend::reference_method_attention(two, chunked, y.q, y.k, y.v),
       two_dim_attention(y, 29, [&](std::int64_t i, std::int64_t j) -> std::optional<double> {
         return chunkllama_positions(29, 9, 2)[i][j];
       }));
}
