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
  o["applicable"] = a.applicable;
  o["verdict"] = a.applicable ? std::string(selfextend::to_string(a.recommended.judgement.band)) : std::string("not_applicable");
  o["not_applicable_reason"] = a.applicable ? json::value(nullptr) : json::value(a.not_applicable_reason);
  o["extension_needed"] = a.extension_needed;
  o["recommended"] = a.applicable ? json::value(to_json(a.recommended)) : json::value(nullptr);
  json::array candidates;
  for (const selfextend::ranked_plan& r : a.candidates) candidates.emplace_back(to_json(r));
  o["candidates"] = std::move(candidates);
  o["past_max_group"] = a.past_max_group;
  json::array capped;
  for (const selfextend::ranked_plan& r : a.capped) capped.emplace_back(to_json(r));
  o["capped"] = std::move(capped);
  o["window_for_min_groups"] = optional_int(a.window_for_min_groups);
  o["min_group_for_capacity"] = optional_int(a.min_group_for_capacity);
  o["min_group_for_two_thirds"] = optional_int(a.min_group_for_two_thirds);
  o["min_group_for_half"] = optional_int(a.min_group_for_half);
  return o;
}

json::object to_json(const selfextend::rope_scaling& r) {
  auto optional_real = [](const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); };
  auto reals = [](const std::vector<double>& v) {
    json::array a;
    for (const double d : v) a.emplace_back(d);
    return a;
  };
  json::object o;
  o["type"] = std::string(selfextend::to_string(r.type));
  o["factor"] = r.factor;
  o["original_context"] = optional_int(r.original_context);
  o["attention_factor"] = optional_real(r.attention_factor);
  o["beta_fast"] = optional_real(r.beta_fast);
  o["beta_slow"] = optional_real(r.beta_slow);
  o["mscale"] = optional_real(r.mscale);
  o["mscale_all_dim"] = optional_real(r.mscale_all_dim);
  o["truncate"] = r.truncate ? json::value(*r.truncate) : json::value(nullptr);
  o["low_freq_factor"] = optional_real(r.low_freq_factor);
  o["high_freq_factor"] = optional_real(r.high_freq_factor);
  o["short_factor"] = reals(r.short_factor);
  o["long_factor"] = reals(r.long_factor);
  o["freq_factors"] = reals(r.freq_factors);
  o["source"] = r.source;
  return o;
}

json::object to_json(const selfextend::model_info& m) {
  json::object o;
  o["name"] = m.name;
  o["architecture"] = m.architecture;
  o["source"] = m.source;
  o["position_encoding"] = std::string(selfextend::to_string(m.encoding));
  o["context"] = m.context;
  o["context_source"] = m.context_source;
  o["advertised_context"] = optional_int(m.advertised_context);
  o["max_position_embeddings"] = m.max_position_embeddings;
  o["rope_theta"] = m.rope_theta;
  o["rope_style"] = std::string(selfextend::to_string(m.style));
  o["head_dim"] = m.head_dim;
  o["rotary_dims"] = m.rotary_dims;
  o["rotary_fraction"] = m.rotary_fraction;
  o["heads"] = m.heads;
  o["kv_heads"] = m.kv_heads;
  o["layers"] = optional_int(m.layers);
  o["sliding_window"] = optional_int(m.sliding_window);
  o["sliding_layers"] = std::string(selfextend::to_string(m.sliding));
  o["sliding_period"] = m.sliding == selfextend::sliding_layers::alternating ? json::value(m.sliding_period) : json::value(nullptr);
  o["sliding_layer_count"] = optional_int(m.sliding_layer_count);
  o["rope_scaling"] = m.rope_scaling ? json::value(to_json(*m.rope_scaling)) : json::value(nullptr);
  json::array map;
  for (const selfextend::layer_run& r : m.layer_map)
    map.emplace_back(json::object{{"first", r.first},
                                  {"count", r.count},
                                  {"attention", std::string(selfextend::to_string(r.kind))},
                                  {"span", optional_int(r.span)},
                                  {"rope", r.rope},
                                  {"rope_theta", r.rope ? json::value(r.rope_theta) : json::value(nullptr)},
                                  {"rotary_dims", r.rope ? json::value(r.rotary_dims) : json::value(nullptr)},
                                  {"scaled", r.scaled}});
  o["layer_map"] = std::move(map);
  const selfextend::layer_coverage c = selfextend::self_extend_coverage(m);
  o["layer_coverage"] = json::object{{"layers", c.layers}, {"extended", c.extended}, {"windowed", c.windowed},
                                     {"no_rope", c.no_rope}, {"linear", c.linear}};
  o["dual_chunk_attention"] =
      m.dual_chunk ? json::value(json::object{{"chunk_size", m.dual_chunk->chunk_size},
                                              {"local_size", m.dual_chunk->local_size},
                                              {"original_max_position_embeddings", m.dual_chunk->original_context}})
                   : json::value(nullptr);
  o["attention_sinks"] = m.attention_sinks;
  o["query_temperature"] = m.query_temperature.empty() ? json::value(nullptr) : json::value(m.query_temperature);
  json::array sections;
  for (const std::int64_t v : m.mrope_section) sections.emplace_back(v);
  o["mrope_section"] = std::move(sections);
  json::object sources;
  for (const auto& [fact, where] : m.sources) sources[fact] = where;
  o["sources"] = std::move(sources);
  o["notes"] = strings(m.notes);
  o["warnings"] = strings(m.warnings);
  return o;
}

json::object model_result(const selfextend::model_info& m) { return {{"model", to_json(m)}}; }

json::object to_json(const selfextend::method_params& m) { return selfextend::method_parameters_json(m); }

json::object to_json(const selfextend::method_row& r) {
  return json::object{{"parameters", to_json(r.method)},
                                      {"reasons", strings(r.reasons)},
                                      {"largest_position", r.largest_position},
                                      {"fits", r.fits},
                                      {"window_share", r.window_share},
                                      {"capacity", optional_int(r.capacity)},
                                      {"dropped_pairs", r.dropped_pairs},
                                      {"attended_share", r.attended_share},
                                      {"score_passes", r.score_passes},
                                      {"attention_cost", r.attention_cost},
                                      {"kv_memory", r.kv_memory},
                                      {"runtime_needs", r.runtime_needs}};
}

json::object to_json(const std::vector<selfextend::method_row>& rows) {
  json::array methods;
  for (const selfextend::method_row& r : rows) methods.emplace_back(to_json(r));
  return {{"methods", std::move(methods)}};
}

}  // namespace sxplan
