// attention_tiled.cpp - the tiled float32 Self-Extend kernel: online softmax over key tiles,
// register-blocked Q·K^T and P·V tile products written once with GCC vector extensions and
// compiled three times (AVX-512, AVX2+FMA, SSE2), the widest the CPU has chosen at run time.
#include <selfextend/attention.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

#include "attention_internal.hpp"

// The vector helpers below are always inlined into ISA-specific callers, so the ABI of passing
// wide vectors between functions (what -Wpsabi warns about) never comes into play.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace selfextend {

namespace {

constexpr std::int64_t tile_queries = 96;  ///< query rows per work item: 16 blocks of 6 rows
constexpr std::int64_t tile_keys = 64;     ///< keys per tile = panel width; 64 x 128 floats = 32 KiB, one L1
constexpr std::int64_t dim_align = 16;     ///< head_dim padded to a multiple of the widest vector
constexpr double log2_e = 1.4426950408889634;

/// 64-byte aligned float buffer (tile panels and scratch rows start on cache lines).
struct aligned_floats {
  struct free_aligned {
    void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<float[], free_aligned> data;
  std::size_t size = 0;
  aligned_floats() = default;
  explicit aligned_floats(std::size_t n)
      : data(static_cast<float*>(::operator new[](std::max<std::size_t>(n, 1) * sizeof(float), std::align_val_t{64}))),
        size(n) {
    std::fill_n(data.get(), n, 0.0f);
  }
  float* get() const noexcept { return data.get(); }
};

/// cos/sin of (p - offset)·inv_freq[c] for integer p in [0, max_position], built by angle addition
/// from exact values at multiples of 64 and at 0..63: two table lookups and a complex product
/// instead of a sin and a cos per element, accurate to a few units in the last place of a double.
class rope_table {
 public:
  rope_table(std::span<const double> inv_freq, double offset, std::int64_t max_position)
      : pairs_(static_cast<std::int64_t>(inv_freq.size())),
        base_(static_cast<std::size_t>((max_position / 64 + 1) * pairs_ * 2)),
        step_(static_cast<std::size_t>(64 * pairs_ * 2)) {
    for (std::int64_t b = 0; b <= max_position / 64; ++b)
      for (std::int64_t c = 0; c < pairs_; ++c) {
        const double angle = (static_cast<double>(b * 64) - offset) * inv_freq[static_cast<std::size_t>(c)];
        base_[static_cast<std::size_t>((b * pairs_ + c) * 2)] = std::cos(angle);
        base_[static_cast<std::size_t>((b * pairs_ + c) * 2 + 1)] = std::sin(angle);
      }
    for (std::int64_t r = 0; r < 64; ++r)
      for (std::int64_t c = 0; c < pairs_; ++c) {
        const double angle = static_cast<double>(r) * inv_freq[static_cast<std::size_t>(c)];
        step_[static_cast<std::size_t>((r * pairs_ + c) * 2)] = std::cos(angle);
        step_[static_cast<std::size_t>((r * pairs_ + c) * 2 + 1)] = std::sin(angle);
      }
  }

  /// out[0..dp) = RoPE(scale · in[0..D)) at position p, zero-padded past D.
  void rotate(const float* in, float* out, std::int64_t dim, std::int64_t dp, rope_style style, std::int64_t position,
              double scale, double* work) const {
    for (std::int64_t d = 0; d < dim; ++d) work[d] = static_cast<double>(in[d]) * scale;
    const double* base = base_.data() + (position / 64) * pairs_ * 2;
    const double* step = step_.data() + (position % 64) * pairs_ * 2;
    for (std::int64_t c = 0; c < pairs_; ++c) {
      const double cos_a = base[2 * c] * step[2 * c] - base[2 * c + 1] * step[2 * c + 1];
      const double sin_a = base[2 * c + 1] * step[2 * c] + base[2 * c] * step[2 * c + 1];
      const detail::rope_pair pd = detail::pair_dims(style, pairs_ * 2, c);
      const double a = work[pd.first];
      const double b = work[pd.second];
      work[pd.first] = a * cos_a - b * sin_a;
      work[pd.second] = b * cos_a + a * sin_a;
    }
    for (std::int64_t d = 0; d < dim; ++d) out[d] = static_cast<float>(work[d]);
    for (std::int64_t d = dim; d < dp; ++d) out[d] = 0.0f;
  }

  [[nodiscard]] static std::int64_t bytes(std::int64_t pairs, std::int64_t max_position) {
    return ((max_position / 64 + 1) + 64) * pairs * 2 * 8;
  }

 private:
  std::int64_t pairs_;
  std::vector<double> base_;
  std::vector<double> step_;
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
};

/// Per-worker scratch, reused across work items.
struct tiled_scratch {
  aligned_floats q_neighbor, q_group, s_neighbor, s_group, o;
  std::vector<float> row_max, row_sum;
  std::vector<double> work;
  explicit tiled_scratch(std::int64_t dp)
      : q_neighbor(static_cast<std::size_t>(tile_queries * dp)),
        q_group(static_cast<std::size_t>(tile_queries * dp)),
        s_neighbor(static_cast<std::size_t>(tile_queries * tile_keys)),
        s_group(static_cast<std::size_t>(tile_queries * tile_keys)),
        o(static_cast<std::size_t>(tile_queries * dp)),
        row_max(static_cast<std::size_t>(tile_queries)),
        row_sum(static_cast<std::size_t>(tile_queries)),
        work(static_cast<std::size_t>(dp)) {}
  [[nodiscard]] static std::int64_t bytes(std::int64_t dp) {
    return (tile_queries * dp * 3 + tile_queries * tile_keys * 2 + tile_queries * 2) * 4 + dp * 8;
  }
};

#define SX_INLINE [[gnu::always_inline]] inline

/// W floats (and W int32) in one vector register.
template <int W>
struct vector_types {
  typedef float vf __attribute__((vector_size(W * sizeof(float))));
  typedef std::int32_t vi __attribute__((vector_size(W * sizeof(float))));
};

template <int W>
struct simd {
  using vf = typename vector_types<W>::vf;
  using vi = typename vector_types<W>::vi;

  SX_INLINE static vf load(const float* p) {
    vf v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  SX_INLINE static void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
  // `vf{} + x`: GCC 12 turns this into a scalar add and one register broadcast; the forms that
  // avoid the add (lane-by-lane stores, shuffles of {x}, -0.0 + x) expand to W masked broadcasts.
  SX_INLINE static vf splat(float x) { return vf{} + x; }
  SX_INLINE static vf max(vf a, vf b) { return a > b ? a : b; }

  /// 2^x for x <= 0 (x = -inf gives exactly 0): round to the nearest integer n, a degree-7
  /// polynomial for 2^f on [-1/2, 1/2] (Taylor series of e^(f ln 2), relative error < 1e-8),
  /// then n added to the exponent field. Below -127 the result flushes to 0.
  SX_INLINE static vf exp2(vf x) {
    const vf floor_limit = splat(-127.0f);
    x = x < floor_limit ? floor_limit : x;
    const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
    const vf n = (x + magic) - magic;
    const vf f = x - n;
    vf poly = splat(1.5252733804059841e-05f);
    poly = poly * f + 1.5403530393381608e-04f;
    poly = poly * f + 1.3333558146428443e-03f;
    poly = poly * f + 9.6181291076284772e-03f;
    poly = poly * f + 5.5504108664821580e-02f;
    poly = poly * f + 2.4022650695910071e-01f;
    poly = poly * f + 6.9314718055994531e-01f;
    poly = poly * f + 1.0f;
    const vi exponent = (__builtin_convertvector(n, vi) + 127) << 23;  // n = -127 gives +0.0
    return poly * __builtin_bit_cast(vf, exponent);
  }

  /// s[r][c0 .. c0 + NV*W) = sum_d q[r][d] * panel[d][c0 ..] for MR rows (panel pre-offset by c0).
  template <int MR, int NV>
  SX_INLINE static void qk_block(const float* q, std::int64_t dp, const float* panel, float* s) {
    vf acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) acc[r][x] = vf{};
    for (std::int64_t d = 0; d < dp; ++d) {
      vf key[NV];
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) key[x] = load(panel + d * tile_keys + x * W);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const vf query = splat(q[r * dp + d]);
#pragma GCC unroll 8
        for (int x = 0; x < NV; ++x) acc[r][x] += query * key[x];
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) store(s + r * tile_keys + x * W, acc[r][x]);
  }

  /// o[r][d0 .. d0 + NV*W) += sum_{c < keys} p[r][c] * v[c][d0 ..] for MR rows (o, v pre-offset by d0).
  template <int MR, int NV>
  SX_INLINE static void pv_block(const float* p, std::int64_t keys, const float* v, std::int64_t v_stride, float* o,
                                 std::int64_t dp) {
    vf acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) acc[r][x] = load(o + r * dp + x * W);
    for (std::int64_t c = 0; c < keys; ++c) {
      vf value[NV];
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) value[x] = load(v + c * v_stride + x * W);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const vf weight = splat(p[r * tile_keys + c]);
#pragma GCC unroll 8
        for (int x = 0; x < NV; ++x) acc[r][x] += weight * value[x];
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int x = 0; x < NV; ++x) store(o + r * dp + x * W, acc[r][x]);
  }

  // Register blocking: 6 rows x (64 / W or 2 vectors) of accumulators fits the 32 zmm / 16 ymm/xmm registers.
  static constexpr int qk_vectors = W == 16 ? 4 : 2;
  static constexpr int pv_vectors = W == 16 ? 4 : 2;

  template <int MR>
  SX_INLINE static void qk_rows(const float* q, std::int64_t dp, const float* panel, float* s) {
    for (std::int64_t c = 0; c < tile_keys; c += qk_vectors * W) qk_block<MR, qk_vectors>(q, dp, panel + c, s + c);
  }
  template <int MR>
  SX_INLINE static void pv_rows(const float* p, std::int64_t keys, const float* v, std::int64_t v_stride, float* o,
                                std::int64_t dp) {
    std::int64_t d = 0;
    for (; d + pv_vectors * W <= dp; d += pv_vectors * W) pv_block<MR, pv_vectors>(p, keys, v + d, v_stride, o + d, dp);
    for (; d < dp; d += W) pv_block<MR, 1>(p, keys, v + d, v_stride, o + d, dp);
  }

  /// S = Q·K^T for `rows` rows of Q against one 64-key panel.
  SX_INLINE static void qk_tile(const float* q, std::int64_t rows, std::int64_t dp, const float* panel, float* s) {
    std::int64_t r = 0;
    for (; r + 6 <= rows; r += 6) qk_rows<6>(q + r * dp, dp, panel, s + r * tile_keys);
    switch (rows - r) {
      case 5: qk_rows<5>(q + r * dp, dp, panel, s + r * tile_keys); break;
      case 4: qk_rows<4>(q + r * dp, dp, panel, s + r * tile_keys); break;
      case 3: qk_rows<3>(q + r * dp, dp, panel, s + r * tile_keys); break;
      case 2: qk_rows<2>(q + r * dp, dp, panel, s + r * tile_keys); break;
      case 1: qk_rows<1>(q + r * dp, dp, panel, s + r * tile_keys); break;
      default: break;
    }
  }

  /// O += P·V for `rows` rows and the first `keys` keys of a tile.
  SX_INLINE static void pv_tile(const float* p, std::int64_t rows, std::int64_t keys, const float* v,
                                std::int64_t v_stride, float* o, std::int64_t dp) {
    std::int64_t r = 0;
    for (; r + 6 <= rows; r += 6) pv_rows<6>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp);
    switch (rows - r) {
      case 5: pv_rows<5>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp); break;
      case 4: pv_rows<4>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp); break;
      case 3: pv_rows<3>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp); break;
      case 2: pv_rows<2>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp); break;
      case 1: pv_rows<1>(p + r * tile_keys, keys, v, v_stride, o + r * dp, dp); break;
      default: break;
    }
  }

  /// Online softmax update of one tile's scores (log2 domain, -inf = masked): s becomes P, the
  /// running max and sum are updated, and the accumulated output rows are rescaled.
  SX_INLINE static void softmax_tile(float* s, std::int64_t rows, float* row_max, float* row_sum, float* o,
                                     std::int64_t dp) {
    for (std::int64_t r = 0; r < rows; ++r) {
      float* row = s + r * tile_keys;
      vf top = load(row);
      for (std::int64_t c = W; c < tile_keys; c += W) top = max(top, load(row + c));
      float tile_max = top[0];
      for (int lane = 1; lane < W; ++lane) tile_max = std::max(tile_max, top[lane]);
      const float old_max = row_max[r];
      const float new_max = std::max(old_max, tile_max);
      if (new_max == -std::numeric_limits<float>::infinity()) continue;  // nothing unmasked yet (cannot happen from tile 0 on)
      const vf shift = splat(new_max);
      vf sum = vf{};
      for (std::int64_t c = 0; c < tile_keys; c += W) {
        const vf p = exp2(load(row + c) - shift);
        store(row + c, p);
        sum += p;
      }
      float tile_sum = 0;
      for (int lane = 0; lane < W; ++lane) tile_sum += sum[lane];
      if (new_max > old_max) {
        const float correction = std::exp2(old_max - new_max);  // 0 when old_max = -inf
        row_sum[r] = row_sum[r] * correction + tile_sum;
        const vf scale = splat(correction);
        float* orow = o + r * dp;
        for (std::int64_t d = 0; d < dp; d += W) store(orow + d, load(orow + d) * scale);
      } else {
        row_sum[r] += tile_sum;
      }
      row_max[r] = new_max;
    }
  }

  /// One work item: query tile `tile` of head `head`, all key tiles it attends to.
  SX_INLINE static void run_item(const tiled_job& job, tiled_scratch& scratch, std::int64_t head, std::int64_t tile) {
    const std::int64_t dp = job.dp;
    const std::int64_t r0 = tile * tile_queries;
    const std::int64_t rows = std::min(tile_queries, job.query_tokens - r0);
    const std::int64_t offset = job.key_tokens - job.query_tokens;  // absolute position of row 0
    const std::int64_t i_first = offset + r0;
    const std::int64_t i_last = i_first + rows - 1;
    const std::int64_t kv = head / job.heads_per_kv;
    const attention_params& p = *job.params;
    const double score_scale = log2_e / std::sqrt(static_cast<double>(job.dim));  // softmax in base 2

    float* qn = scratch.q_neighbor.get();
    float* qg = scratch.q_group.get();
    const bool any_group_row = i_last >= job.window;  // a group pair needs i - j >= W, so i >= W
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t i = i_first + r;
      const float* source = job.q + ((head * job.query_tokens) + r0 + r) * job.dim;
      const double scale = detail::log_scale(p.rope, i) * score_scale;
      job.neighbor_table->rotate(source, qn + r * dp, job.dim, dp, p.rope.style, i, scale, scratch.work.data());
      if (i >= job.window)
        job.group_table->rotate(source, qg + r * dp, job.dim, dp, p.rope.style, group_query_position(i, p.extension),
                                scale, scratch.work.data());
      else
        std::fill_n(qg + r * dp, dp, 0.0f);
    }
    float* o = scratch.o.get();
    std::fill_n(o, rows * dp, 0.0f);
    std::fill_n(scratch.row_max.data(), rows, -std::numeric_limits<float>::infinity());
    std::fill_n(scratch.row_sum.data(), rows, 0.0f);
    float* sn = scratch.s_neighbor.get();
    float* sg = scratch.s_group.get();

    const std::int64_t last_tile = std::min(job.key_tiles - 1, i_last / tile_keys);  // later tiles are all masked
    for (std::int64_t kt = 0; kt <= last_tile; ++kt) {
      const std::int64_t j0 = kt * tile_keys;
      const std::int64_t keys = std::min(tile_keys, job.key_tokens - j0);
      const std::int64_t j_last = j0 + keys - 1;
      const std::int64_t min_distance = std::max<std::int64_t>(0, i_first - j_last);
      const std::int64_t max_distance = i_last - j0;
      const bool need_neighbor = min_distance < job.window;
      const bool need_group = any_group_row && max_distance >= job.window;
      const bool causal_edge = j_last > i_first;
      const std::size_t panel = static_cast<std::size_t>((kv * job.key_tiles + kt) * dp * tile_keys);

      // Only a tile straddling the boundary pays for both branches.
      float* s = need_neighbor ? sn : sg;
      if (need_neighbor) qk_tile(qn, rows, dp, job.key_neighbor + panel, sn);
      if (need_group) qk_tile(qg, rows, dp, job.key_group + panel, sg);
      if ((need_neighbor && need_group) || causal_edge || keys < tile_keys) {
        for (std::int64_t r = 0; r < rows; ++r) {
          const std::int64_t i = i_first + r;
          float* row = s + r * tile_keys;
          const float* group_row = sg + r * tile_keys;
          for (std::int64_t c = 0; c < tile_keys; ++c) {
            const std::int64_t j = j0 + c;
            if (j > i || c >= keys) {
              row[c] = -std::numeric_limits<float>::infinity();
            } else if (need_neighbor && need_group && i - j >= job.window) {
              row[c] = group_row[c];
            }
          }
        }
      }
      softmax_tile(s, rows, scratch.row_max.data(), scratch.row_sum.data(), o, dp);
      pv_tile(s, rows, keys, job.v + (kv * job.key_tokens + j0) * job.v_stride, job.v_stride, o, dp);
    }

    for (std::int64_t r = 0; r < rows; ++r) {
      float* target = job.out + ((head * job.query_tokens) + r0 + r) * job.dim;
      const float inv = 1.0f / scratch.row_sum[static_cast<std::size_t>(r)];
      for (std::int64_t d = 0; d < job.dim; ++d) target[d] = o[r * dp + d] * inv;
    }
  }
};

#if defined(__x86_64__) || defined(__i386__)
[[gnu::target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]] void run_item_avx512(const tiled_job& job,
                                                                                    tiled_scratch& scratch,
                                                                                    std::int64_t head,
                                                                                    std::int64_t tile) {
  simd<16>::run_item(job, scratch, head, tile);
}
[[gnu::target("avx2,fma")]] void run_item_avx2(const tiled_job& job, tiled_scratch& scratch, std::int64_t head,
                                               std::int64_t tile) {
  simd<8>::run_item(job, scratch, head, tile);
}
#endif
void run_item_baseline(const tiled_job& job, tiled_scratch& scratch, std::int64_t head, std::int64_t tile) {
  simd<4>::run_item(job, scratch, head, tile);
}

using item_function = void (*)(const tiled_job&, tiled_scratch&, std::int64_t, std::int64_t);

simd_level best_simd() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw"))
    return simd_level::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return simd_level::avx2;
#endif
  return simd_level::sse2;
}

item_function item_function_for(simd_level level) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (level == simd_level::avx512) return run_item_avx512;
  if (level == simd_level::avx2) return run_item_avx2;
#endif
  return run_item_baseline;
}

std::int64_t largest_rotation_position(const attention_params& p) {
  // Keys rotate at j and floor(j/G) <= j; queries at i and, when i >= W, at gq(i).
  const std::int64_t last = p.shape.key_tokens - 1;
  if (last < p.extension.window) return last;
  return std::max(last, group_query_position(last, p.extension));
}

std::int64_t padded_dim(std::int64_t dim) { return (dim + dim_align - 1) / dim_align * dim_align; }

}  // namespace

simd_level tiled_attention_simd(simd_level cap) noexcept {
  const simd_level best = best_simd();
  if (cap == simd_level::automatic) return best;
  return static_cast<std::uint8_t>(cap) < static_cast<std::uint8_t>(best) ? cap : best;
}

namespace detail {

std::int64_t tiled_working_memory(const attention_params& params) {
  const attention_shape& s = params.shape;
  const std::int64_t dp = padded_dim(s.head_dim);
  const std::int64_t key_tiles = (s.key_tokens + tile_keys - 1) / tile_keys;
  const std::int64_t query_tiles = (s.query_tokens + tile_queries - 1) / tile_queries;
  const std::int64_t workers = worker_count(params.threads, s.heads * query_tiles);
  const std::int64_t pairs = rotary_dims(params) / 2;
  wide_int total = checked_product({2, s.kv_heads, key_tiles, tile_keys, dp, 4});         // rotated key panels
  if (dp != s.head_dim) total += checked_product({s.kv_heads, s.key_tokens, dp, 4});      // padded v
  total += checked_product({s.heads, s.query_tokens, s.head_dim, 4});                     // out
  total += checked_product({workers, tiled_scratch::bytes(dp)});
  total += 2 * wide_int{rope_table::bytes(pairs, largest_rotation_position(params))};
  if (total > wide_int{int64_max}) throw invalid_params("q", "(shape)", "working memory does not fit in 64 bits");
  return static_cast<std::int64_t>(total);
}

}  // namespace detail

std::vector<float> tiled_attention(const attention_params& params, std::span<const float> q, std::span<const float> k,
                                   std::span<const float> v, const progress_callback& progress) {
  require_valid(params);
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
  const std::int64_t max_position = largest_rotation_position(params);
  const rope_table neighbor_table(inv_freq, 0.0, max_position);
  const double offset = fractional_offset(params.extension);
  const std::unique_ptr<rope_table> shifted_table =
      offset != 0 ? std::make_unique<rope_table>(inv_freq, offset, max_position) : nullptr;

  // Keys rotated for both branches, stored as [d][key] panels of 64 keys so the Q·K^T tile
  // product broadcasts one query element against contiguous keys.
  aligned_floats key_neighbor(static_cast<std::size_t>(s.kv_heads * key_tiles * dp * tile_keys));
  aligned_floats key_group(key_neighbor.size);
  const std::int64_t prep_workers = detail::worker_count(params.threads, s.kv_heads * key_tiles);
  std::vector<std::vector<float>> rotated(static_cast<std::size_t>(prep_workers), std::vector<float>(2 * dp));
  std::vector<std::vector<double>> work(static_cast<std::size_t>(prep_workers), std::vector<double>(dp));
  detail::parallel_for(s.kv_heads * key_tiles, prep_workers, [&](std::int64_t item, std::int64_t worker) {
    const std::int64_t head = item / key_tiles;
    const std::int64_t tile = item % key_tiles;
    float* neighbor_panel = key_neighbor.get() + item * dp * tile_keys;
    float* group_panel = key_group.get() + item * dp * tile_keys;
    float* row = rotated[static_cast<std::size_t>(worker)].data();
    double* scratch = work[static_cast<std::size_t>(worker)].data();
    for (std::int64_t c = 0; c < tile_keys && tile * tile_keys + c < s.key_tokens; ++c) {
      const std::int64_t j = tile * tile_keys + c;
      const float* source = k.data() + (head * s.key_tokens + j) * dim;
      neighbor_table.rotate(source, row, dim, dp, params.rope.style, j, 1.0, scratch);
      neighbor_table.rotate(source, row + dp, dim, dp, params.rope.style, group_key_position(j, params.extension), 1.0,
                            scratch);
      for (std::int64_t d = 0; d < dp; ++d) {
        neighbor_panel[d * tile_keys + c] = row[d];
        group_panel[d * tile_keys + c] = row[dp + d];
      }
    }
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
  const tiled_job job{s.heads,
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
  const item_function run = item_function_for(tiled_attention_simd(params.simd));
  const std::int64_t items = s.heads * query_tiles;
  const std::int64_t workers = detail::worker_count(params.threads, items);
  std::vector<tiled_scratch> scratch;
  scratch.reserve(static_cast<std::size_t>(workers));
  for (std::int64_t w = 0; w < workers; ++w) scratch.emplace_back(dp);
  std::atomic<std::int64_t> done{0};
  detail::parallel_for(items, workers, [&](std::int64_t item, std::int64_t worker) {
    // Largest tiles (last rows: most keys) first, so the tail of the schedule is short.
    const std::int64_t tile = query_tiles - 1 - item / s.heads;
    run(job, scratch[static_cast<std::size_t>(worker)], item % s.heads, tile);
    const std::int64_t finished = ++done;
    if (worker == 0 && progress) progress(static_cast<double>(finished) / static_cast<double>(items));
  });
  if (progress) progress(1.0);
  return out;
}

}  // namespace selfextend
