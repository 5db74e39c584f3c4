// cmd_advise.cpp - `sxplan advise`: rank (G, W) plans for N tokens on a model.
#include <iomanip>
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/advice.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/error.hpp>
#include <selfextend/llamacpp.hpp>

#include "choices.hpp"
#include "search_options.hpp"
#include "commands.hpp"
#include "json_llamacpp.hpp"
#include "json_output.hpp"

namespace sxplan {

namespace {

/// The inputs both runtimes' advisors share (search_options.hpp), from their flags.
template <class Request>
void read_search_options(const po::variables_map& vm, const model_choice& choice, Request& req) {
  search_options o;
  o.tokens = required_int64(vm, "tokens");
  o.window = optional_int64(vm, "window");
  o.group = optional_int64(vm, "group");
  if (vm.count("target")) o.target = vm["target"].as<std::string>();
  o.max_group = optional_int64(vm, "max-group");
  apply_search_options(o, choice.model.context, req);
  req.not_applicable = selfextend::self_extend_not_applicable(choice.model);
}

/// The answer for a model no layer of which Self-Extend can change.
void render_not_applicable(std::ostream& out, std::int64_t tokens, std::int64_t context, const model_choice& choice,
                           const std::string& reason) {
  out << "Self-Extend advice: N = " << grouped(tokens) << " tokens on " << choice.model.name << " (L = " << grouped(context)
      << ")\n\nVerdict: not_applicable\n  - " << reason << "\n";
  render_model_warnings(out, choice);
}

/// The params echo of read_search_options' inputs, in docs/json.md's order; each runtime appends its own.
template <class Request>
boost::json::object echo_search_options(const Request& req) {
  const auto optional = [](const std::optional<std::int64_t>& v) { return v ? boost::json::value(*v) : boost::json::value(nullptr); };
  return {{"tokens", req.tokens},
          {"window", optional(req.window)},
          {"group", optional(req.group)},
          {"target", std::string(selfextend::to_string(req.target))},
          {"max_group", optional(req.max_group)}};
}

std::string optional_text(const std::optional<std::int64_t>& v, const std::string& none) {
  return v ? std::to_string(*v) : none;
}

void render_text(std::ostream& out, const selfextend::advice_request& req, const model_choice& choice,
                 const selfextend::advice& a) {
  if (!a.applicable) return render_not_applicable(out, req.tokens, req.context, choice, a.not_applicable_reason);
  const selfextend::ranked_plan& best = a.recommended;
  out << "Self-Extend advice: N = " << grouped(req.tokens) << " tokens on " << choice.model.name
      << " (L = " << grouped(req.context) << "), target R < " << (req.target == selfextend::target_fraction::half ? "L/2" : "2L/3")
      << "\n\n";
  out << "Recommended:  --group " << best.extension.group << " --window " << best.extension.window << "   ("
      << selfextend::to_string(best.judgement.band) << ", largest position " << grouped(best.judgement.max_position)
      << ", reach " << fixed(best.judgement.effective_reach, 1) << " = " << fixed(100 * best.judgement.reach_ratio, 1)
      << "% of L)\n";
  for (const std::string& reason : best.reasons) out << "  - " << reason << "\n";
  for (const std::string& w : best.judgement.warnings) out << "  ! " << w << "\n";
  if (a.window_for_min_groups) {
    out << "\nSmallest G for W = " << *a.window_for_min_groups << ":\n";
    out << "  that fits (capacity)   " << optional_text(a.min_group_for_capacity, "none") << "\n";
    out << "  with 2L/3 > R          " << optional_text(a.min_group_for_two_thirds, "none (needs 3W < 2L)") << "\n";
    out << "  with L/2 > R           " << optional_text(a.min_group_for_half, "none (needs 2W < L)") << "\n";
  }
  const auto table = [&](const std::vector<selfextend::ranked_plan>& plans) {
    out << "  " << std::right << std::setw(4) << "rank" << std::setw(6) << "G" << std::setw(8) << "W" << std::setw(12)
        << "capacity" << std::setw(10) << "max pos" << std::setw(10) << "reach" << std::setw(7) << "R/L" << "  verdict\n";
    int rank = 0;
    for (const selfextend::ranked_plan& r : plans) {
      out << "  " << std::setw(4) << ++rank << std::setw(6) << r.extension.group << std::setw(8) << r.extension.window
          << std::setw(12) << grouped(r.judgement.capacity_exact) << std::setw(10) << grouped(r.judgement.max_position)
          << std::setw(10) << fixed(r.judgement.effective_reach, 1) << std::setw(7) << fixed(r.judgement.reach_ratio, 3)
          << "  " << selfextend::to_string(r.judgement.band) << "\n";
    }
  };
  out << "\nCandidates (best first):\n";
  table(a.candidates);
  if (a.past_max_group) {
    out << "\nWithin the default --max-group " << selfextend::default_max_group << " (none fits):\n";
    table(a.capped);
  }
  render_model_warnings(out, choice);
}

void render_llamacpp_text(std::ostream& out, const selfextend::llamacpp_advice_request& req, const model_choice& choice,
                          const selfextend::llamacpp_advice& a, const std::string& command_line) {
  if (!a.applicable) return render_not_applicable(out, req.tokens, req.context, choice, a.not_applicable_reason);
  out << "llama.cpp flags: N = " << grouped(req.tokens) << " tokens on " << choice.model.name << " (L = "
      << grouped(req.context) << "), target largest position < "
      << (req.target == selfextend::target_fraction::half ? "L/2" : "2L/3") << "\n\n";
  out << "  " << command_line << "\n\n";
  out << "Largest position " << grouped(a.max_position) << (a.fits ? " (fits)" : " (does NOT fit)") << "; KV cells "
      << grouped(req.tokens) << "\n";
  for (const std::string& reason : a.reasons) out << "  - " << reason << "\n";
  for (const std::string& w : a.warnings) out << "  ! " << w << "\n";
  render_model_warnings(out, choice);
}

/// `--runtime llamacpp`: one call to selfextend::advise_llamacpp, rendered as a command line.
int run_advise_llamacpp(const invocation& inv, const po::variables_map& vm, const model_choice& choice) {
  // These shape LongLM's ranking only; refuse them rather than ignore them silently.
  for (const char* flag : {"top", "shift"})
    if (vm.count(flag))
      throw selfextend::invalid_params(flag, vm[flag].as<std::string>(), "applies to --runtime longlm only");
  selfextend::llamacpp_advice_request req;
  read_search_options(vm, choice, req);
  const selfextend::llamacpp_advice result = selfextend::advise_llamacpp(req);
  const std::string command_line = llamacpp_command_line(result, choice.gguf.value_or("MODEL.gguf"));
  if (vm.count("json")) {
    boost::json::object echoed = echo_search_options(req);
    echoed["runtime"] = "llamacpp";
    echo_model(echoed, choice);
    std::vector<std::string> warnings = result.warnings;
    warnings.insert(warnings.end(), choice.model.warnings.begin(), choice.model.warnings.end());
    write_json(inv.out, json_envelope("advise", std::move(echoed), to_json(result, command_line), warnings));
  } else {
    render_llamacpp_text(inv.out, req, choice, result, command_line);
  }
  return exit_ok;
}

/// `--method M` (not selfextend): one call to selfextend::recommend_method.
int run_advise_method(const invocation& inv, const po::variables_map& vm, selfextend::method_kind method) {
  // These shape Self-Extend's search only; refuse them rather than ignore them silently.
  for (const char* flag : {"window", "group", "target", "max-group", "top", "runtime", "shift"})
    if (vm.count(flag))
      throw selfextend::invalid_params(flag, vm[flag].as<std::string>(), "applies to --method selfextend only");
  const model_choice choice = resolve_model(vm);
  const selfextend::comparison_request req = selfextend::comparison_for(choice.model, required_int64(vm, "tokens"));
  const selfextend::method_row row = selfextend::recommend_method(method, req);
  if (vm.count("json")) {
    boost::json::object echoed{{"tokens", req.tokens}, {"method", std::string(selfextend::to_string(method))}};
    echo_model(echoed, choice);
    write_json(inv.out, json_envelope("advise", std::move(echoed), to_json(row), choice.model.warnings));
  } else {
    render_method_advice(inv.out, req.tokens, choice, row);
  }
  return exit_ok;
}

}  // namespace

int run_advise(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("tokens", po::value<std::string>()->value_name("N"), "target length N in tokens (prompt + generation)")
    ("window", po::value<std::string>()->value_name("W"), "fix the neighbor window W (default: choose from L/8 .. L/2)")
    ("group", po::value<std::string>()->value_name("G"), "fix the group size G (default: choose)")
    ("target", po::value<std::string>()->value_name("two_thirds|half"), "keep R below 2L/3 (default) or L/2")
    ("max-group", po::value<std::string>()->value_name("G"),
     "largest G to consider, a hard cap (default 64, passed only when no plan within it fits)")
    ("top", po::value<std::string>()->value_name("K"), "number of ranked candidates to list (default 5)")
    ("runtime", po::value<std::string>()->value_name("longlm|llamacpp"),
     "runtime to plan for: longlm (default) ranks (G, W); llamacpp prints llama-cli flags (--grp-attn-n, "
     "--grp-attn-w, -c, -b)")
    ("method", po::value<std::string>()->value_name("M"),
     "selfextend (default), dca, rerope, leaky-rerope or streaming: recommend that method's parameters "
     "(docs/methods.md)");
  add_model_options(options);
  add_shift_option(options);
  options.add_options()("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "--tokens N (--context L | --model NAME | --config PATH | --gguf PATH) [--window W] [--group G] "
               "[--top K] [--runtime longlm|llamacpp] [--json]",
               "Rank Self-Extend plans (G, W) for reading N tokens, with the reasons for each.", options);
    return exit_ok;
  }
  const std::string method_name = vm.count("method") ? vm["method"].as<std::string>() : "selfextend";
  const selfextend::method_kind method = selfextend::method_kind_named(method_name);
  if (method != selfextend::method_kind::self_extend) return run_advise_method(inv, vm, method);
  const std::string runtime = runtime_choice(vm.count("runtime") ? vm["runtime"].as<std::string>() : "longlm");
  const model_choice choice = resolve_model(vm);
  if (runtime == "llamacpp") return run_advise_llamacpp(inv, vm, choice);
  selfextend::advice_request req;
  read_search_options(vm, choice, req);
  req.top = optional_int64(vm, "top").value_or(req.top);
  req.shift = shift_option(vm);
  const selfextend::advice result = selfextend::advise(req);

  if (vm.count("json")) {
    boost::json::object echoed = echo_search_options(req);
    echoed["top"] = req.top;
    echoed["runtime"] = runtime;
    echoed["shift"] = std::string(selfextend::to_string(req.shift));
    echo_model(echoed, choice);
    std::vector<std::string> warnings = result.recommended.judgement.warnings;
    warnings.insert(warnings.end(), choice.model.warnings.begin(), choice.model.warnings.end());
    write_json(inv.out, json_envelope("advise", std::move(echoed), to_json(result), warnings));
  } else {
    render_text(inv.out, req, choice, result);
  }
  return exit_ok;
}

}  // namespace sxplan
