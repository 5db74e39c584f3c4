// attention_tiled.cpp - the tiled float32 Self-Extend kernel: online softmax over key tiles,
// register-blocked Q·K^T and P·V tile products written once with GCC vector extensions and
// compiled three times (AVX-512, AVX2+FMA, SSE2), the widest the CPU has chosen at run time.
#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>

#include <algorithm>
#include <array>
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
#include "methods_internal.hpp"

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

/// v as the kernels read it: in place, unless head_dim needs padding to whole vectors (rows of dp
/// floats), then copied into `padded`.
const float* values_for_panels(std::span<const float> v, std::int64_t rows, std::int64_t dim, std::int64_t dp,
                               aligned_floats& padded) {
  if (dp == dim) return v.data();
  padded = aligned_floats(static_cast<std::size_t>(rows * dp));
  for (std::int64_t row = 0; row < rows; ++row) std::copy_n(v.data() + row * dim, dim, padded.get() + row * dp);
  return padded.get();
}

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
    rotate_at<false>(in, out, dim, dp, style, position, scale, nullptr, nullptr);
  }
  /// rotate() at the real position p + r, r in (0, 1): the angle p·f turned further by r·f, whose
  /// cosines and sines (fraction_cos/sin[c] = cos/sin(r·inv_freq[c])) the caller supplies. Used by
  /// the method kernel for Leaky ReRoPE's and the fractional shift's real positions.
  [[gnu::always_inline]] void rotate_fraction(const float* __restrict in, float* __restrict out, std::int64_t dim,
                                              std::int64_t dp, rope_style style, std::int64_t position, double scale,
                                              const double* fraction_cos, const double* fraction_sin) const {
    rotate_at<true>(in, out, dim, dp, style, position, scale, fraction_cos, fraction_sin);
  }

  [[nodiscard]] std::int64_t pairs() const noexcept { return pairs_; }

  [[nodiscard]] static std::int64_t bytes(std::int64_t pairs, std::int64_t max_position) {
    return ((max_position / 64 + 1) + 64) * pairs * 2 * 8;
  }

 private:
  // One body for both: with Fraction false the extra turn is compiled out, so Self-Extend's
  // rotation is the code it always was.
  template <bool Fraction>
  [[gnu::always_inline]] void rotate_at(const float* __restrict in, float* __restrict out, std::int64_t dim,
                                        std::int64_t dp, rope_style style, std::int64_t position, double scale,
                                        const double* __restrict fc, const double* __restrict fs) const {
    const std::size_t base = static_cast<std::size_t>((position / 64) * pairs_);
    const std::size_t step = static_cast<std::size_t>((position % 64) * pairs_);
    const double* __restrict bc = base_cos_.data() + base;
    const double* __restrict bs = base_sin_.data() + base;
    const double* __restrict sc = step_cos_.data() + step;
    const double* __restrict ss = step_sin_.data() + step;
    const std::int64_t pairs = pairs_;
    if (style == rope_style::neox) {  // dims c and c + R/2
      for (std::int64_t c = 0; c < pairs; ++c) {
        double cos_a = bc[c] * sc[c] - bs[c] * ss[c];
        double sin_a = bs[c] * sc[c] + bc[c] * ss[c];
        if constexpr (Fraction) {
          const double turned = cos_a * fc[c] - sin_a * fs[c];
          sin_a = sin_a * fc[c] + cos_a * fs[c];
          cos_a = turned;
        }
        const double a = static_cast<double>(in[c]) * scale;
        const double b = static_cast<double>(in[c + pairs]) * scale;
        out[c] = static_cast<float>(a * cos_a - b * sin_a);
        out[c + pairs] = static_cast<float>(b * cos_a + a * sin_a);
      }
    } else {  // gptj: dims 2c and 2c + 1
      for (std::int64_t c = 0; c < pairs; ++c) {
        double cos_a = bc[c] * sc[c] - bs[c] * ss[c];
        double sin_a = bs[c] * sc[c] + bc[c] * ss[c];
        if constexpr (Fraction) {
          const double turned = cos_a * fc[c] - sin_a * fs[c];
          sin_a = sin_a * fc[c] + cos_a * fs[c];
          cos_a = turned;
        }
        const double a = static_cast<double>(in[2 * c]) * scale;
        const double b = static_cast<double>(in[2 * c + 1]) * scale;
        out[2 * c] = static_cast<float>(a * cos_a - b * sin_a);
        out[2 * c + 1] = static_cast<float>(b * cos_a + a * sin_a);
      }
    }
    for (std::int64_t d = 2 * pairs; d < dim; ++d) out[d] = static_cast<float>(static_cast<double>(in[d]) * scale);
    for (std::int64_t d = dim; d < dp; ++d) out[d] = 0.0f;
  }

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

// ---- Any method through the branch seam (methods.hpp): tiled_method_attention. ----

constexpr int max_branches = 3;  ///< DCA's three; every other method has two

/// One token's rotation in one branch, split as whole + fraction so the integer part comes from the
/// angle tables: fraction_slot indexes the call's distinct fractions (-1: an integer position, no
/// fraction; -2: a fraction not in the table, its angles evaluated directly).
struct token_rotation {
  std::int64_t whole = 0;
  double fraction = 0;
  std::int32_t fraction_slot = -1;
  friend bool operator==(const token_rotation&, const token_rotation&) = default;
};

/// cos/sin(r·inv_freq[c]) for each distinct fractional part r of the call's positions ([slot][pairs]):
/// Leaky ReRoPE with k = 16 has 16, the fractional shift one.
struct fraction_table {
  std::int64_t pairs = 0;
  std::vector<double> cos, sin;
};

/// Keys [first, last] of one branch for one query (empty when first > last). Every method's
/// branches each cover one contiguous run of keys per query (tested against select_branch).
struct key_range {
  std::int64_t first = 1;
  std::int64_t last = 0;
};

/// Everything a method work item reads; built once per call.
struct method_tiled_job {
  std::int64_t heads, kv_heads, query_tokens, key_tokens, dim, dp, key_tiles, heads_per_kv;
  int branches;
  const float* q;  ///< [H][Nq][D], the caller's
  /// Per branch, keys rotated at the branch's key position: [Hkv][key_tiles][dp][tile_keys]. Branches
  /// whose key rotations agree (DCA's three, StreamingLLM's two) share one set.
  std::array<const float*, max_branches> key_panels;
  const float* v;  ///< [Hkv][Nk][v_stride]
  std::int64_t v_stride;
  float* out;  ///< [H][Nq][D]
  const key_range* ranges;  ///< [Nq][branches]: which keys each branch scores for query row r
  std::array<const token_rotation*, max_branches> query_rotations;  ///< per branch, [Nq] by query row
  const rope_table* table;
  const fraction_table* fractions;
  const double* inv_freq;
  const attention_params* params;
  std::int64_t query_tiles = 1;
  std::int64_t key_splits = 1;
  float* partial_out = nullptr;
  float* partial_max = nullptr;
  float* partial_sum = nullptr;
  std::atomic<bool>* non_finite = nullptr;
};

/// What filling a method's rotated key panels reads and writes.
struct method_key_panel_job {
  const float* k;
  std::int64_t key_tokens, dim, dp, key_tiles, kv_heads;
  rope_style style;
  const rope_table* table;
  const fraction_table* fractions;
  const double* inv_freq;
  std::array<const token_rotation*, max_branches> rotations;  ///< per distinct set, [Nk]
  std::array<float*, max_branches> panels;
};

/// Per-worker scratch of the method kernel: per branch the tile's rotated queries and scores, the
/// scores the branches' runs select merged into `mix`, and the output accumulators.
struct method_scratch {
  std::array<aligned_floats, max_branches> q, s;
  aligned_floats mix, o, row_max, row_sum, rotated;
  std::vector<std::uint8_t> row_branches;  ///< per row of a tile: bit b set when branch b scores a key of it
  std::vector<double> direct_cos, direct_sin;  ///< angles of a fraction outside the table
  method_scratch(std::int64_t dp, int branches, std::int64_t pairs)
      : mix(static_cast<std::size_t>(tile_queries * tile_keys)),
        o(static_cast<std::size_t>(tile_queries * dp)),
        row_max(static_cast<std::size_t>(tile_queries)),
        row_sum(static_cast<std::size_t>(tile_queries * max_lanes)),
        rotated(static_cast<std::size_t>(dp)),
        row_branches(static_cast<std::size_t>(tile_queries)),
        direct_cos(static_cast<std::size_t>(pairs)),
        direct_sin(static_cast<std::size_t>(pairs)) {
    for (int b = 0; b < branches; ++b) {
      q[static_cast<std::size_t>(b)] = aligned_floats(static_cast<std::size_t>(tile_queries * dp));
      s[static_cast<std::size_t>(b)] = aligned_floats(static_cast<std::size_t>(tile_queries * tile_keys));
    }
  }
  [[nodiscard]] static std::int64_t bytes(std::int64_t dp, int branches, std::int64_t pairs) {
    return (branches * tile_queries * (dp + tile_keys) + tile_queries * (tile_keys + dp + 1 + max_lanes) + dp) * 4 +
           tile_queries + pairs * 16;
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
void run_method_item(const method_tiled_job& job, method_scratch& scratch, std::int64_t head, std::int64_t tile,
                     std::int64_t split) {
  simd<16>::run_method_item(job, scratch, head, tile, split);
}
void fill_method_key_panels(const method_key_panel_job& job, std::int64_t item, float* row, double* dc, double* ds) {
  simd<16>::fill_method_key_panels(job, item, row, dc, ds);
}
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
void run_method_item(const method_tiled_job& job, method_scratch& scratch, std::int64_t head, std::int64_t tile,
                     std::int64_t split) {
  simd<8>::run_method_item(job, scratch, head, tile, split);
}
void fill_method_key_panels(const method_key_panel_job& job, std::int64_t item, float* row, double* dc, double* ds) {
  simd<8>::fill_method_key_panels(job, item, row, dc, ds);
}
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
void run_method_item(const method_tiled_job& job, method_scratch& scratch, std::int64_t head, std::int64_t tile,
                     std::int64_t split) {
  simd<4>::run_method_item(job, scratch, head, tile, split);
}
void fill_method_key_panels(const method_key_panel_job& job, std::int64_t item, float* row, double* dc, double* ds) {
  simd<4>::fill_method_key_panels(job, item, row, dc, ds);
}
}  // namespace isa_baseline

/// The kernel's two parallel passes, compiled for one instruction set.
struct kernel_functions {
  void (*run_item)(const tiled_job&, tiled_scratch&, std::int64_t, std::int64_t, std::int64_t);
  void (*fill_key_panels)(const key_panel_job&, std::int64_t, float*);
  void (*run_method_item)(const method_tiled_job&, method_scratch&, std::int64_t, std::int64_t, std::int64_t);
  void (*fill_method_key_panels)(const method_key_panel_job&, std::int64_t, float*, double*, double*);
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
  if (level == simd_level::avx512) return {isa_avx512::run_item, isa_avx512::fill_key_panels, isa_avx512::run_method_item, isa_avx512::fill_method_key_panels};
  if (level == simd_level::avx2) return {isa_avx2::run_item, isa_avx2::fill_key_panels, isa_avx2::run_method_item, isa_avx2::fill_method_key_panels};
#endif
  return {isa_baseline::run_item, isa_baseline::fill_key_panels, isa_baseline::run_method_item, isa_baseline::fill_method_key_panels};
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

/// Log-sum-exp merge of the key splits (flash-decoding): with m the largest split maximum,
/// out = sum_s 2^(m_s - m) o_s / sum_s 2^(m_s - m) l_s. An empty split has m_s = -inf, weight 0.
void merge_key_splits(std::vector<float>& out, const std::vector<float>& partial_out, const std::vector<float>& partial_max,
                      const std::vector<float>& partial_sum, const attention_shape& s, std::int64_t query_tiles,
                      std::int64_t splits, std::int64_t dp) {
  const std::int64_t dim = s.head_dim;
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

  aligned_floats v_padded;
  const float* v_data = values_for_panels(v, s.kv_heads * s.key_tokens, dim, dp, v_padded);

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
  if (splits > 1)
    merge_key_splits(out, partial_out, partial_max, partial_sum, s, query_tiles, splits, dp);
  if (progress) progress(1.0);
  if (splits > 1 || non_finite.load(std::memory_order_relaxed)) require_float32_range(out, s);
  return out;
}

}  // namespace selfextend

// ---- Any method through the branch seam. ----

namespace selfextend {

namespace {

/// The per-token rotations of one branch side for tokens [first, first + count), split into whole
/// and fraction (fraction_slot -1 for an integer, else filled by assign_fraction_slots).
std::vector<token_rotation> branch_rotations(const method_params& m, int branch, rotation_side side, std::int64_t first,
                                             std::int64_t count) {
  std::vector<token_rotation> out(static_cast<std::size_t>(count));
  for (std::int64_t t = 0; t < count; ++t) {
    const double position = side == rotation_side::query ? detail::branch_query_valid(m, branch, first + t)
                                                         : detail::branch_key_valid(m, branch, first + t);
    const double whole = std::floor(position);
    token_rotation& r = out[static_cast<std::size_t>(t)];
    r.whole = static_cast<std::int64_t>(whole);
    r.fraction = position - whole;  // exact: position and its floor are within a factor of 2 or whole is 0
    r.fraction_slot = r.fraction == 0 ? -1 : -2;
  }
  return out;
}

/// Fractions closer than this share one table entry: an angle error below 1e-12·inv_freq rad,
/// far below float32's resolution. (Leaky ReRoPE with k = 10 has ten fractions that rounding
/// spreads over many nearby doubles.)
constexpr double fraction_tolerance = 1e-12;
constexpr std::size_t max_fractions = 256;  ///< more distinct fractions (an irrational k) are evaluated directly

/// Gives every fractional rotation the slot of its value in a table of the distinct fractions
/// (up to max_fractions), and builds that table.
fraction_table assign_fraction_slots(std::vector<std::vector<token_rotation>*> sides, std::span<const double> inv_freq) {
  std::vector<double> values;
  for (const auto* side : sides)
    for (const token_rotation& r : *side)
      if (r.fraction_slot != -1) values.push_back(r.fraction);
  std::sort(values.begin(), values.end());
  std::vector<double> distinct;
  for (const double x : values)
    if (distinct.empty() || x - distinct.back() > fraction_tolerance) distinct.push_back(x);
  fraction_table table;
  table.pairs = static_cast<std::int64_t>(inv_freq.size());
  if (distinct.empty() || distinct.size() > max_fractions) return table;  // slots stay -2: direct
  for (const double x : distinct)
    for (const double f : inv_freq) {
      table.cos.push_back(std::cos(x * f));
      table.sin.push_back(std::sin(x * f));
    }
  for (auto* side : sides)
    for (token_rotation& r : *side) {
      if (r.fraction_slot == -1) continue;
      // The entry within the tolerance: the first distinct value not below r - tolerance.
      const auto at = std::lower_bound(distinct.begin(), distinct.end(), r.fraction - fraction_tolerance);
      r.fraction_slot = static_cast<std::int32_t>(at - distinct.begin());
    }
  return table;
}

/// For query row r (position i), the keys each branch scores: each branch's keys are one run
/// [first, last] of 0..i (true of every method; MethodKernelsTest checks the runs against
/// select_branch for every pair), so the runs are found by binary search, O(branches · log i)
/// selections per row instead of one per pair.
void fill_key_ranges(const method_params& m, std::int64_t i, int branches, key_range* out) {
  for (int b = 0; b < branches; ++b) out[b] = key_range{};
  std::int64_t j = 0;
  while (j <= i) {
    const std::optional<int> run = detail::select_branch_valid(m, i, j);
    std::int64_t lo = j, hi = i;  // select(lo) == run; find the last key of the run
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo + 1) / 2;
      if (detail::select_branch_valid(m, i, mid) == run)
        lo = mid;
      else
        hi = mid - 1;
    }
    if (run) out[*run] = key_range{j, lo};
    j = lo + 1;
  }
}

struct method_geometry {
  int branches = 0;
  int key_sets = 0;  ///< distinct key rotations over the branches: the key panel copies the kernel stores
  std::int64_t max_position = 0;
};

/// What the memory guard needs before anything is allocated: O(branches² · Nk) position calls.
method_geometry geometry_for(const method_params& m, const attention_shape& s) {
  method_geometry g;
  g.branches = static_cast<int>(branch_names(m.kind).size());
  for (int b = 0; b < g.branches; ++b) {
    bool shared = false;
    for (int earlier = 0; earlier < b && !shared; ++earlier) {
      shared = true;
      for (std::int64_t t = 0; t < s.key_tokens && shared; ++t)
        shared = detail::branch_key_valid(m, b, t) == detail::branch_key_valid(m, earlier, t);
    }
    if (!shared) ++g.key_sets;
    for (std::int64_t t = 0; t < s.key_tokens; ++t) {
      g.max_position = std::max(g.max_position, static_cast<std::int64_t>(std::floor(detail::branch_key_valid(m, b, t))));
      if (t >= s.key_tokens - s.query_tokens)
        g.max_position = std::max(g.max_position, static_cast<std::int64_t>(std::floor(detail::branch_query_valid(m, b, t))));
    }
  }
  return g;
}

}  // namespace

namespace detail {

std::int64_t tiled_method_working_memory(const attention_params& params, const method_params& method) {
  const attention_shape& s = params.shape;
  const method_geometry g = geometry_for(method, s);
  const std::int64_t dp = padded_dim(s.head_dim);
  const std::int64_t key_tiles = (s.key_tokens + tile_keys - 1) / tile_keys;
  const std::int64_t query_tiles = (s.query_tokens + tile_queries - 1) / tile_queries;
  const std::int64_t splits = key_splits_for(s.heads * query_tiles, worker_count(params.threads, int64_max), key_tiles);
  const std::int64_t workers = worker_count(params.threads, s.heads * query_tiles * splits);
  const std::int64_t pairs = rotary_dims(params) / 2;
  const auto rotation_bytes = static_cast<std::int64_t>(sizeof(token_rotation));
  wide_int total = checked_product({g.key_sets, s.kv_heads, key_tiles, tile_keys, dp, 4});  // key panels, one per distinct set
  total += checked_product({g.branches, s.key_tokens + s.query_tokens, rotation_bytes});    // per-token rotations
  total += checked_product({g.branches, s.query_tokens, 16});                               // key runs
  if (splits > 1) total += checked_product({s.heads, query_tiles, splits, tile_queries, dp + 2, 4});
  if (dp != s.head_dim) total += checked_product({s.kv_heads, s.key_tokens, dp, 4});
  total += checked_product({s.heads, s.query_tokens, s.head_dim, 4});
  total += checked_product({workers, method_scratch::bytes(dp, g.branches, pairs)});
  total += wide_int{rope_table::bytes(pairs, g.max_position)} + wide_int{static_cast<std::int64_t>(max_fractions)} * pairs * 16;
  if (total > wide_int{int64_max}) throw invalid_params("q", "(shape)", "working memory does not fit in 64 bits");
  return static_cast<std::int64_t>(total);
}

std::vector<float> tiled_branch_attention(const attention_params& params, const method_params& method,
                                          std::span<const float> q, std::span<const float> k, std::span<const float> v,
                                          const progress_callback& progress) {
  require_valid(params);
  throw_if_any(validate(method));
  const kernel_functions kernel = kernel_functions_for(tiled_attention_simd(params.simd));
  const attention_shape& s = params.shape;
  require_size("q", q.size(), s.heads, s.query_tokens, s.head_dim);
  require_size("k", k.size(), s.kv_heads, s.key_tokens, s.head_dim);
  require_size("v", v.size(), s.kv_heads, s.key_tokens, s.head_dim);
  require_memory(params, tiled_method_working_memory(params, method));

  const std::int64_t dim = s.head_dim;
  const std::int64_t dp = padded_dim(dim);
  const std::int64_t key_tiles = (s.key_tokens + tile_keys - 1) / tile_keys;
  const std::int64_t query_tiles = (s.query_tokens + tile_queries - 1) / tile_queries;
  const std::int64_t first_query = s.key_tokens - s.query_tokens;
  const int branches = static_cast<int>(branch_names(method.kind).size());
  const std::vector<double> inv_freq = inverse_frequencies(params);

  // Each token's rotation once per branch, as a runtime's per-token tables give them.
  std::vector<std::vector<token_rotation>> query_rot, key_rot;
  for (int b = 0; b < branches; ++b) {
    query_rot.push_back(branch_rotations(method, b, rotation_side::query, first_query, s.query_tokens));
    key_rot.push_back(branch_rotations(method, b, rotation_side::key, 0, s.key_tokens));
  }
  std::vector<std::vector<token_rotation>*> sides;
  for (auto& side : query_rot) sides.push_back(&side);
  for (auto& side : key_rot) sides.push_back(&side);
  const fraction_table fractions = assign_fraction_slots(sides, inv_freq);
  std::int64_t max_position = 0;
  for (const auto* side : sides)
    for (const token_rotation& r : *side) max_position = std::max(max_position, r.whole);
  const rope_table table(inv_freq, params.rope.attention_factor, 0.0, max_position);

  // Branches whose key rotations agree for every key share one set of panels.
  std::array<int, max_branches> set_of{};
  std::vector<int> set_branch;  // the branch each set was built from
  for (int b = 0; b < branches; ++b) {
    int found = -1;
    for (std::size_t u = 0; u < set_branch.size(); ++u)
      if (key_rot[static_cast<std::size_t>(set_branch[u])] == key_rot[static_cast<std::size_t>(b)]) found = static_cast<int>(u);
    if (found < 0) {
      found = static_cast<int>(set_branch.size());
      set_branch.push_back(b);
    }
    set_of[static_cast<std::size_t>(b)] = found;
  }
  const auto sets = static_cast<std::int64_t>(set_branch.size());
  const std::size_t set_floats = static_cast<std::size_t>(s.kv_heads * key_tiles * dp * tile_keys);
  aligned_floats key_panels(static_cast<std::size_t>(sets) * set_floats, aligned_floats::unfilled{});
  method_key_panel_job panels{.k = k.data(),
                              .key_tokens = s.key_tokens,
                              .dim = dim,
                              .dp = dp,
                              .key_tiles = key_tiles,
                              .kv_heads = s.kv_heads,
                              .style = params.rope.style,
                              .table = &table,
                              .fractions = &fractions,
                              .inv_freq = inv_freq.data(),
                              .rotations = {},
                              .panels = {}};
  for (std::int64_t u = 0; u < sets; ++u) {
    panels.rotations[static_cast<std::size_t>(u)] = key_rot[static_cast<std::size_t>(set_branch[static_cast<std::size_t>(u)])].data();
    panels.panels[static_cast<std::size_t>(u)] = key_panels.get() + static_cast<std::size_t>(u) * set_floats;
  }
  const std::int64_t pairs = table.pairs();
  const std::int64_t prep_workers = worker_count(params.threads, sets * s.kv_heads * key_tiles);
  std::vector<aligned_floats> rotated_rows;
  std::vector<std::vector<double>> direct(static_cast<std::size_t>(prep_workers), std::vector<double>(static_cast<std::size_t>(2 * pairs)));
  for (std::int64_t w = 0; w < prep_workers; ++w) rotated_rows.emplace_back(static_cast<std::size_t>(dp));
  parallel_for(sets * s.kv_heads * key_tiles, prep_workers, [&](std::int64_t item, std::int64_t worker) {
    std::vector<double>& angles = direct[static_cast<std::size_t>(worker)];
    kernel.fill_method_key_panels(panels, item, rotated_rows[static_cast<std::size_t>(worker)].get(), angles.data(),
                                  angles.data() + pairs);
  });

  // The keys each branch scores, per query row.
  std::vector<key_range> ranges(static_cast<std::size_t>(s.query_tokens * branches));
  constexpr std::int64_t rows_per_item = 256;
  const std::int64_t range_items = (s.query_tokens + rows_per_item - 1) / rows_per_item;
  parallel_for(range_items, worker_count(params.threads, range_items), [&](std::int64_t item, std::int64_t) {
    for (std::int64_t r = item * rows_per_item; r < std::min(s.query_tokens, (item + 1) * rows_per_item); ++r)
      fill_key_ranges(method, first_query + r, branches, ranges.data() + r * branches);
  });

  aligned_floats v_padded;
  const float* v_data = values_for_panels(v, s.kv_heads * s.key_tokens, dim, dp, v_padded);

  std::vector<float> out(q.size());
  method_tiled_job job{};
  job.heads = s.heads;
  job.kv_heads = s.kv_heads;
  job.query_tokens = s.query_tokens;
  job.key_tokens = s.key_tokens;
  job.dim = dim;
  job.dp = dp;
  job.key_tiles = key_tiles;
  job.heads_per_kv = s.heads / s.kv_heads;
  job.branches = branches;
  job.q = q.data();
  for (int b = 0; b < branches; ++b) {
    job.key_panels[static_cast<std::size_t>(b)] = panels.panels[static_cast<std::size_t>(set_of[static_cast<std::size_t>(b)])];
    job.query_rotations[static_cast<std::size_t>(b)] = query_rot[static_cast<std::size_t>(b)].data();
  }
  job.v = v_data;
  job.v_stride = dp;
  job.out = out.data();
  job.ranges = ranges.data();
  job.table = &table;
  job.fractions = &fractions;
  job.inv_freq = inv_freq.data();
  job.params = &params;
  const std::int64_t splits = key_splits_for(s.heads * query_tiles, worker_count(params.threads, int64_max), key_tiles);
  const std::int64_t items = s.heads * query_tiles * splits;
  const std::int64_t workers = worker_count(params.threads, items);
  const std::size_t slots = static_cast<std::size_t>(s.heads * query_tiles * splits);
  std::vector<float> partial_out(splits > 1 ? slots * static_cast<std::size_t>(tile_queries * dp) : 0);
  std::vector<float> partial_max(splits > 1 ? slots * tile_queries : 0), partial_sum(partial_max.size());
  job.query_tiles = query_tiles;
  job.key_splits = splits;
  job.partial_out = partial_out.data();
  job.partial_max = partial_max.data();
  job.partial_sum = partial_sum.data();
  std::vector<method_scratch> scratch;
  scratch.reserve(static_cast<std::size_t>(workers));
  for (std::int64_t w = 0; w < workers; ++w) scratch.emplace_back(dp, branches, pairs);
  std::atomic<bool> non_finite{false};
  job.non_finite = &non_finite;
  std::atomic<std::int64_t> done{0};
  parallel_for(items, workers, [&](std::int64_t item, std::int64_t worker) {
    const std::int64_t split = item % splits;
    const std::int64_t head_tile = item / splits;
    const std::int64_t tile = query_tiles - 1 - head_tile / s.heads;
    kernel.run_method_item(job, scratch[static_cast<std::size_t>(worker)], head_tile % s.heads, tile, split);
    const std::int64_t finished = ++done;
    if (worker == 0 && progress) progress(static_cast<double>(finished) / static_cast<double>(items));
  });
  if (splits > 1) merge_key_splits(out, partial_out, partial_max, partial_sum, s, query_tiles, splits, dp);
  if (progress) progress(1.0);
  if (splits > 1 || non_finite.load(std::memory_order_relaxed)) require_float32_range(out, s);
  return out;
}

}  // namespace detail

std::vector<float> tiled_method_attention(const attention_params& params, const method_params& method,
                                          std::span<const float> q, std::span<const float> k, std::span<const float> v,
                                          const progress_callback& progress) {
  if (method.kind == method_kind::self_extend) {
    // Self-Extend keeps its specialised kernel (the same branches, with the key runs and the tile
    // classification done by arithmetic on W instead of per row).
    require_valid_method(method);
    attention_params with_plan = params;
    with_plan.extension = method.self_extend;
    return tiled_attention(with_plan, q, k, v, progress);
  }
  return detail::tiled_branch_attention(params, method, q, k, v, progress);
}

}  // namespace selfextend
