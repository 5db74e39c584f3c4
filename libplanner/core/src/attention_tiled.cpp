// attention_tiled.cpp - the tiled float32 Self-Extend kernel: online softmax over key tiles,
// register-blocked Q·K^T and P·V tile products written once with GCC vector extensions and
// compiled three times (AVX-512, AVX2+FMA, SSE2), the widest the CPU has chosen at run time.
#include <selfextend/attention.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <limits>
#include <memory>
#include <utility>

#include "attention_internal.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// The vector helpers below are always inlined into ISA-specific callers, so the ABI of passing
// wide vectors between functions (what -Wpsabi warns about) never comes into play.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace selfextend {

namespace {

using detail::prefetch_plan;
using detail::prefetch_share;

constexpr std::int64_t tile_queries = 192;  ///< query rows per work item: 32 blocks of 6 rows
constexpr std::int64_t tile_keys = 64;     ///< keys per tile = panel width; 64 x 128 floats = 32 KiB, one L1
constexpr std::int64_t dim_align = 16;     ///< head_dim padded to a multiple of the widest vector
constexpr std::int64_t max_lanes = 16;     ///< floats in the widest vector (AVX-512)
constexpr double log2_e = 1.4426950408889634;

using aligned_floats = detail::aligned_array<float>;

/// factor·cos/sin of (p - offset)·inv_freq[c] for integer p in [0, max_position], built by angle
/// addition from exact values at multiples of 64 and at 0..63: two table lookups and a complex
/// product instead of a sin and a cos per element, accurate to a few units in the last place of a
/// double. The attention factor rides on the multiples-of-64 entries, so the product carries it once.
/// Cosines and sines are stored apart (structure of arrays), so a rotation's loop over the
/// frequencies is a plain loop over contiguous doubles that the compiler vectorises.
class rope_table {
 public:
  rope_table(std::span<const double> inv_freq, double factor, double offset, std::int64_t max_position)
      : pairs_(static_cast<std::int64_t>(inv_freq.size())),
        base_cos_(static_cast<std::size_t>((max_position / 64 + 1) * pairs_)),
        base_sin_(base_cos_.size()),
        step_cos_(static_cast<std::size_t>(64 * pairs_)),
        step_sin_(step_cos_.size()) {
    for (std::int64_t b = 0; b <= max_position / 64; ++b)
      for (std::int64_t c = 0; c < pairs_; ++c) {
        const double angle = (static_cast<double>(b * 64) - offset) * inv_freq[static_cast<std::size_t>(c)];
        base_cos_[static_cast<std::size_t>(b * pairs_ + c)] = std::cos(angle) * factor;
        base_sin_[static_cast<std::size_t>(b * pairs_ + c)] = std::sin(angle) * factor;
      }
    for (std::int64_t r = 0; r < 64; ++r)
      for (std::int64_t c = 0; c < pairs_; ++c) {
        const double angle = static_cast<double>(r) * inv_freq[static_cast<std::size_t>(c)];
        step_cos_[static_cast<std::size_t>(r * pairs_ + c)] = std::cos(angle);
        step_sin_[static_cast<std::size_t>(r * pairs_ + c)] = std::sin(angle);
      }
  }

  /// out[0..dp) = RoPE(scale · in[0..D)) at position p, zero-padded past D. The products are
  /// formed in double in the same order as the reference forms them. Always inlined, so each
  /// instruction set's kernel vectorises it at its own width.
  [[gnu::always_inline]] void rotate(const float* __restrict in, float* __restrict out, std::int64_t dim,
                                     std::int64_t dp, rope_style style, std::int64_t position, double scale) const {
    const std::size_t base = static_cast<std::size_t>((position / 64) * pairs_);
    const std::size_t step = static_cast<std::size_t>((position % 64) * pairs_);
    const double* __restrict bc = base_cos_.data() + base;
    const double* __restrict bs = base_sin_.data() + base;
    const double* __restrict sc = step_cos_.data() + step;
    const double* __restrict ss = step_sin_.data() + step;
    const std::int64_t pairs = pairs_;
    if (style == rope_style::neox) {  // dims c and c + R/2
      for (std::int64_t c = 0; c < pairs; ++c) {
        const double cos_a = bc[c] * sc[c] - bs[c] * ss[c];
        const double sin_a = bs[c] * sc[c] + bc[c] * ss[c];
        const double a = static_cast<double>(in[c]) * scale;
        const double b = static_cast<double>(in[c + pairs]) * scale;
        out[c] = static_cast<float>(a * cos_a - b * sin_a);
        out[c + pairs] = static_cast<float>(b * cos_a + a * sin_a);
      }
    } else {  // gptj: dims 2c and 2c + 1
      for (std::int64_t c = 0; c < pairs; ++c) {
        const double cos_a = bc[c] * sc[c] - bs[c] * ss[c];
        const double sin_a = bs[c] * sc[c] + bc[c] * ss[c];
        const double a = static_cast<double>(in[2 * c]) * scale;
        const double b = static_cast<double>(in[2 * c + 1]) * scale;
        out[2 * c] = static_cast<float>(a * cos_a - b * sin_a);
        out[2 * c + 1] = static_cast<float>(b * cos_a + a * sin_a);
      }
    }
    for (std::int64_t d = 2 * pairs; d < dim; ++d) out[d] = static_cast<float>(static_cast<double>(in[d]) * scale);
    for (std::int64_t d = dim; d < dp; ++d) out[d] = 0.0f;
  }

  [[nodiscard]] static std::int64_t bytes(std::int64_t pairs, std::int64_t max_position) {
    return ((max_position / 64 + 1) + 64) * pairs * 2 * 8;
  }

 private:
  std::int64_t pairs_;
  std::vector<double> base_cos_, base_sin_, step_cos_, step_sin_;
};

/// Everything a work item reads; built once per call.
struct tiled_job {
  std::int64_t heads, kv_heads, query_tokens, key_tokens, dim, dp, key_tiles, heads_per_kv, window;
  const float* q;               ///< [H][Nq][D], the caller's
  const float* key_neighbor;    ///< [Hkv][key_tiles][dp][tile_keys]: k rotated at j, transposed per tile
  const float* key_group;       ///< the same rotated at gk(j)
  const float* v;               ///< [Hkv][Nk][v_stride]
  std::int64_t v_stride;
  float* out;                   ///< [H][Nq][D]
  const rope_table* neighbor_table;  ///< offset 0: positions i, j, gk(j), and gq(i) under the int shift
  const rope_table* group_table;     ///< offset f for gq(i) (the same table when f = 0)
  const attention_params* params;
  std::int64_t query_tiles = 1;
  /// Key splits per (head, query tile): 1, or more when there are fewer items than workers (decode)
  /// so every core reads a share of the keys; the splits are merged by log-sum-exp.
  std::int64_t key_splits = 1;
  float* partial_out = nullptr;  ///< [H][query_tiles][splits][tile_queries][dp], unnormalised
  float* partial_max = nullptr;  ///< [H][query_tiles][splits][tile_queries], running max (log2 domain)
  float* partial_sum = nullptr;  ///< the running sums
  /// Set by a work item whose normalised output holds an inf or a NaN; the caller then finds the
  /// first such element (the check rides on the workers' final pass instead of a serial scan).
  std::atomic<bool>* non_finite = nullptr;
};

/// What filling the rotated key panels reads and writes; built once per call.
struct key_panel_job {
  const float* k;  ///< [Hkv][Nk][D], the caller's
  std::int64_t key_tokens, dim, dp, key_tiles;
  rope_style style;
  const rope_table* table;  ///< offset 0: keys rotate at j and gk(j)
  const plan* extension;
  float* key_neighbor;  ///< [Hkv][key_tiles][dp][tile_keys]
  float* key_group;
};

/// Per-worker scratch, reused across work items.
struct tiled_scratch {
  aligned_floats q_neighbor, q_group, s_neighbor, s_group, o;
  /// Running maxima, and running sums kept as one vector of lanes per row (reduced once, at the
  /// end of the item, instead of once per tile). Cache-line aligned like every buffer here: two
  /// workers writing neighbouring heap blocks every tile would share a line.
  aligned_floats row_max, row_sum;
  explicit tiled_scratch(std::int64_t dp)
      : q_neighbor(static_cast<std::size_t>(tile_queries * dp)),
        q_group(static_cast<std::size_t>(tile_queries * dp)),
        s_neighbor(static_cast<std::size_t>(tile_queries * tile_keys)),
        s_group(static_cast<std::size_t>(tile_queries * tile_keys)),
        o(static_cast<std::size_t>(tile_queries * dp)),
        row_max(static_cast<std::size_t>(tile_queries)),
        row_sum(static_cast<std::size_t>(tile_queries * max_lanes)) {}
  [[nodiscard]] static std::int64_t bytes(std::int64_t dp) {
    return (tile_queries * dp * 3 + tile_queries * tile_keys * 2 + tile_queries * (1 + max_lanes)) * 4;
  }
};

#define SX_INLINE [[gnu::always_inline]] inline

/// W floats (and W int32) in one vector register.
template <int W>
struct vector_types {
  typedef float vf __attribute__((vector_size(W * sizeof(float))));
  typedef std::int32_t vi __attribute__((vector_size(W * sizeof(float))));
};


#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
namespace isa_avx512 {
#include "attention_tiled_simd.inc"
void run_item(const tiled_job& job, tiled_scratch& scratch, std::int64_t head, std::int64_t tile, std::int64_t split) {
  simd<16>::run_item(job, scratch, head, tile, split);
}
void fill_key_panels(const key_panel_job& job, std::int64_t item, float* row) { simd<16>::fill_key_panels(job, item, row); }
}  // namespace isa_avx512
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace isa_avx2 {
#include "attention_tiled_simd.inc"
void run_item(const tiled_job& job, tiled_scratch& scratch, std::int64_t head, std::int64_t tile, std::int64_t split) {
  simd<8>::run_item(job, scratch, head, tile, split);
}
void fill_key_panels(const key_panel_job& job, std::int64_t item, float* row) { simd<8>::fill_key_panels(job, item, row); }
}  // namespace isa_avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

namespace isa_baseline {
#include "attention_tiled_simd.inc"
void run_item(const tiled_job& job, tiled_scratch& scratch, std::int64_t head, std::int64_t tile, std::int64_t split) {
  simd<4>::run_item(job, scratch, head, tile, split);
}
void fill_key_panels(const key_panel_job& job, std::int64_t item, float* row) { simd<4>::fill_key_panels(job, item, row); }
}  // namespace isa_baseline

/// The kernel's two parallel passes, compiled for one instruction set.
struct kernel_functions {
  void (*run_item)(const tiled_job&, tiled_scratch&, std::int64_t, std::int64_t, std::int64_t);
  void (*fill_key_panels)(const key_panel_job&, std::int64_t, float*);
};

/// Key splits per (head, query tile): enough that `workers` threads all have an item when heads ×
/// query tiles is smaller (decode, short chunks), at most one per 4 key tiles so each split
/// still streams a few panels.
std::int64_t key_splits_for(std::int64_t items, std::int64_t workers, std::int64_t key_tiles) {
  if (items >= workers) return 1;
  return std::max<std::int64_t>(1, std::min((workers + items - 1) / items, key_tiles / 4));
}

/// The widest vector unit this CPU has.
simd_level cpu_simd() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw"))
    return simd_level::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return simd_level::avx2;
#endif
  return simd_level::sse2;
}

/// The unit the environment forces (SXPLAN_ISA), or the CPU's widest. Read at every kernel call,
/// not cached, so a test (or a long-lived Python process) that changes it is obeyed at once.
simd_level forced_or_cpu_simd() {
  const simd_level cpu = cpu_simd();
  const char* forced = std::getenv("SXPLAN_ISA");
  if (forced == nullptr || *forced == 0 || std::strcmp(forced, "auto") == 0) return cpu;
  const std::string_view name(forced);
  for (const simd_level level : {simd_level::sse2, simd_level::avx2, simd_level::avx512}) {
    if (name != to_string(level)) continue;
    if (static_cast<std::uint8_t>(level) > static_cast<std::uint8_t>(cpu))
      throw invalid_params("SXPLAN_ISA", std::string(name),
                           "this CPU has no " + std::string(level == simd_level::avx512 ? "AVX-512 F/VL/DQ/BW" : "AVX2 with FMA") +
                               "; its widest vector unit is " + std::string(to_string(cpu)));
    return level;
  }
  throw invalid_params("SXPLAN_ISA", std::string(name), "must be one of sse2, avx2, avx512 or auto");
}

kernel_functions kernel_functions_for(simd_level level) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (level == simd_level::avx512) return {isa_avx512::run_item, isa_avx512::fill_key_panels};
  if (level == simd_level::avx2) return {isa_avx2::run_item, isa_avx2::fill_key_panels};
#endif
  return {isa_baseline::run_item, isa_baseline::fill_key_panels};
}

std::int64_t padded_dim(std::int64_t dim) { return (dim + dim_align - 1) / dim_align * dim_align; }

}  // namespace

simd_level tiled_attention_simd(simd_level cap) {
  const simd_level best = forced_or_cpu_simd();
  if (cap == simd_level::automatic) return best;
  return static_cast<std::uint8_t>(cap) < static_cast<std::uint8_t>(best) ? cap : best;
}

namespace detail {

std::int64_t tiled_working_memory(const attention_params& params) {
  const attention_shape& s = params.shape;
  const std::int64_t dp = padded_dim(s.head_dim);
  const std::int64_t key_tiles = (s.key_tokens + tile_keys - 1) / tile_keys;
  const std::int64_t query_tiles = (s.query_tokens + tile_queries - 1) / tile_queries;
  const std::int64_t splits = key_splits_for(s.heads * query_tiles, worker_count(params.threads, int64_max), key_tiles);
  const std::int64_t workers = worker_count(params.threads, s.heads * query_tiles * splits);
  const std::int64_t pairs = rotary_dims(params) / 2;
  wide_int total = checked_product({2, s.kv_heads, key_tiles, tile_keys, dp, 4});         // rotated key panels
  if (splits > 1) total += checked_product({s.heads, query_tiles, splits, tile_queries, dp + 2, 4});  // split partials
  if (dp != s.head_dim) total += checked_product({s.kv_heads, s.key_tokens, dp, 4});      // padded v
  total += checked_product({s.heads, s.query_tokens, s.head_dim, 4});                     // out
  total += checked_product({workers, tiled_scratch::bytes(dp)});
  total += 2 * wide_int{rope_table::bytes(pairs, detail::largest_rotation_position(params))};
  if (total > wide_int{int64_max}) throw invalid_params("q", "(shape)", "working memory does not fit in 64 bits");
  return static_cast<std::int64_t>(total);
}

}  // namespace detail

namespace {

/// Finite float32 inputs can still overflow float32 inside the kernel (q = k = 2e19: every score
/// is beyond 3.4e38), where the double reference stays finite. Such an output is refused, never
/// written: a NaN in a result the caller trusts is worse than an error.
void require_float32_range(std::span<const float> out, const attention_shape& s) {
  if (const std::optional<tensor_index> at = find_non_finite(out, s.query_tokens, s.head_dim))
    throw invalid_params("kernel", "tiled",
                         "overflows float32 for these inputs (output [head " + std::to_string(at->head) + ", token " +
                             std::to_string(at->token) + ", dim " + std::to_string(at->dim) +
                             "] is not finite: scores or sums beyond 3.4e38); use `kernel` reference, "
                             "which computes in double");
}

}  // namespace

std::vector<float> tiled_attention(const attention_params& params, std::span<const float> q, std::span<const float> k,
                                   std::span<const float> v, const progress_callback& progress) {
  require_valid(params);
  const kernel_functions kernel = kernel_functions_for(tiled_attention_simd(params.simd));
  const attention_shape& s = params.shape;
  detail::require_size("q", q.size(), s.heads, s.query_tokens, s.head_dim);
  detail::require_size("k", k.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_size("v", v.size(), s.kv_heads, s.key_tokens, s.head_dim);
  detail::require_memory(params, detail::tiled_working_memory(params));

  const std::int64_t dim = s.head_dim;
  const std::int64_t dp = padded_dim(dim);
  const std::int64_t key_tiles = (s.key_tokens + tile_keys - 1) / tile_keys;
  const std::int64_t query_tiles = (s.query_tokens + tile_queries - 1) / tile_queries;
  const std::vector<double> inv_freq = detail::inverse_frequencies(params);
  const std::int64_t max_position = detail::largest_rotation_position(params);
  const double factor = params.rope.attention_factor;
  const rope_table neighbor_table(inv_freq, factor, 0.0, max_position);
  const double offset = fractional_offset(params.extension);
  const std::unique_ptr<rope_table> shifted_table =
      offset != 0 ? std::make_unique<rope_table>(inv_freq, factor, offset, max_position) : nullptr;

  // Keys rotated for both branches, stored as [d][key] panels of 64 keys so the Q·K^T tile
  // product broadcasts one query element against contiguous keys.
  aligned_floats key_neighbor(static_cast<std::size_t>(s.kv_heads * key_tiles * dp * tile_keys),
                              aligned_floats::unfilled{});
  aligned_floats key_group(key_neighbor.size, aligned_floats::unfilled{});
  const key_panel_job panels{.k = k.data(),
                             .key_tokens = s.key_tokens,
                             .dim = dim,
                             .dp = dp,
                             .key_tiles = key_tiles,
                             .style = params.rope.style,
                             .table = &neighbor_table,
                             .extension = &params.extension,
                             .key_neighbor = key_neighbor.get(),
                             .key_group = key_group.get()};
  const std::int64_t prep_workers = detail::worker_count(params.threads, s.kv_heads * key_tiles);
  std::vector<aligned_floats> rotated_rows;
  for (std::int64_t w = 0; w < prep_workers; ++w) rotated_rows.emplace_back(static_cast<std::size_t>(dp));
  detail::parallel_for(s.kv_heads * key_tiles, prep_workers, [&](std::int64_t item, std::int64_t worker) {
    kernel.fill_key_panels(panels, item, rotated_rows[static_cast<std::size_t>(worker)].get());
  });

  // v is read in place unless head_dim needs padding to whole vectors.
  aligned_floats v_padded;
  const float* v_data = v.data();
  if (dp != dim) {
    v_padded = aligned_floats(static_cast<std::size_t>(s.kv_heads * s.key_tokens * dp));
    for (std::int64_t row = 0; row < s.kv_heads * s.key_tokens; ++row)
      std::copy_n(v.data() + row * dim, dim, v_padded.get() + row * dp);
    v_data = v_padded.get();
  }

  std::vector<float> out(q.size());
  tiled_job job{s.heads,
                      s.kv_heads,
                      s.query_tokens,
                      s.key_tokens,
                      dim,
                      dp,
                      key_tiles,
                      s.heads / s.kv_heads,
                      params.extension.window,
                      q.data(),
                      key_neighbor.get(),
                      key_group.get(),
                      v_data,
                      dp,
                      out.data(),
                      &neighbor_table,
                      shifted_table ? shifted_table.get() : &neighbor_table,
                      &params};
  const std::int64_t splits =
      key_splits_for(s.heads * query_tiles, detail::worker_count(params.threads, detail::int64_max), key_tiles);
  const std::int64_t items = s.heads * query_tiles * splits;
  const std::int64_t workers = detail::worker_count(params.threads, items);
  const std::size_t slots = static_cast<std::size_t>(s.heads * query_tiles * splits);
  std::vector<float> partial_out(splits > 1 ? slots * static_cast<std::size_t>(tile_queries * dp) : 0);
  std::vector<float> partial_max(splits > 1 ? slots * tile_queries : 0), partial_sum(partial_max.size());
  job.query_tiles = query_tiles;
  job.key_splits = splits;
  job.partial_out = partial_out.data();
  job.partial_max = partial_max.data();
  job.partial_sum = partial_sum.data();
  std::vector<tiled_scratch> scratch;
  scratch.reserve(static_cast<std::size_t>(workers));
  for (std::int64_t w = 0; w < workers; ++w) scratch.emplace_back(dp);
  std::atomic<bool> non_finite{false};
  job.non_finite = &non_finite;
  std::atomic<std::int64_t> done{0};
  detail::parallel_for(items, workers, [&](std::int64_t item, std::int64_t worker) {
    // Largest tiles (last rows: most keys) first, so the tail of the schedule is short.
    const std::int64_t split = item % splits;
    const std::int64_t head_tile = item / splits;
    const std::int64_t tile = query_tiles - 1 - head_tile / s.heads;
    kernel.run_item(job, scratch[static_cast<std::size_t>(worker)], head_tile % s.heads, tile, split);
    const std::int64_t finished = ++done;
    if (worker == 0 && progress) progress(static_cast<double>(finished) / static_cast<double>(items));
  });
  if (splits > 1) {
    // Log-sum-exp merge of the key splits (flash-decoding): with m the largest split maximum,
    // out = sum_s 2^(m_s - m) o_s / sum_s 2^(m_s - m) l_s. An empty split has m_s = -inf, weight 0.
    for (std::int64_t h = 0; h < s.heads; ++h)
      for (std::int64_t t = 0; t < query_tiles; ++t) {
        const std::int64_t rows = std::min(tile_queries, s.query_tokens - t * tile_queries);
        const std::size_t first = static_cast<std::size_t>((h * query_tiles + t) * splits);
        for (std::int64_t r = 0; r < rows; ++r) {
          float top = -std::numeric_limits<float>::infinity();
          for (std::int64_t sp = 0; sp < splits; ++sp)
            top = std::max(top, partial_max[(first + static_cast<std::size_t>(sp)) * tile_queries + static_cast<std::size_t>(r)]);
          float* target = out.data() + (h * s.query_tokens + t * tile_queries + r) * dim;
          std::fill_n(target, dim, 0.0f);
          float sum = 0;
          for (std::int64_t sp = 0; sp < splits; ++sp) {
            const std::size_t slot = first + static_cast<std::size_t>(sp);
            const float m = partial_max[slot * tile_queries + static_cast<std::size_t>(r)];
            if (m == -std::numeric_limits<float>::infinity()) continue;
            const float weight = std::exp2(m - top);
            sum += weight * partial_sum[slot * tile_queries + static_cast<std::size_t>(r)];
            const float* o = partial_out.data() + (slot * tile_queries + static_cast<std::size_t>(r)) * static_cast<std::size_t>(dp);
            for (std::int64_t d = 0; d < dim; ++d) target[d] += weight * o[d];
          }
          for (std::int64_t d = 0; d < dim; ++d) target[d] /= sum;
        }
      }
  }
  if (progress) progress(1.0);
  if (splits > 1 || non_finite.load(std::memory_order_relaxed)) require_float32_range(out, s);
  return out;
}

}  // namespace selfextend
