// reuse.cpp - closed-form position reuse counts (DESIGN.md §2 "Reuse").
#include <selfextend/reuse.hpp>

#include <algorithm>
#include <string>

#include <selfextend/position_map.hpp>

#include "checked_math.hpp"
#include "size_limit.hpp"

namespace selfextend {

namespace {

using detail::wide_int;

/// The reuse counts of one plan in closed form: any position's count, and sums and used-position
/// counts over any range of positions, each in O(1), so the summary and a histogram of B bars
/// cost O(1) and O(B) whatever N is.
///
/// Neighbor pairs: position p < min(N, W) is used by the N - p queries i >= p (j = i - p).
/// Group pairs (int-shift positions; the float shift only lowers them by fractional_offset):
/// query i = aG + r at gq(i) = a + s (s = W - floor(W/G)) and key j at floor(j/G), so position p
/// takes the keys of block k = a - d, d = p - s, that are at most i - W: min(G, r + t) of them
/// (t = dG - W + 1, clipped at 0), for every query in a block a >= d. Summed over the blocks:
/// count(p) = (full blocks) * F(t, G) + F(t, R) (the last block has R queries). From
/// p_lin = s + ceil((W + G - 1) / G) on, t >= G and every query gives G: count(p) = G (N - dG),
/// linear down to P_max; only W and W + 1 can lie below p_lin, and no group position is below W.
class closed_counts {
 public:
  closed_counts(std::int64_t tokens, const plan& p)
      : N_(tokens), G_(p.group), W_(p.window), s_(p.window - p.window / p.group),
        neighbor_span_(std::min(tokens, p.window)), max_position_(max_position(tokens, p)) {
    linear_from_ = std::max<wide_int>(W_, wide_int{s_} + detail::ceil_div(wide_int{W_} + G_ - 1, G_));
  }

  [[nodiscard]] std::int64_t neighbor_at(std::int64_t p) const { return p >= 0 && p < neighbor_span_ ? N_ - p : 0; }

  [[nodiscard]] std::int64_t group_at(std::int64_t p) const {
    if (N_ <= W_ || p < W_ || p > max_position_) return 0;
    const wide_int d = wide_int{p} - s_;
    if (p >= linear_from_) return static_cast<std::int64_t>(wide_int{G_} * (N_ - d * G_));
    const wide_int last_block = (N_ - 1) / G_;
    if (d > last_block) return 0;
    const wide_int t = d * G_ - W_ + 1;
    const wide_int last_size = wide_int{N_} - last_block * G_;
    return static_cast<std::int64_t>((last_block - d) * clamped_sum(t, G_) + clamped_sum(t, last_size));
  }

  /// Sum of neighbor counts over positions [x, y].
  [[nodiscard]] wide_int neighbor_sum(std::int64_t x, std::int64_t y) const {
    const wide_int lo = std::max<std::int64_t>(x, 0), hi = std::min<std::int64_t>(y, neighbor_span_ - 1);
    if (lo > hi) return 0;
    return (hi - lo + 1) * wide_int{N_} - (lo + hi) * (hi - lo + 1) / 2;
  }

  /// Sum of group counts over positions [x, y].
  [[nodiscard]] wide_int group_sum(std::int64_t x, std::int64_t y) const {
    if (N_ <= W_) return 0;
    const wide_int lo = std::max<std::int64_t>(x, W_), hi = std::min<std::int64_t>(y, max_position_);
    wide_int total = 0;
    for (wide_int q = lo; q <= hi && q < linear_from_; ++q) total += group_at(static_cast<std::int64_t>(q));
    const wide_int a = std::max(lo, linear_from_);
    if (a <= hi) {  // sum of G (N - dG) for d = p - s, p in [a, hi]; N(N+1)/2 fits, so no step can wrap
      const wide_int n = hi - a + 1, d_lo = a - s_, d_hi = hi - s_;
      total += wide_int{G_} * (n * N_ - wide_int{G_} * ((d_lo + d_hi) * n / 2));
    }
    return total;
  }

  /// Positions in [x, y] used by at least one pair.
  [[nodiscard]] std::int64_t used_positions(std::int64_t x, std::int64_t y) const {
    const std::int64_t lo = std::max<std::int64_t>(x, 0), hi = std::min(y, max_position_);
    if (lo > hi) return 0;
    std::int64_t used = std::max<std::int64_t>(0, std::min(hi, neighbor_span_ - 1) - lo + 1);
    if (N_ <= W_) return used;
    const std::int64_t glo = std::max(lo, W_);
    for (std::int64_t q = glo; q <= hi && q < linear_from_; ++q) used += group_at(q) > 0 ? 1 : 0;
    const wide_int a = std::max<wide_int>(glo, linear_from_);
    if (a <= hi) used += static_cast<std::int64_t>(hi - a + 1);  // every linear-regime count is >= G
    return used;
  }

  /// The first position >= W with a group pair (none when N <= W).
  [[nodiscard]] std::optional<std::int64_t> first_group_position() const {
    if (N_ <= W_) return std::nullopt;
    for (std::int64_t q = W_; q <= max_position_; ++q)
      if (group_at(q) > 0) return q;
    return std::nullopt;
  }

 private:
  /// sum over r in [0, n) of clamp(r + t, 0, G).
  [[nodiscard]] wide_int clamped_sum(wide_int t, wide_int n) const {
    if (n <= 0) return 0;
    const wide_int r_lo = std::max<wide_int>(0, 1 - t);          // first r with r + t >= 1
    const wide_int r_hi = std::min<wide_int>(n - 1, G_ - 1 - t);  // last r with r + t <= G - 1
    wide_int total = 0;
    if (r_lo <= r_hi) total += (r_lo + r_hi + 2 * t) * (r_hi - r_lo + 1) / 2;
    const wide_int full_from = std::max<wide_int>(0, G_ - t);  // r + t >= G
    if (full_from <= n - 1) total += (n - full_from) * G_;
    return total;
  }

  std::int64_t N_, G_, W_, s_, neighbor_span_, max_position_;
  wide_int linear_from_;
};

}  // namespace

std::int64_t reuse_count_bytes(const reuse_stats& stats) {
  return detail::saturate((detail::wide_int{stats.max_position} + 1) * 3 * 8);
}

reuse_stats compute_reuse(const self_extend_params& params, const reuse_options& options) {
  require_valid(params);
  if (!params.context) throw invalid_params("context", "(none)", "is required for reuse statistics");
  const std::int64_t N = params.tokens, L = *params.context;
  const plan& p = params.extension;
  const detail::wide_int total = detail::wide_int{N} * (detail::wide_int{N} + 1) / 2;
  if (total > detail::wide_int{detail::int64_max})
    throw invalid_params("tokens", std::to_string(N), "too many pairs for 64-bit counts (N(N+1)/2 must fit)");

  reuse_stats s;
  s.context = L;
  s.tokens = N;
  s.extension = p;
  s.max_position = max_position(N, p);
  s.fractional_offset = fractional_offset(p);
  // The summary needs O(1) memory; only the per-position arrays grow with P_max.
  if (options.keep_counts) {
    detail::require_within_limit("tokens", std::to_string(N),
                                 "the per-position count arrays (3 x (P_max + 1) int64, P_max + 1 = " +
                                     std::to_string(s.max_position + 1) + ")",
                                 reuse_count_bytes(s), max_reuse_bytes, options.force);
    const auto size = static_cast<std::size_t>(s.max_position) + 1;
    s.counts.reserve(size);
    s.neighbor_counts.reserve(size);
    s.group_counts.reserve(size);
  }

  // ceil(L/2) and ceil(2L/3); 2L can pass 2^63, hence the 128-bit division.
  const auto half_from = static_cast<std::int64_t>(detail::ceil_div(L, 2));
  const auto two_thirds_from = static_cast<std::int64_t>(detail::ceil_div(detail::wide_int{L} * 2, 3));
  s.half_from = half_from;
  s.two_thirds_from = two_thirds_from;
  const closed_counts counts(N, p);
  const std::int64_t P = s.max_position;
  if (options.keep_counts) {
    for (std::int64_t q = 0; q <= P; ++q) {
      s.neighbor_counts.push_back(counts.neighbor_at(q));
      s.group_counts.push_back(counts.group_at(q));
      s.counts.push_back(s.neighbor_counts.back() + s.group_counts.back());
    }
  }
  const auto pairs = [&](std::int64_t from) {
    return static_cast<std::int64_t>(counts.neighbor_sum(from, P) + counts.group_sum(from, P));
  };
  s.neighbor_pairs = static_cast<std::int64_t>(counts.neighbor_sum(0, P));
  s.group_pairs = static_cast<std::int64_t>(counts.group_sum(0, P));
  s.distinct_positions = counts.used_positions(0, P);
  s.pairs_past_half = pairs(half_from);
  s.positions_past_half = counts.used_positions(half_from, P);
  s.pairs_past_two_thirds = pairs(two_thirds_from);
  s.positions_past_two_thirds = counts.used_positions(two_thirds_from, P);
  s.pairs_past_context = pairs(L);
  const std::optional<std::int64_t> group_first = counts.first_group_position();
  s.total_pairs = s.neighbor_pairs + s.group_pairs;
  s.neighbor_range = {0, std::min(N, p.window) - 1};
  if (group_first) s.group_range = position_range{*group_first, P};
  const auto ratio = [](std::int64_t a, std::int64_t b) { return static_cast<double>(a) / static_cast<double>(b); };
  s.fraction_pairs_past_half = ratio(s.pairs_past_half, s.total_pairs);
  s.fraction_pairs_past_two_thirds = ratio(s.pairs_past_two_thirds, s.total_pairs);
  s.fraction_positions_past_half = ratio(s.positions_past_half, s.distinct_positions);
  s.fraction_positions_past_two_thirds = ratio(s.positions_past_two_thirds, s.distinct_positions);
  return s;
}

std::vector<reuse_bucket> bucket_reuse(const reuse_stats& stats, std::int64_t range_end, std::int64_t buckets) {
  if (range_end < 1) throw invalid_params("range_end", std::to_string(range_end), "must be at least 1");
  if (buckets < 1) throw invalid_params("buckets", std::to_string(buckets), "must be at least 1");
  if (buckets > max_reuse_buckets)
    throw invalid_params("buckets", std::to_string(buckets), "must be at most " + std::to_string(max_reuse_buckets));
  const auto width = static_cast<std::int64_t>(detail::ceil_div(range_end, std::min(buckets, range_end)));
  std::vector<reuse_bucket> out;
  for (std::int64_t first = 0;; first += width) {
    // range_end - first > width guards the addition: no overflow even near INT64_MAX.
    out.push_back({first, range_end - first > width ? first + width - 1 : range_end - 1, 0, 0});
    if (out.back().last == range_end - 1) break;
  }
  // Closed-form sums per bar: O(buckets) whatever N and P_max are, arrays kept or not.
  const closed_counts counts(stats.tokens, stats.extension);
  for (reuse_bucket& bar : out) {
    bar.neighbor = static_cast<std::int64_t>(counts.neighbor_sum(bar.first, bar.last));
    bar.group = static_cast<std::int64_t>(counts.group_sum(bar.first, bar.last));
  }
  return out;
}

}  // namespace selfextend
