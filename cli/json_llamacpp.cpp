// json_llamacpp.cpp - serialisation of the llama.cpp results; key names are the JSON contract (docs/json.md).
#include "json_llamacpp.hpp"

#include <boost/json.hpp>

namespace sxplan {

namespace json = boost::json;

namespace {
json::array strings(const std::vector<std::string>& items) {
  json::array a;
  for (const std::string& s : items) a.emplace_back(s);
  return a;
}

json::object to_json(const selfextend::llamacpp_comparison& c, const array_renderer& arrays) {
  json::object o;
  o["total_pairs"] = c.total_pairs;
  o["differing_pairs"] = c.differing_pairs;
  o["max_difference"] = c.max_difference;
  o["mean_difference"] = c.mean_difference;
  o["mean_signed_difference"] = c.mean_signed_difference;
  o["mean_llamacpp_neighbors"] = c.mean_llamacpp_neighbors;
  o["mean_exact_neighbors"] = c.mean_exact_neighbors;
  o["queries_alone"] = c.queries_alone;
  o["max_position"] = c.max_position;
  o["single_token_max_position"] = c.single_token_max_position;
  o["exact_max_position"] = c.exact_max_position;
  o["context"] = c.context ? json::value(*c.context) : json::value(nullptr);
  o["fits"] = c.fits ? json::value(*c.fits) : json::value(nullptr);
  o["kv_cells"] = c.kv_cells;
  o["llamacpp_neighbors"] = arrays.render(c.llamacpp_neighbors);
  o["exact_neighbors"] = arrays.render(c.exact_neighbors);
  return o;
}
}  // namespace

json::object to_json(const selfextend::llamacpp_report& r, const array_renderer& arrays) {
  json::object o;
  o["window"] = r.positions.window;
  o["max_position"] = r.positions.max_position;
  o["groupings"] = r.positions.groupings;
  o["decode_calls"] = r.positions.decode_calls;
  o["kv_cells"] = r.positions.kv_cells;
  o["comparison"] = to_json(r.comparison, arrays);
  json::array rows;
  for (const selfextend::llamacpp_row& row : r.rows)
    rows.emplace_back(json::object{{"query", row.query}, {"llamacpp", arrays.render(row.llamacpp)}, {"exact", arrays.render(row.exact)}});
  o["rows"] = std::move(rows);
  o["notes"] = strings(r.notes);
  o["query_position"] = arrays.render(r.positions.query_position);
  o["final_position"] = arrays.render(r.positions.final_position);
  return o;
}

json::object to_json(const selfextend::llamacpp_advice& a, const std::string& command_line) {
  json::object o;
  o["applicable"] = a.applicable;
  o["not_applicable_reason"] = a.applicable ? json::value(nullptr) : json::value(a.not_applicable_reason);
  o["extension_needed"] = a.extension_needed;
  o["past_max_group"] = a.past_max_group;
  o["ga_n"] = a.ga_n;
  o["ga_w"] = a.ga_w;
  o["ctx_size"] = a.ctx_size;
  o["batch"] = a.batch;
  o["max_position"] = a.max_position;
  o["default_batch_max_position"] = a.default_batch_max_position;
  o["fits"] = a.fits;
  o["meets_target"] = a.meets_target;
  o["arguments"] = strings(a.arguments);
  o["command_line"] = a.applicable ? json::value(command_line) : json::value(nullptr);
  o["reasons"] = strings(a.reasons);
  o["warnings"] = strings(a.warnings);
  return o;
}

std::string llamacpp_command_line(const selfextend::llamacpp_advice& a, const std::string& model_path) {
  // Quote the model path only when the shell would split it.
  const bool plain = model_path.find_first_of(" \t'\"\\$`") == std::string::npos && !model_path.empty();
  std::string quoted = "'";
  for (const char c : model_path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  std::string line = "llama-cli -m " + (plain ? model_path : quoted);
  for (const std::string& arg : a.arguments) line += " " + arg;
  return line;
}

}  // namespace sxplan
