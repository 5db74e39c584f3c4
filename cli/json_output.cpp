// json_output.cpp - serialisation of library results; key names are the JSON contract (docs/json.md).
#include "json_output.hpp"

#include <boost/json.hpp>

namespace sxplan {

namespace json = boost::json;

namespace {
json::array strings(const std::vector<std::string>& items) {
  json::array a;
  for (const std::string& s : items) a.emplace_back(s);
  return a;
}
json::value optional_int(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }
}  // namespace

json::object to_json(const selfextend::assessment& a) {
  json::object o;
  o["capacity_exact"] = a.capacity_exact;
  o["capacity_paper"] = a.capacity_paper;
  o["max_position"] = a.max_position;
  o["effective_reach"] = a.effective_reach;
  o["reach_ratio"] = a.reach_ratio;
  o["fits"] = a.fits;
  o["satisfies_half"] = a.satisfies_half;
  o["satisfies_two_thirds"] = a.satisfies_two_thirds;
  o["verdict"] = std::string(selfextend::to_string(a.band));
  o["fractional_offset"] = a.fractional_offset;
  o["warnings"] = strings(a.warnings);
  return o;
}

json::object to_json(const selfextend::ranked_plan& r) {
  json::object o;
  o["group"] = r.extension.group;
  o["window"] = r.extension.window;
  o["shift"] = std::string(selfextend::to_string(r.extension.shift));
  for (auto& [key, value] : to_json(r.judgement)) o[key] = value;
  o["reasons"] = strings(r.reasons);
  return o;
}

json::object to_json(const selfextend::advice& a) {
  json::object o;
  o["extension_needed"] = a.extension_needed;
  o["recommended"] = to_json(a.recommended);
  json::array candidates;
  for (const selfextend::ranked_plan& r : a.candidates) candidates.emplace_back(to_json(r));
  o["candidates"] = std::move(candidates);
  o["window_for_min_groups"] = a.window_for_min_groups;
  o["min_group_for_capacity"] = a.min_group_for_capacity;
  o["min_group_for_two_thirds"] = optional_int(a.min_group_for_two_thirds);
  o["min_group_for_half"] = optional_int(a.min_group_for_half);
  return o;
}

json::object to_json(const selfextend::model_info& m) {
  json::object o;
  o["name"] = m.name;
  o["context"] = m.context;
  o["max_position_embeddings"] = m.max_position_embeddings;
  o["rope_theta"] = m.rope_theta;
  o["head_dim"] = m.head_dim;
  o["heads"] = m.heads;
  o["kv_heads"] = m.kv_heads;
  o["rope_style"] = std::string(selfextend::to_string(m.style));
  o["rotary_dims"] = m.rotary_dims;
  o["rotary_fraction"] = m.rotary_fraction;
  o["sliding_window"] = optional_int(m.sliding_window);
  o["source"] = m.source;
  o["notes"] = strings(m.notes);
  o["warnings"] = strings(m.warnings);
  return o;
}

}  // namespace sxplan
