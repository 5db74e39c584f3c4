// conformance.cpp - the conformance suite's cases (one per classic porting bug) and their seeded data.
#include <selfextend/conformance.hpp>

#include <selfextend/advice.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string_view>

namespace selfextend {

namespace {

/// The head every case starts from: the model's, or a generic one.
struct base_head {
  std::int64_t head_dim = 64;
  std::int64_t heads_per_kv = 1;
  rope_params rope;
  std::int64_t context = 4096;
};

base_head base_from(const conformance_options& options) {
  base_head base;
  if (!options.model) return base;
  const model_info& m = *options.model;
  if (m.head_dim < 2)
    throw invalid_params("model", m.name, "has no head_dim: the suite needs the head size");
  base.head_dim = m.head_dim;
  base.heads_per_kv = m.kv_heads > 0 && m.heads % m.kv_heads == 0 ? std::min<std::int64_t>(m.heads / m.kv_heads, 4) : 1;
  base.rope.theta = m.rope_theta;
  base.rope.style = m.style;
  base.rope.rotary_dims = m.rotary_dims > 0 && m.rotary_dims < m.head_dim ? m.rotary_dims : 0;
  base.context = m.context;
  return base;
}

/// Builds the case list; each entry starts from the base head and states what it changes.
class case_builder {
 public:
  explicit case_builder(const base_head& base) : base_(base) {}

  /// A case with H = heads_per_kv query heads over one kv head, Nq queries at the end of Nk keys.
  conformance_case& add(std::string name, std::int64_t group, std::int64_t window, shift_rule shift,
                        std::int64_t key_tokens, std::int64_t query_tokens, std::string catches) {
    conformance_case c;
    c.name = std::move(name);
    c.params.extension = {group, window, shift};
    c.params.rope = base_.rope;
    c.params.shape = {base_.heads_per_kv, 1, query_tokens, key_tokens, base_.head_dim};
    c.params.threads = 0;
    c.catches = std::move(catches);
    cases_.push_back(std::move(c));
    return cases_.back();
  }
  std::vector<conformance_case> take() { return std::move(cases_); }

 private:
  base_head base_;
  std::vector<conformance_case> cases_;
};

/// A YaRN-like scaled rule with its attention factor, stated here so the case needs no model:
/// pair c keeps its frequency where it turns more than 32 times over the original window, is
/// divided by the factor 8 where it turns less than once, and blends linearly between;
/// attention factor 0.1·ln(8) + 1 (YaRN's default mscale).
void apply_scaled_rule(rope_params& rope, std::int64_t head_dim, std::int64_t context) {
  const std::int64_t rotary = rope.rotary_dims == 0 ? head_dim : rope.rotary_dims;
  const double factor = 8.0;
  rope.inv_freq.resize(static_cast<std::size_t>(rotary / 2));
  for (std::int64_t c = 0; c < rotary / 2; ++c) {
    const double base = std::pow(rope.theta, -2.0 * static_cast<double>(c) / static_cast<double>(rotary));
    const double turns = static_cast<double>(context) * base / (2.0 * std::numbers::pi);
    const double keep = std::clamp((turns - 1.0) / (32.0 - 1.0), 0.0, 1.0);  // 1 = keep, 0 = interpolate
    rope.inv_freq[static_cast<std::size_t>(c)] = base / factor * (1.0 - keep) + base * keep;
  }
  rope.attention_factor = 0.1 * std::log(factor) + 1.0;
}

/// splitmix64: a portable, seedable stream (the suite must be the same on every platform).
class seeded_stream {
 public:
  explicit seeded_stream(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  /// Standard normal (Box-Muller).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 2.0 * std::numbers::pi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

std::uint64_t name_hash(std::string_view name) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (const char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return h;
}

}  // namespace

namespace {

/// Another method's cases: each sits on one of the method's boundaries.
std::vector<conformance_case> method_cases(const base_head& base, method_kind kind) {
  case_builder b(base);
  const auto add = [&](std::string name, const method_params& m, std::int64_t key_tokens, std::int64_t query_tokens,
                       std::string catches) -> conformance_case& {
    conformance_case& c = b.add(std::move(name), 1, 1, shift_rule::integer, key_tokens, query_tokens, std::move(catches));
    c.method = m;
    return c;
  };
  switch (kind) {
    case method_kind::self_extend: break;
    case method_kind::dca: {
      // c = 24, w = 4: chunks of s = 20; the inter-chunk query at min(2s - 1, c) = 24.
      const method_params m = method_params::dca(24, 4);
      add("dca_first_chunk", m, 18, 18,
          "inside the first chunk every pair keeps its distance: a port remapping before the first chunk ends");
      add("dca_successive_chunk", m, 40, 40,
          "the previous chunk scored from min(i mod s + s, chunk_size): the clamp at chunk_size missing, or keys "
          "rotated at j instead of j mod s");
      add("dca_inter_chunk", m, 96, 96,
          "chunks two or more back scored from the query at chunk_size (qc_t[s - 1]), not at s or at i mod s");
      add("dca_decode", m, 97, 1, "decode: the three ranges of the cache split from the query's absolute position");
      add("dca_chunked_prefill", m, 90, 30,
          "a chunk of queries at the end of the cache: chunk membership from absolute positions, not the chunk's rows");
      add("dca_gqa_4_to_1", method_params::dca(16, 2), 64, 64, "grouped-query head mapping with DCA (h / 4, not h % 4)")
          .params.shape = {8, 2, 64, 64, base.head_dim};
      break;
    }
    case method_kind::rerope:
    case method_kind::leaky_rerope: {
      const bool leaky = kind == method_kind::leaky_rerope;
      const method_params m = kind == method_kind::rerope ? method_params::rerope(12) : method_params::leaky_rerope(12, 4.0);
      const std::string prefix = leaky ? "leaky_rerope" : "rerope";
      add(prefix + "_window_boundary", m, 64, 64,
          leaky ? "the far set at w + (d - w)/k from the 1/k table with the query offset by w (k - 1): the offset "
                  "missing or applied to keys, or the boundary at d <= w"
                : "distances from w on read at w (the query at w over unrotated keys): the far keys rotated at j, or "
                  "the far query at i (a boundary at d <= w is harmless: both sets give w there)");
      add(prefix + "_decode", m, 80, 1, "decode over unrotated cached keys: the far position min(d, w) per key, not per step");
      add(prefix + "_chunked_prefill", m, 96, 24, "a chunk of queries at the end of the cache: distances from absolute positions");
      break;
    }
    case method_kind::streaming: {
      const method_params m = method_params::streaming(4, 16);
      add("streaming_before_eviction", m, 20, 20, "up to S + R + 1 tokens nothing is evicted: plain attention");
      add("streaming_sinks_and_eviction", m, 64, 64,
          "after eviction the sinks sit at S + R - j and the keys between sinks and the recent window are gone: "
          "positions by absolute index, or evicted keys still attended");
      add("streaming_no_sinks", method_params::streaming(0, 16), 64, 64, "start_size 0: a sliding window of R + 1 keys");
      add("streaming_decode", m, 100, 1, "decode: the query at the cache length S + R, sinks and the recent window only");
      break;
    }
  }
  return b.take();
}

}  // namespace

std::vector<conformance_case> conformance_cases(const conformance_options& options) {
  const base_head base = base_from(options);
  if (options.method != method_kind::self_extend) return method_cases(base, options.method);
  case_builder b(base);
  using enum shift_rule;
  b.add("window_boundary_w_mod_g_nonzero", 3, 10, integer, 64, 64,
        "off-by-one window boundary (neighbor iff i - j <= W instead of < W): visible only when W mod G != 0");
  b.add("window_boundary_w_mod_g_zero", 4, 16, integer, 64, 64,
        "group positions themselves (gk = floor(j/G), gq = floor(i/G) + W - W/G): here d = W gets distance W in "
        "both branches, so a boundary off by one passes and a failure is elsewhere");
  b.add("float_shift_w_mod_g", 3, 10, fractional, 64, 64,
        "float shift W - W/G (LongLM's Llama.py prefill) computed as the int shift W - floor(W/G), or the reverse");
  b.add("int_shift_w_mod_g", 5, 12, integer, 64, 64,
        "int shift W - floor(W/G) computed as the float shift W - W/G (a real position), or the reverse");
  b.add("tokens_le_window", 4, 32, integer, 24, 24,
        "N <= W has no group pair: plain causal RoPE attention; a failure is RoPE, scaling or softmax itself, or a "
        "group branch applied where none belongs");
  b.add("tokens_eq_window_plus_one", 4, 32, integer, 33, 33,
        "N = W + 1: exactly one group pair (last query, first key); a port missing it or placing it wrong");
  b.add("group_one", 1, 8, integer, 64, 64,
        "G = 1 must equal plain attention (gk = j, gq = i); a port dividing by G - 1 or shifting anyway");
  b.add("window_one", 4, 1, integer, 48, 48,
        "W = 1: only the diagonal is a neighbor pair; a port that special-cases small windows or clamps W");
  b.add("group_positions_many_groups", 8, 16, integer, 200, 200,
        "group key position floor(j/G) rounded instead of floored, or grouped as floor((j + 1)/G)");
  b.add("decode_p_lt_w", 4, 32, integer, 20, 1,
        "decode before the window fills (p < W): no group key; a port grouping early or indexing the cache from 1");
  b.add("decode_p_eq_w", 4, 32, integer, 33, 1,
        "decode at p = W: the first step with a group key (j = 0 at distance W); an off-by-one in decode");
  b.add("decode_p_gt_w", 4, 32, integer, 200, 1,
        "decode at p > W: the last W cache slots are neighbors, the rest grouped; a port grouping the query "
        "position itself or using the prefill offsets in decode");
  b.add("decode_float_shift", 3, 32, fractional, 150, 1,
        "decode with the float shift: the query's group position floor(p/G) + W - W/G is real, not rounded");
  b.add("chunked_prefill_straddles_w", 4, 64, integer, 96, 40,
        "a chunk of queries at the end of the cache (rows at Nk - Nq .. Nk - 1) straddling W: a port placing row r "
        "at r, or measuring the window from the chunk start");
  b.add("chunked_prefill_past_w", 4, 32, fractional, 160, 16,
        "a chunk entirely past W: group positions of chunk queries from their absolute positions, not the chunk's");
  b.add("gqa_4_to_1", 4, 16, integer, 64, 64,
        "grouped-query head mapping: query head h reads kv head h / (H / Hkv), not h % Hkv")
      .params.shape = {8, 2, 64, 64, base.head_dim};
  b.add("gqa_2_to_1", 4, 16, integer, 64, 64,
        "grouped-query head mapping with 2 query heads per kv head (h / 2, not h % 2)")
      .params.shape = {4, 2, 64, 64, base.head_dim};
  {
    conformance_case& c = b.add("partial_rotary_phi2", 4, 16, integer, 64, 64,
                                "partial rotary (Phi-2: 32 of 80 dims): rotating all D, or pairing c with c + D/2 "
                                "instead of c + R/2; dims R..D-1 pass through");
    c.params.shape.head_dim = 80;
    c.params.rope.rotary_dims = 32;
    c.params.rope.style = rope_style::neox;
  }
  b.add("gptj_layout", 4, 16, integer, 64, 64,
        "pair layout: interleaved (2c, 2c + 1) pairs (GPT-J, GGUF) rotated as rotate_half (c, c + R/2), or the "
        "reverse")
      .params.rope.style = rope_style::gptj;
  {
    conformance_case& c = b.add("gptj_partial_rotary", 4, 16, integer, 64, 64,
                                "interleaved pairs inside a partial rotary span (GPT-J rotates 64 of 256): pairs "
                                "(2c, 2c + 1) for c < R/2 only");
    c.params.rope.style = rope_style::gptj;
    c.params.rope.rotary_dims = std::max<std::int64_t>(2, base.head_dim / 4 / 2 * 2);
  }
  {
    conformance_case& c = b.add("neox_layout", 4, 16, integer, 64, 64,
                                "pair layout: rotate_half (c, c + R/2) pairs (Hugging Face) rotated as interleaved "
                                "(2c, 2c + 1), or the reverse");
    c.params.rope.style = rope_style::neox;
  }
  b.add("log_scale_base", 4, 16, integer, 96, 96,
        "log scaling (LongLM scale_base): query times max(1, ln(i+1)/ln S) before RoPE in both branches; missing, "
        "applied to keys, or to one branch only")
      .params.rope.scale_base = 16;
  b.add("large_theta", 4, 16, integer, 64, 64,
        "a hard-coded RoPE base 10000 where the model's is 500000 (Llama 3)")
      .params.rope.theta = 500000;
  {
    conformance_case& c = b.add("scaled_frequency_rule", 4, 16, integer, 96, 96,
                                "a scaled frequency rule (YaRN-like inv_freq per pair, attention factor on cos and "
                                "sin): the plain theta^(-2c/R) used, or the attention factor dropped or squared");
    apply_scaled_rule(c.params.rope, c.params.shape.head_dim, base.context);
  }
  {
    // The plan's capacity: the largest cache whose largest position is L - 1.
    const plan long_plan{8, std::max<std::int64_t>(1, base.context / 4), integer};
    if (base.context < 16)
      throw invalid_params("model", options.model ? options.model->name : "(generic)",
                           "context " + std::to_string(base.context) + " is too short for the long case");
    const std::int64_t capacity = capacity_exact(base.context, long_plan);
    conformance_case& c = b.add("long_context_near_capacity", long_plan.group, long_plan.window, integer, capacity,
                                16,
                                "positions near the plan's capacity (largest position L - 1): positions overflowing a "
                                "narrow integer, a cache indexed modulo L, or angle precision lost at large positions");
    c.params.shape.heads = 1;
    // Float32 angles (t.float() * inv_freq) at positions near L cost about 1e-4 here (docs/kernels.md).
    c.tol = {1e-4, 1e-3};
  }
  return b.take();
}

conformance_tensors conformance_data(const conformance_case& c, std::uint64_t seed) {
  const attention_shape& s = c.params.shape;
  seeded_stream stream(seed ^ name_hash(c.name));
  auto fill = [&](std::int64_t heads, std::int64_t tokens) {
    std::vector<float> x(static_cast<std::size_t>(heads * tokens * s.head_dim));
    for (float& e : x) e = static_cast<float>(stream.normal());
    return x;
  };
  conformance_tensors t;
  t.q = fill(s.heads, s.query_tokens);
  t.k = fill(s.kv_heads, s.key_tokens);
  t.v = fill(s.kv_heads, s.key_tokens);
  const std::vector<double> q(t.q.begin(), t.q.end()), k(t.k.begin(), t.k.end()), v(t.v.begin(), t.v.end());
  t.expected = c.method.kind == method_kind::self_extend ? reference_attention(c.params, q, k, v)
                                                        : reference_method_attention(c.params, c.method, q, k, v);
  return t;
}

}  // namespace selfextend
