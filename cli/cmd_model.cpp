// cmd_model.cpp - `sxplan model`: every fact read about a model, with where it came from.
#include <ostream>

#include <boost/json.hpp>

#include "commands.hpp"
#include "json_output.hpp"
#include "rope_options.hpp"

namespace sxplan {

namespace {

void render_text(std::ostream& out, const selfextend::model_info& m) {
  auto source = [&](const char* fact) {
    const auto it = m.sources.find(fact);
    return it == m.sources.end() ? std::string() : it->second;
  };
  auto row = [&](const std::string& fact, const std::string& value, const std::string& where) {
    std::string line = "  " + fact + std::string(fact.size() < 20 ? 20 - fact.size() : 1, ' ') + value;
    if (!where.empty()) line += std::string(value.size() < 26 ? 26 - value.size() : 2, ' ') + where;
    out << line << "\n";
  };
  out << "Model facts: " << m.name << " (" << (m.architecture.empty() ? "no architecture" : m.architecture) << "), from "
      << m.source << "\n\n";
  row("fact", "value", "source");
  row("position_encoding", std::string(selfextend::to_string(m.encoding)), source("position_encoding"));
  row("context (L)", m.context == 0 ? "none" : grouped(m.context), m.context_source);
  row("advertised_context", m.advertised_context ? grouped(*m.advertised_context) : "none", source("advertised_context"));
  row("rope_theta", significant(m.rope_theta), source("rope_theta"));
  row("rope_style", std::string(selfextend::to_string(m.style)), source("rope_style"));
  row("head_dim", std::to_string(m.head_dim), source("head_dim"));
  row("rotary_dims", std::to_string(m.rotary_dims), source("rotary_dims"));
  row("heads", std::to_string(m.heads), source("heads"));
  row("kv_heads", std::to_string(m.kv_heads), source("kv_heads"));
  row("layers", m.layers ? std::to_string(*m.layers) : "not stated", "");
  std::string window = "none";
  if (m.sliding_window) {
    window = grouped(*m.sliding_window) + ", " + std::string(selfextend::to_string(m.sliding));
    if (m.sliding == selfextend::sliding_layers::alternating) window += " (1 global in " + std::to_string(m.sliding_period) + ")";
    if (m.sliding_layer_count) window += ", " + std::to_string(*m.sliding_layer_count) + " layers";
  }
  row("sliding_window", window, source("sliding_window"));
  row("rope_scaling", m.rope_scaling ? describe_rope_scaling(m.rope_scaling) : "none", m.rope_scaling ? m.rope_scaling->source : "");
  const selfextend::layer_coverage c = selfextend::self_extend_coverage(m);
  row("layer map", m.layer_map.empty() ? "not stated" : std::to_string(m.layer_map.size()) + (m.layer_map.size() == 1 ? " run" : " runs") + ", Self-Extend acts on " +
                                                            std::to_string(c.extended) + " of " + std::to_string(c.layers),
      source("layer_attention"));
  if (!m.layer_map.empty()) out << "    " << selfextend::describe_layer_map(m) << "\n";
  if (m.dual_chunk)
    row("dual_chunk", "chunk " + grouped(m.dual_chunk->chunk_size) + ", local " + grouped(m.dual_chunk->local_size) +
                          ", trained " + grouped(m.dual_chunk->original_context), source("dual_chunk"));
  if (m.attention_sinks) row("attention_sinks", "yes", source("attention_sinks"));
  if (!m.query_temperature.empty()) row("query_temperature", "yes", source("query_temperature"));
  if (!m.notes.empty()) out << "\n";
  for (const std::string& note : m.notes) out << "note: " << note << "\n";
}

}  // namespace

int run_model(const invocation& inv) {
  po::options_description options("Options");
  add_model_options(options);
  options.add_options()("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "(--model NAME | --config PATH|DIR | --gguf PATH) [--context L] [--json]",
               "Show every fact read about a model (position encoding, context, RoPE, heads, sliding windows,\n"
               "RoPE scaling) and where each came from; the warnings are those every planning command prints.",
               options);
    return exit_ok;
  }
  const model_choice choice = resolve_model(vm, false);
  if (vm.count("json")) {
    boost::json::object params;
    echo_model(params, choice);
    params.erase("model");
    write_json(inv.out, json_envelope("model", std::move(params), model_result(choice.model), choice.model.warnings));
  } else {
    render_text(inv.out, choice.model);
    render_model_warnings(inv.out, choice);
  }
  return exit_ok;
}

}  // namespace sxplan
