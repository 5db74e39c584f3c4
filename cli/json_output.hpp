// json_output.hpp - explicit to_json() for the library's result structs (keeps the library Boost-free).
#pragma once

#include <vector>

#include <boost/json/object.hpp>

#include <selfextend/advice.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/json_writer.hpp>
#include <selfextend/models.hpp>

namespace sxplan {

/// The `check` result fields: capacity_exact, capacity_paper, max_position, effective_reach,
/// reach_ratio, fits, satisfies_half, satisfies_two_thirds, verdict, fractional_offset, warnings.
boost::json::object to_json(const selfextend::assessment& a);
/// assessment fields plus group, window, shift, reasons.
boost::json::object to_json(const selfextend::ranked_plan& r);
/// A method's parameters ({"method": ..., its keys}) and `sxplan compare`'s result ({"methods": [...]}).
boost::json::object to_json(const selfextend::method_params& m);
boost::json::object to_json(const selfextend::method_row& row);
boost::json::object to_json(const std::vector<selfextend::method_row>& rows);
/// recommended, candidates, window_for_min_groups, min_group_for_*.
boost::json::object to_json(const selfextend::advice& a);
/// The model facts (docs/json.md, "model"): name, architecture, source, position_encoding,
/// context, context_source, advertised_context, rope_theta, rope_style, head_dim, rotary_dims,
/// heads, kv_heads, layers, sliding_window, sliding_layers, rope_scaling, sources, notes, warnings.
boost::json::object to_json(const selfextend::model_info& m);
/// The `model` result: {"model": the facts}.
boost::json::object model_result(const selfextend::model_info& m);
/// type, factor, original_context, every rule parameter (null when the file states none), source.
boost::json::object to_json(const selfextend::rope_scaling& r);

}  // namespace sxplan
