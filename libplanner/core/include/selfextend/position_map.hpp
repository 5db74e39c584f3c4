// position_map.hpp - the exact Self-Extend map from a (query, key) pair to a relative position.
#pragma once

#include <cstdint>

#include <selfextend/params.hpp>

namespace selfextend {

/// Which of the two attention branches scores a pair.
enum class branch : std::uint8_t {
  neighbor,  ///< i - j < W: query rotated at i, key at j
  group,     ///< i - j >= W: query rotated at gq(i), key at gk(j)
};

/// Relative position of one pair under the integer shift, and the branch that produced it.
/// With the fractional shift the group position is `position - fractional_offset(plan)`.
struct mapped_position {
  std::int64_t position = 0;  ///< relative position in token units
  branch from = branch::neighbor;
  friend bool operator==(const mapped_position&, const mapped_position&) = default;
};

/// gk(j) = floor(j / G). Precondition: key >= 0 (throws invalid_params otherwise).
[[nodiscard]] std::int64_t group_key_position(std::int64_t key, const plan& p);

/// gq(i) = floor(i / G) + W - floor(W / G), the integer-shift group query position.
/// Precondition: query >= 0. Throws invalid_params on a bad plan or query.
[[nodiscard]] std::int64_t group_query_position(std::int64_t query, const plan& p);

/// The group query position under p.shift: the integer one minus fractional_offset(p).
[[nodiscard]] double group_query_position_real(std::int64_t query, const plan& p);

/// f = (W mod G) / G for the fractional shift, 0 for the integer shift: every group-branch
/// position of the fractional variant is the integer one minus f.
[[nodiscard]] double fractional_offset(const plan& p);

/// The exact map (docs/concepts.md#the-map) for query i and key j (0 <= j <= i), integer shift.
/// Example (G=2, W=4): map_pair(9, 0, p) == {6, branch::group}; map_pair(9, 6, p) == {3, branch::neighbor}.
/// Throws invalid_params when j < 0, j > i or the plan is invalid.
[[nodiscard]] mapped_position map_pair(std::int64_t query, std::int64_t key, const plan& p);

/// The same pair's relative position as a real number under p.shift.
[[nodiscard]] double map_pair_real(std::int64_t query, std::int64_t key, const plan& p);

/// P_max(N): the largest relative position any causal pair of N tokens uses, integer shift.
/// N - 1 when N <= W, else floor((N-1)/G) + W - floor(W/G). Throws invalid_params when tokens < 1.
[[nodiscard]] std::int64_t max_position(std::int64_t tokens, const plan& p);

}  // namespace selfextend
