// json_attention.hpp - to_json() for the attention kernels' result structs (docs/json.md).
#pragma once

#include <boost/json/object.hpp>

#include <selfextend/attention.hpp>

namespace sxplan {

/// max_abs_error, max_rel_error, nmse, worst {head, token, dim}, worst_candidate, worst_reference,
/// mismatches, elements, passed.
boost::json::object to_json(const selfextend::verification& v);

}  // namespace sxplan
