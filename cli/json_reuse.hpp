// json_reuse.hpp - to_json() for reuse statistics (keeps the library Boost-free).
#pragma once

#include <boost/json/object.hpp>

#include <selfextend/reuse.hpp>

#include "json_arrays.hpp"

namespace sxplan {

/// counts, neighbor_counts, group_counts, total_pairs, fractions past L/2 and 2L/3, ranges...
/// The three count arrays go through `arrays`.
boost::json::object to_json(const selfextend::reuse_stats& s, const array_renderer& arrays = json_arrays());
/// Another method's reuse: branches, pairs per branch, dropped pairs, the thresholds, counts and
/// branch_counts (per branch name), arrays through `arrays`.
boost::json::object to_json(const selfextend::method_reuse_stats& s, const array_renderer& arrays = json_arrays());

}  // namespace sxplan
