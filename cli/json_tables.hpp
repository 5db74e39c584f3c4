// json_tables.hpp - to_json() for position tables held in memory: the `table` result (docs/json.md).
// `sxplan table` streams the same keys through the library's table writer (any N, O(chunk) memory);
// these builders serve front ends that hold the arrays, such as the Python module.
#pragma once

#include <cstdint>
#include <span>

#include <boost/json/object.hpp>

#include <selfextend/position_tables.hpp>

#include "json_arrays.hpp"

namespace sxplan {

/// The tokens layout: fractional_offset and the four per-token arrays under their file names
/// (to_string(token_array)); group_query_position is the real-valued array under the float shift.
boost::json::object to_json(const selfextend::position_tables& t, const array_renderer& arrays = json_arrays());

/// The dense layout: fractional_offset and relative_position ([N, N] prefill, [N] decode; -1 above
/// the diagonal), integers under the int shift.
boost::json::object dense_to_json(double fractional_offset, std::span<const std::int64_t> relative_position,
                                  std::span<const std::int64_t> shape, const array_renderer& arrays = json_arrays());
/// The same with real positions (the float shift).
boost::json::object dense_to_json(double fractional_offset, std::span<const double> relative_position,
                                  std::span<const std::int64_t> shape, const array_renderer& arrays = json_arrays());

}  // namespace sxplan
