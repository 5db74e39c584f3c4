// attention_blocked.cpp - the blocked double-precision kernel, the fast oracle: the reference's
// arithmetic (keys and queries rotated exactly as the reference rotates them) regrouped into
// query blocks x key tiles with an online softmax, vectorised per ISA (attention_blocked_simd.cpp)
// and spread over threads by (head, query block).
#include <selfextend/attention.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_blocked.hpp"
#include "attention_internal.hpp"

namespace selfextend {

namespace {

using detail::blocked_keys;
using detail::blocked_queries;

std::int64_t padded_value_dim(std::int64_t dim) {
  return (dim + detail::blocked_dim_align - 1) / detail::blocked_dim_align * detail::blocked_dim_align;
}

/// Rotates x by the pairs' factor·cos and factor·sin in `angles` ([pairs][2]), the reference's
/// formula: a' = a·cos − b·sin, b' = b·cos + a·sin.
void rotate_with(double* x, const double* angles, std::int64_t pairs, rope_style style) {
  for (std::int64_t c = 0; c < pairs; ++c) {
    const double cos_a = angles[2 * c];
    const double sin_a = angles[2 * c + 1];
    const detail::rope_pair d = detail::pair_dims(style, pairs * 2, c);
    const double a = x[d.first];
    const double b = x[d.second];
    x[d.first] = a * cos_a - b * sin_a;
    x[d.second] = b * cos_a + a * sin_a;
  }
}

/// factor·cos and factor·sin of position·inv_freq[c], evaluated as the reference evaluates them.
void angles_at(double position, const std::vector<double>& inv_freq, double factor, double* out) {
  for (std::size_t c = 0; c < inv_freq.size(); ++c) {
    const double angle = position * inv_freq[c];
    out[2 * c] = std::cos(angle) * factor;
    out[2 * c + 1] = std::sin(angle) * factor;
  }
}

std::int64_t blocked_memory(const attention_params& p, std::int64_t row_count) {
  using detail::checked_product;
  const attention_shape& s = p.shape;
  const std::int64_t key_tiles = (s.key_tokens + blocked_keys - 1) / blocked_keys;
  const std::int64_t blocks = (row_count + blocked_queries - 1) / blocked_queries;
  const std::int64_t workers = detail::worker_count(p.threads, s.heads * blocks);
  const std::int64_t dp = padded_value_dim(s.head_dim);
  const std::int64_t pairs = detail::rotary_dims(p) / 2;
  detail::wide_int total = checked_product({s.heads, row_count, s.head_dim, 8});           // out
  total += checked_product({2, s.kv_heads, key_tiles, blocked_keys, s.head_dim, 8});        // rotated key panels
  if (dp != s.head_dim) total += checked_product({s.kv_heads, s.key_tokens, dp, 8});        // padded v
  total += checked_product({detail::largest_rotation_position(p) + 1, pairs, 2, 8});        // angles at 0..max
  total += checked_product({row_count, pairs + 1, 2, 8});  // group query angles, positions
  total += checked_product(
      {workers, (2 * blocked_queries * s.head_dim + 2 * blocked_queries * blocked_keys + blocked_queries * dp +
                 2 * blocked_queries + s.head_dim) * 8});                                    // per-worker scratch
  if (total > detail::wide_int{detail::int64_max})
    throw invalid_params("q", "(shape)", "working memory does not fit in 64 bits");
  return static_cast<std::int64_t>(total);
}

/// The kernel over query rows `rows` (ascending, each in [0, Nq); empty = every row): out is
/// [H, rows, D].
std::vector<double> run_blocked(const attention_params& p, std::span<const double> q, std::span<const double> k,
                                std::span<const double> v, std::span<const std::int64_t> only_rows,
                                const progress_callback& progress) {
  require_valid(p);
  const detail::blocked_item_function run = detail::blocked_item_function_for(tiled_attention_simd(p.simd));
  const attention_shape& s = p.shape;
  detail::require_size("q", q.size(), s.heads, s.query_tokens, s.head_dim);
  detail::require_size("k", k.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_size("v", v.size(), s.kv_heads, s.key_tokens, s.head_dim);
  const std::int64_t row_count = only_rows.empty() ? s.query_tokens : static_cast<std::int64_t>(only_rows.size());
  detail::require_memory(p, blocked_memory(p, row_count));

  const std::int64_t dim = s.head_dim;
  const std::int64_t dp = padded_value_dim(dim);
  const std::int64_t key_tiles = (s.key_tokens + blocked_keys - 1) / blocked_keys;
  const std::vector<double> inv_freq = detail::inverse_frequencies(p);
  const auto pairs = static_cast<std::int64_t>(inv_freq.size());
  const double factor = p.rope.attention_factor;
  const plan& extension = p.extension;

  // Angles at every integer position a key or a neighbor query rotates to, once per call.
  const std::int64_t max_position = detail::largest_rotation_position(p);
  // (A sine and a cosine per position and frequency: on every core, in chunks of 256 positions.)
  constexpr std::int64_t chunk = 256;
  std::vector<double> angles(static_cast<std::size_t>((max_position + 1) * pairs * 2));
  const std::int64_t angle_chunks = max_position / chunk + 1;
  detail::parallel_for(angle_chunks, detail::worker_count(p.threads, angle_chunks), [&](std::int64_t item, std::int64_t) {
    for (std::int64_t position = item * chunk; position <= std::min(max_position, item * chunk + chunk - 1); ++position)
      angles_at(static_cast<double>(position), inv_freq, factor, angles.data() + position * pairs * 2);
  });

  // The query rows, their positions, and the group branch's angles at gq(i) (fractional under
  // the float shift), shared by all heads.
  std::vector<std::int64_t> positions(static_cast<std::size_t>(row_count));
  std::vector<double> group_angles(static_cast<std::size_t>(row_count * pairs * 2), 0.0);
  const std::int64_t row_chunks = (row_count + chunk - 1) / chunk;
  detail::parallel_for(row_chunks, detail::worker_count(p.threads, row_chunks), [&](std::int64_t item, std::int64_t) {
    for (std::int64_t slot = item * chunk; slot < std::min(row_count, item * chunk + chunk); ++slot) {
      const std::int64_t row = only_rows.empty() ? slot : only_rows[static_cast<std::size_t>(slot)];
      const std::int64_t i = query_position(s, row);
      positions[static_cast<std::size_t>(slot)] = i;
      if (i >= extension.window)
        angles_at(group_query_position_real(i, extension), inv_freq, factor, group_angles.data() + slot * pairs * 2);
    }
  });

  // Every key rotated for both branches (at j and at gk(j)), stored as [d][key] panels of
  // blocked_keys keys so the score tile broadcasts one query element against contiguous keys.
  // Left unfilled: the workers write every element (zeros past the last key), so the page faults
  // of first touch happen on every core.
  const detail::aligned_array<double> key_neighbor(static_cast<std::size_t>(s.kv_heads * key_tiles * dim * blocked_keys),
                                                   detail::aligned_array<double>::unfilled{});
  const detail::aligned_array<double> key_group(key_neighbor.size, detail::aligned_array<double>::unfilled{});
  const std::int64_t prep_workers = detail::worker_count(p.threads, s.kv_heads * key_tiles);
  std::vector<std::vector<double>> rotated(static_cast<std::size_t>(prep_workers), std::vector<double>(static_cast<std::size_t>(2 * dim)));
  detail::parallel_for(s.kv_heads * key_tiles, prep_workers, [&](std::int64_t item, std::int64_t worker) {
    const std::int64_t head = item / key_tiles;
    const std::int64_t tile = item % key_tiles;
    double* neighbor_panel = key_neighbor.get() + item * dim * blocked_keys;
    double* group_panel = key_group.get() + item * dim * blocked_keys;
    double* neighbor_row = rotated[static_cast<std::size_t>(worker)].data();
    double* group_row = neighbor_row + dim;
    for (std::int64_t c = 0; c < blocked_keys; ++c) {
      const std::int64_t j = tile * blocked_keys + c;
      if (j >= s.key_tokens) {  // past the last key: zeros, so the panel holds no stale bits
        for (std::int64_t d = 0; d < dim; ++d) neighbor_panel[d * blocked_keys + c] = group_panel[d * blocked_keys + c] = 0.0;
        continue;
      }
      const double* source = k.data() + (head * s.key_tokens + j) * dim;
      std::copy_n(source, dim, neighbor_row);
      std::copy_n(source, dim, group_row);
      rotate_with(neighbor_row, angles.data() + j * pairs * 2, pairs, p.rope.style);
      rotate_with(group_row, angles.data() + group_key_position(j, extension) * pairs * 2, pairs, p.rope.style);
      for (std::int64_t d = 0; d < dim; ++d) {
        neighbor_panel[d * blocked_keys + c] = neighbor_row[d];
        group_panel[d * blocked_keys + c] = group_row[d];
      }
    }
  });

  // v is read in place unless head_dim needs padding to whole vectors.
  std::vector<double> v_padded;
  const double* v_data = v.data();
  if (dp != dim) {
    v_padded.assign(static_cast<std::size_t>(s.kv_heads * s.key_tokens * dp), 0.0);
    for (std::int64_t row = 0; row < s.kv_heads * s.key_tokens; ++row)
      std::copy_n(v.data() + row * dim, dim, v_padded.data() + row * dp);
    v_data = v_padded.data();
  }

  const detail::blocked_job job{s.heads / s.kv_heads, s.query_tokens,  s.key_tokens, dim, dp, key_tiles,
                                extension.window,     key_neighbor.get(), key_group.get(), v_data,
                                dp != dim ? dp : dim, 1.0 / std::sqrt(static_cast<double>(dim))};
  const std::int64_t blocks = (row_count + blocked_queries - 1) / blocked_queries;
  const std::int64_t items = s.heads * blocks;
  const std::int64_t workers = detail::worker_count(p.threads, items);
  const std::size_t scratch_size =
      static_cast<std::size_t>(2 * blocked_queries * dim + 2 * blocked_queries * blocked_keys + blocked_queries * dp +
                               2 * blocked_queries);
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(workers), std::vector<double>(scratch_size));
  std::vector<double> out(static_cast<std::size_t>(s.heads * row_count * dim));
  std::atomic<std::int64_t> done{0};
  detail::parallel_for(items, workers, [&](std::int64_t item, std::int64_t worker) {
    // Last blocks (most keys) first, so the tail of the schedule is short.
    const std::int64_t head = item % s.heads;
    const std::int64_t block = blocks - 1 - item / s.heads;
    const std::int64_t first = block * blocked_queries;
    const std::int64_t rows = std::min(blocked_queries, row_count - first);
    double* base = scratch[static_cast<std::size_t>(worker)].data();
    const detail::blocked_scratch work{base,
                                       base + blocked_queries * dim,
                                       base + 2 * blocked_queries * dim,
                                       base + 2 * blocked_queries * dim + blocked_queries * blocked_keys,
                                       base + 2 * blocked_queries * dim + 2 * blocked_queries * blocked_keys,
                                       base + 2 * blocked_queries * dim + 2 * blocked_queries * blocked_keys +
                                           blocked_queries * dp,
                                       base + 2 * blocked_queries * dim + 2 * blocked_queries * blocked_keys +
                                           blocked_queries * dp + blocked_queries};
    // The block's queries, scaled by the log scale and rotated for both branches as the reference does.
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t slot = first + r;
      const std::int64_t row = only_rows.empty() ? slot : only_rows[static_cast<std::size_t>(slot)];
      const std::int64_t i = positions[static_cast<std::size_t>(slot)];
      const double* source = q.data() + (head * s.query_tokens + row) * dim;
      double* neighbor = work.q_neighbor + r * dim;
      double* group = work.q_group + r * dim;
      const double scale = detail::log_scale(p.rope, i);
      for (std::int64_t d = 0; d < dim; ++d) neighbor[d] = source[d] * scale;
      rotate_with(neighbor, angles.data() + i * pairs * 2, pairs, p.rope.style);
      if (i >= extension.window) {
        for (std::int64_t d = 0; d < dim; ++d) group[d] = source[d] * scale;
        rotate_with(group, group_angles.data() + slot * pairs * 2, pairs, p.rope.style);
      } else {
        std::fill_n(group, dim, 0.0);  // never selected: no key is W away yet
      }
    }
    run(job, work, head / job.heads_per_kv, positions.data() + first, rows,
        out.data() + (head * row_count + first) * dim);
    const std::int64_t finished = ++done;
    if (worker == 0 && progress) progress(static_cast<double>(finished) / static_cast<double>(items));
  });
  if (progress) progress(1.0);
  return out;
}

}  // namespace

namespace detail {
std::int64_t blocked_working_memory(const attention_params& params) {
  return blocked_memory(params, params.shape.query_tokens);
}
}  // namespace detail

std::vector<double> blocked_attention(const attention_params& params, std::span<const double> q,
                                      std::span<const double> k, std::span<const double> v,
                                      const progress_callback& progress) {
  return run_blocked(params, q, k, v, {}, progress);
}

std::vector<double> blocked_attention_rows(const attention_params& params, std::span<const double> q,
                                           std::span<const double> k, std::span<const double> v,
                                           std::span<const std::int64_t> rows, const progress_callback& progress) {
  require_valid(params);
  detail::require_query_rows(params, rows);
  return run_blocked(params, q, k, v, rows, progress);
}

}  // namespace selfextend
