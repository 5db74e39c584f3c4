// attention_blocked_simd.cpp - the blocked double-precision kernel's tile products and online
// softmax (attention_blocked_simd.inc), compiled three times: AVX-512, AVX2+FMA and the x86-64
// baseline (SSE2), each inside a region that sets the target ISA, never with -march. This file
// alone is compiled with multiply-add contraction (FMA); the rotations in attention_blocked.cpp are not.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "attention_blocked.hpp"
#include "attention_internal.hpp"

// The vector helpers are always inlined into ISA-specific callers, so the ABI of passing wide
// vectors between functions (what -Wpsabi warns about) never comes into play.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace selfextend::detail {

namespace {

#define SX_INLINE [[gnu::always_inline]] inline

#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
namespace isa_avx512 {
#include "attention_blocked_simd.inc"
void run_item(const blocked_job& job, const blocked_scratch& scratch, std::int64_t kv, const std::int64_t* positions,
              std::int64_t rows, double* out) {
  blocked_simd<8>::run_item(job, scratch, kv, positions, rows, out);
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
#include "attention_blocked_simd.inc"
void run_item(const blocked_job& job, const blocked_scratch& scratch, std::int64_t kv, const std::int64_t* positions,
              std::int64_t rows, double* out) {
  blocked_simd<4>::run_item(job, scratch, kv, positions, rows, out);
}
}  // namespace isa_avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

namespace isa_baseline {
#include "attention_blocked_simd.inc"
void run_item(const blocked_job& job, const blocked_scratch& scratch, std::int64_t kv, const std::int64_t* positions,
              std::int64_t rows, double* out) {
  blocked_simd<2>::run_item(job, scratch, kv, positions, rows, out);
}
}  // namespace isa_baseline

}  // namespace

blocked_item_function blocked_item_function_for(simd_level level) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (level == simd_level::avx512) return isa_avx512::run_item;
  if (level == simd_level::avx2) return isa_avx2::run_item;
#endif
  return isa_baseline::run_item;
}

}  // namespace selfextend::detail
