// reuse.cpp - closed-form position reuse counts (docs/concepts.md#reuse).
#include <selfextend/reuse.hpp>

#include <algorithm>
#include <string>

#include <selfextend/position_map.hpp>

#include "checked_math.hpp"

namespace selfextend {

namespace {

/// Sum of (x + 1) for x in [lo, hi]: the partial-group counts of one block. The result is a pair
/// count (at most N(N+1)/2, checked to fit) but the product before halving can pass 2^63.
std::int64_t sum_plus_one(std::int64_t lo, std::int64_t hi) {
  return static_cast<std::int64_t>(detail::wide_int{hi - lo + 1} * (detail::wide_int{lo} + hi + 2) / 2);
}

/// Group-branch counts. For query i >= W the keys j = 0 .. i-W have floor(j/G) = 0 .. m with
/// m = floor((i-W)/G): positions gq(i) - m + 1 .. gq(i) get G pairs each and gq(i) - m gets
/// r + 1, r = (i-W) mod G. Within one block of queries sharing a = floor(i/G), with i = aG + s and
/// W = bG + c, m and r depend on s only through whether s >= c (m = a-b, r = s-c) or s < c
/// (m = a-b-1, r = s-c+G), so each block costs O(1) through a difference array.
void add_group_counts(std::vector<std::int64_t>& group, std::int64_t tokens, const plan& p) {
  const std::int64_t G = p.group, W = p.window, b = W / G, c = W % G;
  std::vector<std::int64_t> diff(group.size() + 1, 0);
  const auto range_add = [&](std::int64_t lo, std::int64_t hi, std::int64_t v) {
    diff[static_cast<std::size_t>(lo)] += v;
    diff[static_cast<std::size_t>(hi + 1)] -= v;
  };
  for (std::int64_t a = W / G; a <= (tokens - 1) / G; ++a) {
    const std::int64_t gq = a + W - b;
    const std::int64_t s_lo = std::max(W, a * G) - a * G;
    const std::int64_t s_hi = std::min(tokens - 1, a * G + G - 1) - a * G;
    // s in [max(s_lo, c), s_hi]: m = a - b, r = s - c.
    if (const std::int64_t lo = std::max(s_lo, c); lo <= s_hi) {
      const std::int64_t m = a - b;
      if (m > 0) range_add(gq - m + 1, gq, G * (s_hi - lo + 1));
      range_add(gq - m, gq - m, sum_plus_one(lo - c, s_hi - c));
    }
    // s in [s_lo, min(s_hi, c - 1)]: m = a - b - 1, r = s - c + G (never in block b, where s >= c).
    if (const std::int64_t hi = std::min(s_hi, c - 1); s_lo <= hi) {
      const std::int64_t m = a - b - 1;
      if (m > 0) range_add(gq - m + 1, gq, G * (hi - s_lo + 1));
      range_add(gq - m, gq - m, sum_plus_one(s_lo - c + G, hi - c + G));
    }
  }
  std::int64_t running = 0;
  for (std::size_t q = 0; q < group.size(); ++q) group[q] = running += diff[q];
}

}  // namespace

reuse_stats compute_reuse(const self_extend_params& params) {
  require_valid(params);
  if (!params.context) throw invalid_params("context", "(none)", "is required for reuse statistics");
  const std::int64_t N = params.tokens, L = *params.context;
  const plan& p = params.extension;
  const detail::wide_int total = detail::wide_int{N} * (N + 1) / 2;
  if (total > detail::wide_int{detail::int64_max})
    throw invalid_params("tokens", std::to_string(N), "too many pairs for 64-bit counts (N(N+1)/2 must fit)");

  reuse_stats s;
  s.context = L;
  s.tokens = N;
  s.extension = p;
  s.max_position = max_position(N, p);
  s.fractional_offset = fractional_offset(p);
  // Four arrays of P_max + 1 counts (neighbor, group, total, and the difference array).
  const detail::wide_int bytes = (detail::wide_int{s.max_position} + 2) * 4 * 8;
  if (bytes > max_reuse_bytes)
    throw invalid_params("tokens", std::to_string(N),
                         "reuse counts over P_max + 1 = " + std::to_string(s.max_position + 1) + " positions need " +
                             std::to_string(static_cast<std::int64_t>(std::min<detail::wide_int>(bytes, detail::int64_max))) +
                             " bytes, above the limit of " + std::to_string(max_reuse_bytes) +
                             " bytes (a larger group shrinks P_max)");
  const auto size = static_cast<std::size_t>(s.max_position) + 1;
  s.neighbor_counts.assign(size, 0);
  s.group_counts.assign(size, 0);
  const std::int64_t neighbor_span = std::min(N, p.window);
  for (std::int64_t d = 0; d < neighbor_span; ++d) s.neighbor_counts[static_cast<std::size_t>(d)] = N - d;
  if (N > p.window) add_group_counts(s.group_counts, N, p);

  s.counts.resize(size);
  // ceil(L/2) and ceil(2L/3); 2L can pass 2^63, hence the 128-bit division.
  const auto half_from = static_cast<std::int64_t>(detail::ceil_div(L, 2));
  const auto two_thirds_from = static_cast<std::int64_t>(detail::ceil_div(detail::wide_int{L} * 2, 3));
  s.half_from = half_from;
  s.two_thirds_from = two_thirds_from;
  std::optional<std::int64_t> group_first, group_last;
  for (std::size_t q = 0; q < size; ++q) {
    const auto pos = static_cast<std::int64_t>(q);
    const std::int64_t c = s.counts[q] = s.neighbor_counts[q] + s.group_counts[q];
    s.neighbor_pairs += s.neighbor_counts[q];
    s.group_pairs += s.group_counts[q];
    if (s.group_counts[q] > 0) {
      if (!group_first) group_first = pos;
      group_last = pos;
    }
    if (c == 0) continue;
    ++s.distinct_positions;
    if (pos >= half_from) {
      s.pairs_past_half += c;
      ++s.positions_past_half;
    }
    if (pos >= two_thirds_from) {
      s.pairs_past_two_thirds += c;
      ++s.positions_past_two_thirds;
    }
    if (pos >= L) s.pairs_past_context += c;
  }
  s.total_pairs = s.neighbor_pairs + s.group_pairs;
  s.neighbor_range = {0, neighbor_span - 1};
  if (group_first) s.group_range = position_range{*group_first, *group_last};
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
  const auto width = static_cast<std::int64_t>(detail::ceil_div(range_end, std::min(buckets, range_end)));
  std::vector<reuse_bucket> out;
  for (std::int64_t first = 0;; first += width) {
    // range_end - first > width guards the addition: no overflow even near INT64_MAX.
    reuse_bucket bar{first, range_end - first > width ? first + width - 1 : range_end - 1, 0, 0};
    const std::int64_t stop = std::min(bar.last, stats.max_position);
    for (std::int64_t q = first; q <= stop; ++q) {
      bar.neighbor += stats.neighbor_counts[static_cast<std::size_t>(q)];
      bar.group += stats.group_counts[static_cast<std::size_t>(q)];
    }
    out.push_back(bar);
    if (bar.last == range_end - 1) break;
  }
  return out;
}

}  // namespace selfextend
