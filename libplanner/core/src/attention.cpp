// attention.cpp - shapes and validation, the double-precision reference kernel (the oracle), its
// table-driven twin, the branch-local softmaxes and their log-sum-exp merge, and verification.
#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "attention_internal.hpp"
#include "methods_internal.hpp"

namespace selfextend {

namespace {

using detail::real_text;
using detail::shape_text;


/// [H, N, D] of a rank-2 or rank-3 array; throws invalid_params {key, shape, rule}.
std::array<std::int64_t, 3> as_heads_tokens_dim(const char* key, std::span<const std::int64_t> shape) {
  if (shape.size() != 2 && shape.size() != 3)
    throw invalid_params(key, shape_text(shape), "must have shape [heads, tokens, head_dim] or [tokens, head_dim]");
  for (const std::int64_t extent : shape)
    if (extent < 1) throw invalid_params(key, shape_text(shape), "every extent must be at least 1");
  const std::array<std::int64_t, 3> hnd =
      shape.size() == 3 ? std::array<std::int64_t, 3>{shape[0], shape[1], shape[2]}
                        : std::array<std::int64_t, 3>{1, shape[0], shape[1]};
  // 2^62 elements keeps every byte count (8 bytes each) inside 64 bits.
  if (detail::checked_product({hnd[0], hnd[1], hnd[2]}) > (detail::wide_int{1} << 62))
    throw invalid_params(key, shape_text(shape), "has too many elements (at most 2^62)");
  return hnd;
}

}  // namespace

attention_shape make_attention_shape(std::span<const std::int64_t> q_shape, std::span<const std::int64_t> k_shape,
                                     std::span<const std::int64_t> v_shape) {
  const auto q = as_heads_tokens_dim("q", q_shape);
  const auto k = as_heads_tokens_dim("k", k_shape);
  const auto v = as_heads_tokens_dim("v", v_shape);
  if (k != v) throw invalid_params("v", shape_text(v_shape), "must have the shape of k " + shape_text(k_shape));
  if (k[2] != q[2])
    throw invalid_params("k", shape_text(k_shape),
                         "head_dim (last extent) must equal q's (" + std::to_string(q[2]) + ")");
  if (q[0] % k[0] != 0)
    throw invalid_params("q", shape_text(q_shape),
                         "heads (" + std::to_string(q[0]) + ") must be a multiple of k's heads (" +
                             std::to_string(k[0]) + ")");
  if (q[1] > k[1])
    throw invalid_params("q", shape_text(q_shape),
                         "tokens (" + std::to_string(q[1]) + ") must be at most k's tokens (" + std::to_string(k[1]) +
                             "): the queries are the newest Nq of the Nk cached tokens");
  return {q[0], k[0], q[1], k[1], q[2]};
}

void require_output_shape(std::string_view key, std::span<const std::int64_t> shape, const attention_shape& s) {
  const bool full = shape.size() == 3 && shape[0] == s.heads && shape[1] == s.query_tokens && shape[2] == s.head_dim;
  const bool single_head = shape.size() == 2 && s.heads == 1 && shape[0] == s.query_tokens && shape[1] == s.head_dim;
  if (!full && !single_head)
    throw invalid_params(std::string(key), shape_text(shape),
                         "must have q's shape " + shape_text(s.heads, s.query_tokens, s.head_dim));
}

std::string_view to_string(attention_kernel k) noexcept {
  switch (k) {
    case attention_kernel::reference: return "reference";
    case attention_kernel::tiled: return "tiled";
    case attention_kernel::blocked: return "blocked";
  }
  return "reference";
}

std::optional<attention_kernel> parse_attention_kernel(std::string_view text) noexcept {
  for (const attention_kernel k : {attention_kernel::reference, attention_kernel::tiled, attention_kernel::blocked})
    if (text == to_string(k)) return k;
  return std::nullopt;
}

std::string_view to_string(simd_level s) noexcept {
  switch (s) {
    case simd_level::automatic: return "automatic";
    case simd_level::sse2: return "sse2";
    case simd_level::avx2: return "avx2";
    case simd_level::avx512: return "avx512";
  }
  return "automatic";
}

std::vector<issue> validate(const attention_params& params) {
  std::vector<issue> issues = validate(params.extension);
  const rope_params& rope = params.rope;
  if (!std::isfinite(rope.theta) || rope.theta <= 0)
    issues.push_back({"rope_theta", real_text(rope.theta), "must be a finite number greater than 0"});
  const attention_shape& s = params.shape;
  if (rope.rotary_dims < 0 || rope.rotary_dims > s.head_dim || rope.rotary_dims == 1)
    issues.push_back({"rotary_dims", std::to_string(rope.rotary_dims),
                      "must be between 2 and head_dim (" + std::to_string(s.head_dim) + ")"});
  else if (rope.rotary_dims % 2 != 0)
    issues.push_back({"rotary_dims", std::to_string(rope.rotary_dims), "must be even"});
  else if (rope.rotary_dims == 0 && s.head_dim % 2 != 0)
    issues.push_back({"rotary_dims", std::to_string(s.head_dim),
                      "must be even (head_dim is odd: give the rotary dims explicitly)"});
  if (!std::isfinite(rope.attention_factor) || rope.attention_factor <= 0)
    issues.push_back({"attention_factor", real_text(rope.attention_factor), "must be a finite number greater than 0"});
  if (!std::isfinite(rope.scale_base) || (rope.scale_base > 0 && rope.scale_base <= 1))
    issues.push_back({"scale_base", real_text(rope.scale_base), "must be greater than 1, or <= 0 to disable"});
  if (!rope.inv_freq.empty()) {
    const std::int64_t rotary = rope.rotary_dims == 0 ? s.head_dim : rope.rotary_dims;
    const auto given = static_cast<std::int64_t>(rope.inv_freq.size());
    if (given * 2 != rotary)
      issues.push_back({"inv_freq", std::to_string(given) + (given == 1 ? " value" : " values"),
                        "must hold rotary_dims / 2 = " + std::to_string(rotary / 2) + " values"});
    for (std::size_t c = 0; c < rope.inv_freq.size(); ++c)
      if (!std::isfinite(rope.inv_freq[c]) || rope.inv_freq[c] <= 0) {
        issues.push_back({"inv_freq", real_text(rope.inv_freq[c]) + " at index " + std::to_string(c),
                          "every value must be a finite number greater than 0"});
        break;
      }
  }
  if (params.threads < 0 || params.threads > 1024)
    issues.push_back({"threads", std::to_string(params.threads), "must be between 0 (all cores) and 1024"});
  if (params.memory_limit < 0)
    issues.push_back({"memory_limit", std::to_string(params.memory_limit), "must be at least 0"});
  const std::string q_text = shape_text(s.heads, s.query_tokens, s.head_dim);
  if (s.heads < 1 || s.kv_heads < 1 || s.query_tokens < 1 || s.key_tokens < 1 || s.head_dim < 1)
    issues.push_back({"q", q_text, "every extent must be at least 1 (k: " +
                                       shape_text(s.kv_heads, s.key_tokens, s.head_dim) + ")"});
  else if (s.heads % s.kv_heads != 0)
    issues.push_back({"q", q_text, "heads (" + std::to_string(s.heads) + ") must be a multiple of k's heads (" +
                                       std::to_string(s.kv_heads) + ")"});
  else if (s.query_tokens > s.key_tokens)
    issues.push_back({"q", q_text, "tokens (" + std::to_string(s.query_tokens) + ") must be at most k's tokens (" +
                                       std::to_string(s.key_tokens) +
                                       "): the queries are the newest Nq of the Nk cached tokens"});
  return issues;
}

void require_valid(const attention_params& params) {
  detail::throw_if_any(validate(params));
}

rope_params rope_params_for(const rope_rule& rule, std::int64_t key_tokens, rope_style style, double scale_base) {
  rope_params rope;
  rope.theta = rule.theta;
  rope.style = style;
  rope.rotary_dims = rule.rotary_dims;
  rope.scale_base = scale_base;
  const rope_frequencies frequencies = evaluate_rope(rule, key_tokens);
  if (rule.scaling) rope.inv_freq = frequencies.inv_freq;
  rope.attention_factor = frequencies.attention_factor;
  return rope;
}

namespace detail {

void require_memory(const attention_params& params, std::int64_t bytes) {
  if (bytes <= params.memory_limit || params.force) return;
  const attention_shape& s = params.shape;
  throw invalid_params("q", shape_text(s.heads, s.query_tokens, s.head_dim),
                       "needs " + format_bytes(bytes) + " of working memory, more than the limit of " +
                           format_bytes(params.memory_limit) + "; use `force` to run anyway");
}

void require_size(const char* key, std::size_t span_size, std::int64_t heads, std::int64_t tokens, std::int64_t dim) {
  if (checked_product({heads, tokens, dim}) != static_cast<wide_int>(span_size))
    throw invalid_params(key, std::to_string(span_size) + " elements",
                         "must hold " + shape_text(heads, tokens, dim) + " elements");
}

}  // namespace detail

namespace {

using detail::wide_int;

std::int64_t saturated_sum(std::initializer_list<wide_int> terms) {
  wide_int total = 0;
  for (const wide_int t : terms) total += t;
  if (total > wide_int{detail::int64_max}) throw invalid_params("q", "(shape)", "working memory does not fit in 64 bits");
  return static_cast<std::int64_t>(total);
}

/// Working memory of the double-precision kernels (reference, table-driven, branch partials).
std::int64_t reference_memory(const attention_params& p, bool with_tables) {
  const attention_shape& s = p.shape;
  const std::int64_t workers = detail::worker_count(p.threads, s.heads * s.query_tokens);
  return saturated_sum({detail::checked_product({s.heads, s.query_tokens, s.head_dim, 8}),   // out
                        detail::checked_product({s.heads, s.query_tokens, 8}),               // log-sum-exp
                        detail::checked_product({2, s.kv_heads, s.key_tokens, s.head_dim, 8}),  // rotated keys
                        detail::checked_product({workers, s.key_tokens + 2 * s.head_dim, 8}),   // scores, q rows
                        with_tables ? detail::checked_product({4, s.key_tokens, 8}) : 0});
}

/// Rotates x (one head_dim row) by RoPE at `position`: pairs per the style, the first R dims only.
/// Angles are evaluated directly in double: this is the oracle, clarity over speed.
/// cos and sin are multiplied by `factor` (the attention factor), as transformers does.
void rotate(std::span<double> x, double position, std::span<const double> inv_freq, rope_style style, double factor) {
  const auto rotary = static_cast<std::int64_t>(inv_freq.size()) * 2;
  for (std::int64_t c = 0; c < rotary / 2; ++c) {
    const double angle = position * inv_freq[static_cast<std::size_t>(c)];
    const double cos_a = std::cos(angle) * factor;
    const double sin_a = std::sin(angle) * factor;
    const detail::rope_pair d = detail::pair_dims(style, rotary, c);
    const double a = x[static_cast<std::size_t>(d.first)];
    const double b = x[static_cast<std::size_t>(d.second)];
    x[static_cast<std::size_t>(d.first)] = a * cos_a - b * sin_a;
    x[static_cast<std::size_t>(d.second)] = b * cos_a + a * sin_a;
  }
}

/// The softmax of scores[0 .. last] (max_score their largest, -inf for the keys left out) and the
/// weighted sum of the value rows (row j at values + j·D) added into out; returns the log-sum-exp.
double softmax_values(std::span<const double> scores, std::int64_t last, double max_score, const double* values,
                      std::size_t D, double* out) {
  double sum = 0;
  for (std::int64_t j = 0; j <= last; ++j) sum += std::exp(scores[static_cast<std::size_t>(j)] - max_score);
  for (std::int64_t j = 0; j <= last; ++j) {
    const double weight = std::exp(scores[static_cast<std::size_t>(j)] - max_score) / sum;
    if (weight == 0) continue;
    const double* value = values + static_cast<std::size_t>(j) * D;
    for (std::size_t d = 0; d < D; ++d) out[d] += weight * value[d];
  }
  return max_score + std::log(sum);
}

enum class key_filter : std::uint8_t { both, neighbor_only, group_only };

void require_tables(const token_positions& t, std::int64_t key_tokens) {
  const auto n = static_cast<std::size_t>(key_tokens);
  const std::pair<const char*, std::size_t> sizes[] = {
      {"neighbor_query_position", t.neighbor_query_position.size()},
      {"neighbor_key_position", t.neighbor_key_position.size()},
      {"group_query_position", t.group_query_position.size()},
      {"group_key_position", t.group_key_position.size()}};
  for (const auto& [name, size] : sizes)
    if (size < n)
      throw invalid_params("tables", std::string(name) + " has " + std::to_string(size) + " elements",
                           "must cover the " + std::to_string(key_tokens) + " key tokens");
}

/// The two-branch softmax written as plainly as possible, positions taken from `t`. Returns the
/// branch-local output and log-sum-exp per row (for `both`, the full attention). With `only_rows`
/// (query rows, each in [0, Nq)) just those rows are computed: out is [H, only_rows.size(), D].
partial_attention two_branch_attention(const attention_params& p, const token_positions& t,
                                       std::span<const double> q, std::span<const double> k,
                                       std::span<const double> v, key_filter filter,
                                       const progress_callback& progress, bool with_tables,
                                       std::span<const std::int64_t> only_rows = {}) {
  require_valid(p);
  const attention_shape& s = p.shape;
  detail::require_size("q", q.size(), s.heads, s.query_tokens, s.head_dim);
  detail::require_size("k", k.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_size("v", v.size(), s.kv_heads, s.key_tokens, s.head_dim);
  require_tables(t, s.key_tokens);
  detail::require_memory(p, reference_memory(p, with_tables));

  const auto D = static_cast<std::size_t>(s.head_dim);
  const auto Nk = static_cast<std::size_t>(s.key_tokens);
  const std::vector<double> inv_freq = detail::inverse_frequencies(p);
  const auto at = [&](std::int64_t head, std::int64_t token, std::int64_t tokens) {
    return (static_cast<std::size_t>(head) * static_cast<std::size_t>(tokens) + static_cast<std::size_t>(token)) * D;
  };

  // Every key rotated once per branch: at j (neighbor) and at gk(j) (group).
  std::vector<double> key_neighbor(k.begin(), k.end());
  std::vector<double> key_group(k.begin(), k.end());
  for (std::int64_t h = 0; h < s.kv_heads; ++h)
    for (std::int64_t j = 0; j < s.key_tokens; ++j) {
      const auto row = at(h, j, s.key_tokens);
      rotate({key_neighbor.data() + row, D}, static_cast<double>(t.neighbor_key_position[static_cast<std::size_t>(j)]),
             inv_freq, p.rope.style, p.rope.attention_factor);
      rotate({key_group.data() + row, D}, static_cast<double>(t.group_key_position[static_cast<std::size_t>(j)]),
             inv_freq, p.rope.style, p.rope.attention_factor);
    }

  const std::int64_t row_count = only_rows.empty() ? s.query_tokens : static_cast<std::int64_t>(only_rows.size());
  partial_attention result;
  result.out.assign(static_cast<std::size_t>(s.heads * row_count) * D, 0.0);
  result.log_sum_exp.assign(static_cast<std::size_t>(s.heads * row_count), -std::numeric_limits<double>::infinity());
  const std::int64_t rows = s.heads * row_count;
  const std::int64_t workers = detail::worker_count(p.threads, rows);
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(workers));
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  const std::int64_t heads_per_kv = s.heads / s.kv_heads;
  const std::int64_t report_every = std::max<std::int64_t>(1, rows / 200);

  detail::parallel_for(rows, workers, [&](std::int64_t item, std::int64_t worker) {
    const std::int64_t h = item / row_count;
    const std::int64_t slot = item % row_count;  // the output row
    const std::int64_t r = only_rows.empty() ? slot : only_rows[static_cast<std::size_t>(slot)];
    const std::int64_t kv = h / heads_per_kv;
    const std::int64_t i = query_position(s, r);
    const auto ui = static_cast<std::size_t>(i);

    std::vector<double>& buffer = scratch[static_cast<std::size_t>(worker)];
    buffer.assign(2 * D + Nk, 0.0);
    const std::span<double> q_neighbor(buffer.data(), D);
    const std::span<double> q_group(buffer.data() + D, D);
    const std::span<double> scores(buffer.data() + 2 * D, Nk);
    const double scale = detail::log_scale(p.rope, i);  // log scaling happens before RoPE, in both branches
    for (std::size_t d = 0; d < D; ++d) q_neighbor[d] = q_group[d] = q[at(h, r, s.query_tokens) + d] * scale;
    rotate(q_neighbor, static_cast<double>(t.neighbor_query_position[ui]), inv_freq, p.rope.style, p.rope.attention_factor);
    rotate(q_group, t.group_query_position[ui], inv_freq, p.rope.style, p.rope.attention_factor);

    // Scores of the keys this filter keeps (causal: j <= i); -inf marks the others.
    double max_score = -std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j <= i; ++j) {
      const auto uj = static_cast<std::size_t>(j);
      const bool neighbor = t.neighbor_query_position[ui] - t.neighbor_key_position[uj] < p.extension.window;
      if ((filter == key_filter::neighbor_only && !neighbor) || (filter == key_filter::group_only && neighbor)) {
        scores[uj] = -std::numeric_limits<double>::infinity();
        continue;
      }
      const double* key = (neighbor ? key_neighbor.data() : key_group.data()) + at(kv, j, s.key_tokens);
      const std::span<const double> query = neighbor ? q_neighbor : q_group;
      double dot = 0;
      for (std::size_t d = 0; d < D; ++d) dot += query[d] * key[d];
      scores[uj] = dot * inv_sqrt_d;
      max_score = std::max(max_score, scores[uj]);
    }
    if (max_score == -std::numeric_limits<double>::infinity()) return;  // no key in this branch

    result.log_sum_exp[static_cast<std::size_t>(item)] = softmax_values(
        scores, i, max_score, v.data() + at(kv, 0, s.key_tokens), D, result.out.data() + at(h, slot, row_count));
    if (worker == 0 && progress && item % report_every == 0)
      progress(static_cast<double>(item) / static_cast<double>(rows));
  });
  if (progress) progress(1.0);
  return result;
}

/// The formula's tables (docs/concepts.md#the-map) for tokens 0..key_tokens-1, computed by position_map.
struct formula_tables {
  std::vector<std::int64_t> identity;
  std::vector<double> group_query;
  std::vector<std::int64_t> group_key;
  explicit formula_tables(const attention_params& p) {
    require_valid(p);
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(0, p.shape.key_tokens));
    identity.resize(n);
    group_query.resize(n);
    group_key.resize(n);
    for (std::size_t j = 0; j < n; ++j) {
      const auto position = static_cast<std::int64_t>(j);
      identity[j] = position;
      group_query[j] = group_query_position_real(position, p.extension);
      group_key[j] = group_key_position(position, p.extension);
    }
  }
  [[nodiscard]] token_positions view() const { return {identity, identity, group_query, group_key}; }
};

}  // namespace

std::int64_t attention_working_memory(const attention_params& params, attention_kernel kernel) {
  require_valid(params);
  switch (kernel) {
    case attention_kernel::tiled: return detail::tiled_working_memory(params);
    case attention_kernel::blocked: return detail::blocked_working_memory(params);
    case attention_kernel::reference: break;
  }
  return reference_memory(params, true);
}

void require_working_memory(const attention_params& params, attention_kernel kernel) {
  detail::require_memory(params, attention_working_memory(params, kernel));
}

std::int64_t attention_working_memory(const attention_params& params, const method_params& method,
                                     attention_kernel kernel) {
  require_valid(params);
  detail::throw_if_any(validate(method));
  if (method.kind == method_kind::self_extend) {
    attention_params with_plan = params;
    with_plan.extension = method.self_extend;
    return attention_working_memory(with_plan, kernel);
  }
  switch (kernel) {
    case attention_kernel::tiled: return detail::tiled_method_working_memory(params, method);
    case attention_kernel::blocked:
      throw invalid_params("kernel", "blocked",
                           "implements Self-Extend only; method " + std::string(to_string(method.kind)) +
                               " runs on the tiled or the reference kernel");
    case attention_kernel::reference: break;
  }
  return reference_memory(params, false);
}

void require_working_memory(const attention_params& params, const method_params& method, attention_kernel kernel) {
  detail::require_memory(params, attention_working_memory(params, method, kernel));
}

std::vector<double> reference_attention(const attention_params& params, std::span<const double> q,
                                        std::span<const double> k, std::span<const double> v,
                                        const progress_callback& progress) {
  require_valid(params);
  detail::require_memory(params, reference_memory(params, true));  // before building the tables
  const formula_tables tables(params);
  return two_branch_attention(params, tables.view(), q, k, v, key_filter::both, progress, true).out;
}

std::vector<double> table_attention(const attention_params& params, const token_positions& tables,
                                    std::span<const double> q, std::span<const double> k, std::span<const double> v) {
  return two_branch_attention(params, tables, q, k, v, key_filter::both, {}, false).out;
}

std::vector<double> table_attention(const attention_params& params, const position_tables& tables,
                                    std::span<const double> q, std::span<const double> k, std::span<const double> v) {
  if (tables.extension != params.extension)
    throw invalid_params("tables", "G = " + std::to_string(tables.extension.group) + ", W = " +
                                       std::to_string(tables.extension.window) + ", " +
                                       std::string(to_string(tables.extension.shift)) + " shift",
                         "must be built for the kernel's plan (G = " + std::to_string(params.extension.group) +
                             ", W = " + std::to_string(params.extension.window) + ", " +
                             std::string(to_string(params.extension.shift)) + " shift)");
  // The exported integer gq(t) is the rotation under the int shift; the float shift's real one
  // is exported beside it.
  std::vector<double> group_query(tables.group_query_position.begin(), tables.group_query_position.end());
  if (tables.extension.shift == shift_rule::fractional) group_query = tables.group_query_position_real;
  const token_positions view{tables.neighbor_query_position, tables.neighbor_key_position, group_query,
                             tables.group_key_position};
  return table_attention(params, view, q, k, v);
}

std::vector<double> reference_method_attention(const attention_params& params, const method_params& method,
                                               std::span<const double> q, std::span<const double> k,
                                               std::span<const double> v) {
  require_valid(params);
  detail::throw_if_any(validate(method));
  const attention_shape& s = params.shape;
  detail::require_size("q", q.size(), s.heads, s.query_tokens, s.head_dim);
  detail::require_size("k", k.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_size("v", v.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_memory(params, reference_memory(params, false));

  const auto D = static_cast<std::size_t>(s.head_dim);
  const auto Nk = static_cast<std::size_t>(s.key_tokens);
  const std::vector<double> inv_freq = detail::inverse_frequencies(params);
  const auto at = [&](std::int64_t head, std::int64_t token, std::int64_t tokens) {
    return (static_cast<std::size_t>(head) * static_cast<std::size_t>(tokens) + static_cast<std::size_t>(token)) * D;
  };
  // RoPE scores depend on the relative position only: rope(q, p)·rope(k, p - d) = rope(q, d)·rope(k, 0).
  // Keys are rotated at 0 (which applies the attention factor) and each query at the method's d.
  std::vector<double> key_at_zero(k.begin(), k.end());
  for (std::int64_t h = 0; h < s.kv_heads; ++h)
    for (std::int64_t j = 0; j < s.key_tokens; ++j)
      rotate({key_at_zero.data() + at(h, j, s.key_tokens), D}, 0.0, inv_freq, params.rope.style, params.rope.attention_factor);

  std::vector<double> out(static_cast<std::size_t>(s.heads * s.query_tokens) * D, 0.0);
  const std::int64_t rows = s.heads * s.query_tokens;
  const std::int64_t workers = detail::worker_count(params.threads, rows);
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(workers));
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  const std::int64_t heads_per_kv = s.heads / s.kv_heads;
  detail::parallel_for(rows, workers, [&](std::int64_t item, std::int64_t worker) {
    const std::int64_t h = item / s.query_tokens;
    const std::int64_t r = item % s.query_tokens;
    const std::int64_t kv = h / heads_per_kv;
    const std::int64_t i = query_position(s, r);
    std::vector<double>& buffer = scratch[static_cast<std::size_t>(worker)];
    buffer.assign(2 * D + Nk, 0.0);
    const std::span<double> scaled(buffer.data(), D);
    const std::span<double> rotated(buffer.data() + D, D);
    const std::span<double> scores(buffer.data() + 2 * D, Nk);
    const double scale = detail::log_scale(params.rope, i);
    for (std::size_t d = 0; d < D; ++d) scaled[d] = q[at(h, r, s.query_tokens) + d] * scale;
    double max_score = -std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j <= i; ++j) {
      const remapped_position where = detail::remap_valid(method, i, j);  // method checked above, 0 <= j <= i
      const auto uj = static_cast<std::size_t>(j);
      if (!where.attended) {
        scores[uj] = -std::numeric_limits<double>::infinity();
        continue;
      }
      std::copy(scaled.begin(), scaled.end(), rotated.begin());
      rotate(rotated, where.position, inv_freq, params.rope.style, params.rope.attention_factor);
      const double* key = key_at_zero.data() + at(kv, j, s.key_tokens);
      double dot = 0;
      for (std::size_t d = 0; d < D; ++d) dot += rotated[d] * key[d];
      scores[uj] = dot * inv_sqrt_d;
      max_score = std::max(max_score, scores[uj]);
    }
    (void)softmax_values(scores, i, max_score, v.data() + at(kv, 0, s.key_tokens), D, out.data() + at(h, r, s.query_tokens));
  });
  return out;
}

partial_attention reference_branch_attention(const attention_params& params, branch which, std::span<const double> q,
                                             std::span<const double> k, std::span<const double> v) {
  require_valid(params);
  detail::require_memory(params, reference_memory(params, true));
  const formula_tables tables(params);
  return two_branch_attention(params, tables.view(), q, k, v,
                              which == branch::neighbor ? key_filter::neighbor_only : key_filter::group_only, {},
                              true);
}

partial_attention merge_partial_attention(const partial_attention& a, const partial_attention& b) {
  const std::size_t rows = a.log_sum_exp.size();
  if (b.log_sum_exp.size() != rows || a.out.size() != b.out.size() || rows == 0 || a.out.size() % rows != 0)
    throw invalid_params("log_sum_exp", std::to_string(rows) + " and " + std::to_string(b.log_sum_exp.size()) + " rows",
                         "both partials must have the same sizes");
  const std::size_t dim = a.out.size() / rows;
  partial_attention merged{std::vector<double>(a.out.size(), 0.0), std::vector<double>(rows)};
  for (std::size_t row = 0; row < rows; ++row) {
    const double la = a.log_sum_exp[row];
    const double lb = b.log_sum_exp[row];
    const double top = std::max(la, lb);
    if (top == -std::numeric_limits<double>::infinity()) {
      merged.log_sum_exp[row] = top;
      continue;
    }
    // exp(-inf - top) is exactly 0, so an empty side drops out.
    const double wa = std::exp(la - top);
    const double wb = std::exp(lb - top);
    const double total = wa + wb;
    merged.log_sum_exp[row] = top + std::log(total);
    for (std::size_t d = 0; d < dim; ++d)
      merged.out[row * dim + d] = (wa * a.out[row * dim + d] + wb * b.out[row * dim + d]) / total;
  }
  return merged;
}

template <class T>
std::optional<tensor_index> find_non_finite(std::span<const T> data, std::int64_t tokens, std::int64_t dim) noexcept {
  for (std::size_t n = 0; n < data.size(); ++n) {
    if (std::isfinite(data[n])) continue;
    const auto index = static_cast<std::int64_t>(n);
    if (tokens < 1 || dim < 1) return tensor_index{0, 0, index};
    return tensor_index{index / (tokens * dim), index / dim % tokens, index % dim};
  }
  return std::nullopt;
}
template std::optional<tensor_index> find_non_finite(std::span<const float>, std::int64_t, std::int64_t) noexcept;
template std::optional<tensor_index> find_non_finite(std::span<const double>, std::int64_t, std::int64_t) noexcept;

namespace {
template <class T>
void require_finite_impl(std::string_view key, std::span<const T> data, std::int64_t tokens, std::int64_t dim) {
  const std::optional<tensor_index> at = find_non_finite(data, tokens, dim);
  if (!at) return;
  const T value = data[static_cast<std::size_t>((at->head * tokens + at->token) * dim + at->dim)];
  const std::string text = std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  throw invalid_params(std::string(key),
                       text + " at [head " + std::to_string(at->head) + ", token " + std::to_string(at->token) +
                           ", dim " + std::to_string(at->dim) + "]",
                       "must be finite");
}
}  // namespace

void require_finite(std::string_view key, std::span<const float> data, std::int64_t tokens, std::int64_t dim) {
  require_finite_impl(key, data, tokens, dim);
}
void require_finite(std::string_view key, std::span<const double> data, std::int64_t tokens, std::int64_t dim) {
  require_finite_impl(key, data, tokens, dim);
}

std::vector<float> to_float32(std::string_view key, std::span<const double> data, std::size_t first_index) {
  std::vector<float> out(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double x = data[i];
    if (std::isfinite(x) && std::abs(x) > static_cast<double>(std::numeric_limits<float>::max()))
      throw invalid_params(std::string(key), real_text(x),
                           "(element " + std::to_string(first_index + i) +
                               ") is beyond float32's range (|x| <= 3.4e38), in which this kernel computes; use "
                               "`kernel` reference");
    out[i] = static_cast<float>(x);
  }
  return out;
}

verification compare_outputs(std::span<const double> reference, std::span<const double> candidate,
                             std::int64_t tokens, std::int64_t dim, const tolerance& tol) {
  if (!std::isfinite(tol.atol) || tol.atol < 0)
    throw invalid_params("atol", real_text(tol.atol), "must be a finite number >= 0");
  if (!std::isfinite(tol.rtol) || tol.rtol < 0)
    throw invalid_params("rtol", real_text(tol.rtol), "must be a finite number >= 0");
  if (candidate.size() != reference.size())
    throw invalid_params("candidate", std::to_string(candidate.size()) + " elements",
                         "must hold as many elements as the reference output (" + std::to_string(reference.size()) +
                             ")");
  verification result;
  result.elements = static_cast<std::int64_t>(reference.size());
  double worst_ratio = -1;
  std::size_t worst_at = 0;
  double error_squares = 0;
  double reference_squares = 0;
  for (std::size_t n = 0; n < reference.size(); ++n) {
    const double r = reference[n];
    const double c = candidate[n];
    // A NaN candidate is infinitely wrong, not silently "not greater".
    const double error = std::isnan(c) ? std::numeric_limits<double>::infinity() : std::abs(c - r);
    const double allowed = tol.atol + tol.rtol * std::abs(r);
    result.max_abs_error = std::max(result.max_abs_error, error);
    if (r != 0) result.max_rel_error = std::max(result.max_rel_error, error / std::abs(r));
    error_squares += error * error;
    reference_squares += r * r;
    if (!(error <= allowed)) ++result.mismatches;
    const double ratio = allowed > 0 ? error / allowed : (error > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst_at = n;
    }
  }
  result.nmse = reference_squares > 0 ? error_squares / reference_squares : (error_squares > 0 ? error_squares : 0.0);
  if (!reference.empty()) {
    const auto n = static_cast<std::int64_t>(worst_at);
    result.worst = tokens > 0 && dim > 0 ? tensor_index{n / (tokens * dim), n / dim % tokens, n % dim}
                                         : tensor_index{0, 0, n};
    result.worst_candidate = candidate[worst_at];
    result.worst_reference = reference[worst_at];
  }
  result.passed = result.mismatches == 0;
  return result;
}

namespace {
/// What both verifications check before the expensive run: params, the candidate's size, the tolerance.
void require_verifiable(const attention_params& params, std::span<const double> candidate, const tolerance& tol) {
  require_valid(params);
  const attention_shape& s = params.shape;
  if (static_cast<detail::wide_int>(candidate.size()) != detail::checked_product({s.heads, s.query_tokens, s.head_dim}))
    throw invalid_params("candidate", std::to_string(candidate.size()) + " elements",
                         "must have q's shape " + shape_text(s.heads, s.query_tokens, s.head_dim));
  (void)compare_outputs({}, {}, s.query_tokens, s.head_dim, tol);
}

/// The kernels verify may compute the expected output with: the double-precision ones.
void require_oracle(attention_kernel oracle) {
  if (oracle == attention_kernel::tiled)
    throw invalid_params("oracle", "tiled", "must be blocked or reference (a double-precision kernel)");
}
}  // namespace

verification verify_attention(const attention_params& params, std::span<const double> q, std::span<const double> k,
                              std::span<const double> v, std::span<const double> candidate, const tolerance& tol,
                              const progress_callback& progress, attention_kernel oracle) {
  require_oracle(oracle);
  require_verifiable(params, candidate, tol);
  const attention_shape& s = params.shape;
  const std::vector<double> expected = oracle == attention_kernel::blocked
                                           ? blocked_attention(params, q, k, v, progress)
                                           : reference_attention(params, q, k, v, progress);
  return compare_outputs(expected, candidate, s.query_tokens, s.head_dim, tol);
}

verification verify_method_attention(const attention_params& params, const method_params& method,
                                     std::span<const double> q, std::span<const double> k, std::span<const double> v,
                                     std::span<const double> candidate, const tolerance& tol,
                                     const progress_callback& progress, attention_kernel oracle) {
  if (method.kind == method_kind::self_extend) {
    require_valid_method(method);
    attention_params with_plan = params;
    with_plan.extension = method.self_extend;
    return verify_attention(with_plan, q, k, v, candidate, tol, progress, oracle);
  }
  require_oracle(oracle);
  if (oracle == attention_kernel::blocked)
    throw invalid_params("oracle", "blocked",
                         "implements Self-Extend only; method " + std::string(to_string(method.kind)) +
                             " is checked against the reference kernel");
  require_verifiable(params, candidate, tol);
  const std::vector<double> expected = reference_method_attention(params, method, q, k, v);
  if (progress) progress(1.0);
  return compare_outputs(expected, candidate, params.shape.query_tokens, params.shape.head_dim, tol);
}

row_sample sample_query_rows(const attention_params& params, std::int64_t count, std::uint64_t seed) {
  require_valid(params);
  if (count < 1) throw invalid_params("rows", std::to_string(count), "must be at least 1");
  const attention_shape& s = params.shape;
  const std::int64_t first = s.key_tokens - s.query_tokens;  // position of row 0
  std::set<std::int64_t> boundary;
  auto add_position = [&](std::int64_t i) {
    if (i >= first && i < s.key_tokens) boundary.insert(i - first);
  };
  add_position(first);
  add_position(s.key_tokens - 1);
  const std::int64_t window = params.extension.window, group = params.extension.group;
  for (std::int64_t m = 1; m <= 64 && m * window < s.key_tokens + 1; ++m) {
    const std::int64_t w = m * window;
    for (const std::int64_t i : {w - 1, w, w + 1}) add_position(i);
    const std::int64_t g = (w + group - 1) / group * group;  // the first G boundary at or after mW
    add_position(g - 1);
    add_position(g);
  }
  row_sample sample;
  sample.boundary_rows = static_cast<std::int64_t>(boundary.size());
  std::set<std::int64_t> chosen = boundary;
  if (count >= s.query_tokens) {
    for (std::int64_t r = 0; r < s.query_tokens; ++r) chosen.insert(r);
  } else {
    // Rows drawn until enough distinct ones are chosen (count < Nq): seeded, no O(Nq) memory.
    std::mt19937_64 rng(seed);
    while (static_cast<std::int64_t>(chosen.size()) < count)
      chosen.insert(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(s.query_tokens)));
  }
  sample.rows.assign(chosen.begin(), chosen.end());
  return sample;
}

void detail::require_query_rows(const attention_params& params, std::span<const std::int64_t> rows) {
  if (rows.empty()) throw invalid_params("rows", "0 rows", "must name at least one query row");
  for (const std::int64_t r : rows)
    if (r < 0 || r >= params.shape.query_tokens)
      throw invalid_params("rows", std::to_string(r),
                           "must be a query row in [0, " + std::to_string(params.shape.query_tokens) + ")");
}

std::vector<double> reference_attention_rows(const attention_params& params, std::span<const double> q,
                                             std::span<const double> k, std::span<const double> v,
                                             std::span<const std::int64_t> rows, const progress_callback& progress) {
  require_valid(params);
  detail::require_query_rows(params, rows);
  detail::require_memory(params, reference_memory(params, true));
  const formula_tables tables(params);
  return two_branch_attention(params, tables.view(), q, k, v, key_filter::both, progress, true, rows).out;
}

verification verify_attention_rows(const attention_params& params, std::span<const double> q,
                                   std::span<const double> k, std::span<const double> v,
                                   std::span<const double> candidate, const tolerance& tol,
                                   std::span<const std::int64_t> rows, const progress_callback& progress,
                                   attention_kernel oracle) {
  require_oracle(oracle);
  require_verifiable(params, candidate, tol);
  const attention_shape& s = params.shape;
  detail::require_query_rows(params, rows);
  const std::vector<double> expected = oracle == attention_kernel::blocked
                                           ? blocked_attention_rows(params, q, k, v, rows, progress)
                                           : reference_attention_rows(params, q, k, v, rows, progress);
  const auto n = static_cast<std::int64_t>(rows.size());
  const auto D = static_cast<std::size_t>(s.head_dim);
  std::vector<double> picked;
  picked.reserve(expected.size());
  for (std::int64_t h = 0; h < s.heads; ++h)
    for (const std::int64_t r : rows) {
      const auto begin = candidate.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(h * s.query_tokens + r)) * D);
      picked.insert(picked.end(), begin, begin + static_cast<std::ptrdiff_t>(D));
    }
  verification result = compare_outputs(expected, picked, n, s.head_dim, tol);
  result.worst.token = rows[static_cast<std::size_t>(result.worst.token)];
  return result;
}

}  // namespace selfextend
