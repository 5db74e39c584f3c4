// cmd_model.cpp - `sxplan model`: every fact read about a model, with where it came from.
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string scaling_text(const selfextend::rope_scaling& r) {
  std::string t = std::string(selfextend::to_string(r.type)) + " \xC3\x97" + number_text(r.factor);
  if (r.original_context) t += " from " + grouped(*r.original_context);
  std::string details;
  auto add = [&](const char* name, const std::optional<double>& v) {
    if (v) details += std::string(details.empty() ? "" : ", ") + name + " " + number_text(*v);
  };
  add("low_freq_factor", r.low_freq_factor);
  add("high_freq_factor", r.high_freq_factor);
  add("attention_factor", r.attention_factor);
  add("beta_fast", r.beta_fast);
  add("beta_slow", r.beta_slow);
  add("mscale", r.mscale);
  add("mscale_all_dim", r.mscale_all_dim);
  if (!r.short_factor.empty()) details += std::string(details.empty() ? "" : ", ") + std::to_string(r.short_factor.size()) + " short/long factors";
  if (!r.freq_factors.empty()) details += std::string(details.empty() ? "" : ", ") + std::to_string(r.freq_factors.size()) + " per-pair divisors";
  return details.empty() ? t : t + " (" + details + ")";
}

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
  row("rope_theta", number_text(m.rope_theta), source("rope_theta"));
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
  row("rope_scaling", m.rope_scaling ? scaling_text(*m.rope_scaling) : "none", m.rope_scaling ? m.rope_scaling->source : "");
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
