// methods_internal.hpp - the position-remap rules without their checks, for callers that checked once.
#pragma once

#include <cstdint>

#include <selfextend/methods.hpp>

namespace selfextend::detail {

/// remap() for a method validate() accepted and a pair with 0 <= key <= query: the kernels call it
/// for every pair after checking once.
[[nodiscard]] remapped_position remap_valid(const method_params& m, std::int64_t query, std::int64_t key);

}  // namespace selfextend::detail
