// cmd_table.cpp - `sxplan table`: the exact Self-Extend positions as per-token arrays or a dense matrix.
#include <iomanip>
#include <ostream>
#include <sstream>

#include <unistd.h>  // isatty: progress only on a terminal

#include <boost/json.hpp>

#include <selfextend/table_writers.hpp>

#include "choices.hpp"
#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

namespace {

template <class T>
T choice(const po::variables_map& vm, const std::string& flag, T fallback,
         std::optional<T> (*parse_fn)(std::string_view) noexcept, const std::string& allowed) {
  return vm.count(flag) ? parse_choice(flag, vm[flag].as<std::string>(), parse_fn, allowed) : fallback;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + "]";
}

/// For people: the four arrays as columns, or the dense matrix (masked entries as '.').
void render_text(std::ostream& out, const selfextend::table_request& r) {
  const auto& p = r.extension;
  if (r.method.kind == selfextend::method_kind::self_extend) {
    out << "Self-Extend positions: N = " << grouped(r.tokens) << ", G = " << p.group << ", W = " << p.window << ", "
        << selfextend::to_string(p.shift) << " shift, " << selfextend::to_string(r.layout) << " layout, "
        << selfextend::to_string(r.phase) << "\npair (i, j), j <= i: neighbor branch iff i - j < " << p.window
        << ", relative position = query position - key position\n\n";
  } else {
    std::string branches;
    for (const std::string_view b : selfextend::branch_names(r.method.kind)) branches += (branches.empty() ? "" : ", ") + std::string(b);
    out << selfextend::to_string(r.method.kind) << " positions: N = " << grouped(r.tokens) << ", "
        << describe_method(r.method) << ", " << selfextend::to_string(r.layout) << " layout, "
        << selfextend::to_string(r.phase) << "\nbranches " << branches
        << "; relative position = the selected branch's query position - its key position (docs/methods.md)"
        << (r.layout == selfextend::table_layout::dense ? "; x = not attended" : "") << "\n\n";
  }
  // The CSV writer is the one source of the values; re-align its cells into columns.
  selfextend::table_request csv = r;
  csv.format = selfextend::table_format::csv;
  std::stringstream text;
  (void)selfextend::write_position_table(text, csv);
  std::string line;
  bool header = r.layout == selfextend::table_layout::tokens;
  std::int64_t row = r.phase == selfextend::table_phase::decode ? r.tokens - 1 : 0;
  const int width = r.layout == selfextend::table_layout::tokens ? 23 : 4;
  if (r.layout == selfextend::table_layout::tokens) out << std::setw(8) << "token";
  else out << std::setw(8) << "query" << "  keys 0.." << r.tokens - 1 << "\n";
  while (std::getline(text, line)) {
    std::stringstream cells(line);
    std::string cell;
    if (!header) out << std::setw(8) << row++;
    while (std::getline(cells, cell, ',')) {
      const bool masked = !header && r.layout == selfextend::table_layout::dense && (cell == "-1" || cell == "-1.0");
      const bool dropped = !header && r.layout == selfextend::table_layout::dense && (cell == "-2" || cell == "-2.0");
      out << ' ' << std::setw(width) << (masked ? "." : dropped ? "x" : cell);
    }
    out << "\n";
    header = false;
  }
}

}  // namespace

int run_table(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"), "tokens N (every array has N entries)")
    ("group", po::value<std::string>()->value_name("G"), "group size G >= 1")
    ("window", po::value<std::string>()->value_name("W"), "neighbor window W >= 1 (rerope, leaky-rerope: their window w)");
  add_shift_option(options);
  add_method_options(options);
  options.add_options()
    ("phase", po::value<std::string>()->value_name("prefill|decode"),
     "prefill (default): N queries; decode: the dense layout is the row of query N-1")
    ("layout", po::value<std::string>()->value_name("tokens|dense"),
     "tokens (default): the per-token arrays (two per branch); dense: relative positions [N, N], -1 above the "
     "diagonal, -2 not attended")
    ("format", po::value<std::string>()->value_name("FMT"),
     "json, csv, npy, safetensors or c-header (default: from the -o extension)")
    ("output,o", po::value<std::string>()->value_name("FILE"), "write the table to FILE (atomically)")
    ("force", "write a dense table above the 1 GiB size limit")
    ("json", "print one JSON document (the table itself without -o, a summary with -o)")
    ("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "--tokens N (--group G --window W [--shift int|float] | --method M and its options) [--phase prefill|decode] "
               "[--layout tokens|dense] [--format json|csv|npy|safetensors|c-header] [-o FILE] [--force] [--json]",
               "Exact Self-Extend positions for other runtimes: the per-token arrays neighbor_query_position,\n"
               "neighbor_key_position, group_query_position, group_key_position, or the dense matrix; for another\n"
               "--method, its branches' query and key positions (docs/methods.md).", options);
    return exit_ok;
  }
  selfextend::table_request r;
  r.method = method_options(vm);
  if (r.method.kind == selfextend::method_kind::self_extend)
    r.extension = {required_int64(vm, "group"), required_int64(vm, "window"), shift_option(vm)};
  r.tokens = required_int64(vm, "tokens");
  if (vm.count("phase")) r.phase = phase_choice(vm["phase"].as<std::string>());
  r.layout = choice(vm, "layout", selfextend::table_layout::tokens, selfextend::parse_table_layout, "tokens or dense");
  r.force = vm.count("force") > 0;
  const std::optional<std::string> output = vm.count("output") ? std::optional(vm["output"].as<std::string>()) : std::nullopt;
  const std::string allowed = "json, csv, npy, safetensors or c-header";
  if (vm.count("format")) {
    r.format = choice(vm, "format", selfextend::table_format::json, selfextend::parse_table_format, allowed);
  } else if (output) {
    const auto implied = selfextend::format_for_extension(*output);
    if (!implied) throw selfextend::invalid_params("format", "(none)", "cannot tell the format from '" + *output + "': give --format " + allowed);
    r.format = *implied;
  } else {
    r.format = selfextend::table_format::json;
  }
  if (std::vector<selfextend::issue> issues = selfextend::validate(r); !issues.empty()) throw selfextend::invalid_params(std::move(issues));

  if (!output) {
    // Without -o, --json means the table itself as one JSON document; another format would break that.
    if (vm.count("json") && r.format != selfextend::table_format::json)
      throw selfextend::invalid_params("format", std::string(selfextend::to_string(r.format)),
                                       "conflicts with --json without -o (--json prints the JSON document; write other formats with -o FILE)");
    if (r.format == selfextend::table_format::npy || r.format == selfextend::table_format::safetensors)
      throw selfextend::invalid_params("output", "(none)", "the binary format " + std::string(selfextend::to_string(r.format)) + " needs -o FILE");
    if (vm.count("json") || vm.count("format")) (void)selfextend::write_position_table(inv.out, r);
    else render_text(inv.out, r);
    return exit_ok;
  }
  // Progress on stderr only when a person is watching and the table is large.
  int last_percent = -1;
  const bool show = ::isatty(2) && r.tokens >= 1'000'000;
  const selfextend::table_progress progress = [&](std::int64_t done, std::int64_t total) {
    const int percent = static_cast<int>(100 * static_cast<double>(done) / static_cast<double>(total));
    if (!show || percent == last_percent) return;
    last_percent = percent;
    inv.err << "\rwriting " << *output << ": " << percent << "%" << (done == total ? "\n" : "") << std::flush;
  };
  const selfextend::table_summary s =
      writing_output("output", [&] { return selfextend::write_position_table(*output, r, progress); });
  if (vm.count("json")) {
    boost::json::object params{{"tokens", r.tokens}};
    if (r.method.kind == selfextend::method_kind::self_extend) {
      params["group"] = r.extension.group;
      params["window"] = r.extension.window;
      params["shift"] = std::string(selfextend::to_string(r.extension.shift));
    } else {
      params["method"] = std::string(selfextend::to_string(r.method.kind));
      params["method_parameters"] = to_json(r.method);
    }
    params["phase"] = std::string(selfextend::to_string(r.phase));
    params["layout"] = std::string(selfextend::to_string(r.layout));
    params["format"] = std::string(selfextend::to_string(r.format));
    params["output"] = *output;
    params["force"] = r.force;
    boost::json::array arrays;
    for (const auto& a : s.arrays)
      arrays.emplace_back(boost::json::object{{"name", a.name}, {"dtype", a.dtype},
                                              {"shape", boost::json::array(a.shape.begin(), a.shape.end())}});
    write_json(inv.out, json_envelope(selfextend::table_document_command, std::move(params),
                                      boost::json::object{{"output", *output}, {"bytes", s.bytes}, {"arrays", std::move(arrays)}}));
  } else {
    inv.out << "wrote " << *output << " (" << selfextend::to_string(r.format) << ", " << grouped(s.bytes) << " bytes): "
            << selfextend::to_string(r.layout) << " layout, " << selfextend::to_string(r.phase) << ", "
            << (r.method.kind == selfextend::method_kind::self_extend
                    ? "G = " + std::to_string(r.extension.group) + ", W = " + std::to_string(r.extension.window) + ", " +
                          std::string(selfextend::to_string(r.extension.shift)) + " shift"
                    : describe_method(r.method))
            << "\n";
    for (const auto& a : s.arrays) inv.out << "  " << a.name << "  " << a.dtype << " " << shape_text(a.shape) << "\n";
  }
  return exit_ok;
}

}  // namespace sxplan
