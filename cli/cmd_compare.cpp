// cmd_compare.cpp - `sxplan compare`: every position-remap method side by side for one model and N.
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <selfextend/compare.hpp>
#include <selfextend/method_maps_plot.hpp>

#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

namespace {

std::string parameters_text(const selfextend::method_params& m) {
  std::ostringstream out;
  switch (m.kind) {
    case selfextend::method_kind::self_extend:
      out << "G " << m.self_extend.group << ", W " << m.self_extend.window;
      break;
    case selfextend::method_kind::dca: out << "chunk " << m.chunk_size << ", local " << m.local_window; break;
    case selfextend::method_kind::rerope: out << "w " << m.window; break;
    case selfextend::method_kind::leaky_rerope: out << "w " << m.window << ", k " << significant(m.leak); break;
    case selfextend::method_kind::streaming: out << "sinks " << m.start_size << ", recent " << m.recent_size; break;
  }
  return out.str();
}

void render_text(std::ostream& out, const selfextend::comparison_request& req, const model_choice& choice,
                 const std::vector<selfextend::method_row>& rows) {
  out << "Methods compared: N = " << grouped(req.tokens) << " tokens on " << choice.model.name << " (L = " << grouped(req.context)
      << ")\n\n";
  out << "  " << std::left << std::setw(14) << "method" << std::setw(24) << "parameters" << std::right << std::setw(14)
      << "largest pos" << std::setw(7) << "/L" << std::setw(6) << "fits" << std::setw(14) << "capacity" << std::setw(10)
      << "attended" << std::setw(7) << "cost" << std::setw(8) << "KV" << "\n";
  for (const selfextend::method_row& r : rows) {
    out << "  " << std::left << std::setw(14) << selfextend::to_string(r.method.kind) << std::setw(24)
        << parameters_text(r.method) << std::right << std::setw(14) << fixed(r.largest_position, 1) << std::setw(7)
        << fixed(r.window_share, 3) << std::setw(6) << (r.fits ? "yes" : "NO") << " " << std::setw(13)  // a space even at 2^63 - 1
        << (r.capacity ? grouped(*r.capacity) : std::string("any N")) << std::setw(10) << fixed(r.attended_share, 4)
        << std::setw(7) << fixed(r.attention_cost, 2) << std::setw(8) << fixed(r.kv_memory, 4) << "\n";
  }
  out << "\n  attended: share of the N(N+1)/2 causal pairs read; cost: attention FLOPs relative to full attention\n"
         "  (score sets of the official code x attended share); KV: cache size relative to N keys\n";
  for (const selfextend::method_row& r : rows) {
    out << "\n" << selfextend::to_string(r.method.kind) << " (" << parameters_text(r.method) << ")\n";
    for (const std::string& reason : r.reasons) out << "  - " << reason << "\n";
    out << "  runtime: " << r.runtime_needs << "\n";
  }
  render_model_warnings(out, choice);
}

}  // namespace

void render_method_advice(std::ostream& out, std::int64_t tokens, const model_choice& choice,
                          const selfextend::method_row& r) {
  out << selfextend::to_string(r.method.kind) << " advice: N = " << grouped(tokens) << " tokens on " << choice.model.name
      << " (L = " << grouped(choice.model.context) << ")\n\n";
  out << "Recommended:  " << parameters_text(r.method) << "   (largest position " << fixed(r.largest_position, 1) << " = "
      << fixed(100 * r.window_share, 1) << "% of L, " << (r.fits ? "fits" : "does NOT fit") << ", capacity "
      << (r.capacity ? grouped(*r.capacity) + " tokens" : std::string("any N")) << ")\n";
  for (const std::string& reason : r.reasons) out << "  - " << reason << "\n";
  out << "\nAttended " << fixed(100 * r.attended_share, 2) << "% of the causal pairs; attention cost " << fixed(r.attention_cost, 2)
      << "x and KV memory " << fixed(r.kv_memory, 4) << "x of full attention\nRuntime: " << r.runtime_needs << "\n";
  render_model_warnings(out, choice);
}

int run_compare(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()("tokens", po::value<std::string>()->value_name("N"), "target length N in tokens (prompt + generation)");
  add_model_options(options);
  options.add_options()
    ("svg", po::value<std::string>()->value_name("FILE"), "also write the methods' maps side by side as a standalone SVG to FILE")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "--tokens N (--context L | --model NAME | --config PATH | --gguf PATH) [--svg FILE] [--json]",
               "Compare the position-remap methods (Self-Extend, Dual Chunk Attention, ReRoPE, Leaky ReRoPE,\n"
               "StreamingLLM) for N tokens: each one's recommended parameters with the reasons, largest position,\n"
               "fit, dropped keys, cost and what it needs of a runtime.",
               options);
    return exit_ok;
  }
  const model_choice choice = resolve_model(vm);
  const selfextend::comparison_request req = selfextend::comparison_for(choice.model, required_int64(vm, "tokens"));
  const std::vector<selfextend::method_row> rows = selfextend::compare_methods(req);
  const std::optional<std::string> svg = vm.count("svg") ? std::optional(vm["svg"].as<std::string>()) : std::nullopt;
  if (svg) {
    std::vector<std::pair<std::string, std::string>> inputs;
    if (choice.config) inputs.emplace_back("config", *choice.config);
    if (choice.gguf) inputs.emplace_back("gguf", *choice.gguf);
    require_distinct_output("svg", *svg, inputs);
    writing_output("svg", [&] { selfextend::write_method_maps_svg(*svg, rows, req); });
  }
  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", req.tokens}};
    echo_model(echoed, choice);
    echoed["svg"] = svg ? boost::json::value(*svg) : boost::json::value(nullptr);
    write_json(inv.out, json_envelope("compare", std::move(echoed), to_json(rows), choice.model.warnings));
  } else {
    render_text(inv.out, req, choice, rows);
    if (svg) inv.out << "\nwrote " << *svg << "\n";
  }
  return exit_ok;
}

}  // namespace sxplan
