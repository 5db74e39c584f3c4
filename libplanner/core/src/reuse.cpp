// reuse.cpp - closed-form position reuse counts (docs/concepts.md#reuse).
#include <selfextend/reuse.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include <selfextend/position_map.hpp>

#include "checked_math.hpp"
#include "methods_internal.hpp"
#include "size_limit.hpp"
#include "text.hpp"

namespace selfextend {

namespace {

/// Sum of (x + 1) for x in [lo, hi]: the partial-group counts of one block. The result is a pair
/// count (at most N(N+1)/2, checked to fit) but the product before halving can pass 2^63.
std::int64_t sum_plus_one(std::int64_t lo, std::int64_t hi) {
  return static_cast<std::int64_t>(detail::wide_int{hi - lo + 1} * (detail::wide_int{lo} + hi + 2) / 2);
}

/// Sum of max(0, u + s) for s = 0 .. k-1.
detail::wide_int ramp_sum(detail::wide_int u, detail::wide_int k) {
  if (k <= 0) return 0;
  if (u >= 0) return k * u + k * (k - 1) / 2;
  const detail::wide_int top = u + k - 1;
  return top > 0 ? top * (top + 1) / 2 : 0;
}

/// Neighbor pairs at positions <= P: position d < min(N, W) is used by N - d pairs.
detail::wide_int neighbor_pairs_upto(std::int64_t tokens, const plan& p, std::int64_t P) {
  if (P < 0) return 0;
  const detail::wide_int k = std::min(P, std::min(tokens, p.window) - 1) + detail::wide_int{1};
  return k * tokens - k * (k - 1) / 2;
}

/// Group pairs at positions <= P, in closed form. Query i = aG + s >= W (W = bG + c) puts keys
/// at positions W + [s < c] .. gq(i) (see add_group_counts), so it has
/// clamp((P - W)G + 1 + s - c, 0, i - W + 1) of them at positions <= P. The upper bound binds
/// exactly for the blocks a <= P - W + b (those whose gq(i) <= P): their queries contribute all
/// i - W + 1 pairs; later queries contribute max(0, u + s) with u = (P - W)G + 1 - c, summed over
/// whole periods of s.
detail::wide_int group_pairs_upto(std::int64_t tokens, const plan& p, std::int64_t P) {
  using detail::wide_int;
  const std::int64_t G = p.group, W = p.window;
  if (tokens <= W || P < W) return 0;
  P = std::min(P, max_position(tokens, p));
  const wide_int b = W / G, c = W % G;
  const wide_int last_full = std::min<wide_int>(tokens - 1, (wide_int{P} - W + b + 1) * G - 1);
  const wide_int whole = last_full - W + 1;  // queries W .. last_full keep all their group pairs
  wide_int sum = whole * (whole + 1) / 2;
  const wide_int u = (wide_int{P} - W) * G + 1 - c;
  const auto periodic = [&](wide_int n) { return n / G * ramp_sum(u, G) + ramp_sum(u, n % G); };
  sum += periodic(tokens) - periodic(last_full + 1);
  return sum;
}

/// Pairs with position <= P in each branch.
reuse_bucket pairs_upto(std::int64_t tokens, const plan& p, std::int64_t P) {
  return {0, P, static_cast<std::int64_t>(neighbor_pairs_upto(tokens, p, P)),
          static_cast<std::int64_t>(group_pairs_upto(tokens, p, P))};
}

/// The checks every reuse computation makes: a valid plan on a known L, and a pair count that fits.
void require_countable(const self_extend_params& params) {
  require_valid(params);
  if (!params.context) throw invalid_params("context", "(none)", "is required for reuse statistics");
  const std::int64_t N = params.tokens;
  if (detail::wide_int{N} * (detail::wide_int{N} + 1) / 2 > detail::wide_int{detail::int64_max})
    throw invalid_params("tokens", std::to_string(N), "too many pairs for 64-bit counts (N(N+1)/2 must fit)");
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

reuse_stats summarise_reuse(const self_extend_params& params) {
  require_countable(params);
  const std::int64_t N = params.tokens, L = *params.context;
  const plan& p = params.extension;
  reuse_stats s;
  s.context = L;
  s.tokens = N;
  s.extension = p;
  s.max_position = max_position(N, p);
  s.fractional_offset = fractional_offset(p);
  const reuse_bucket all = pairs_upto(N, p, s.max_position);
  s.neighbor_pairs = all.neighbor;
  s.group_pairs = all.group;
  s.total_pairs = all.neighbor + all.group;
  // Every position 0 .. P_max is used: the neighbor ones by the first min(N, W) distances, the
  // group ones W .. P_max by the last query (and W itself by query W).
  s.distinct_positions = s.max_position + 1;
  const std::int64_t neighbor_span = std::min(N, p.window);
  s.neighbor_range = {0, neighbor_span - 1};
  if (N > p.window) s.group_range = position_range{p.window, s.max_position};
  // ceil(L/2) and ceil(2L/3); 2L can pass 2^63, hence the 128-bit division.
  s.half_from = static_cast<std::int64_t>(detail::ceil_div(L, 2));
  s.two_thirds_from = static_cast<std::int64_t>(detail::ceil_div(detail::wide_int{L} * 2, 3));
  const auto pairs_from = [&](std::int64_t first) {
    const reuse_bucket below = pairs_upto(N, p, first - 1);
    return s.total_pairs - below.neighbor - below.group;
  };
  s.pairs_past_half = pairs_from(s.half_from);
  s.pairs_past_two_thirds = pairs_from(s.two_thirds_from);
  s.pairs_past_context = pairs_from(L);
  s.positions_past_half = std::max<std::int64_t>(0, s.max_position - s.half_from + 1);
  s.positions_past_two_thirds = std::max<std::int64_t>(0, s.max_position - s.two_thirds_from + 1);
  const auto ratio = [](std::int64_t a, std::int64_t b) { return static_cast<double>(a) / static_cast<double>(b); };
  s.fraction_pairs_past_half = ratio(s.pairs_past_half, s.total_pairs);
  s.fraction_pairs_past_two_thirds = ratio(s.pairs_past_two_thirds, s.total_pairs);
  s.fraction_positions_past_half = ratio(s.positions_past_half, s.distinct_positions);
  s.fraction_positions_past_two_thirds = ratio(s.positions_past_two_thirds, s.distinct_positions);
  return s;
}

reuse_bucket count_reuse(const self_extend_params& params, std::int64_t first, std::int64_t last) {
  require_countable(params);
  if (first > last)
    throw invalid_params("last", std::to_string(last), "must be at least first (" + std::to_string(first) + ")");
  const reuse_bucket upto_last = pairs_upto(params.tokens, params.extension, last);
  const reuse_bucket before = pairs_upto(params.tokens, params.extension, first == INT64_MIN ? first : first - 1);
  return {first, last, upto_last.neighbor - before.neighbor, upto_last.group - before.group};
}

std::int64_t reuse_count_bytes(const reuse_stats& stats) {
  // Four arrays of P_max + 1 counts while they are built (neighbor, group, total, the difference array).
  return detail::saturate((detail::wide_int{stats.max_position} + 2) * 4 * 8);
}

reuse_stats compute_reuse(const self_extend_params& params, const reuse_options& options) {
  reuse_stats s = summarise_reuse(params);
  if (!options.keep_counts) return s;
  const std::int64_t N = params.tokens;
  const plan& p = params.extension;
  detail::require_within_limit("tokens", std::to_string(N),
                               "the per-position count arrays (4 x (P_max + 2) int64 while built, P_max + 1 = " +
                                   std::to_string(s.max_position + 1) + ")",
                               reuse_count_bytes(s), max_reuse_bytes, options.force);
  const auto size = static_cast<std::size_t>(s.max_position) + 1;
  s.neighbor_counts.assign(size, 0);
  s.group_counts.assign(size, 0);
  const std::int64_t neighbor_span = std::min(N, p.window);
  for (std::int64_t d = 0; d < neighbor_span; ++d) s.neighbor_counts[static_cast<std::size_t>(d)] = N - d;
  if (N > p.window) add_group_counts(s.group_counts, N, p);
  s.counts.resize(size);
  for (std::size_t q = 0; q < size; ++q) s.counts[q] = s.neighbor_counts[q] + s.group_counts[q];
  return s;
}

std::vector<reuse_bucket> bucket_reuse(const reuse_stats& stats, std::int64_t range_end, std::int64_t buckets) {
  if (range_end < 1) throw invalid_params("range_end", std::to_string(range_end), "must be at least 1");
  if (buckets < 1) throw invalid_params("buckets", std::to_string(buckets), "must be at least 1");
  if (buckets > max_reuse_buckets)
    throw invalid_params("buckets", std::to_string(buckets), "must be at most " + std::to_string(max_reuse_buckets));
  const self_extend_params params{stats.context, stats.tokens, stats.extension};
  require_countable(params);
  const auto width = static_cast<std::int64_t>(detail::ceil_div(range_end, std::min(buckets, range_end)));
  std::vector<reuse_bucket> out;
  reuse_bucket before{0, -1, 0, 0};  // pairs at positions < first
  for (std::int64_t first = 0;; first += width) {
    // range_end - first > width guards the addition: no overflow even near INT64_MAX.
    const std::int64_t last = range_end - first > width ? first + width - 1 : range_end - 1;
    const reuse_bucket upto = pairs_upto(stats.tokens, stats.extension, last);
    out.push_back({first, last, upto.neighbor - before.neighbor, upto.group - before.group});
    before = upto;
    if (last == range_end - 1) break;
  }
  return out;
}

}  // namespace selfextend

namespace selfextend {

namespace {

/// floor(largest_position) of an attended pair of N tokens: the last bucket.
std::int64_t last_bucket(const method_params& m, std::int64_t tokens) {
  return static_cast<std::int64_t>(std::floor(largest_position(m, tokens)));
}

/// Adds `weight` to counts[lo .. hi] through a difference array of size P + 2.
void add_range(std::vector<detail::wide_int>& diff, std::int64_t lo, std::int64_t hi, detail::wide_int weight) {
  if (hi < lo || weight == 0) return;
  diff[static_cast<std::size_t>(lo)] += weight;
  diff[static_cast<std::size_t>(hi) + 1] -= weight;
}

std::vector<std::int64_t> prefix_sums(const std::vector<detail::wide_int>& diff, std::size_t size) {
  std::vector<std::int64_t> out(size);
  detail::wide_int run = 0;
  for (std::size_t p = 0; p < size; ++p) out[p] = static_cast<std::int64_t>(run += diff[p]);
  return out;
}

/// Sum of (N - d) for d in [a, b]: the pairs at distances a .. b.
detail::wide_int pairs_at_distances(std::int64_t tokens, std::int64_t a, std::int64_t b) {
  if (b < a) return 0;
  const detail::wide_int n = detail::wide_int{b} - a + 1;
  return n * tokens - (detail::wide_int{a} + b) * n / 2;
}

/// The near branch shared by ReRoPE and Leaky ReRoPE: distance d < min(N, w) is used by N - d pairs.
std::vector<std::int64_t> near_counts(std::int64_t tokens, std::int64_t window, std::size_t size) {
  std::vector<std::int64_t> out(size, 0);
  for (std::int64_t d = 0; d < std::min(tokens, window) && static_cast<std::size_t>(d) < size; ++d) out[static_cast<std::size_t>(d)] = tokens - d;
  return out;
}

}  // namespace

std::int64_t method_reuse_bytes(const method_params& m, std::int64_t tokens) {
  const auto branches = static_cast<std::int64_t>(branch_names(m.kind).size());
  return detail::saturate(detail::wide_int{8} * (branches + 1) * (detail::wide_int{last_bucket(m, tokens)} + 1));
}

method_reuse_stats compute_method_reuse(const method_params& m, std::int64_t context, std::int64_t tokens, bool force) {
  require_valid_method(m);
  if (context < 1) throw invalid_params("context", std::to_string(context), "must be at least 1");
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  const std::int64_t N = tokens;
  if (detail::wide_int{N} * (detail::wide_int{N} + 1) / 2 > detail::wide_int{detail::int64_max})
    throw invalid_params("tokens", std::to_string(N), "too many pairs for 64-bit counts (N(N+1)/2 must fit)");
  const std::int64_t bytes = method_reuse_bytes(m, tokens);
  detail::require_within_limit("tokens", std::to_string(N), "the per-position count arrays", bytes, max_reuse_bytes, force);

  method_reuse_stats s;
  s.context = context;
  s.tokens = N;
  s.method = m;
  s.branches = branch_names(m.kind);
  s.max_position = last_bucket(m, N);
  const auto size = static_cast<std::size_t>(s.max_position) + 1;
  switch (m.kind) {
    case method_kind::self_extend: {
      const reuse_stats se = compute_reuse({context, N, m.self_extend}, {.keep_counts = true, .force = force});
      s.branch_counts = {se.neighbor_counts, se.group_counts};
      // The fractional shift puts group position p at p - f, in bucket p - 1 (group positions are >= W >= 1).
      if (se.fractional_offset > 0) s.branch_counts[1].erase(s.branch_counts[1].begin());
      for (auto& branch : s.branch_counts) branch.resize(size, 0);  // the entries cut are past the last bucket, all 0
      break;
    }
    case method_kind::dca: {
      // Per offset x in a chunk of s: n_x queries; each has its own chunk at 0 .. x, the n_x - 1 of
      // chunk >= 1 the previous chunk at q_succ(x) - (s - 1) .. q_succ(x), and the queries of chunk
      // n >= 2 their n - 1 earlier chunks at q_inter - (s - 1) .. q_inter.
      const std::int64_t chunk = m.chunk_size - m.local_window;
      std::vector<std::vector<detail::wide_int>> diff(3, std::vector<detail::wide_int>(size + 1, 0));
      const double inter = branch_query_position(m, 2, 0);
      for (std::int64_t x = 0; x < std::min(chunk, N); ++x) {
        const detail::wide_int n = (N - 1 - x) / chunk + 1;
        add_range(diff[0], 0, x, n);
        const auto successive = static_cast<std::int64_t>(branch_query_position(m, 1, x));
        add_range(diff[1], successive - (chunk - 1), successive, n - 1);
        if (n >= 2) {
          const auto q = static_cast<std::int64_t>(inter);
          add_range(diff[2], q - (chunk - 1), q, (n - 2) * (n - 1) / 2);
        }
      }
      for (const auto& d : diff) s.branch_counts.push_back(prefix_sums(d, size));
      break;
    }
    case method_kind::rerope: {
      s.branch_counts = {near_counts(N, m.window, size), std::vector<std::int64_t>(size, 0)};
      if (N > m.window) s.branch_counts[1][static_cast<std::size_t>(m.window)] = static_cast<std::int64_t>(pairs_at_distances(N, m.window, N - 1));
      break;
    }
    case method_kind::leaky_rerope: {
      // Distance d >= w is at w + (d - w)/k, computed as remap() does. Bucket p >= w holds the
      // distances from the first whose position reaches p to the one before the first reaching p + 1.
      s.branch_counts = {near_counts(N, m.window, size), std::vector<std::int64_t>(size, 0)};
      const auto position = [&](std::int64_t d) { return detail::remap_valid(m, d, 0).position; };
      // The first distance >= w whose floor(position) >= p (position grows with d).
      const auto first_reaching = [&](std::int64_t p) {
        const double estimate = static_cast<double>(m.window) + std::ceil((static_cast<double>(p) - static_cast<double>(m.window)) * m.leak);
        std::int64_t d = std::max<std::int64_t>(m.window, static_cast<std::int64_t>(std::min(estimate, 9.2e18)));
        while (d > m.window && std::floor(position(d - 1)) >= static_cast<double>(p)) --d;
        while (d < N && std::floor(position(d)) < static_cast<double>(p)) ++d;
        return d;
      };
      if (N > m.window) {
        std::int64_t from = m.window;
        for (std::int64_t p = m.window; p <= s.max_position; ++p) {
          const std::int64_t to = p == s.max_position ? N : first_reaching(p + 1);
          s.branch_counts[1][static_cast<std::size_t>(p)] = static_cast<std::int64_t>(pairs_at_distances(N, from, to - 1));
          from = to;
        }
      }
      break;
    }
    case method_kind::streaming: {
      // Queries i <= S + R see every distance 0 .. i; each later one (Q of them) the distances
      // 0 .. R and the S sinks at R + 1 .. R + S.
      const std::int64_t S = m.start_size, R = m.recent_size;
      const std::int64_t early_last = std::min(N - 1, S + R);
      const std::int64_t later = std::max<std::int64_t>(0, N - 1 - (S + R));
      s.branch_counts = {std::vector<std::int64_t>(size, 0), std::vector<std::int64_t>(size, 0)};
      for (std::int64_t p = 0; p <= early_last; ++p)
        s.branch_counts[0][static_cast<std::size_t>(p)] = early_last - p + 1 + (p <= R ? later : 0);
      if (later > 0)
        for (std::int64_t p = R + 1; p <= R + S; ++p) s.branch_counts[1][static_cast<std::size_t>(p)] = later;
      break;
    }
  }
  s.counts.assign(size, 0);
  s.total_pairs = static_cast<std::int64_t>(detail::wide_int{N} * (N + 1) / 2);
  s.half_from = (context + 1) / 2;
  s.two_thirds_from = static_cast<std::int64_t>(detail::ceil_div(detail::wide_int{2} * context, 3));
  for (const auto& branch : s.branch_counts) {
    std::int64_t pairs = 0;
    for (std::size_t p = 0; p < size; ++p) {
      s.counts[p] += branch[p];
      pairs += branch[p];
    }
    s.branch_pairs.push_back(pairs);
    s.attended_pairs += pairs;
  }
  s.dropped_pairs = s.total_pairs - s.attended_pairs;
  for (std::size_t p = 0; p < size; ++p) {
    if (s.counts[p] == 0) continue;
    const auto position = static_cast<std::int64_t>(p);
    ++s.distinct_positions;
    if (position >= s.half_from) s.pairs_past_half += s.counts[p], ++s.positions_past_half;
    if (position >= s.two_thirds_from) s.pairs_past_two_thirds += s.counts[p], ++s.positions_past_two_thirds;
    if (position >= context) s.pairs_past_context += s.counts[p];
  }
  s.fraction_pairs_past_half = static_cast<double>(s.pairs_past_half) / static_cast<double>(s.total_pairs);
  s.fraction_pairs_past_two_thirds = static_cast<double>(s.pairs_past_two_thirds) / static_cast<double>(s.total_pairs);
  return s;
}

std::vector<method_reuse_bucket> bucket_method_reuse(const method_reuse_stats& stats, std::int64_t range_end,
                                                     std::int64_t buckets) {
  if (range_end < 1) throw invalid_params("range_end", std::to_string(range_end), "must be at least 1");
  if (buckets < 1 || buckets > max_reuse_buckets)
    throw invalid_params("buckets", std::to_string(buckets), "must be in 1.." + std::to_string(max_reuse_buckets));
  const std::int64_t width = static_cast<std::int64_t>(detail::ceil_div(range_end, buckets));
  std::vector<method_reuse_bucket> bars;
  for (std::int64_t first = 0; first < range_end; first += width) {
    method_reuse_bucket bar{first, std::min(range_end, first + width) - 1, std::vector<std::int64_t>(stats.branch_counts.size(), 0)};
    for (std::size_t b = 0; b < stats.branch_counts.size(); ++b) {
      const auto& counts = stats.branch_counts[b];
      for (std::int64_t p = first; p <= bar.last && p < static_cast<std::int64_t>(counts.size()); ++p)
        bar.pairs[b] += counts[static_cast<std::size_t>(p)];
    }
    bars.push_back(std::move(bar));
  }
  return bars;
}

}  // namespace selfextend
