// json_llamacpp.hpp - to_json() for the llama.cpp simulation and flag advice (keeps the library Boost-free).
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include <selfextend/llamacpp.hpp>

#include "json_arrays.hpp"

namespace sxplan {

/// window, query_position, final_position, max_position, groupings, decode_calls, kv_cells,
/// comparison{...}, rows[{query, llamacpp, exact}], notes. Every per-token array goes through `arrays`.
boost::json::object to_json(const selfextend::llamacpp_report& r, const array_renderer& arrays = json_arrays());
/// extension_needed, ga_n, ga_w, ctx_size, batch, max_position, default_batch_max_position, fits,
/// meets_target, arguments, command_line, reasons, warnings.
boost::json::object to_json(const selfextend::llamacpp_advice& a, const std::string& command_line);

/// "llama-cli -m MODEL <arguments>": the ready command line for people and for JSON.
std::string llamacpp_command_line(const selfextend::llamacpp_advice& a, const std::string& model_path);

}  // namespace sxplan
