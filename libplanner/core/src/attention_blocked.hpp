// attention_blocked.hpp - what the blocked double-precision kernel's two translation units share:
// attention_blocked.cpp (set-up, rotations, threads; compiled without multiply-add contraction, so
// keys and queries are rotated bit for bit as the reference rotates them) and
// attention_blocked_simd.cpp (the tile products and the online softmax, compiled per ISA with
// contraction into FMA).
#pragma once

#include <cstdint>

#include <selfextend/attention.hpp>

namespace selfextend::detail {

inline constexpr std::int64_t blocked_queries = 96;  ///< query rows per work item: 16 blocks of 6 rows
inline constexpr std::int64_t blocked_keys = 32;     ///< keys per tile = panel width; 32 x 128 doubles = 32 KiB, one L1
inline constexpr std::int64_t blocked_dim_align = 8; ///< value rows padded to a multiple of the widest vector (8 doubles)

/// Everything a work item reads; built once per call.
struct blocked_job {
  std::int64_t heads_per_kv, query_tokens, key_tokens, dim, dp, key_tiles, window;
  const double* key_neighbor;  ///< [Hkv][key_tiles][dim][blocked_keys]: k rotated at j, transposed per tile
  const double* key_group;     ///< the same rotated at gk(j)
  const double* v;             ///< [Hkv][Nk][v_stride]
  std::int64_t v_stride;       ///< dp when v was padded, else dim
  double score_scale;          ///< 1/sqrt(D)
};

/// Per-worker scratch of one work item: its rotated queries, both score tiles, the accumulated
/// output and the running maximum and sum of each row.
struct blocked_scratch {
  double* q_neighbor;  ///< [blocked_queries][dim], rotated at i
  double* q_group;     ///< [blocked_queries][dim], rotated at gq(i) (zeros for rows i < W)
  double* s_neighbor;  ///< [blocked_queries][blocked_keys]
  double* s_group;     ///< [blocked_queries][blocked_keys]
  double* o;           ///< [blocked_queries][dp]
  double* row_max;     ///< [blocked_queries]
  double* row_sum;     ///< [blocked_queries]
};

/// Runs the tiles of one work item: `rows` query rows at absolute positions positions[0..rows)
/// of kv head `kv`, their queries already rotated in scratch. Writes the normalised
/// output rows to out (stride dim).
using blocked_item_function = void (*)(const blocked_job& job, const blocked_scratch& scratch, std::int64_t kv,
                                       const std::int64_t* positions, std::int64_t rows, double* out);

/// The item function compiled for `level` (never automatic).
[[nodiscard]] blocked_item_function blocked_item_function_for(simd_level level) noexcept;

}  // namespace selfextend::detail
