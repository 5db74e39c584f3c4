// llamacpp.cpp - llama.cpp's group-attention schedule in closed form, its comparison with the
// exact map, and the flag advisor (docs/runtimes.md, "llama.cpp").
//
// Notation: G = ga_n, W = ga_w (passkey: W = n_batch), B = W/G, D = W - B, K = groupings done.
// Each grouping of llama.cpp's loop restores the ungrouped tail, divides the cells of the next
// W-block by G and moves the rest down; after K of them cell j < K*W sits at floor(j/G) and
// cell j >= K*W at j - K*D. The tests replay the operations cell by cell to check this.
#include <selfextend/llamacpp.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

#include <selfextend/params.hpp>
#include <selfextend/position_map.hpp>

#include "advisor_core.hpp"
#include "attention_internal.hpp"
#include "checked_math.hpp"
#include "size_limit.hpp"
#include "text.hpp"

namespace selfextend {

namespace {

using detail::wide_int;

using detail::fixed;
using detail::num;

void require_valid(const llamacpp_schedule& s) {
  detail::throw_if_any(validate(s));
}

/// Position of cell j after K groupings.
std::int64_t cell_position(std::int64_t j, std::int64_t k, std::int64_t group, std::int64_t window) {
  const std::int64_t shrink = window - window / group;
  return j < k * window ? j / group : j - k * shrink;
}

/// Largest query position when tokens 0..n-1 are each decoded alone by main's loop:
/// token t = K*W + r sits at K*B + r, so the maximum is the last token or the end of the block before it.
std::int64_t single_token_max(std::int64_t n, std::int64_t group, std::int64_t window) {
  const std::int64_t per_block = window / group;
  const std::int64_t k = (n - 1) / window;
  const std::int64_t r = (n - 1) % window;
  std::int64_t best = k * per_block + r;
  if (k >= 1) best = std::max(best, (k - 1) * per_block + window - 1);
  return best;
}

/// Largest query position of a main-mode prompt of n tokens in chunks of `batch` (the last token of
/// each chunk is its largest). O(n / batch).
std::int64_t chunked_prompt_max(std::int64_t n, std::int64_t batch, std::int64_t group, std::int64_t window) {
  const std::int64_t shrink = window - window / group;
  std::int64_t best = 0;
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t last = std::min(start + batch, n) - 1;
    best = std::max(best, last - (start / window) * shrink);
  }
  return best;
}

// Closed-form sums over keys for the comparison. h(j) = j - floor(j/G) is non-decreasing with
// steps of 0 or 1, which makes every region's difference monotone in j.
struct key_sums {
  std::int64_t group;
  /// sum_{j < n} floor(j / G)
  [[nodiscard]] wide_int floor_sum(std::int64_t n) const {
    const wide_int m = n / group;
    const wide_int r = n % group;
    return wide_int{group} * m * (m - 1) / 2 + r * m;
  }
  [[nodiscard]] std::int64_t h(std::int64_t j) const { return j - j / group; }
  /// sum_{a <= j < b} h(j)
  [[nodiscard]] wide_int h_sum(std::int64_t a, std::int64_t b) const {
    const wide_int plain = (wide_int{a} + b - 1) * (b - a) / 2;
    return plain - (floor_sum(b) - floor_sum(a));
  }
  /// Smallest j >= 0 with h(j) >= v (a huge value when none exists).
  [[nodiscard]] wide_int first_at_least(wide_int v) const {
    if (v <= 0) return 0;
    if (group == 1) return wide_int{detail::int64_max} * 4;  // h == 0 everywhere
    // h(j) = ceil(j (G-1) / G) >= v  <=>  j (G-1) > (v-1) G
    return (v - 1) * group / (group - 1) + 1;
  }
  /// #{a <= j < b : h(j) == v}
  [[nodiscard]] wide_int count_equal(std::int64_t a, std::int64_t b, wide_int v) const {
    const wide_int lo = std::max<wide_int>(a, first_at_least(v));
    const wide_int hi = std::min<wide_int>(b, first_at_least(v + 1));
    return hi > lo ? hi - lo : 0;
  }
};

/// sum_{x < n} x = n(n-1)/2 for n >= 0, halving the even factor first.
wide_int sum_below(std::int64_t n) {
  return n % 2 == 0 ? wide_int{n / 2} * (n - 1) : wide_int{n} * ((n - 1) / 2);
}

/// sum_{x < n} x^2 = (n-1) n (2n-1) / 6 for n >= 0, dividing the factors by 2 and 3 first.
wide_int sum_squares_below(std::int64_t n) {
  std::int64_t a = n - 1, b = n, c = 2 * n - 1;
  if (b % 2 == 0) b /= 2; else a /= 2;
  if (n % 3 == 1) a /= 3; else if (n % 3 == 0) b /= 3; else c /= 3;
  return wide_int{a} * b * c;
}

// Prefix sums over key or query offsets x in [0, n) of h(x) = x - floor(x/G) and its relatives,
// each O(1). Relative to a block boundary b = K*W (a multiple of G, since G divides W),
// h(b + x) = K*D + h(x), so every difference of a run of queries with the same K is one of these.
struct offset_sums {
  std::int64_t group;
  [[nodiscard]] std::int64_t h(std::int64_t x) const { return x - x / group; }
  /// sum floor(x/G)
  [[nodiscard]] wide_int floors(std::int64_t n) const {
    const std::int64_t q = n / group, r = n % group;
    return wide_int{group} * sum_below(q) + wide_int{r} * q;
  }
  /// sum x * floor(x/G): whole blocks of G keys share floor(x/G), then the partial block.
  [[nodiscard]] wide_int x_floors(std::int64_t n) const {
    const std::int64_t q = n / group, r = n % group;
    const wide_int whole = wide_int{group} * group * sum_squares_below(q) + sum_below(group) * sum_below(q);
    return whole + wide_int{q} * (wide_int{r} * q * group + sum_below(r));
  }
  /// Hs(n) = sum h(x)
  [[nodiscard]] wide_int h_sum(std::int64_t n) const { return sum_below(n) - floors(n); }
  /// sum x * h(x)
  [[nodiscard]] wide_int x_h_sum(std::int64_t n) const { return sum_squares_below(n) - x_floors(n); }
  /// sum Hs(x) = sum_{t < n} h(t) (n - 1 - t)
  [[nodiscard]] wide_int h_sum_sum(std::int64_t n) const { return wide_int{n - 1} * h_sum(n) - x_h_sum(n); }
  /// #{1 <= x < n : G divides x}: the offsets where h repeats the previous value.
  [[nodiscard]] std::int64_t repeats(std::int64_t n) const { return n >= 1 ? (n - 1) / group : 0; }
};

/// The comparison's integer sums over some queries. The three *_per_boundary fields are the
/// coefficients of b = K*W in the difference sums, so that a run shifted by whole periods (K grown
/// by the same amount) is added without being visited.
struct comparison_sums {
  wide_int differing = 0, abs_sum = 0, signed_sum = 0;
  wide_int differing_per_boundary = 0, abs_per_boundary = 0, signed_per_boundary = 0;
  wide_int llama_neighbors = 0, exact_neighbors = 0;
  std::int64_t queries_alone = 0;
  std::int64_t max_diff = 0;
  std::int64_t max_position = 0;
};

/// Sums every query of a schedule, run by run (queries sharing K), in closed form.
class run_summer {
 public:
  explicit run_summer(const llamacpp_schedule& s)
      : group_(s.ga_n), window_(effective_window(s)), keys_{s.ga_n} {}

  /// Queries [start, end), all decoded after k groupings (k * W <= start).
  void add_run(comparison_sums& out, std::int64_t k, std::int64_t start, std::int64_t end) const {
    const std::int64_t w = window_;
    const std::int64_t boundary = k * w;
    const std::int64_t r0 = start - boundary, r1 = end - boundary;  // offsets of the queries past the boundary
    // The last query is the run's largest position: boundary + r1 - 1 - k*D = k*B + r1 - 1.
    out.max_position = std::max(out.max_position, k * (w / group_) + r1 - 1);
    out.llama_neighbors += sum_below(r1 + 1) - sum_below(r0 + 1);  // i - boundary + 1
    const std::int64_t ramp_end = std::clamp(w, start, end);       // min(i + 1, W) = i + 1 below W
    out.exact_neighbors += sum_below(ramp_end + 1) - sum_below(start + 1) + wide_int{w} * (end - ramp_end);
    if (r0 == 0 && start >= 1) ++out.queries_alone;
    if (group_ == 1) return;  // nothing is grouped: every difference is 0

    // Queries past the true-distance block (r >= W, y = r - W): in the exact map keys
    // boundary + x, x <= y, are grouped (region C: h(y) - h(x)); keys below the boundary are grouped
    // in both, by -h(y) each (region E, only with k >= 1).
    if (r1 > w) {
      const std::int64_t y0 = std::max(r0, w) - w, y1 = r1 - w;
      const wide_int region_c = keys_.x_h_sum(y1) - keys_.x_h_sum(y0) + keys_.h_sum(y1) - keys_.h_sum(y0) -
                                (keys_.h_sum_sum(y1 + 1) - keys_.h_sum_sum(y0 + 1));
      out.abs_sum += region_c;
      out.signed_sum -= region_c;
      // Keys x with h(x) == h(y): x = y, and y - 1 when G divides y.
      out.differing += sum_below(y1) - sum_below(y0) - (keys_.repeats(y1) - keys_.repeats(y0));
      out.max_diff = std::max(out.max_diff, keys_.h(y1 - 1));
      if (k >= 1) add_per_boundary(out, boundary, keys_.h_sum(y1) - keys_.h_sum(y0), -1,
                                   y1 - std::max<std::int64_t>(y0, 1));
    }
    // Queries inside it (r < W, M = W - 1 - r): the M keys just below the boundary are exact
    // neighbours grouped by llama.cpp (region B: h(m - 1), m = 1..M, summing to Hs(M)); the
    // boundary - M keys below them are grouped in both, by h(M) each (region E).
    if (k >= 1 && r0 < w) {
      const std::int64_t m0 = w - std::min(r1, w), m1 = w - r0;
      // sum Hs(M) + (boundary - M) h(M): region B and the part of region E not proportional to the boundary.
      const wide_int boundary_free =
          keys_.h_sum_sum(m1) - keys_.h_sum_sum(m0) - (keys_.x_h_sum(m1) - keys_.x_h_sum(m0));
      out.abs_sum += boundary_free;
      out.signed_sum += boundary_free;
      // Region B differs at every key but m = 1 (h(0) = 0), region E at every key when M >= 1.
      const std::int64_t nonzero = m1 - std::max<std::int64_t>(m0, 1);
      if (nonzero > 0) out.differing -= nonzero;
      add_per_boundary(out, boundary, keys_.h_sum(m1) - keys_.h_sum(m0), 1, nonzero);
      out.max_diff = std::max(out.max_diff, keys_.h(m1 - 1));
    }
  }

  /// Queries [start, end) decoded in chunks of `step` tokens from `start`: a chunk starting at x
  /// is decoded after x / W groupings. The run pattern repeats every lcm(step, W) tokens with K grown
  /// by lcm / W, so whole periods are added from one summed period.
  void add_chunked(comparison_sums& out, std::int64_t start, std::int64_t end, std::int64_t step) const {
    const auto next_run = [&](std::int64_t x) {
      // The first chunk start at or past the next block boundary (K + 1) * W.
      const wide_int past = wide_int{x / window_ + 1} * window_ - start;
      return static_cast<std::int64_t>(std::min<wide_int>(end, start + detail::ceil_div(past, step) * step));
    };
    std::int64_t x = start;
    const auto add_next = [&](comparison_sums& into) {
      const std::int64_t next = next_run(x);
      add_run(into, x / window_, x, next);
      x = next;
    };
    add_next(out);
    if (x >= end) return;
    // x now starts a run with a new K, so x + period does too.
    const wide_int period = wide_int{step / std::gcd(step, window_)} * window_;
    if (end - x > 2 * period) {
      const auto length = static_cast<std::int64_t>(period);
      comparison_sums one;
      const std::int64_t first = x;
      while (x < first + length) add_next(one);
      const std::int64_t periods = (end - first) / length;
      add_periods(out, one, periods, length);
      x = first + periods * length;
    }
    while (x < end) add_next(out);
  }

 private:
  /// Adds the boundary-proportional part of region E: `per_key` summed over its queries, `sign`
  /// +1 / -1, `differing_queries` queries whose E keys all differ.
  static void add_per_boundary(comparison_sums& out, std::int64_t boundary, wide_int per_key, int sign,
                               std::int64_t differing_queries) {
    out.abs_sum += wide_int{boundary} * per_key;
    out.abs_per_boundary += per_key;
    out.signed_sum += wide_int{boundary} * per_key * sign;
    out.signed_per_boundary += per_key * sign;
    if (differing_queries > 0) {
      out.differing += wide_int{boundary} * differing_queries;
      out.differing_per_boundary += differing_queries;
    }
  }

  /// Adds `one` repeated `periods` times, repetition p (0-based) shifted by p * length tokens:
  /// every boundary then grows by p * length.
  void add_periods(comparison_sums& out, const comparison_sums& one, std::int64_t periods, std::int64_t length) const {
    const wide_int shift_total = wide_int{length} * sum_below(periods);  // sum over p of p * length
    out.differing += one.differing * periods + one.differing_per_boundary * shift_total;
    out.abs_sum += one.abs_sum * periods + one.abs_per_boundary * shift_total;
    out.signed_sum += one.signed_sum * periods + one.signed_per_boundary * shift_total;
    out.differing_per_boundary += one.differing_per_boundary * periods;
    out.abs_per_boundary += one.abs_per_boundary * periods;
    out.signed_per_boundary += one.signed_per_boundary * periods;
    out.llama_neighbors += one.llama_neighbors * periods;
    out.exact_neighbors += one.exact_neighbors * periods;
    out.queries_alone += one.queries_alone * periods;
    out.max_diff = std::max(out.max_diff, one.max_diff);
    // Each repetition's positions are length / G higher (K grows by length / W, each adding W / G).
    out.max_position = std::max(out.max_position, one.max_position + (periods - 1) * (length / group_));
  }

  std::int64_t group_;
  std::int64_t window_;
  offset_sums keys_;
};

}  // namespace

std::string_view to_string(llamacpp_mode m) noexcept { return m == llamacpp_mode::main ? "main" : "passkey"; }

std::optional<llamacpp_mode> parse_llamacpp_mode(std::string_view text) noexcept {
  if (text == "main") return llamacpp_mode::main;
  if (text == "passkey") return llamacpp_mode::passkey;
  return std::nullopt;
}

std::int64_t effective_window(const llamacpp_schedule& s) noexcept {
  return s.mode == llamacpp_mode::main ? s.ga_w : s.batch;
}

std::vector<issue> validate(const llamacpp_schedule& s) {
  std::vector<issue> issues;
  if (s.tokens < 1) issues.push_back({"tokens", num(s.tokens), "must be at least 1"});
  if (s.generate < 0) issues.push_back({"generate", num(s.generate), "must be at least 0"});
  if (s.tokens >= 1 && s.generate >= 0 && s.tokens > llamacpp_max_tokens - s.generate)
    issues.push_back({"tokens", num(s.tokens),
                      "plus generate (" + num(s.generate) + ") must be at most " + num(llamacpp_max_tokens) +
                          " (llama.cpp counts cells in int32)"});
  if (s.batch < 1) issues.push_back({"batch", num(s.batch), "must be at least 1"});
  if (s.ga_n < 1) issues.push_back({"ga_n", num(s.ga_n), "must be at least 1 (llama.cpp asserts ga_n > 0)"});
  if (s.context && *s.context < 2) issues.push_back({"context", num(*s.context), "must be at least 2"});
  if (s.mode == llamacpp_mode::main) {
    if (s.ga_w < 1) {
      issues.push_back({"ga_w", num(s.ga_w), "must be at least 1"});
    } else if (s.ga_n > 1 && s.ga_w % s.ga_n != 0) {
      issues.push_back({"ga_w", num(s.ga_w),
                        "must be a multiple of ga_n (" + num(s.ga_n) + "); llama.cpp asserts ga_w % ga_n == 0"});
    } else if (s.context && *s.context >= 2 && s.ga_w >= *s.context) {
      // docs/concepts.md#valid-input: W < L wherever L is known. llama.cpp itself would run, but with W >= L no
      // grouping happens before positions leave the trained window.
      issues.push_back({"ga_w", num(s.ga_w), "must be smaller than context (" + num(*s.context) + ")"});
    }
  } else {
    if (s.batch >= 1 && s.ga_n > 1 && s.batch % s.ga_n != 0)
      issues.push_back({"batch", num(s.batch),
                        "must be a multiple of ga_n (" + num(s.ga_n) + ") in passkey mode; llama-passkey asserts "
                        "n_batch % n_grp == 0"});
    if (!s.context) {
      issues.push_back({"context", "(none)", "is required in passkey mode (llama-passkey sizes n_ctx from n_ctx_train)"});
    } else if (*s.context >= 2 && s.tokens >= 1 && s.batch >= 1 && s.ga_n >= 1) {
      // llama-passkey's first loop runs chunks starting below n_ctx - n_keep = n_ctx_train * n_grp.
      const wide_int limit = wide_int{*s.context} * s.ga_n;
      const wide_int last_start = wide_int{(s.tokens - 1) / s.batch} * s.batch;
      if (last_start >= limit)
        issues.push_back({"tokens", num(s.tokens),
                          "too long for passkey mode: its last chunk starts at " +
                              num(static_cast<std::int64_t>(last_start)) + ", not below context * ga_n = " +
                              std::to_string(static_cast<long long>(std::min<wide_int>(limit, detail::int64_max))) +
                              " (llama-passkey shifts the cache beyond that, which is not simulated)"});
    }
  }
  return issues;
}

namespace {

/// K when token t is decoded; the schedule is valid and 0 <= t < tokens + generate.
std::int64_t groupings_unchecked(const llamacpp_schedule& s, std::int64_t t) {
  if (s.ga_n == 1) return 0;  // neither program groups with G = 1
  if (s.mode == llamacpp_mode::main) {
    // The loop runs before each llama_decode, with every earlier cell in the cache:
    // it leaves K = floor(cells / W). A prompt chunk starts at a multiple of batch.
    const std::int64_t cells_before = t < s.tokens ? t / s.batch * s.batch : t;
    return cells_before / s.ga_w;
  }
  // llama-passkey groups the previous chunk before every prompt chunk but the first, and never
  // while generating.
  return t < s.tokens ? t / s.batch : (s.tokens - 1) / s.batch;
}

/// The comparison's sums over every query of the schedule, run by run.
comparison_sums sum_schedule(const llamacpp_schedule& s) {
  const run_summer runs(s);
  const std::int64_t n = s.tokens + s.generate;
  comparison_sums out;
  if (s.ga_n == 1) {  // neither program groups with G = 1
    runs.add_run(out, 0, 0, n);
    return out;
  }
  // Prompt chunks start at multiples of batch; passkey's window is the batch, so its chunk c is
  // decoded after c groupings, as main's chunk rule gives.
  runs.add_chunked(out, 0, s.tokens, s.batch);
  if (s.generate == 0) return out;
  if (s.mode == llamacpp_mode::main)
    runs.add_chunked(out, s.tokens, n, 1);  // one token per llama_decode
  else
    runs.add_run(out, groupings_unchecked(s, s.tokens - 1), s.tokens, n);  // passkey never groups them
  return out;
}

}  // namespace

std::int64_t llamacpp_groupings_at(const llamacpp_schedule& s, std::int64_t t) {
  require_valid(s);
  const std::int64_t n = s.tokens + s.generate;
  if (t < 0 || t >= n)
    throw invalid_params("query", num(t), "must be in [0, " + num(n) + ") (tokens + generate)");
  return groupings_unchecked(s, t);
}

std::int64_t llamacpp_report_bytes(const llamacpp_schedule& s, std::span<const std::int64_t> rows, bool per_token) {
  const std::int64_t n = s.tokens + s.generate;
  wide_int bytes = per_token ? wide_int{n} * 4 * 8 : 0;
  for (const std::int64_t row : rows) bytes += (wide_int{std::max<std::int64_t>(row, 0)} + 1) * 2 * 8;
  return detail::saturate(bytes);
}

namespace {

/// Refuses, before anything is allocated, arrays and rows above the limit (the summary itself
/// needs O(1) memory whatever N is).
void require_report_size(const llamacpp_schedule& s, std::span<const std::int64_t> rows,
                         const llamacpp_report_options& options) {
  if (options.force) return;
  const std::int64_t row_bytes = llamacpp_report_bytes(s, rows, false);
  if (!rows.empty())
    detail::require_within_limit("rows", num(*std::max_element(rows.begin(), rows.end())),
                                 "the requested rows (2 x query + 1 int64 each)", row_bytes, max_llamacpp_report_bytes,
                                 false);
  if (options.per_token)
    detail::require_within_limit("tokens", num(s.tokens),
                                 "the per-token arrays (query_position, final_position, llamacpp_neighbors, "
                                 "exact_neighbors: 4 x " + num(s.tokens + s.generate) + " int64)" +
                                     (rows.empty() ? "" : " and the rows"),
                                 llamacpp_report_bytes(s, rows, true), max_llamacpp_report_bytes, false);
}

}  // namespace

llamacpp_positions simulate_llamacpp(const llamacpp_schedule& s, const llamacpp_report_options& options) {
  require_valid(s);
  require_report_size(s, {}, {.per_token = options.per_token, .force = options.force});
  const bool per_token = options.per_token;
  const std::int64_t n = s.tokens + s.generate;
  const std::int64_t window = effective_window(s);
  const std::int64_t shrink = window - window / s.ga_n;
  llamacpp_positions out;
  out.window = window;
  out.kv_cells = n;
  // (tokens - 1) / batch + 1 chunks: tokens + batch - 1 could pass INT64_MAX.
  out.decode_calls = (s.tokens - 1) / s.batch + 1 + s.generate;
  if (per_token) {
    out.query_position.reserve(static_cast<std::size_t>(n));
    out.final_position.reserve(static_cast<std::size_t>(n));
  }
  out.max_position = sum_schedule(s).max_position;
  out.groupings = groupings_unchecked(s, n - 1);
  if (per_token) {
    for (std::int64_t t = 0; t < n; ++t) out.query_position.push_back(t - groupings_unchecked(s, t) * shrink);
    for (std::int64_t j = 0; j < n; ++j) out.final_position.push_back(cell_position(j, out.groupings, s.ga_n, window));
  }
  return out;
}

std::vector<std::int64_t> llamacpp_relative_row(const llamacpp_schedule& s, std::int64_t query) {
  const std::int64_t k = llamacpp_groupings_at(s, query);  // validates
  const std::int64_t window = effective_window(s);
  const std::int64_t q = query - k * (window - window / s.ga_n);
  std::vector<std::int64_t> row(static_cast<std::size_t>(query + 1));
  for (std::int64_t j = 0; j <= query; ++j) row[static_cast<std::size_t>(j)] = q - cell_position(j, k, s.ga_n, window);
  return row;
}

std::int64_t llamacpp_relative_position(const llamacpp_schedule& s, std::int64_t query, std::int64_t key) {
  const std::int64_t k = llamacpp_groupings_at(s, query);  // validates the schedule and the query
  if (key < 0 || key > query) throw invalid_params("key", num(key), "must be in [0, " + num(query) + "] (the query)");
  const std::int64_t window = effective_window(s);
  return query - k * (window - window / s.ga_n) - cell_position(key, k, s.ga_n, window);
}

namespace {

/// The comparison from its integer sums: the means divide exact integers, so any exact way of
/// summing gives the same doubles.
llamacpp_comparison finish_comparison(const llamacpp_schedule& s, const comparison_sums& sums) {
  const std::int64_t n = s.tokens + s.generate;
  const std::int64_t window = effective_window(s);
  llamacpp_comparison c;
  c.kv_cells = n;
  c.total_pairs = detail::saturate(wide_int{n} * (wide_int{n} + 1) / 2);
  const double pairs = static_cast<double>(c.total_pairs);
  c.differing_pairs = detail::saturate(sums.differing);
  c.max_difference = sums.max_diff;
  c.mean_difference = static_cast<double>(sums.abs_sum) / pairs;
  c.mean_signed_difference = static_cast<double>(sums.signed_sum) / pairs;
  c.mean_llamacpp_neighbors = static_cast<double>(sums.llama_neighbors) / static_cast<double>(n);
  c.mean_exact_neighbors = static_cast<double>(sums.exact_neighbors) / static_cast<double>(n);
  c.queries_alone = sums.queries_alone;
  c.max_position = sums.max_position;
  c.single_token_max_position = single_token_max(n, s.ga_n, window);
  c.exact_max_position = selfextend::max_position(n, plan{s.ga_n, window, shift_rule::integer});
  c.context = s.context;
  if (s.context) c.fits = sums.max_position <= *s.context - 1;
  return c;
}

}  // namespace

llamacpp_comparison compare_llamacpp(const llamacpp_schedule& s, const llamacpp_report_options& options) {
  require_valid(s);
  require_report_size(s, {}, options);
  llamacpp_comparison c = finish_comparison(s, sum_schedule(s));
  if (options.per_token) {
    const std::int64_t n = s.tokens + s.generate;
    const std::int64_t window = effective_window(s);
    c.llamacpp_neighbors.reserve(static_cast<std::size_t>(n));
    c.exact_neighbors.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      c.llamacpp_neighbors.push_back(i - groupings_unchecked(s, i) * window + 1);
      c.exact_neighbors.push_back(std::min(i + 1, window));
    }
  }
  return c;
}

llamacpp_comparison compare_llamacpp_per_query(const llamacpp_schedule& s, const llamacpp_report_options& options) {
  require_valid(s);
  require_report_size(s, {}, options);
  const bool per_token = options.per_token;
  const std::int64_t n = s.tokens + s.generate;
  const std::int64_t group = s.ga_n;
  const std::int64_t window = effective_window(s);
  const std::int64_t shrink = window - window / group;
  const key_sums sums{group};

  std::vector<std::int64_t> llamacpp_neighbors, exact_neighbors;
  if (per_token) {
    llamacpp_neighbors.resize(static_cast<std::size_t>(n));
    exact_neighbors.resize(static_cast<std::size_t>(n));
  }
  // Each query's sums are closed forms over its keys, independent of the other queries: the
  // queries are split into chunks summed on every core, then merged (10^9 queries take ~40 s on one).
  struct partial_sums {
    wide_int differing = 0, abs_sum = 0, signed_sum = 0, max_diff = 0, llama_neighbors = 0, exact_neighbors = 0;
    std::int64_t max_position = 0, queries_alone = 0;
  };
  constexpr std::int64_t chunk = std::int64_t{1} << 20;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<partial_sums> parts(static_cast<std::size_t>(chunks));
  detail::parallel_for(chunks, detail::worker_count(0, chunks), [&](std::int64_t item, std::int64_t) {
    partial_sums p;  // local: neighbouring chunks' sums share cache lines
    const std::int64_t last = std::min(n, (item + 1) * chunk);
    for (std::int64_t i = item * chunk; i < last; ++i) {
      const std::int64_t k = groupings_unchecked(s, i);
      const std::int64_t boundary = k * window;      // keys >= boundary keep their true distance
      const std::int64_t q = i - k * shrink;
      const std::int64_t lo = std::max<std::int64_t>(0, i - window + 1);  // first exact-map neighbour
      p.max_position = std::max(p.max_position, q);
      if (per_token) {
        llamacpp_neighbors[static_cast<std::size_t>(i)] = i - boundary + 1;
        exact_neighbors[static_cast<std::size_t>(i)] = std::min(i + 1, window);
      }
      p.llama_neighbors += i - boundary + 1;
      p.exact_neighbors += std::min(i + 1, window);
      if (i >= 1 && i == boundary) ++p.queries_alone;

      // Region B: exact neighbour, grouped in llama.cpp. difference = K*D - h(j) >= 0, largest at j = lo.
      if (lo < boundary) {
        const wide_int count = boundary - lo;
        const wide_int sum = count * (wide_int{k} * shrink) - sums.h_sum(lo, boundary);
        p.abs_sum += sum;
        p.signed_sum += sum;
        p.differing += count - sums.count_equal(lo, boundary, wide_int{k} * shrink);
        p.max_diff = std::max<wide_int>(p.max_diff, wide_int{k} * shrink - sums.h(lo));
      }
      // Region C: grouped in the exact map, true distance in llama.cpp. difference = D - h(i) + h(j) <= 0,
      // largest magnitude at j = boundary.
      if (boundary < lo) {
        const wide_int count = lo - boundary;
        const wide_int magnitude = count * (wide_int{sums.h(i)} - shrink) - sums.h_sum(boundary, lo);
        p.abs_sum += magnitude;
        p.signed_sum -= magnitude;
        p.differing += count - sums.count_equal(boundary, lo, wide_int{sums.h(i)} - shrink);
        p.max_diff = std::max<wide_int>(p.max_diff, wide_int{sums.h(i)} - shrink - sums.h(boundary));
      }
      // Region E: grouped in both. difference = gq(i) - q = (K+1)*D - h(i), the same for every key.
      if (const std::int64_t count = std::min(boundary, lo); count > 0) {
        const wide_int diff = wide_int{k + 1} * shrink - sums.h(i);
        const wide_int magnitude = diff < 0 ? -diff : diff;
        p.abs_sum += magnitude * count;
        p.signed_sum += diff * count;
        if (diff != 0) p.differing += count;
        p.max_diff = std::max(p.max_diff, magnitude);
      }
    }
    parts[static_cast<std::size_t>(item)] = p;
  });
  comparison_sums total;
  wide_int max_diff = 0;
  for (const partial_sums& p : parts) {
    total.differing += p.differing;
    total.abs_sum += p.abs_sum;
    total.signed_sum += p.signed_sum;
    max_diff = std::max(max_diff, p.max_diff);
    total.llama_neighbors += p.llama_neighbors;
    total.exact_neighbors += p.exact_neighbors;
    total.max_position = std::max(total.max_position, p.max_position);
    total.queries_alone += p.queries_alone;
  }
  total.max_diff = detail::saturate(max_diff);
  llamacpp_comparison c = finish_comparison(s, total);
  c.llamacpp_neighbors = std::move(llamacpp_neighbors);
  c.exact_neighbors = std::move(exact_neighbors);
  return c;
}

llamacpp_report analyse_llamacpp(const llamacpp_schedule& s, std::span<const std::int64_t> rows,
                                 const llamacpp_report_options& options) {
  require_valid(s);
  const std::int64_t n = s.tokens + s.generate;
  for (const std::int64_t row : rows)
    if (row < 0 || row >= n)
      throw invalid_params("rows", num(row), "must be a query index in [0, " + num(n) + ") (tokens + generate)");
  require_report_size(s, rows, options);
  llamacpp_report r;
  r.positions = simulate_llamacpp(s, options);
  r.comparison = compare_llamacpp(s, options);
  const std::int64_t window = r.positions.window;
  const plan exact{s.ga_n, window, shift_rule::integer};
  for (const std::int64_t query : rows) {
    llamacpp_row row;
    row.query = query;
    row.llamacpp = llamacpp_relative_row(s, query);
    row.exact.reserve(static_cast<std::size_t>(query + 1));
    for (std::int64_t j = 0; j <= query; ++j) row.exact.push_back(map_pair(query, j, exact).position);
    r.rows.push_back(std::move(row));
  }

  const llamacpp_comparison& c = r.comparison;
  if (s.ga_n == 1) r.notes.push_back("ga_n = 1: no grouping; every position equals the token index");
  if (c.max_position > c.single_token_max_position) {
    const std::string why = s.mode == llamacpp_mode::main
                                ? ": a chunk is never grouped inside itself; a batch dividing the window avoids it"
                                : ": llama-passkey groups only between prompt chunks, never inside a chunk or while "
                                  "generating";
    r.notes.push_back("chunked prefill (batch " + num(s.batch) + ") reaches position " + num(c.max_position) + ", " +
                      num(c.max_position - c.single_token_max_position) + " above the " +
                      num(c.single_token_max_position) + " of token-by-token decoding" + why);
  }
  if (c.fits && !*c.fits)
    r.notes.push_back("position " + num(c.max_position) + " is beyond the pretrained window (L = " + num(*c.context) +
                      ")");
  if (c.queries_alone > 0)
    r.notes.push_back(num(c.queries_alone) + " queries (each right after a grouping) have no exact neighbour but "
                      "themselves; the exact map gives every query min(i+1, W)");
  if (s.mode == llamacpp_mode::passkey && s.generate > 0)
    r.notes.push_back("passkey mode never groups generated tokens: they continue from the last prompt chunk");
  r.notes.push_back("the KV cache keeps one cell per token: -c must be at least " + num(c.kv_cells));
  return r;
}

namespace {

std::int64_t round_up(std::int64_t value, std::int64_t step) { return (value + step - 1) / step * step; }

struct flag_candidate {
  std::int64_t group = 1;
  std::int64_t window = 1;
  std::int64_t bucket = 1;
  std::int64_t max_position = 0;
  int tier = 2;
  double distance = 0;
};

}  // namespace

std::vector<issue> validate(const llamacpp_advice_request& req) {
  // Four cells more than N: llama-cli refuses a prompt longer than n_ctx - 4.
  return detail::validate_search(detail::search_fields(req),
                                 {llamacpp_max_tokens - 4, "(llama.cpp counts cells in int32)", true});
}

llamacpp_advice advise_llamacpp(const llamacpp_advice_request& req) {
  detail::throw_if_any(validate(req));
  if (req.not_applicable) {
    llamacpp_advice a;
    a.applicable = false;
    a.not_applicable_reason = *req.not_applicable;
    a.extension_needed = false;
    a.arguments.clear();
    return a;
  }
  const std::int64_t L = req.context;
  const std::int64_t N = req.tokens;
  const detail::target_bound target(req.target, L);
  const std::string target_text = target.text();

  llamacpp_advice a;
  a.ctx_size = round_up(N + 4, 256);
  a.extension_needed = N > L;
  const std::string ctx_reason =
      "-c " + num(a.ctx_size) + ": the KV cache keeps one cell per token (grouping moves positions, it frees no "
      "cells), so it must hold all N = " + num(N) + " tokens, and llama-cli refuses a prompt longer than n_ctx - 4; "
      "a smaller cache stops decoding with \"failed to eval\"; rounded up to a multiple of 256";

  if (!a.extension_needed && !req.group) {
    a.ga_n = 1;
    a.ga_w = req.window.value_or(512);
    a.batch = llamacpp_default_batch;
    a.max_position = N - 1;
    a.default_batch_max_position = N - 1;
    a.fits = true;
    a.meets_target = target.keeps_below(a.max_position);
    a.arguments = {"-c", num(a.ctx_size)};
    a.reasons.push_back("N = " + num(N) + " <= L = " + num(L) +
                        ": the model reads it without extension; leave --grp-attn-n at its default 1");
    a.reasons.push_back("largest position " + num(a.max_position) + " <= L-1 = " + num(L - 1));
    a.reasons.push_back(ctx_reason);
    return a;
  }

  const std::vector<std::int64_t> buckets = req.window ? std::vector<std::int64_t>{*req.window} : detail::candidate_windows(L);
  const std::int64_t cap = detail::group_cap(detail::search_fields(req));
  // The plan G gives at one bucket (nullopt when G cannot be used there: W must be a multiple of G).
  const auto candidate_at = [&](std::int64_t bucket, std::int64_t g) -> std::optional<flag_candidate> {
    flag_candidate cand;
    cand.group = g;
    cand.bucket = bucket;
    if (req.window) {
      if (g > 1 && bucket % g != 0) return std::nullopt;
      cand.window = bucket;
    } else {
      cand.window = bucket - bucket % g;  // the multiple of G at or below the bucket
      if (cand.window < 1) return std::nullopt;
    }
    cand.max_position = single_token_max(N, g, cand.window);
    const bool fits = cand.max_position <= L - 1;
    cand.tier = !fits ? 2 : (target.keeps_below(cand.max_position) ? 0 : 1);
    cand.distance = detail::distance_from_quarter(bucket, L);
    return cand;
  };

  std::vector<flag_candidate> candidates;
  for (const std::int64_t bucket : buckets) {
    if (req.group) {
      if (const auto c = candidate_at(bucket, *req.group)) candidates.push_back(*c);
      continue;
    }
    // A G past the bucket leaves no window (W is a multiple of G below the bucket). Within a
    // bucket a larger G ranks below the first that meets the target, so the walk stops there.
    for (std::int64_t g = 2; g <= std::min(bucket, std::max<std::int64_t>(2, cap)); ++g) {
      const auto c = candidate_at(bucket, g);
      if (!c) continue;
      candidates.push_back(*c);
      if (c->tier == 0) break;
    }
  }
  const auto fits = [](const flag_candidate& c) { return c.tier < 2; };
  if (!req.group && std::none_of(candidates.begin(), candidates.end(), fits)) {
    // Past the cap, per bucket, the smallest G that fits and the smallest that meets the target.
    // The largest position is at least (N - 1)/G, so no G below ceil((N - 1)/(L - 1)) fits; the
    // walk stops at the bucket (G <= W).
    std::vector<flag_candidate> past;
    const std::int64_t lowest = std::max(cap + 1, (N - 1 + L - 2) / (L - 1));
    for (const std::int64_t bucket : buckets) {
      for (std::int64_t g = lowest; g <= bucket; ++g) {
        const auto c = candidate_at(bucket, g);
        if (!c || !fits(*c)) continue;
        if (c->tier == 0 || std::none_of(past.begin(), past.end(), [&](const flag_candidate& x) { return x.bucket == bucket; }))
          past.push_back(*c);
        if (c->tier == 0) break;
      }
    }
    if (!past.empty()) {
      if (req.max_group) {
        const auto smallest = *std::min_element(past.begin(), past.end(), [](const flag_candidate& x, const flag_candidate& y) {
          return std::tuple(x.group, x.distance) < std::tuple(y.group, y.distance);
        });
        throw detail::cap_too_small(*req.max_group, smallest.group, smallest.window, N, L);
      }
      a.past_max_group = true;
      candidates = std::move(past);
    }
  }
  // validate() guarantees a candidate: a fixed W some G divides, or L >= 4 (W = 2, G = 2).
  if (candidates.empty()) throw std::logic_error("advise_llamacpp: no candidate for a valid request");
  const auto key = [](const flag_candidate& c) {
    // Plans that do not fit are ranked by how far they overshoot, so the least bad one comes first.
    return std::tuple{c.tier, c.tier == 2 ? c.max_position : 0, c.distance, c.group, c.bucket - c.window};
  };
  const flag_candidate best =
      *std::min_element(candidates.begin(), candidates.end(),
                        [&](const flag_candidate& x, const flag_candidate& y) { return key(x) < key(y); });

  a.ga_n = best.group;
  a.ga_w = best.window;
  a.batch = best.window;
  a.max_position = best.max_position;
  a.default_batch_max_position = chunked_prompt_max(N, llamacpp_default_batch, best.group, best.window);
  a.fits = best.tier < 2;
  a.meets_target = best.tier == 0;
  a.arguments = {"-c", num(a.ctx_size), "-b", num(a.batch), "--grp-attn-n", num(a.ga_n), "--grp-attn-w", num(a.ga_w)};

  if (a.past_max_group) a.reasons.push_back(detail::past_cap_reason(a.ga_n, N, L));
  if (a.fits) {
    a.reasons.push_back("every position stays below L: the largest is " + num(a.max_position) + " <= L-1 = " +
                        num(L - 1) + " however the " + num(N) + " tokens split into prompt and generation");
  } else {
    a.reasons.push_back("does not fit: the largest position " + num(a.max_position) + " >= L = " + num(L) +
                        (req.group ? std::string(" with the --grp-attn-n given")
                                   : "; no G keeps every position below L (G <= W <= L/2 limits how far llama.cpp can group)"));
  }
  if (a.meets_target) {
    a.reasons.push_back("largest position " + num(a.max_position) + " < " + target_text + " = " +
                        fixed(target.value(), 1) + ": only the well-trained part of the window (the paper's empirical "
                        "bound, applied to llama.cpp's positions)");
  } else {
    a.reasons.push_back("largest position " + num(a.max_position) + " >= " + target_text + " = " +
                        fixed(target.value(), 1) + ": reaches less-trained positions of the window");
  }
  if (!req.group) {
    a.reasons.push_back("--grp-attn-n " + num(a.ga_n) + " is the smallest group " +
                        (a.meets_target ? "meeting " + target_text : std::string(a.fits ? "that fits" : "tried")) +
                        " with W near " + (req.window ? num(best.bucket) : detail::window_label(best.bucket, L)) +
                        "; a larger one only coarsens the far positions");
  }
  if (best.window != best.bucket) {
    a.reasons.push_back("--grp-attn-w " + num(a.ga_w) + " = " + num(a.ga_w / a.ga_n) + " * " + num(a.ga_n) +
                        ": the multiple of G nearest " + detail::window_label(best.bucket, L) + " = " + num(best.bucket) +
                        " from below (llama.cpp asserts ga_w % ga_n == 0)");
  } else {
    a.reasons.push_back("--grp-attn-w " + num(a.ga_w) + " = " + (req.window ? "the window asked for" : detail::window_label(best.bucket, L)) +
                        ", a multiple of G as llama.cpp asserts (ga_w % ga_n == 0)");
  }
  std::string batch_reason = "-b " + num(a.batch) + " (= W): every prompt chunk then lies inside one W-block, so " +
                             "prompt tokens get the positions token-by-token decoding gives";
  if (a.default_batch_max_position > a.max_position)
    batch_reason += "; the default -b 2048 would reach position " + num(a.default_batch_max_position) +
                    " (a chunk is never grouped inside itself)";
  a.reasons.push_back(batch_reason);
  a.reasons.push_back(ctx_reason);
  a.warnings.push_back("llama.cpp's positions are not the paper's map: exact neighbours are block-aligned and "
                       "grouped distances are smaller; `sxplan llamacpp` shows the difference for your schedule");
  return a;
}

}  // namespace selfextend
