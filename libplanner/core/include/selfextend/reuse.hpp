// reuse.hpp - which pretrained relative positions a plan reuses, and how often (target selfextend::planner).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <selfextend/params.hpp>

namespace selfextend {

/// An inclusive range of relative positions [first, last].
struct position_range {
  std::int64_t first = 0;
  std::int64_t last = 0;
  friend bool operator==(const position_range&, const position_range&) = default;
};

/// How often each relative position p is used by the N(N+1)/2 causal pairs of N tokens.
/// All counts are 64-bit pair counts; positions are integer-shift positions (with the float
/// shift, index p of a group count denotes position p - fractional_offset).
struct reuse_stats {
  std::int64_t context = 0;                   ///< L
  std::int64_t tokens = 0;                    ///< N
  plan extension;                             ///< G, W, shift
  std::int64_t max_position = 0;              ///< P_max: every array has P_max + 1 entries
  double fractional_offset = 0;               ///< (W mod G)/G for the float shift, else 0
  std::vector<std::int64_t> counts;           ///< counts[p] = neighbor_counts[p] + group_counts[p]
  std::vector<std::int64_t> neighbor_counts;  ///< pairs with i - j < W at p (= N - p for p < min(N, W))
  std::vector<std::int64_t> group_counts;     ///< pairs with i - j >= W at p
  std::int64_t total_pairs = 0;               ///< N(N+1)/2
  std::int64_t neighbor_pairs = 0;            ///< sum of neighbor_counts
  std::int64_t group_pairs = 0;               ///< sum of group_counts
  std::int64_t distinct_positions = 0;        ///< positions p with counts[p] > 0
  position_range neighbor_range;              ///< used neighbor positions: [0, min(N, W) - 1]
  std::optional<position_range> group_range;  ///< used group positions ([W, P_max] with the int shift); none when N <= W
  // "Past L/2" means 2p >= L, "past 2L/3" means 3p >= 2L, "past L" means p >= L (never trained):
  // the positions outside the well-trained part of the window (docs/concepts.md#the-empirical-bound).
  std::int64_t half_from = 0;                 ///< ceil(L/2): the first position counted as past L/2
  std::int64_t two_thirds_from = 0;           ///< ceil(2L/3): the first position counted as past 2L/3
  std::int64_t pairs_past_half = 0;
  std::int64_t pairs_past_two_thirds = 0;
  std::int64_t pairs_past_context = 0;
  double fraction_pairs_past_half = 0;        ///< pairs_past_half / total_pairs
  double fraction_pairs_past_two_thirds = 0;  ///< pairs_past_two_thirds / total_pairs
  std::int64_t positions_past_half = 0;       ///< used positions p with 2p >= L
  std::int64_t positions_past_two_thirds = 0; ///< used positions p with 3p >= 2L
  double fraction_positions_past_half = 0;    ///< positions_past_half / distinct_positions
  double fraction_positions_past_two_thirds = 0;
  friend bool operator==(const reuse_stats&, const reuse_stats&) = default;
};

/// What compute_reuse keeps besides the summary.
struct reuse_options {
  bool keep_counts = true;  ///< fill counts, neighbor_counts, group_counts (else: summarise_reuse)
  bool force = false;       ///< fill them even above max_reuse_bytes
};

/// Counts every relative position's use in closed form: O(N/G + P_max) time, O(P_max) memory,
/// never visiting pairs; exact 64-bit counts (N up to about 4.29e9 before N(N+1)/2 overflows).
/// Requires params.context. Throws invalid_params on an invalid plan (W >= L included), when
/// N(N+1)/2 does not fit in 64 bits, or when the arrays would need more than max_reuse_bytes and
/// not options.force (key "tokens", the size in the message, naming `force`), before allocating.
/// Example: L=16, N=10, G=2, W=4 (paper Fig. 3): counts == {10, 9, 8, 7, 9, 8, 4},
/// neighbor_counts == {10, 9, 8, 7, 0, 0, 0}, total_pairs == 55.
[[nodiscard]] reuse_stats compute_reuse(const self_extend_params& params, const reuse_options& options = {});

/// Bytes compute_reuse needs for its arrays: 32 x (P_max + 2) (saturating).
[[nodiscard]] std::int64_t reuse_count_bytes(const reuse_stats& stats);

/// compute_reuse's totals, fractions, thresholds and ranges without its arrays (`counts`,
/// `neighbor_counts` and `group_counts` stay empty), in closed form: O(1) time and memory whatever
/// N is, for every N whose N(N+1)/2 fits in 64 bits. Front ends that draw or summarise use this.
/// Throws invalid_params like compute_reuse (except the memory limit, which does not apply).
[[nodiscard]] reuse_stats summarise_reuse(const self_extend_params& params);

/// Memory ceiling of compute_reuse's arrays without force: 1 GiB (about 33.5 million positions).
inline constexpr std::int64_t max_reuse_bytes = std::int64_t{1} << 30;

/// Most bars bucket_reuse draws.
inline constexpr std::int64_t max_reuse_buckets = std::int64_t{1} << 20;

/// One bar of a histogram of reuse_stats over a range of positions.
struct reuse_bucket {
  std::int64_t first = 0;     ///< first position in the bucket
  std::int64_t last = 0;      ///< last position in the bucket (inclusive)
  std::int64_t neighbor = 0;  ///< neighbor pairs in [first, last]
  std::int64_t group = 0;     ///< group pairs in [first, last]
  friend bool operator==(const reuse_bucket&, const reuse_bucket&) = default;
};

/// The pairs at relative positions [first, last] (inclusive; positions outside [0, P_max] have
/// none), split by branch, in closed form: O(1) time and memory whatever N is, equal to the sums
/// of compute_reuse's arrays. Throws invalid_params like summarise_reuse, and when last < first.
/// Example: L=16, N=10, G=2, W=4: count_reuse(params, 3, 5) == {3, 5, 7, 17}.
[[nodiscard]] reuse_bucket count_reuse(const self_extend_params& params, std::int64_t first, std::int64_t last);

/// Sums the counts of positions [0, range_end) into `buckets` bars of equal width
/// ceil(range_end / buckets) (the last one may be narrower; fewer bars when range_end < buckets).
/// Positions at or past range_end are not counted. Use range_end = L for the pretrained window,
/// or max(L, P_max + 1) to include untrained positions. Closed form, O(bars) time: it reads only
/// `stats`' context, tokens and plan, so the arrayless summarise_reuse() result works as well.
/// Throws invalid_params when range_end < 1 or buckets is outside [1, max_reuse_buckets].
[[nodiscard]] std::vector<reuse_bucket> bucket_reuse(const reuse_stats& stats, std::int64_t range_end,
                                                     std::int64_t buckets);

}  // namespace selfextend

#include <string_view>

#include <selfextend/methods.hpp>

namespace selfextend {

/// Any method's reuse (methods.hpp): how many attended causal pairs of N tokens use each relative
/// position, per branch. Real positions (Leaky ReRoPE, the fractional shift) are counted in unit
/// buckets: index p holds the positions in [p, p + 1). "Past L/2" etc. are judged by bucket.
struct method_reuse_stats {
  std::int64_t context = 0;                  ///< L
  std::int64_t tokens = 0;                   ///< N
  method_params method;
  std::vector<std::string_view> branches;    ///< branch_names(method.kind)
  std::int64_t max_position = 0;             ///< the last bucket used: floor(largest_position)
  std::vector<std::vector<std::int64_t>> branch_counts;  ///< [branch][p]: pairs of that branch in bucket p
  std::vector<std::int64_t> counts;          ///< sum over branches, max_position + 1 entries
  std::vector<std::int64_t> branch_pairs;    ///< pairs per branch
  std::int64_t total_pairs = 0;              ///< N(N+1)/2
  std::int64_t attended_pairs = 0;           ///< sum of counts
  std::int64_t dropped_pairs = 0;            ///< total_pairs - attended_pairs (dropped_pairs())
  std::int64_t distinct_positions = 0;       ///< buckets with counts[p] > 0
  std::int64_t half_from = 0;                ///< ceil(L/2)
  std::int64_t two_thirds_from = 0;          ///< ceil(2L/3)
  std::int64_t pairs_past_half = 0;          ///< attended pairs in buckets p >= ceil(L/2)
  std::int64_t pairs_past_two_thirds = 0;    ///< ... p >= ceil(2L/3)
  std::int64_t pairs_past_context = 0;       ///< ... p >= L: positions never trained
  double fraction_pairs_past_half = 0;       ///< over total_pairs
  double fraction_pairs_past_two_thirds = 0;
  std::int64_t positions_past_half = 0;      ///< used buckets p >= ceil(L/2)
  std::int64_t positions_past_two_thirds = 0;
  friend bool operator==(const method_reuse_stats&, const method_reuse_stats&) = default;
};

/// Bytes compute_method_reuse needs for its arrays: 8 x (branches + 1) x (floor(largest) + 1)
/// (saturating). Throws invalid_params on a bad method or tokens < 1.
[[nodiscard]] std::int64_t method_reuse_bytes(const method_params& m, std::int64_t tokens);

/// Counts every bucket's use without visiting pairs: O(P_max + chunk) time and memory for DCA
/// (per chunk offset), O(P_max) for the others; Self-Extend's equals compute_reuse (neighbor and
/// group counts). Exact 64-bit counts. Throws invalid_params unless L >= 1 and the method is valid,
/// when N(N+1)/2 does not fit in 64 bits, or when the arrays need more than max_reuse_bytes and
/// not force (key "tokens", the size in the message, naming `force`), before allocating.
[[nodiscard]] method_reuse_stats compute_method_reuse(const method_params& m, std::int64_t context, std::int64_t tokens,
                                                      bool force = false);

/// One bar of a method's histogram: buckets [first, last], pairs per branch.
struct method_reuse_bucket {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::vector<std::int64_t> pairs;  ///< per branch, in branch order
  friend bool operator==(const method_reuse_bucket&, const method_reuse_bucket&) = default;
};

/// bucket_reuse for any method: the counts of buckets [0, range_end) summed into `buckets` bars of
/// width ceil(range_end / buckets). Throws invalid_params as bucket_reuse.
[[nodiscard]] std::vector<method_reuse_bucket> bucket_method_reuse(const method_reuse_stats& stats, std::int64_t range_end,
                                                                   std::int64_t buckets);

}  // namespace selfextend
