// kernel_tolerances.hpp - the kernel tolerances the tests use, one row per row of the table
// "Tolerances and why" in docs/kernels.md, in the same order (kernel_tolerances_test checks that
// the two agree row by row). An element passes iff |actual - expected| <= atol + rtol·|expected|.
#pragma once

#include <array>
#include <string_view>

namespace kernel_tolerance {

struct row {
  std::string_view comparison;  ///< how the docs row's first cell begins
  double atol;
  double rtol;
};

inline constexpr row tiled_unit_scale{"tiled vs reference, unit-scale inputs", 2e-5, 2e-4};
inline constexpr row tiled_large_scores{"tiled vs reference, inputs ~ N(0, 9)", 2e-4, 2e-4};
inline constexpr row blocked_vs_reference{"blocked vs reference", 1e-12, 1e-12};
inline constexpr row reference_vs_plain{"reference vs plain causal RoPE attention", 1e-12, 1e-10};
inline constexpr row prefill_row_vs_decode{"last prefill row vs decode step", 1e-14, 1e-12};
inline constexpr row lse_merge{"LSE merge vs single softmax", 1e-13, 1e-11};
inline constexpr row table_driven{"table-driven vs reference", 0, 0};  ///< bit-identical
inline constexpr row torch_float64{"reference vs PyTorch float64 (", 1e-12, 1e-10};
inline constexpr row torch_scaled_models{"reference vs PyTorch float64 on scaled models", 1e-12, 1e-10};
inline constexpr row attention_factor{"attention factor a vs the first R dims", 1e-12, 1e-10};
inline constexpr row verify_default{"`sxplan verify` default", 1e-5, 1e-3};

inline constexpr std::array all{tiled_unit_scale, tiled_large_scores, blocked_vs_reference, reference_vs_plain, prefill_row_vs_decode,
                                lse_merge,        table_driven,       torch_float64,      torch_scaled_models,
                                attention_factor, verify_default};

}  // namespace kernel_tolerance
