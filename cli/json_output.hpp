// json_output.hpp - explicit to_json() for the library's result structs (keeps the library Boost-free).
#pragma once

#include <boost/json/object.hpp>

#include <selfextend/advice.hpp>
#include <selfextend/models.hpp>

namespace sxplan {

/// The `check` result fields: capacity_exact, capacity_paper, max_position, effective_reach,
/// reach_ratio, fits, satisfies_half, satisfies_two_thirds, verdict, fractional_offset, warnings.
boost::json::object to_json(const selfextend::assessment& a);
/// assessment fields plus group, window, shift, reasons.
boost::json::object to_json(const selfextend::ranked_plan& r);
/// recommended, candidates, window_for_min_groups, min_group_for_*.
boost::json::object to_json(const selfextend::advice& a);
/// name, context, rope_theta, head_dim, heads, kv_heads, rope_style, ...
boost::json::object to_json(const selfextend::model_info& m);

}  // namespace sxplan
