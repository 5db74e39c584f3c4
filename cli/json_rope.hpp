// json_rope.hpp - to_json() for a RoPE rule evaluated for a length: the `rope` result (docs/json.md).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <selfextend/rope.hpp>

#include "json_arrays.hpp"

namespace sxplan {

/// rope_type, attention_factor, factor, original_max_position_embeddings, tokens, pairs, inv_freq,
/// wavelength, theta_inv_freq (through `arrays`), change, change_counts, dynamic_theta,
/// long_factors, ramp, notes, and `output` (what -o wrote, or null).
boost::json::object to_json(const selfextend::rope_frequencies& f, boost::json::value output,
                            const array_renderer& arrays = json_arrays());

}  // namespace sxplan
