// cmd_rope.cpp - `sxplan rope`: a model's RoPE frequency rule evaluated: the attention factor, the
// inverse frequencies with their wavelengths and what the rule did to each pair; -o writes them
// (and a cos/sin table for a plan's positions) for other runtimes.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include <selfextend/error.hpp>
#include <selfextend/npy.hpp>
#include <selfextend/rope.hpp>
#include <selfextend/safetensors.hpp>
#include <selfextend/version.hpp>

#include "commands.hpp"
#include "json_output.hpp"
#include <selfextend/rope_file.hpp>
#include "json_rope.hpp"
#include "rope_options.hpp"

namespace sxplan {

namespace {

namespace json = boost::json;
using selfextend::invalid_params;
using selfextend::rope_pair_change;

std::string sci(double value, int digits) {
  std::array<char, 40> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::scientific, digits);
  return std::string(buffer.data(), result.ptr);
}

/// --positions-for G,W,N.
struct positions_request {
  selfextend::plan extension;
  std::int64_t tokens = 0;
};

positions_request parse_positions_for(const po::variables_map& vm) {
  const std::string text = vm["positions-for"].as<std::string>();
  std::array<std::string, 3> parts;
  std::size_t n = 0, start = 0;
  for (; n < 3 && start <= text.size(); ++n) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    parts[n] = text.substr(start, comma - start);
    start = comma + 1;
  }
  if (n != 3 || start <= text.size())
    throw invalid_params("positions_for", text, "must be G,W,N (group, window, tokens)");
  positions_request r;
  r.extension = {parse_int64("positions_for", parts[0]), parse_int64("positions_for", parts[1]), shift_option(vm)};
  r.tokens = parse_int64("positions_for", parts[2]);
  return r;
}

/// "0-28" style ranges of the pairs with `change`, and their count.
std::pair<std::string, std::int64_t> pair_ranges(const selfextend::rope_frequencies& f, rope_pair_change change) {
  std::string text;
  std::int64_t count = 0;
  const auto n = static_cast<std::int64_t>(f.change.size());
  for (std::int64_t c = 0; c < n; ++c) {
    if (f.change[static_cast<std::size_t>(c)] != change) continue;
    std::int64_t end = c;
    while (end + 1 < n && f.change[static_cast<std::size_t>(end + 1)] == change) ++end;
    text += (text.empty() ? "" : ", ") + std::to_string(c) + (end > c ? "-" + std::to_string(end) : "");
    count += end - c + 1;
    c = end;
  }
  return {text, count};
}

std::string change_label(const selfextend::rope_frequencies& f, rope_pair_change change) {
  if (change == rope_pair_change::divided) return "divided by " + real_text(f.factor);
  return std::string(selfextend::to_string(change));
}

}  // namespace

int run_rope(const invocation& inv) {
  po::options_description options("Options");
  add_rope_model_options(options);
  options.add_options()
    ("rope-theta", po::value<std::string>()->value_name("T"), "RoPE base without a model (default 10000)")
    ("rotary-dims", po::value<std::string>()->value_name("R"), "rotated dims R without a model (even)")
    ("rope-style", po::value<std::string>()->value_name("neox|gptj"), "pair layout without a model (default neox)");
  add_rope_rule_options(options);
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"),
     "sequence length of the length-dependent rules (dynamic, longrope); default: --positions-for's N, else none")
    ("positions-for", po::value<std::string>()->value_name("G,W,N"),
     "with -o: also a cos/sin table for the positions the plan G, W over N tokens rotates at");
  add_shift_option(options);
  options.add_options()
    ("output,o", po::value<std::string>()->value_name("FILE"), "write inv_freq (.npy) or inv_freq and the table (.safetensors)")
    ("force", "build a cos/sin table above 1 GiB")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv,
               "(--model NAME | --config PATH | --gguf PATH | --rotary-dims R [--rope-theta T] [--rope-scaling TYPE ...])\n"
               "       [--tokens N] [-o FILE.npy|FILE.safetensors [--positions-for G,W,N [--shift int|float]] [--force]] [--json]",
               "A model's RoPE frequency rule: the attention factor and the inverse frequencies with their wavelengths,\n"
               "and which pairs the rule kept, divided or blended.", options);
    return exit_ok;
  }
  const rope_choice choice = resolve_rope_rule(vm);
  std::optional<positions_request> positions;
  if (vm.count("positions-for")) {
    if (!vm.count("output")) throw invalid_params("positions_for", vm["positions-for"].as<std::string>(), "needs -o FILE.safetensors");
    positions = parse_positions_for(vm);
  }
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : std::string();
  std::int64_t tokens = 0;
  if (const auto given = optional_int64(vm, "tokens")) tokens = *given;
  else if (positions) tokens = positions->tokens;

  const selfextend::rope_frequencies f = selfextend::evaluate_rope(choice.rule, tokens);
  const auto pairs = static_cast<std::int64_t>(f.inv_freq.size());
  json::array written;
  std::optional<std::int64_t> table_positions;  // the cos/sin table's rows, when one was written
  if (!output.empty()) {
    selfextend::rope_file_request request;
    request.rule = choice.rule;
    request.style = choice.style;
    request.tokens = tokens;
    if (positions) {
      request.positions_plan = positions->extension;
      request.positions_tokens = positions->tokens;
    }
    request.force = vm.count("force") > 0;
    const std::vector<selfextend::table_array_info> arrays =
        writing_output("output", [&] { return selfextend::write_rope_file(output, f, request); });
    for (const selfextend::table_array_info& a : arrays) {
      if (a.name == "positions") table_positions = a.shape.at(0);
      written.push_back(json::object{{"name", a.name}, {"dtype", a.dtype}, {"shape", json::array(a.shape.begin(), a.shape.end())}});
    }
  }

  if (vm.count("json")) {
    json::object params;
    echo_model_source(params, choice.model ? &*choice.model : nullptr);
    params["rope_theta"] = choice.rule.theta;
    params["rotary_dims"] = choice.rule.rotary_dims;
    params["rope_style"] = std::string(selfextend::to_string(choice.style));
    params["max_position_embeddings"] = choice.rule.max_position_embeddings;
    params["rope_scaling"] = echo_rope_scaling(choice.rule.scaling);
    params["tokens"] = tokens > 0 ? json::value(tokens) : json::value(nullptr);
    params["positions_for"] =
        positions ? json::value(json::object{{"group", positions->extension.group},
                                             {"window", positions->extension.window},
                                             {"tokens", positions->tokens},
                                             {"shift", std::string(selfextend::to_string(positions->extension.shift))}})
                  : json::value(nullptr);
    params["output"] = output.empty() ? json::value(nullptr) : json::value(output);
    json::value written_output =
        output.empty() ? json::value(nullptr)
                       : json::value(json::object{{"path", output}, {"arrays", std::move(written)},
                                                  {"positions", table_positions ? json::value(*table_positions) : json::value(nullptr)}});
    json::object r = to_json(f, std::move(written_output));
    write_json(inv.out, json_envelope("rope", std::move(params), std::move(r),
                                      choice.model ? choice.model->model.warnings : std::vector<std::string>{}));
    return exit_ok;
  }

  std::ostream& out = inv.out;
  std::string source = "options";
  if (choice.model) source = choice.model->model.name + " (" + choice.model->model.source + ")";
  out << "RoPE of " << source << ": " << describe_rope_scaling(choice.rule.scaling) << "\n"
      << "theta " << (choice.rule.theta == std::floor(choice.rule.theta) && choice.rule.theta < 1e15 ? fixed(choice.rule.theta, 0) : real_text(choice.rule.theta))
      << ", rotary dims " << choice.rule.rotary_dims << " (" << pairs
      << " pairs), " << selfextend::to_string(choice.style) << " layout\n"
      << "evaluated for " << (tokens > 0 ? grouped(tokens) + " tokens" : std::string("no length (transformers' initial frequencies)"))
      << "; attention factor " << real_text(f.attention_factor) << " (on cos and sin)\n";
  for (const std::string& n : f.notes) out << "  " << n << "\n";
  out << "pairs:";
  bool first = true;
  for (const rope_pair_change c : {rope_pair_change::kept, rope_pair_change::blended, rope_pair_change::divided,
                                   rope_pair_change::rescaled}) {
    const auto [ranges, count] = pair_ranges(f, c);
    if (count == 0) continue;
    out << (first ? " " : "; ") << count << " " << change_label(f, c) << " (" << ranges << ")";
    first = false;
  }
  out << "\n\n  pair      inv_freq   wavelength  theta inv_freq   divisor  change\n";
  for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
    out << std::setw(6) << c << std::setw(14) << sci(f.inv_freq[c], 6) << std::setw(13) << fixed(f.wavelength[c], f.wavelength[c] < 1e6 ? 1 : 0)
        << std::setw(16) << sci(f.theta_inv_freq[c], 6) << std::setw(10) << fixed(f.theta_inv_freq[c] / f.inv_freq[c], 4)
        << "  " << selfextend::to_string(f.change[c]) << "\n";
  }
  if (!output.empty()) {
    out << "\nwrote " << output << ": inv_freq [" << pairs << "] float64";
    if (table_positions)
      out << ", positions [" << *table_positions << "], cos and sin [" << *table_positions << ", " << pairs
          << "] float64 (attention factor included)";
    out << "\n";
  }
  if (choice.model) render_model_warnings(out, *choice.model);
  return exit_ok;
}

}  // namespace sxplan
