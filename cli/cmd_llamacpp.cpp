// cmd_llamacpp.cpp - `sxplan llamacpp`: the positions llama.cpp's group attention assigns, against the exact map.
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include <selfextend/error.hpp>
#include <selfextend/llamacpp.hpp>

#include "choices.hpp"
#include "commands.hpp"
#include "json_llamacpp.hpp"

namespace sxplan {

namespace {

/// Arrays are printed in text only when short enough to read; --json always carries them.
constexpr std::size_t max_printed_tokens = 64;

std::vector<std::int64_t> parse_rows(const std::string& text) {
  std::vector<std::int64_t> rows;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) rows.push_back(parse_int64("rows", item));
  if (rows.empty()) throw selfextend::invalid_params("rows", text, "must be a comma-separated list of query indices");
  return rows;
}

void print_list(std::ostream& out, const std::vector<std::int64_t>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? " " : "") << values[i];
  out << "\n";
}

void render_text(std::ostream& out, const selfextend::llamacpp_schedule& s, const model_choice& choice,
                 const selfextend::llamacpp_report& r) {
  const selfextend::llamacpp_positions& p = r.positions;
  const selfextend::llamacpp_comparison& c = r.comparison;
  const std::int64_t group = s.ga_n;
  out << "llama.cpp " << selfextend::to_string(s.mode) << ": " << grouped(s.tokens) << " prompt tokens in chunks of "
      << s.batch << ", then " << grouped(s.generate) << " generated; ga_n = " << group << ", window = " << p.window
      << (s.mode == selfextend::llamacpp_mode::passkey ? " (= batch)" : "") << "; " << choice.model.name
      << " (L = " << grouped(choice.model.context) << ")\n\n";
  out << "Positions\n";
  out << "  largest position     " << grouped(p.max_position)
      << (c.fits ? (*c.fits ? "   fits: <= L-1 = " : "   beyond the window: >= L = ") +
                       grouped(*c.fits ? choice.model.context - 1 : choice.model.context)
                 : std::string())
      << "\n";
  out << "  token by token       " << grouped(c.single_token_max_position) << "   (every token decoded alone)\n";
  out << "  exact map P_max      " << grouped(c.exact_max_position) << "\n";
  out << "  groupings            " << grouped(p.groupings) << "\n";
  out << "  llama_decode calls   " << grouped(p.decode_calls) << "\n";
  out << "  KV cells needed      " << grouped(p.kv_cells) << "   (-c must be at least this)\n";
  if (static_cast<std::size_t>(p.kv_cells) <= max_printed_tokens) {
    out << "  query positions      ";
    print_list(out, p.query_position);
    out << "  final cell positions ";
    print_list(out, p.final_position);
  } else {
    out << "  per-token arrays     query_position, final_position: use --json\n";
  }
  out << "\nAgainst the exact map (same G and W), difference = exact - llama.cpp\n";
  out << "  pairs                " << grouped(c.total_pairs) << "\n";
  out << "  differing pairs      " << grouped(c.differing_pairs) << "   ("
      << fixed(c.total_pairs ? 100.0 * static_cast<double>(c.differing_pairs) / static_cast<double>(c.total_pairs) : 0.0, 1)
      << "%)\n";
  out << "  largest |difference| " << grouped(c.max_difference) << "\n";
  out << "  mean |difference|    " << fixed(c.mean_difference, 3) << "   (signed mean " << fixed(c.mean_signed_difference, 3)
      << ")\n";
  out << "  exact neighbours     " << fixed(c.mean_llamacpp_neighbors, 1) << " per query in llama.cpp, "
      << fixed(c.mean_exact_neighbors, 1) << " in the exact map (min(i+1, W)); " << grouped(c.queries_alone)
      << " queries see only themselves\n";
  for (const selfextend::llamacpp_row& row : r.rows) {
    out << "\nQuery " << row.query << " (relative position of keys 0.." << row.query << ")\n";
    out << "  llama.cpp  ";
    print_list(out, row.llamacpp);
    out << "  exact map  ";
    print_list(out, row.exact);
  }
  if (!r.notes.empty()) out << "\n";
  for (const std::string& note : r.notes) out << "note: " << note << "\n";
  render_model_warnings(out, choice);
}

}  // namespace

int run_llamacpp(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"), "prompt tokens, decoded in chunks of --batch")
    ("generate", po::value<std::string>()->value_name("M"), "tokens generated (decoded one at a time) after the prompt (default 0)")
    ("batch", po::value<std::string>()->value_name("B"), "n_batch, llama.cpp's -b: prompt chunk size (default 2048)")
    ("ga-n", po::value<std::string>()->value_name("G"), "--grp-attn-n: group size G >= 1")
    ("ga-w", po::value<std::string>()->value_name("W"), "--grp-attn-w: window W, a multiple of G (main mode only)")
    ("mode", po::value<std::string>()->value_name("main|passkey"), "llama-cli/llama-completion (main, default) or llama-passkey")
    ("rows", po::value<std::string>()->value_name("i,j,..."), "also show the relative positions these queries saw")
    ("force", "keep the per-token arrays of --json (and --rows) above their 1 GiB limit");
  add_model_options(options);
  // Accepted as everywhere a map is built; llama.cpp requires W mod G = 0, where both shifts agree.
  add_shift_option(options);
  options.add_options()("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  const selfextend::shift_rule shift = shift_option(vm);
  if (vm.count("help")) {
    print_help(inv,
               "--tokens N [--generate M] [--batch B] --ga-n G --ga-w W (--context L | --model NAME | --config PATH | "
               "--gguf PATH) [--mode main|passkey] [--rows i,j,...] [--json] [--force]",
               "Reproduce the positions llama.cpp's group attention (--grp-attn-n/--grp-attn-w) assigns and compare\n"
               "them with the exact Self-Extend map.",
               options);
    return exit_ok;
  }
  selfextend::llamacpp_schedule s;
  if (vm.count("mode")) s.mode = mode_choice(vm["mode"].as<std::string>());
  const model_choice choice = resolve_model(vm);
  s.context = choice.model.context;
  s.tokens = required_int64(vm, "tokens");
  s.generate = optional_int64(vm, "generate").value_or(0);
  s.batch = optional_int64(vm, "batch").value_or(selfextend::llamacpp_default_batch);
  s.ga_n = required_int64(vm, "ga-n");
  if (s.mode == selfextend::llamacpp_mode::main) {
    s.ga_w = required_int64(vm, "ga-w");
  } else if (vm.count("ga-w")) {
    throw selfextend::invalid_params("ga_w", vm["ga-w"].as<std::string>(),
                                     "does not apply in passkey mode: llama-passkey groups by --batch");
  }
  const std::vector<std::int64_t> rows = vm.count("rows") ? parse_rows(vm["rows"].as<std::string>()) : std::vector<std::int64_t>{};
  // The per-token arrays are built only where they are shown: --json, or text up to 64 tokens.
  const bool per_token = vm.count("json") > 0 || (s.tokens >= 0 && s.generate >= 0 &&
                                                  s.tokens <= static_cast<std::int64_t>(max_printed_tokens) - s.generate);
  const selfextend::llamacpp_report report =
      selfextend::analyse_llamacpp(s, rows, {.per_token = per_token, .force = vm.count("force") > 0});

  if (vm.count("json")) {
    boost::json::array echoed_rows;
    for (const std::int64_t row : rows) echoed_rows.emplace_back(row);
    boost::json::object echoed{{"tokens", s.tokens},
                               {"generate", s.generate},
                               {"batch", s.batch},
                               {"ga_n", s.ga_n},
                               {"ga_w", s.mode == selfextend::llamacpp_mode::main ? boost::json::value(s.ga_w)
                                                                                   : boost::json::value(nullptr)},
                               {"mode", std::string(selfextend::to_string(s.mode))},
                               {"rows", std::move(echoed_rows)},
                               {"shift", std::string(selfextend::to_string(shift))}};
    echo_model(echoed, choice);
    write_json(inv.out, json_envelope("llamacpp", std::move(echoed), to_json(report), choice.model.warnings));
  } else {
    render_text(inv.out, s, choice, report);
  }
  return exit_ok;
}

}  // namespace sxplan
