// json_rope.cpp - serialisation of evaluated RoPE rules; key names are the JSON contract (docs/json.md).
#include "json_rope.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include <boost/json.hpp>

namespace sxplan {

namespace json = boost::json;
using selfextend::rope_pair_change;

json::object to_json(const selfextend::rope_frequencies& f, json::value output, const array_renderer& arrays) {
  json::object r;
  r["rope_type"] = std::string(selfextend::to_string(f.type));
  r["attention_factor"] = f.attention_factor;
  r["factor"] = f.factor;
  r["original_max_position_embeddings"] = f.original_context > 0 ? json::value(f.original_context) : json::value(nullptr);
  r["tokens"] = f.sequence_length > 0 ? json::value(f.sequence_length) : json::value(nullptr);
  r["pairs"] = static_cast<std::int64_t>(f.inv_freq.size());
  r["inv_freq"] = arrays.render(f.inv_freq);
  r["wavelength"] = arrays.render(f.wavelength);
  r["theta_inv_freq"] = arrays.render(f.theta_inv_freq);
  json::array changes;
  for (const rope_pair_change c : f.change) changes.emplace_back(std::string(selfextend::to_string(c)));
  r["change"] = std::move(changes);
  json::object counts;
  for (const rope_pair_change c : {rope_pair_change::kept, rope_pair_change::divided, rope_pair_change::blended,
                                   rope_pair_change::rescaled})
    counts[selfextend::to_string(c)] = static_cast<std::int64_t>(std::count(f.change.begin(), f.change.end(), c));
  r["change_counts"] = std::move(counts);
  r["dynamic_theta"] = f.type == selfextend::rope_scaling_type::dynamic ? json::value(f.dynamic_theta) : json::value(nullptr);
  r["long_factors"] = f.type == selfextend::rope_scaling_type::longrope ? json::value(f.long_factors) : json::value(nullptr);
  r["ramp"] = f.type == selfextend::rope_scaling_type::yarn ? json::value(json::object{{"low", f.ramp_low}, {"high", f.ramp_high}})
                                                            : json::value(nullptr);
  json::array notes;
  for (const std::string& n : f.notes) notes.emplace_back(n);
  r["notes"] = std::move(notes);
  r["output"] = std::move(output);
  return r;
}

}  // namespace sxplan
