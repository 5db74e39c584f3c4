// attention.hpp - Self-Extend attention: RoPE, the two-branch reference kernel (the oracle), the tiled
// float32 kernel, the table-driven kernel, the log-sum-exp merge of partial softmaxes, and verification.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/params.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/rope.hpp>

namespace selfextend {

struct method_params;  // methods.hpp

/// Tensor sizes of one attention call (docs/kernels.md#the-math). All tensors are row-major (C order):
///   q:   [heads, query_tokens, head_dim]
///   k,v: [kv_heads, key_tokens, head_dim]
///   out: [heads, query_tokens, head_dim]
/// heads is a multiple of kv_heads: query head h reads kv head h / (heads / kv_heads) (grouped-query).
/// 1 <= query_tokens <= key_tokens: the queries are the newest tokens of the cache, row r at
/// position key_tokens - query_tokens + r. Prefill is query_tokens == key_tokens (row r at r), a
/// chunked prefill any query_tokens < key_tokens (a chunk at the end of a longer KV cache), decode
/// query_tokens == 1 (the one query at key_tokens - 1).
struct attention_shape {
  std::int64_t heads = 1;         ///< H, query heads
  std::int64_t kv_heads = 1;      ///< Hkv, key/value heads
  std::int64_t query_tokens = 1;  ///< Nq
  std::int64_t key_tokens = 1;    ///< Nk
  std::int64_t head_dim = 1;      ///< D
  friend bool operator==(const attention_shape&, const attention_shape&) = default;
};

/// Absolute position of query row `row`: key_tokens - query_tokens + row.
[[nodiscard]] constexpr std::int64_t query_position(const attention_shape& s, std::int64_t row) noexcept {
  return s.key_tokens - s.query_tokens + row;
}

/// Builds the shape from the three arrays' shapes, each [H, N, D] or [N, D] (H = 1), as a .npy
/// reader returns them. Throws invalid_params with key "q", "k" or "v" naming the rule broken:
/// rank not 2 or 3, a zero or negative extent, k and v differing, head_dim differing from q's,
/// heads not a multiple of kv_heads, query_tokens above key_tokens, element counts
/// past 2^62. Example: make_attention_shape({32, 10, 128}, {8, 10, 128}, {8, 10, 128})
///          == {.heads = 32, .kv_heads = 8, .query_tokens = 10, .key_tokens = 10, .head_dim = 128}.
[[nodiscard]] attention_shape make_attention_shape(std::span<const std::int64_t> q_shape,
                                                   std::span<const std::int64_t> k_shape,
                                                   std::span<const std::int64_t> v_shape);

/// Checks that an output array (a candidate, a kernel's result) has the output shape of `s`:
/// [heads, query_tokens, head_dim], or [query_tokens, head_dim] when heads == 1. Throws
/// invalid_params {key, shape, "must have q's shape [H, Nq, D]"} otherwise.
void require_output_shape(std::string_view key, std::span<const std::int64_t> shape, const attention_shape& s);

/// How q and k are rotated (docs/kernels.md#the-math).
struct rope_params {
  double theta = 10000.0;               ///< rope_theta: inv_freq[c] = theta^(-2c/R); > 0
  rope_style style = rope_style::neox;  ///< pair layout: neox (c, c + R/2) or gptj (2c, 2c + 1)
  std::int64_t rotary_dims = 0;         ///< R: the first R dims rotate, the rest pass through; 0 = head_dim; even, <= D
  double scale_base = 0;                ///< log scaling: the query at position i is multiplied by
                                        ///< max(1, ln(i+1)/ln(scale_base)); <= 0 disables it (LongLM's -1)
  /// The model's inverse frequencies, R/2 values, pair c rotating by position·inv_freq[c] (a
  /// frequency rule's, rope.hpp); empty = theta^(-2c/R). Both branches use the same frequencies.
  std::vector<double> inv_freq;
  /// Multiplies cos and sin, so the rotated dims of q and k (not the pass-through dims), as
  /// transformers' attention_scaling (yarn, longrope); 1 = none.
  double attention_factor = 1.0;
  friend bool operator==(const rope_params&, const rope_params&) = default;
};

/// The rotation of a model's frequency rule for a call over `key_tokens` keys: theta and rotary
/// dims from the rule, inv_freq and attention_factor evaluated for key_tokens (the sequence length
/// of the length-dependent rules, dynamic and longrope; evaluate_rope in rope.hpp). inv_freq stays
/// empty for the default rule without GGUF rope_freqs. Throws invalid_params as evaluate_rope.
/// Example: rope_params_for(rope_rule_of(find_model("llama-3.1-8b")), 20000, rope_style::neox)
///          .inv_freq[63] == 500000^(-126/128) / 8.
[[nodiscard]] rope_params rope_params_for(const rope_rule& rule, std::int64_t key_tokens, rope_style style,
                                          double scale_base = 0);

/// The widest vector unit tiled_attention may use (it never uses one the CPU lacks).
enum class simd_level : std::uint8_t {
  automatic,  ///< the widest the CPU has
  sse2,       ///< 128-bit, every x86-64
  avx2,       ///< 256-bit with FMA
  avx512,     ///< 512-bit (AVX-512 F/VL/DQ/BW)
};
[[nodiscard]] std::string_view to_string(simd_level s) noexcept;

/// Everything one kernel call needs besides the tensors.
struct attention_params {
  plan extension;                  ///< G, W and the group query shift
  rope_params rope;                ///< rotation
  attention_shape shape;           ///< tensor sizes
  std::int64_t threads = 0;        ///< worker threads; 0 = std::thread::hardware_concurrency()
  std::int64_t memory_limit = std::int64_t{8} << 30;  ///< bytes of working memory a kernel may allocate
  bool force = false;              ///< run even when the working memory exceeds memory_limit
  simd_level simd = simd_level::automatic;  ///< cap on the tiled and blocked kernels' vector width (tests run each)
  friend bool operator==(const attention_params&, const attention_params&) = default;
};

/// Every rule `params` breaks; empty when valid. Never throws. Keys are the CLI/JSON names:
/// group, window (>= 1), rope_theta (finite, > 0), rotary_dims (even, 2 <= R <= head_dim; R = D
/// when 0, so an odd D needs an explicit R), scale_base (finite; > 1 or <= 0 to disable),
/// inv_freq (empty or R/2 values, each finite and > 0), attention_factor (finite, > 0),
/// threads (0..1024), memory_limit (>= 0), q (shape: extents >= 1, heads a multiple of kv_heads,
/// query_tokens <= key_tokens).
[[nodiscard]] std::vector<issue> validate(const attention_params& params);
/// Throws invalid_params carrying every issue of validate(params), if any.
void require_valid(const attention_params& params);

/// Which kernel to run. The CLI spells them "reference", "tiled" and "blocked".
enum class attention_kernel : std::uint8_t {
  reference,  ///< naive O(N^2 D) in double precision: the definition, written to be read
  tiled,      ///< online softmax over key tiles, float32, multi-threaded, O(N D) extra memory
  blocked,    ///< the reference's arithmetic in double, blocked, vectorised, multi-threaded: the fast oracle
};
[[nodiscard]] std::string_view to_string(attention_kernel k) noexcept;
[[nodiscard]] std::optional<attention_kernel> parse_attention_kernel(std::string_view text) noexcept;

/// Bytes of working memory `kernel` allocates for `params` (inputs excluded, output included).
/// Throws invalid_params when the size does not fit in 64 bits.
[[nodiscard]] std::int64_t attention_working_memory(const attention_params& params, attention_kernel kernel);

/// The memory guard the kernels apply first, callable before any tensor is read: throws
/// invalid_params {"q", the shape, "needs X of working memory, more than the limit of Y",
/// naming `force`} when attention_working_memory exceeds memory_limit and not force.
void require_working_memory(const attention_params& params, attention_kernel kernel);

/// Called with the fraction of work done (0..1), from one thread at a time, at most a few hundred times.
using progress_callback = std::function<void(double)>;

/// The reference kernel: for every query head h, query row r at position i = query_position(r) and
/// key j <= i, the score is (i - j < W ? rope(q, i)·rope(k, j) : rope(q, gq(i))·rope(k, gk(j))) / sqrt(D),
/// the query first multiplied by the log scale; softmax over j; out = sum of p·v. Double precision
/// throughout, trigonometry evaluated directly. Shapes as attention_shape; spans hold exactly the
/// element counts the shape implies.
/// Throws invalid_params on invalid params, a span of the wrong size (key q, k or v), or working
/// memory past memory_limit without force (key "q", saying the size).
/// Example: 1 head, 2 tokens, D = 2, G = 1: out row 0 == v row 0.
[[nodiscard]] std::vector<double> reference_attention(const attention_params& params, std::span<const double> q,
                                                      std::span<const double> k, std::span<const double> v,
                                                      const progress_callback& progress = {});

/// The reference kernel for any position-remap method (methods.hpp): every attended pair (i, j)
/// scored at the method's relative position d, as rope(q, d)·rope(k, 0) / sqrt(D), which equals
/// rope(q, p)·rope(k, p - d) for any p; keys the method does not attend are left out of the
/// softmax. params.extension is not read (the method carries its own parameters). For
/// Self-Extend it equals reference_attention within rounding. Throws as reference_attention, and
/// invalid_params naming the method's key when `method` is invalid.
[[nodiscard]] std::vector<double> reference_method_attention(const attention_params& params, const method_params& method,
                                                             std::span<const double> q, std::span<const double> k,
                                                             std::span<const double> v);

/// The tiled kernel: same result as reference_attention within the tolerance stated in
/// docs/kernels.md (float32 storage and accumulation). Query tiles x key tiles with an online
/// (running max, running sum) softmax; tiles the causal mask removes are skipped; a tile computes
/// both branches only where it straddles the neighbor/group boundary. Uses params.threads threads
/// and the widest vector unit the CPU has (AVX-512, AVX2+FMA, else SSE2), chosen at run time.
/// Throws as reference_attention, and invalid_params (key "kernel") when finite inputs overflow
/// float32 inside the kernel (an output that would not be finite is never returned).
[[nodiscard]] std::vector<float> tiled_attention(const attention_params& params, std::span<const float> q,
                                                 std::span<const float> k, std::span<const float> v,
                                                 const progress_callback& progress = {});

/// The tiled kernel for any position-remap method (methods.hpp), float32 like tiled_attention and
/// within the same tolerance of reference_method_attention (docs/kernels.md#tolerances-and-why).
/// Self-Extend runs tiled_attention with method.self_extend as the plan (params.extension is not
/// read). Another method goes through the branch seam: each key is rotated once per branch at
/// branch_key_position and each query at branch_query_position (branches whose key rotations agree
/// share one copy), each query's keys per branch are found as runs of select_branch, and a
/// (query tile, key tile) computes only the branches its pairs select — a tile wholly in one
/// branch computes one, a tile with no attended pair (StreamingLLM's evicted keys) is skipped, and
/// keys the method drops are left out of the online softmax. The attention factor rides on both
/// rotations and the log scale on the query, as in reference_method_attention. Throws as
/// tiled_attention, and invalid_params naming the method's key when `method` is invalid.
[[nodiscard]] std::vector<float> tiled_method_attention(const attention_params& params, const method_params& method,
                                                        std::span<const float> q, std::span<const float> k,
                                                        std::span<const float> v, const progress_callback& progress = {});

/// attention_working_memory / require_working_memory for `method` (Self-Extend: its plan as
/// params.extension). blocked runs Self-Extend only: for another method it throws invalid_params
/// {"kernel", "blocked", ...}, as does any call of blocked_attention's method.
[[nodiscard]] std::int64_t attention_working_memory(const attention_params& params, const method_params& method,
                                                    attention_kernel kernel);
void require_working_memory(const attention_params& params, const method_params& method, attention_kernel kernel);

/// The fast oracle: reference_attention's result within 1e-12 + 1e-12·|r| (docs/kernels.md), in
/// double precision. Keys and queries are rotated exactly as the reference rotates them; query
/// blocks x key tiles with an online softmax (running max and sum in double), tile products
/// register-blocked and vectorised for the widest vector unit the CPU has (AVX-512, AVX2+FMA,
/// else SSE2; params.simd caps it), work items (head, query block) spread over params.threads.
/// The result does not depend on the thread count. Throws as reference_attention.
[[nodiscard]] std::vector<double> blocked_attention(const attention_params& params, std::span<const double> q,
                                                    std::span<const double> k, std::span<const double> v,
                                                    const progress_callback& progress = {});

/// blocked_attention for the query rows `rows` only (each in [0, Nq), any order): out is
/// [H, rows.size(), D], those rows of the full result. Throws as blocked_attention, and
/// invalid_params {"rows", ...} for a row out of range.
[[nodiscard]] std::vector<double> blocked_attention_rows(const attention_params& params, std::span<const double> q,
                                                         std::span<const double> k, std::span<const double> v,
                                                         std::span<const std::int64_t> rows,
                                                         const progress_callback& progress = {});

/// The vector unit tiled_attention and blocked_attention use on this CPU under the cap `cap` (never
/// automatic): the narrower of `cap` and the machine's unit, which is the CPU's widest unless the
/// environment variable SXPLAN_ISA forces one (sse2, avx2, avx512; unset, empty or auto = the widest).
/// Throws invalid_params {"SXPLAN_ISA", value, rule} for another name or a unit this CPU lacks.
[[nodiscard]] simd_level tiled_attention_simd(simd_level cap = simd_level::automatic);

/// Per-token positions as the position tables export them (docs/formats.md#arrays, tokens layout): element p
/// belongs to the token at absolute position p, prefill and decode alike. Each span holds at least
/// key_tokens elements.
struct token_positions {
  std::span<const std::int64_t> neighbor_query_position;  ///< i
  std::span<const std::int64_t> neighbor_key_position;    ///< j
  std::span<const double> group_query_position;           ///< gq(i) under the plan's shift (fractional for float)
  std::span<const std::int64_t> group_key_position;       ///< gk(j) = floor(j / G)
};

/// The reference kernel driven by exported tables instead of the formula: the branch of a pair is
/// neighbor iff neighbor_query_position[i] - neighbor_key_position[j] < W, and each branch rotates
/// q and k at the tables' positions. Equals reference_attention when the tables are the plan's.
/// Throws invalid_params as reference_attention, and with key "tables" when a table is too short.
[[nodiscard]] std::vector<double> table_attention(const attention_params& params, const token_positions& tables,
                                                  std::span<const double> q, std::span<const double> k,
                                                  std::span<const double> v);

/// table_attention on the tables `build_position_tables` exports (position_tables.hpp): the group
/// query rotation is group_query_position_real under the float shift, group_query_position under
/// the int shift. The tables must cover key_tokens tokens and carry params.extension's plan
/// (throws invalid_params with key "tables" otherwise).
/// Example: table_attention(p, build_position_tables(p.extension, p.shape.key_tokens), q, k, v)
///          == reference_attention(p, q, k, v).
[[nodiscard]] std::vector<double> table_attention(const attention_params& params, const position_tables& tables,
                                                  std::span<const double> q, std::span<const double> k,
                                                  std::span<const double> v);

/// The softmax restricted to one branch's keys, as a flash-attention port computes it in two passes:
///   out: [heads, query_tokens, head_dim], the branch-local softmax-weighted sum (0 where no key);
///   log_sum_exp: [heads, query_tokens], ln(sum over the branch's keys of exp(score)), -inf where none.
struct partial_attention {
  std::vector<double> out;
  std::vector<double> log_sum_exp;
  friend bool operator==(const partial_attention&, const partial_attention&) = default;
};

/// The reference kernel over one branch's keys only (neighbor: i - j < W; group: i - j >= W).
[[nodiscard]] partial_attention reference_branch_attention(const attention_params& params, branch which,
                                                           std::span<const double> q, std::span<const double> k,
                                                           std::span<const double> v);

/// Merges two partial softmaxes over disjoint key sets by log-sum-exp: with l = ln(e^a + e^b),
/// out = e^(a - l)·out_a + e^(b - l)·out_b. Rows empty in both stay 0 with -inf. Both must have
/// the same sizes (throws invalid_params with key "log_sum_exp" otherwise).
[[nodiscard]] partial_attention merge_partial_attention(const partial_attention& a, const partial_attention& b);

/// Where an element sits in [heads, tokens, dim].
struct tensor_index {
  std::int64_t head = 0;
  std::int64_t token = 0;
  std::int64_t dim = 0;
  friend bool operator==(const tensor_index&, const tensor_index&) = default;
};

/// The first NaN or infinity in a [heads, tokens, dim] tensor (row-major), if any. Callers
/// reject it with the location: invalid_params {"q", "nan at [head 0, token 3, dim 1]", "must be finite"}.
template <class T>
[[nodiscard]] std::optional<tensor_index> find_non_finite(std::span<const T> data, std::int64_t tokens,
                                                          std::int64_t dim) noexcept;
/// Throws invalid_params {key, "<value> at [head h, token t, dim d]", "must be finite"} on the first
/// non-finite element.
void require_finite(std::string_view key, std::span<const float> data, std::int64_t tokens, std::int64_t dim);
void require_finite(std::string_view key, std::span<const double> data, std::int64_t tokens, std::int64_t dim);

/// float64 values as the float32 the tiled kernel computes in. A finite value past float32's range
/// would become inf (and then read as "inf" in require_finite's message): throws invalid_params
/// {key, value, "(element i) is beyond float32's range ...; use `kernel` reference"}, i counted
/// from `first_index` (the position of data[0] in its tensor, for chunked reads).
[[nodiscard]] std::vector<float> to_float32(std::string_view key, std::span<const double> data,
                                            std::size_t first_index = 0);

/// Tolerance of verify: an element passes iff |candidate - reference| <= atol + rtol·|reference|.
struct tolerance {
  double atol = 1e-5;  ///< absolute
  double rtol = 1e-3;  ///< relative
  friend bool operator==(const tolerance&, const tolerance&) = default;
};

/// How a candidate output compares with the reference.
struct verification {
  double max_abs_error = 0;  ///< max |candidate - reference| (inf when the candidate has a NaN/inf)
  double max_rel_error = 0;  ///< max |candidate - reference| / |reference| over reference != 0
  double nmse = 0;           ///< normalised MSE: sum (c - r)^2 / sum r^2 (0 when both are 0)
  tensor_index worst;        ///< element with the largest |c - r| / (atol + rtol·|r|)
  double worst_candidate = 0;  ///< candidate value there
  double worst_reference = 0;  ///< reference value there
  std::int64_t mismatches = 0; ///< elements outside the tolerance
  std::int64_t elements = 0;   ///< elements compared
  bool passed = false;         ///< mismatches == 0
  friend bool operator==(const verification&, const verification&) = default;
};

/// Compares `candidate` with `reference`, both [heads, tokens, dim] of the same size (throws
/// invalid_params with key "candidate" otherwise, and with keys "atol"/"rtol" when negative or not finite).
[[nodiscard]] verification compare_outputs(std::span<const double> reference, std::span<const double> candidate,
                                           std::int64_t tokens, std::int64_t dim, const tolerance& tol);

/// The query rows a sampled verification compares (`sxplan verify --rows K`).
struct row_sample {
  std::vector<std::int64_t> rows;  ///< query rows in [0, Nq), ascending, unique
  std::int64_t boundary_rows = 0;  ///< how many of them are boundary rows (always included)
  friend bool operator==(const row_sample&, const row_sample&) = default;
};

/// Up to `count` query rows of params.shape: first the boundary rows, always — the first and the
/// last row, the rows at positions mW - 1, mW, mW + 1 for every multiple of W below Nk (up to 64
/// of them) and the two rows around the first G boundary at or after each (kG - 1, kG) — then
/// rows drawn without replacement by a seeded std::mt19937_64 until `count` rows are chosen
/// (every row when count >= Nq). More boundary rows than `count` are all kept. Throws
/// invalid_params {"rows", count, "must be at least 1"}.
[[nodiscard]] row_sample sample_query_rows(const attention_params& params, std::int64_t count, std::uint64_t seed);

/// reference_attention for the query rows `rows` only (each in [0, Nq)): out is [H, rows.size(), D],
/// bit-identical to those rows of the full result. Throws as reference_attention, and
/// invalid_params {"rows", ...} for a row out of range.
[[nodiscard]] std::vector<double> reference_attention_rows(const attention_params& params, std::span<const double> q,
                                                           std::span<const double> k, std::span<const double> v,
                                                           std::span<const std::int64_t> rows,
                                                           const progress_callback& progress = {});

/// verify_attention on the query rows `rows` of `candidate` ([H, Nq, D]) only; the worst
/// element's token is the query row in the full candidate.
[[nodiscard]] verification verify_attention_rows(const attention_params& params, std::span<const double> q,
                                                 std::span<const double> k, std::span<const double> v,
                                                 std::span<const double> candidate, const tolerance& tol,
                                                 std::span<const std::int64_t> rows,
                                                 const progress_callback& progress = {},
                                                 attention_kernel oracle = attention_kernel::blocked);

/// `sxplan verify`: computes the expected output with `oracle` (blocked_attention, the default,
/// or reference_attention) and compares `candidate` with it. Throws as those kernels and
/// compare_outputs, and invalid_params {"oracle", "tiled", ...} for the float32 kernel.
[[nodiscard]] verification verify_attention(const attention_params& params, std::span<const double> q,
                                            std::span<const double> k, std::span<const double> v,
                                            std::span<const double> candidate, const tolerance& tol,
                                            const progress_callback& progress = {},
                                            attention_kernel oracle = attention_kernel::blocked);

/// verify_attention for any method: the expected output is the method's. Self-Extend is
/// verify_attention with method.self_extend as the plan (either oracle); another method is
/// compared with reference_method_attention (oracle reference, the only one it has: blocked throws
/// invalid_params {"oracle", "blocked", ...}, tiled as verify_attention). Throws as those.
[[nodiscard]] verification verify_method_attention(const attention_params& params, const method_params& method,
                                                   std::span<const double> q, std::span<const double> k,
                                                   std::span<const double> v, std::span<const double> candidate,
                                                   const tolerance& tol, const progress_callback& progress = {},
                                                   attention_kernel oracle = attention_kernel::reference);

}  // namespace selfextend
