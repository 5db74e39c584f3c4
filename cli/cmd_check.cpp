// cmd_check.cpp - `sxplan check`: judge one plan (G, W) for N tokens on a model.
#include <cmath>
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/advice.hpp>
#include <selfextend/compare.hpp>

#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

namespace {

void render_text(std::ostream& out, const selfextend::self_extend_params& p, const model_choice& choice,
                 const selfextend::assessment& a) {
  const std::int64_t L = *p.context;
  const double l = static_cast<double>(L);
  const char* yes_no[] = {"no", "yes"};
  out << "Self-Extend check: N = " << grouped(p.tokens) << " tokens, G = " << p.extension.group
      << ", W = " << p.extension.window << ", L = " << grouped(L) << " (" << choice.model.name << "), "
      << selfextend::to_string(p.extension.shift) << " shift\n\n";
  out << "  verdict          " << selfextend::to_string(a.band) << "\n";
  out << "  fits             " << yes_no[a.fits] << "   largest relative position " << grouped(a.max_position)
      << (a.fits ? " <= " : " > ") << "L-1 = " << grouped(L - 1) << "\n";
  out << "  capacity exact   " << grouped(a.capacity_exact) << " tokens   G*(L - W + floor(W/G))\n";
  out << "  capacity paper   " << grouped(a.capacity_paper) << " tokens   (L-W)*G + W, overstates by W mod G = "
      << p.extension.window % p.extension.group << "\n";
  out << "  effective reach  " << fixed(a.effective_reach, 1) << "   R = W + (N-W)/G, " << fixed(100 * a.reach_ratio, 1)
      << "% of L\n";
  out << "  L/2 > R          " << yes_no[a.satisfies_half] << "   L/2 = " << fixed(l / 2, 1) << "\n";
  out << "  2L/3 > R         " << yes_no[a.satisfies_two_thirds] << "   2L/3 = " << fixed(2 * l / 3, 1) << "\n";
  if (a.fractional_offset != 0)
    out << "  float shift      group positions are " << fixed(a.fractional_offset, 3) << " below the int figures\n";
  for (const std::string& w : a.warnings) out << "\nwarning: " << w << "\n";
  render_model_warnings(out, choice);
}

/// Another method's judgment: the figures of its compare row for these parameters.
void render_method_text(std::ostream& out, const selfextend::comparison_request& req, const model_choice& choice,
                        const selfextend::method_row& r) {
  const std::int64_t L = req.context;
  out << selfextend::to_string(r.method.kind) << " check: N = " << grouped(req.tokens) << " tokens, "
      << describe_method(r.method) << ", L = " << grouped(L) << " (" << choice.model.name << ")\n\n";
  // Integer positions as counts; Leaky ReRoPE's real ones with three decimals.
  const bool integral = r.largest_position == std::floor(r.largest_position) && r.largest_position < 9e15;
  out << "  fits             " << (r.fits ? "yes" : "no") << "   largest relative position "
      << (integral ? grouped(static_cast<std::int64_t>(r.largest_position)) : fixed(r.largest_position, 3))
      << (r.fits ? " <= " : " > ") << "L-1 = " << grouped(L - 1) << "\n";
  out << "  window share     " << fixed(100 * r.window_share, 1) << "% of L\n";
  out << "  capacity         " << (r.capacity ? grouped(*r.capacity) + " tokens" : std::string("any N: positions never pass L-1"))
      << "\n";
  out << "  attended         " << fixed(100 * r.attended_share, 2) << "% of the causal pairs, " << grouped(r.dropped_pairs)
      << " dropped\n";
  out << "  cost             " << fixed(r.attention_cost, 2) << "x attention FLOPs (" << r.score_passes
      << " score set" << (r.score_passes == 1 ? "" : "s") << "), KV memory " << fixed(r.kv_memory, 4) << "x\n";
  out << "  runtime          " << r.runtime_needs << "\n";
  render_model_warnings(out, choice);
}

/// `--method M` (not selfextend): one call to selfextend::assess_method.
int run_check_method(const invocation& inv, const po::variables_map& vm, const model_choice& choice,
                     const selfextend::method_params& method) {
  const selfextend::comparison_request req = selfextend::comparison_for(choice.model, required_int64(vm, "tokens"));
  const selfextend::method_row row = selfextend::assess_method(method, req);
  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", req.tokens}, {"method", std::string(selfextend::to_string(method.kind))},
                               {"method_parameters", to_json(method)}};
    echo_model(echoed, choice);
    write_json(inv.out, json_envelope("check", std::move(echoed), to_json(row), choice.model.warnings));
  } else {
    render_method_text(inv.out, req, choice, row);
  }
  return exit_ok;
}

}  // namespace

int run_check(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"), "target length N in tokens (prompt + generation)")
    ("group", po::value<std::string>()->value_name("G"), "group size G >= 1")
    ("window", po::value<std::string>()->value_name("W"), "neighbor window W >= 1, W < L (rerope, leaky-rerope: their window w)");
  add_model_options(options);
  add_shift_option(options);
  add_method_options(options);
  options.add_options()("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "--tokens N (--group G --window W [--shift int|float] | --method M and its options) "
               "(--context L | --model NAME | --config PATH | --gguf PATH) [--json]",
               "Judge one Self-Extend plan: capacity, largest position, effective reach and verdict; or another\n"
               "method's parameters: largest position, fit, capacity, dropped keys and cost (docs/methods.md).", options);
    return exit_ok;
  }
  const model_choice choice = resolve_model(vm);
  const selfextend::method_params method = method_options(vm, &choice.model);
  if (method.kind != selfextend::method_kind::self_extend) return run_check_method(inv, vm, choice, method);
  const selfextend::self_extend_params params{
      choice.model.context, required_int64(vm, "tokens"),
      {required_int64(vm, "group"), required_int64(vm, "window"), shift_option(vm)}};
  const selfextend::assessment result = selfextend::assess(params);

  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", params.tokens}, {"group", params.extension.group},
                               {"window", params.extension.window},
                               {"shift", std::string(selfextend::to_string(params.extension.shift))}};
    echo_model(echoed, choice);
    std::vector<std::string> warnings = result.warnings;
    warnings.insert(warnings.end(), choice.model.warnings.begin(), choice.model.warnings.end());
    write_json(inv.out, json_envelope("check", std::move(echoed), to_json(result), warnings));
  } else {
    render_text(inv.out, params, choice, result);
  }
  return exit_ok;
}

}  // namespace sxplan
