// json_reuse.cpp - serialisation of reuse statistics; key names are the JSON contract (docs/json.md).
#include "json_reuse.hpp"

#include <boost/json.hpp>

namespace sxplan {

namespace json = boost::json;

namespace {
json::object range(const selfextend::position_range& r) { return {{"first", r.first}, {"last", r.last}}; }

/// The keys past L/2, 2L/3 and L, which Self-Extend's and every method's reuse share.
template <class Stats>
void add_thresholds(json::object& o, const Stats& s) {
  o["half_from"] = s.half_from;
  o["two_thirds_from"] = s.two_thirds_from;
  o["pairs_past_half"] = s.pairs_past_half;
  o["pairs_past_two_thirds"] = s.pairs_past_two_thirds;
  o["pairs_past_context"] = s.pairs_past_context;
  o["fraction_pairs_past_half"] = s.fraction_pairs_past_half;
  o["fraction_pairs_past_two_thirds"] = s.fraction_pairs_past_two_thirds;
  o["positions_past_half"] = s.positions_past_half;
  o["positions_past_two_thirds"] = s.positions_past_two_thirds;
}
}  // namespace

json::object to_json(const selfextend::reuse_stats& s, const array_renderer& arrays) {
  json::object o;
  o["max_position"] = s.max_position;
  o["fractional_offset"] = s.fractional_offset;
  o["total_pairs"] = s.total_pairs;
  o["neighbor_pairs"] = s.neighbor_pairs;
  o["group_pairs"] = s.group_pairs;
  o["distinct_positions"] = s.distinct_positions;
  o["neighbor_range"] = range(s.neighbor_range);
  o["group_range"] = s.group_range ? json::value(range(*s.group_range)) : json::value(nullptr);
  add_thresholds(o, s);
  o["fraction_positions_past_half"] = s.fraction_positions_past_half;
  o["fraction_positions_past_two_thirds"] = s.fraction_positions_past_two_thirds;
  o["counts"] = arrays.render(s.counts);
  o["neighbor_counts"] = arrays.render(s.neighbor_counts);
  o["group_counts"] = arrays.render(s.group_counts);
  return o;
}

json::object to_json(const selfextend::method_reuse_stats& s, const array_renderer& arrays) {
  json::object o;
  json::array branches;
  json::object branch_pairs, branch_counts;
  for (std::size_t b = 0; b < s.branches.size(); ++b) {
    const std::string name(s.branches[b]);
    branches.emplace_back(name);
    branch_pairs[name] = s.branch_pairs[b];
    branch_counts[name] = arrays.render(s.branch_counts[b]);
  }
  o["branches"] = std::move(branches);
  o["max_position"] = s.max_position;
  o["total_pairs"] = s.total_pairs;
  o["attended_pairs"] = s.attended_pairs;
  o["dropped_pairs"] = s.dropped_pairs;
  o["branch_pairs"] = std::move(branch_pairs);
  o["distinct_positions"] = s.distinct_positions;
  add_thresholds(o, s);
  o["counts"] = arrays.render(s.counts);
  o["branch_counts"] = std::move(branch_counts);
  return o;
}

}  // namespace sxplan
