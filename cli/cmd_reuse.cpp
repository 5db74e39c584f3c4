// cmd_reuse.cpp - `sxplan reuse`: which pretrained relative positions a plan reuses, and how often.
#include <algorithm>
#include <ostream>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include <selfextend/reuse.hpp>
#include <selfextend/reuse_plot.hpp>

#include "commands.hpp"
#include "json_output.hpp"
#include "json_reuse.hpp"

namespace sxplan {

namespace {

std::string percent(std::int64_t part, std::int64_t whole) {
  return fixed(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1) + "%";
}

/// One histogram bar: positions [first, last] and its pairs, one part per branch.
struct bar {
  std::int64_t first = 0, last = 0;
  std::vector<std::int64_t> parts;
};

/// The histogram's lines: the range right-aligned in `column`, the pairs, the bar (one mark per
/// part, in `marks`, scaled to the fullest bar and rounded cumulatively so a bar's length is its
/// total's), and the lines holding ceil(L/2), ceil(2L/3) and L marked (past them a position is less
/// trained / untrained).
void render_bars(std::ostream& out, const std::vector<bar>& bars, std::string_view marks, std::size_t column,
                 std::int64_t half_from, std::int64_t two_thirds_from, std::int64_t L) {
  constexpr int width = 40;
  std::int64_t top = 1;
  for (const bar& b : bars) {
    std::int64_t total = 0;
    for (const std::int64_t v : b.parts) total += v;
    top = std::max(top, total);
  }
  const auto cells = [&](std::int64_t v) {
    return static_cast<int>(static_cast<double>(width) * static_cast<double>(v) / static_cast<double>(top) + 0.5);
  };
  for (const bar& b : bars) {
    std::int64_t total = 0;
    for (const std::int64_t v : b.parts) total += v;
    const std::string range = std::to_string(b.first) + "-" + std::to_string(b.last);
    std::string line = "  " + std::string(range.size() < column ? column - range.size() : 0, ' ') + range + " " +
                       std::string(14 - std::min<std::size_t>(14, grouped(total).size()), ' ') + grouped(total) + " |";
    std::int64_t running = 0;
    int drawn = 0;
    for (std::size_t k = 0; k < b.parts.size(); ++k) {
      running += b.parts[k];
      const int upto = cells(running);
      line += std::string(static_cast<std::size_t>(std::max(0, upto - drawn)), marks[k]);
      drawn = std::max(drawn, upto);
    }
    line += std::string(static_cast<std::size_t>(std::max(0, width + 1 - drawn)), ' ');
    std::string labels;
    const std::pair<std::int64_t, const char*> at[] = {{half_from, "L/2"}, {two_thirds_from, "2L/3"}, {L, "L"}};
    for (const auto& [position, label] : at)
      if (position >= b.first && position <= b.last)
        labels += std::string(labels.empty() ? "<- " : ", ") + label + " = " + std::to_string(position);
    line += labels;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

/// Compact histogram: one line per bucket of positions, '#' neighbor and '=' group pairs.
void render_histogram(std::ostream& out, const selfextend::reuse_stats& s, std::int64_t buckets) {
  std::vector<bar> bars;
  for (const auto& b : selfextend::bucket_reuse(s, std::max(s.context, s.max_position + 1), buckets))
    bars.push_back({b.first, b.last, {b.neighbor, b.group}});
  out << "  positions            pairs    # neighbor  = group\n";
  render_bars(out, bars, "#=", 11, s.half_from, s.two_thirds_from, s.context);
}

void render_text(std::ostream& out, const selfextend::reuse_stats& s, const model_choice& choice, std::int64_t buckets) {
  const std::int64_t L = s.context;
  const auto& p = s.extension;
  out << "Self-Extend reuse: N = " << grouped(s.tokens) << " tokens, G = " << p.group << ", W = " << p.window
      << ", L = " << grouped(L) << " (" << choice.model.name << "), " << selfextend::to_string(p.shift) << " shift\n\n";
  out << "  pairs            " << grouped(s.total_pairs) << " = N(N+1)/2: neighbor " << grouped(s.neighbor_pairs) << " ("
      << percent(s.neighbor_pairs, s.total_pairs) << "), group " << grouped(s.group_pairs) << " ("
      << percent(s.group_pairs, s.total_pairs) << ")\n";
  out << "  positions used   " << grouped(s.distinct_positions) << ": neighbor " << s.neighbor_range.first << ".."
      << s.neighbor_range.last;
  if (s.group_range) out << ", group " << s.group_range->first << ".." << s.group_range->last;
  out << "   (largest " << s.max_position << (s.max_position < L ? " <= L-1" : " > L-1: untrained positions") << ")\n";
  out << "  past L/2         " << percent(s.pairs_past_half, s.total_pairs) << " of pairs, "
      << percent(s.positions_past_half, s.distinct_positions) << " of positions   (p >= " << s.half_from << ")\n";
  out << "  past 2L/3        " << percent(s.pairs_past_two_thirds, s.total_pairs) << " of pairs, "
      << percent(s.positions_past_two_thirds, s.distinct_positions) << " of positions   (p >= " << s.two_thirds_from << ")\n";
  if (s.pairs_past_context > 0)
    out << "  past L           " << percent(s.pairs_past_context, s.total_pairs) << " of pairs use positions never trained\n";
  if (s.fractional_offset != 0)
    out << "  float shift      group positions are " << fixed(s.fractional_offset, 3) << " below the int figures shown\n";
  out << "\n";
  render_histogram(out, s, buckets);
}

/// Another method's histogram: one mark per branch ('#', '=', '+' in branch order).
void render_method_histogram(std::ostream& out, const selfextend::method_reuse_stats& s, std::int64_t buckets) {
  std::vector<bar> bars;
  for (auto& b : selfextend::bucket_method_reuse(s, std::max(s.context, s.max_position + 1), buckets))
    bars.push_back({b.first, b.last, std::move(b.pairs)});
  // The range column as wide as its widest label (a million-token map has 13-character ranges).
  std::size_t column = 11;
  for (const bar& b : bars) column = std::max(column, std::to_string(b.first).size() + std::to_string(b.last).size() + 1);
  constexpr std::string_view marks = "#=+";
  out << "  " << std::string(column - 9, ' ') << "positions            pairs   ";
  for (std::size_t k = 0; k < s.branches.size(); ++k) out << " " << marks[k] << " " << s.branches[k];
  out << "\n";
  render_bars(out, bars, marks, column, s.half_from, s.two_thirds_from, s.context);
}

void render_method_text(std::ostream& out, const selfextend::method_reuse_stats& s, const model_choice& choice,
                        std::int64_t buckets) {
  const std::int64_t L = s.context;
  out << selfextend::to_string(s.method.kind) << " reuse: N = " << grouped(s.tokens) << " tokens, "
      << describe_method(s.method) << ", L = " << grouped(L) << " (" << choice.model.name << ")\n\n";
  out << "  pairs            " << grouped(s.total_pairs) << " = N(N+1)/2: ";
  for (std::size_t b = 0; b < s.branches.size(); ++b)
    out << (b ? ", " : "") << s.branches[b] << " " << grouped(s.branch_pairs[b]) << " ("
        << percent(s.branch_pairs[b], s.total_pairs) << ")";
  if (s.dropped_pairs > 0) out << ", not attended " << grouped(s.dropped_pairs) << " (" << percent(s.dropped_pairs, s.total_pairs) << ")";
  out << "\n";
  out << "  positions used   " << grouped(s.distinct_positions) << (selfextend::integer_positions(s.method) ? "" : " unit buckets")
      << "   (largest " << s.max_position << (s.max_position < L ? " <= L-1" : " > L-1: untrained positions") << ")\n";
  out << "  past L/2         " << percent(s.pairs_past_half, s.total_pairs) << " of pairs, "
      << percent(s.positions_past_half, s.distinct_positions) << " of positions   (p >= " << s.half_from << ")\n";
  out << "  past 2L/3        " << percent(s.pairs_past_two_thirds, s.total_pairs) << " of pairs, "
      << percent(s.positions_past_two_thirds, s.distinct_positions) << " of positions   (p >= " << s.two_thirds_from << ")\n";
  if (s.pairs_past_context > 0)
    out << "  past L           " << grouped(s.pairs_past_context) << " pairs (" << percent(s.pairs_past_context, s.total_pairs)
        << ") use positions never trained\n";
  out << "\n";
  render_method_histogram(out, s, buckets);
}

/// `--method M` (not selfextend): one call to selfextend::compute_method_reuse.
int run_reuse_method(const invocation& inv, const po::variables_map& vm, const model_choice& choice,
                     const selfextend::method_params& method, std::optional<std::int64_t> buckets) {
  if (vm.count("svg"))
    throw selfextend::invalid_params("svg", vm["svg"].as<std::string>(),
                                     "draws Self-Extend's reuse only; for --method " + std::string(selfextend::to_string(method.kind)) +
                                         " use the text histogram or the JSON counts");
  const std::int64_t tokens = required_int64(vm, "tokens");
  const selfextend::method_reuse_stats stats =
      selfextend::compute_method_reuse(method, choice.model.context, tokens, vm.count("force") > 0);
  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", tokens}, {"method", std::string(selfextend::to_string(method.kind))},
                               {"method_parameters", to_json(method)}};
    echo_model(echoed, choice);
    echoed["svg"] = nullptr;
    write_json(inv.out, json_envelope("reuse", std::move(echoed), to_json(stats), choice.model.warnings));
  } else {
    render_method_text(inv.out, stats, choice, buckets.value_or(16));
    render_model_warnings(inv.out, choice);
  }
  return exit_ok;
}

}  // namespace

int run_reuse(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"), "target length N in tokens")
    ("group", po::value<std::string>()->value_name("G"), "group size G >= 1")
    ("window", po::value<std::string>()->value_name("W"), "neighbor window W >= 1, W < L (rerope, leaky-rerope: their window w)");
  add_model_options(options);
  add_shift_option(options);
  add_method_options(options);
  options.add_options()
    ("buckets", po::value<std::string>()->value_name("B"), "histogram bars over [0, max(L, P_max+1)) (default 16 text, 64 SVG)")
    ("svg", po::value<std::string>()->value_name("FILE"), "also write a standalone SVG chart to FILE")
    ("json", "print one JSON document (with the count arrays)")
    ("force", "keep the per-position count arrays above their 1 GiB limit (--json; any --method)")
    ("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "--tokens N (--group G --window W [--shift int|float] | --method M and its options) "
               "(--context L | --model NAME | --config PATH | --gguf PATH) [--buckets B] [--svg FILE] [--json] [--force]",
               "Count how often each relative position is used by the N(N+1)/2 causal pairs, split into\n"
               "neighbor and group pairs (another --method: its branches), and how much lies past L/2 and 2L/3\n"
               "(closed form, no pair visited).", options);
    return exit_ok;
  }
  const model_choice choice = resolve_model(vm);
  const selfextend::method_params method = method_options(vm, &choice.model);
  const std::optional<std::int64_t> buckets = optional_int64(vm, "buckets");
  if (buckets && (*buckets < 1 || *buckets > selfextend::max_reuse_buckets))
    throw selfextend::invalid_params("buckets", std::to_string(*buckets),
                                     "must be in 1.." + std::to_string(selfextend::max_reuse_buckets));
  if (method.kind != selfextend::method_kind::self_extend) return run_reuse_method(inv, vm, choice, method, buckets);
  const selfextend::self_extend_params params{
      choice.model.context, required_int64(vm, "tokens"),
      {required_int64(vm, "group"), required_int64(vm, "window"), shift_option(vm)}};
  // Text and SVG show buckets, recounted in O(1) memory; only --json carries the per-position arrays.
  const selfextend::reuse_stats stats =
      selfextend::compute_reuse(params, {.keep_counts = vm.count("json") > 0, .force = vm.count("force") > 0});
  const std::optional<std::string> svg = vm.count("svg") ? std::optional(vm["svg"].as<std::string>()) : std::nullopt;
  if (svg) {
    std::vector<std::pair<std::string, std::string>> inputs;
    if (choice.config) inputs.emplace_back("config", *choice.config);
    if (choice.gguf) inputs.emplace_back("gguf", *choice.gguf);
    require_distinct_output("svg", *svg, inputs);
    selfextend::reuse_plot_options plot;
    plot.buckets = buckets.value_or(64);
    writing_output("svg", [&] { selfextend::write_reuse_svg(*svg, stats, plot); });
  }

  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", params.tokens}, {"group", params.extension.group},
                               {"window", params.extension.window},
                               {"shift", std::string(selfextend::to_string(params.extension.shift))}};
    echo_model(echoed, choice);
    echoed["svg"] = svg ? boost::json::value(*svg) : boost::json::value(nullptr);
    write_json(inv.out, json_envelope("reuse", std::move(echoed), to_json(stats), choice.model.warnings));
  } else {
    render_text(inv.out, stats, choice, buckets.value_or(16));
    render_model_warnings(inv.out, choice);
    if (svg) inv.out << "\nwrote " << *svg << "\n";
  }
  return exit_ok;
}

}  // namespace sxplan
