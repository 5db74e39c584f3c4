// method_kernels_test - the tiled kernel for every position-remap method (tiled_method_attention)
// against reference_method_attention, at the tolerance docs/kernels.md declares for tiled vs
// reference, over prefill, chunked prefill and decode, grouped-query heads, sizes straddling the
// methods' windows and chunks and the kernel's 64-key and 192-query tiles, on every vector unit.
#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "attention_internal.hpp"  // detail::tiled_branch_attention: Self-Extend through the seam
#include "kernel_inputs.hpp"
#include "kernel_tolerances.hpp"

using selfextend::attention_params;
using selfextend::attention_shape;
using selfextend::method_kind;
using selfextend::method_params;
using selfextend::simd_level;

namespace {

using kernel_inputs::inputs;
using kernel_inputs::random_inputs;

constexpr auto dca = method_params::dca;
constexpr auto rerope = method_params::rerope;
constexpr auto leaky = method_params::leaky_rerope;
constexpr auto streaming = method_params::streaming;
method_params self_extend(std::int64_t g, std::int64_t w, selfextend::shift_rule shift) { return method_params::of({g, w, shift}); }

/// The methods under test: windows and chunks of 30 to 100 tokens, so inputs of up to 450 tokens
/// cross several of them and several 64-key tiles. Leaky's k = 16 and 3 take the kernel's table of
/// fractions; k = 3.7 has more than 256 distinct fractions at these sizes, which are evaluated directly.
std::vector<method_params> methods_under_test() {
  return {dca(48, 8),          dca(100, 20),       rerope(50),          rerope(1),
          leaky(40, 16),       leaky(30, 3),       leaky(64, 3.7),      streaming(4, 60),
          streaming(0, 30),    streaming(10, 100), streaming(1, 1)};
}

std::string describe(const attention_params& p, const method_params& m) {
  std::ostringstream text;
  text << selfextend::to_string(m.kind) << " (c=" << m.chunk_size << " lw=" << m.local_window << " w=" << m.window
       << " k=" << m.leak << " S=" << m.start_size << " R=" << m.recent_size << " G=" << m.self_extend.group
       << " W=" << m.self_extend.window << ") H=" << p.shape.heads << " Hkv=" << p.shape.kv_heads
       << " Nq=" << p.shape.query_tokens << " Nk=" << p.shape.key_tokens << " D=" << p.shape.head_dim
       << " R=" << p.rope.rotary_dims << " style=" << selfextend::to_string(p.rope.style)
       << " factor=" << p.rope.attention_factor << " scale_base=" << p.rope.scale_base << " threads=" << p.threads
       << " simd=" << selfextend::to_string(p.simd);
  return text.str();
}

/// Every element within atol + rtol·|expected|.
void expect_close(const std::vector<double>& expected, const std::vector<float>& actual, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  std::size_t bad = 0, worst_at = 0;
  double worst = 0;
  for (std::size_t n = 0; n < expected.size(); ++n) {
    const double excess = std::abs(static_cast<double>(actual[n]) - expected[n]) / (atol + rtol * std::abs(expected[n]));
    if (!(excess <= 1.0)) ++bad;
    if (!(excess <= worst)) {
      worst = excess;
      worst_at = n;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": worst element " << worst_at << " expected " << expected[worst_at] << " got "
                     << actual[worst_at] << " (" << worst << " times the tolerance)";
}

constexpr simd_level all_levels[] = {simd_level::sse2, simd_level::avx2, simd_level::avx512};

}  // namespace

// The kernel finds each query's keys per branch by binary search over select_branch, which holds
// because every method's branches (and its dropped keys) are each one run of keys per query.
TEST(MethodKernelsTest, EachBranchAndTheDroppedKeysAreOneRunOfKeysPerQuery) {
  for (const method_params& m : methods_under_test()) {
    for (std::int64_t i = 0; i < 450; ++i) {
      std::vector<int> runs_of(5, 0);  // runs per selection: branches 0..2, index 3 = not attended
      std::optional<int> previous;
      for (std::int64_t j = 0; j <= i; ++j) {
        const std::optional<int> b = selfextend::select_branch(m, i, j);
        if (j == 0 || b != previous) ++runs_of[static_cast<std::size_t>(b ? *b : 3)];
        previous = b;
      }
      for (int b = 0; b < 4; ++b)
        ASSERT_LE(runs_of[static_cast<std::size_t>(b)], 1) << selfextend::to_string(m.kind) << " query " << i << " branch " << b;
    }
  }
}

TEST(MethodKernelsTest, TiledEqualsReferenceForEveryMethodPhaseAndVectorUnit) {
  std::mt19937_64 rng(20260723);
  const std::int64_t sizes[] = {1, 5, 31, 63, 64, 65, 129, 191, 193, 250, 384, 450};
  int trial = 0;
  for (const method_params& m : methods_under_test()) {
    for (const std::int64_t n : sizes) {
      ++trial;
      attention_params p;
      p.shape.heads = trial % 3 == 0 ? 4 : 2;
      p.shape.kv_heads = trial % 2 == 0 ? 1 : 2;  // 4 or 2 query heads over 1 or 2 kv heads
      p.shape.key_tokens = n;
      // Prefill, a chunk at the end of the cache, and a decode step in turn.
      const int phase = trial % 3;
      p.shape.query_tokens = phase == 0 ? n : phase == 1 ? std::max<std::int64_t>(1, n / 3 + 1) : 1;
      p.shape.head_dim = trial % 4 == 0 ? 40 : 32;  // 40: padded to 48, and partial rotary below
      if (trial % 4 == 0) p.rope.rotary_dims = 24;
      if (trial % 5 == 0) p.rope.style = selfextend::rope_style::gptj;
      if (trial % 7 == 0) p.rope.attention_factor = 1.2;
      if (trial % 6 == 0) p.rope.scale_base = 32;
      p.threads = 1 + trial % 3;  // 2 and 3 threads split a decode's keys
      p.simd = all_levels[trial % 3];
      const inputs x = random_inputs(p.shape, rng);
      const std::vector<double> expected = selfextend::reference_method_attention(p, m, x.q, x.k, x.v);
      expect_close(expected, selfextend::tiled_method_attention(p, m, x.qf(), x.kf(), x.vf()),
                   kernel_tolerance::tiled_unit_scale.atol, kernel_tolerance::tiled_unit_scale.rtol, describe(p, m));
    }
  }
}

// Every method on each vector unit with the same inputs, several query tiles and a long decode
// split across threads, and sharper scores (inputs ~ N(0, 9)) at their own tolerance.
TEST(MethodKernelsTest, TiledEqualsReferenceOnEveryVectorUnitAtLargerSizesAndSharpScores) {
  std::mt19937_64 rng(7);
  for (const method_params& m : {dca(160, 24), rerope(100), leaky(96, 16), streaming(4, 150)}) {
    for (const bool decode : {false, true}) {
      attention_params p;
      p.shape = {.heads = 2, .kv_heads = 1, .query_tokens = decode ? 1 : 300, .key_tokens = decode ? 1500 : 700, .head_dim = 64};
      p.threads = 3;
      const inputs x = random_inputs(p.shape, rng, 3.0);
      const std::vector<double> expected = selfextend::reference_method_attention(p, m, x.q, x.k, x.v);
      for (const simd_level level : all_levels) {
        p.simd = level;
        expect_close(expected, selfextend::tiled_method_attention(p, m, x.qf(), x.kf(), x.vf()),
                     kernel_tolerance::tiled_large_scores.atol, kernel_tolerance::tiled_large_scores.rtol, describe(p, m));
      }
    }
  }
}

// Self-Extend through tiled_method_attention is tiled_attention (the specialisation), bit for bit;
// through the generic branch path it meets the tiled tolerance against the reference, both shifts.
TEST(MethodKernelsTest, SelfExtendKeepsItsKernelAndTheGenericPathAgreesWithIt) {
  std::mt19937_64 rng(11);
  for (const selfextend::shift_rule shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional}) {
    const method_params m = self_extend(3, 50, shift);
    attention_params p;
    p.shape = {.heads = 2, .kv_heads = 1, .query_tokens = 200, .key_tokens = 333, .head_dim = 32};
    p.threads = 2;
    const inputs x = random_inputs(p.shape, rng);
    attention_params with_plan = p;
    with_plan.extension = m.self_extend;
    const std::vector<float> specialised = selfextend::tiled_attention(with_plan, x.qf(), x.kf(), x.vf());
    EXPECT_EQ(specialised, selfextend::tiled_method_attention(p, m, x.qf(), x.kf(), x.vf()));
    const std::vector<double> expected = selfextend::reference_method_attention(p, m, x.q, x.k, x.v);
    for (const simd_level level : all_levels) {
      p.simd = level;
      expect_close(expected, selfextend::detail::tiled_branch_attention(p, m, x.qf(), x.kf(), x.vf()),
                   kernel_tolerance::tiled_unit_scale.atol, kernel_tolerance::tiled_unit_scale.rtol, describe(p, m));
    }
  }
}

TEST(MethodKernelsTest, BadMethodsAndTheBlockedKernelAreRefusedNamingTheKey) {
  attention_params p;
  p.shape = {.heads = 1, .kv_heads = 1, .query_tokens = 4, .key_tokens = 4, .head_dim = 8};
  const std::vector<float> x(32, 0.5f);
  try {
    (void)selfextend::tiled_method_attention(p, rerope(0), x, x, x);
    ADD_FAILURE() << "window 0 accepted";
  } catch (const selfextend::invalid_params& e) {
    EXPECT_EQ(e.issues().at(0).key, "window");
  }
  try {
    (void)selfextend::attention_working_memory(p, dca(48, 8), selfextend::attention_kernel::blocked);
    ADD_FAILURE() << "blocked accepted a method";
  } catch (const selfextend::invalid_params& e) {
    EXPECT_EQ(e.issues().at(0).key, "kernel");
  }
  EXPECT_GT(selfextend::attention_working_memory(p, dca(48, 8), selfextend::attention_kernel::tiled), 0);
  p.memory_limit = 100;
  EXPECT_THROW((void)selfextend::tiled_method_attention(p, streaming(1, 2), x, x, x), selfextend::invalid_params);
}
