// methods_internal.hpp - the position-remap rules without their checks, for callers that checked once.
#pragma once

#include <cstdint>

#include <selfextend/methods.hpp>

#include "checked_math.hpp"

namespace selfextend::detail {

/// remap() for a method validate() accepted and a pair with 0 <= key <= query: the kernels call it
/// for every pair after checking once.
[[nodiscard]] remapped_position remap_valid(const method_params& m, std::int64_t query, std::int64_t key);

/// select_branch(), branch_query_position() and branch_key_position() without their checks.
[[nodiscard]] std::optional<int> select_branch_valid(const method_params& m, std::int64_t query, std::int64_t key);
[[nodiscard]] double branch_query_valid(const method_params& m, int branch, std::int64_t token);
[[nodiscard]] double branch_key_valid(const method_params& m, int branch, std::int64_t token);

/// dropped_pairs() before saturation (T (T + 1) / 2 < 2^127 for any 64-bit N), for shares of huge N.
[[nodiscard]] wide_int dropped_pairs_exact(const method_params& m, std::int64_t tokens);

}  // namespace selfextend::detail
