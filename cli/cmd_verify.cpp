// cmd_verify.cpp - `sxplan verify`: compare a runtime's attention output with the reference kernel.
#include <algorithm>
#include <optional>
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/attention.hpp>
#include <selfextend/conformance_suite.hpp>
#include <selfextend/npy.hpp>

#include "attention_inputs.hpp"
#include "choices.hpp"
#include "commands.hpp"
#include "json_attention.hpp"

namespace sxplan {

namespace {

/// `verify --suite DIR --outputs OUT`: every case's output against its expected one.
int run_suite(const invocation& inv, const po::variables_map& vm) {
  // Every option of a single verification (the arrays, the plan or method, RoPE, tolerances) is
  // refused rather than ignored: each case states its own.
  for (const auto& [flag, value] : vm) {
    if (value.defaulted() || flag == "suite" || flag == "outputs" || flag == "only-present" || flag == "json") continue;
    const std::string* text = boost::any_cast<std::string>(&value.value());
    throw selfextend::invalid_params(flag, text && !text->empty() ? *text : std::string("(given)"),
                                     "cannot be combined with suite (each case states its inputs and tolerance)");
  }
  if (!vm.count("outputs")) throw selfextend::invalid_params("outputs", "(none)", "is required with suite");
  const std::string suite = vm["suite"].as<std::string>();
  const std::string outputs = vm["outputs"].as<std::string>();
  const bool only_present = vm.count("only-present") > 0;
  const selfextend::conformance_report report = selfextend::check_conformance_suite(suite, outputs, only_present);

  std::vector<std::string> failed;
  for (const selfextend::conformance_result& c : report.cases)
    if (c.present && !c.comparison.passed) failed.push_back(c.name);
  if (vm.count("json")) {
    boost::json::array cases;
    for (const selfextend::conformance_result& c : report.cases) {
      boost::json::object o{{"name", c.name},
                            {"verdict", !c.present ? "skipped" : (c.comparison.passed ? "pass" : "fail")},
                            {"atol", c.tol.atol},
                            {"rtol", c.tol.rtol},
                            {"catches", c.catches}};
      if (c.present) o["comparison"] = to_json(c.comparison);
      cases.push_back(std::move(o));
    }
    boost::json::object params{{"suite", suite}, {"outputs", outputs}, {"only_present", only_present}};
    write_json(inv.out, json_envelope("verify", std::move(params),
                                 {{"passed", report.passed},
                                  {"failed", report.failed},
                                  {"skipped", report.skipped},
                                  {"cases", std::move(cases)}}));
  } else {
    std::size_t width = 4;
    for (const selfextend::conformance_result& c : report.cases) width = std::max(width, c.name.size());
    inv.out << "Self-Extend conformance: " << outputs << " against " << suite << "\n\n";
    inv.out << "  " << std::string("case") << std::string(width - 4, ' ') << "  verdict  max error  a failure here usually means\n";
    for (const selfextend::conformance_result& c : report.cases) {
      const std::string verdict = !c.present ? "skipped" : (c.comparison.passed ? "pass" : "FAIL");
      const std::string error = c.present ? scientific(c.comparison.max_abs_error) : "-";
      inv.out << "  " << c.name << std::string(width - c.name.size(), ' ') << "  " << verdict
              << std::string(7 - verdict.size(), ' ') << "  " << error;
      // The explanation only where it is needed: a failed case.
      if (c.present && !c.comparison.passed)
        inv.out << std::string(error.size() < 9 ? 9 - error.size() : 0, ' ') << "  " << c.catches;
      inv.out << "\n";
    }
    inv.out << "\n  " << report.cases.size() - static_cast<std::size_t>(report.skipped) << " checked, " << report.failed
            << " failed, " << report.skipped << " skipped\n";
  }
  if (!report.passed) {
    std::string names;
    for (const std::string& n : failed) names += (names.empty() ? "" : ", ") + n;
    if (failed.empty())
      inv.err << "sxplan verify: no case was checked (every output is missing)\n";
    else
      inv.err << "sxplan verify: " << failed.size() << " of " << report.cases.size() << " cases failed: " << names << "\n";
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace

int run_verify(const invocation& inv) {
  po::options_description options("Options");
  add_attention_options(options);
  options.add_options()
    ("candidate", po::value<std::string>()->value_name("THEIRS.npy"), "the output to check, q's shape, <f4 or <f8")
    ("atol", po::value<std::string>()->value_name("A"), "absolute tolerance (default 1e-5)")
    ("rtol", po::value<std::string>()->value_name("R"), "relative tolerance (default 1e-3; bf16 runtimes need looser)")
    ("rows", po::value<std::string>()->value_name("K"),
     "compare only K query rows: every row around the W and G boundaries plus a seeded sample")
    ("seed", po::value<std::string>()->value_name("S"), "with --rows: seed of the sample (default 0)")
    ("oracle", po::value<std::string>()->value_name("blocked|reference"),
     "the double-precision kernel computing the expected output: blocked (fast; default) or reference")
    ("suite", po::value<std::string>()->value_name("DIR"), "check a conformance suite (sxplan conformance) instead")
    ("outputs", po::value<std::string>()->value_name("OUT"), "with --suite: the runtime's outputs, OUT/<case>.npy")
    ("only-present", "with --suite: skip cases whose output is missing")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv,
               "--q Q.npy --k K.npy --v V.npy (--group G --window W [--shift int|float] | --method M and its options)\n"
               "       [attend's RoPE options]\n"
               "       --candidate THEIRS.npy [--atol A] [--rtol R] [--rows K [--seed S]] [--oracle blocked|reference]\n"
               "       [--threads N] [--force] [--json]\n"
               "       --suite DIR --outputs OUT [--only-present] [--json]",
               "Check a runtime's Self-Extend (or --method's) attention output against the double-precision result:\n"
               "passes iff every element has |theirs - ref| <= atol + rtol*|ref|. Exit 0 pass, 1 mismatch.",
               options);
    return exit_ok;
  }
  if (vm.count("suite")) return run_suite(inv, vm);
  for (const char* suite_only : {"outputs", "only-present"})
    if (vm.count(suite_only)) throw selfextend::invalid_params(suite_only, "(given)", "needs suite");
  selfextend::tolerance tol;
  if (vm.count("atol")) tol.atol = parse_double("atol", vm["atol"].as<std::string>());
  if (vm.count("rtol")) tol.rtol = parse_double("rtol", vm["rtol"].as<std::string>());
  (void)selfextend::compare_outputs({}, {}, 1, 1, tol);  // reject a bad tolerance before reading files
  const std::optional<std::int64_t> row_count = optional_int64(vm, "rows");
  if (row_count && *row_count < 1) throw selfextend::invalid_params("rows", std::to_string(*row_count), "must be at least 1");
  const std::optional<std::int64_t> seed = optional_int64(vm, "seed");
  if (seed && !row_count) throw selfextend::invalid_params("seed", std::to_string(*seed), "needs rows");
  if (seed && *seed < 0) throw selfextend::invalid_params("seed", std::to_string(*seed), "must be at least 0");
  // Another method has one double-precision kernel, the reference (blocked is Self-Extend's).
  const bool other_method = vm.count("method") && vm["method"].as<std::string>() != "selfextend";
  const selfextend::attention_kernel oracle =
      oracle_choice(vm.count("oracle") ? vm["oracle"].as<std::string>() : other_method ? "reference" : "blocked");
  if (other_method && oracle == selfextend::attention_kernel::blocked)
    throw selfextend::invalid_params("oracle", "blocked",
                                     "implements Self-Extend only; --method " + vm["method"].as<std::string>() +
                                         " is checked against reference (the default with it)");
  if (other_method && row_count)
    throw selfextend::invalid_params("rows", std::to_string(*row_count),
                                     "samples rows around Self-Extend's W and G boundaries; --method " +
                                         vm["method"].as<std::string>() + " compares every row");
  // Sampled rows need less than the whole output: their kernel applies its own guard.
  attention_inputs in = read_attention_headers(vm, oracle, !row_count);
  const selfextend::npy_file_header candidate_header = read_float_npy_header(vm, "candidate");
  const std::string candidate_path = vm["candidate"].as<std::string>();
  selfextend::require_output_shape("candidate", candidate_header.shape, in.params.shape);
  read_attention_data(in);  // every header, shape and the memory guard checked: now the data

  const std::vector<double> candidate = selfextend::read_npy_doubles(candidate_path, "candidate", candidate_header);
  std::optional<selfextend::row_sample> sample;
  if (row_count)
    sample = selfextend::sample_query_rows(in.params, *row_count, static_cast<std::uint64_t>(seed.value_or(0)));
  const selfextend::verification v =
      sample ? selfextend::verify_attention_rows(in.params, in.qd, in.kd, in.vd, candidate, tol,
                                                 sample->rows, terminal_progress(inv), oracle)
             : selfextend::verify_method_attention(in.params, in.method, in.qd, in.kd, in.vd, candidate, tol,
                                                   terminal_progress(inv), oracle);
  const std::string rows_text =
      sample ? std::to_string(sample->rows.size()) + " of " + std::to_string(in.params.shape.query_tokens) +
                   " query rows: " + std::to_string(sample->boundary_rows) +
                   " around the W and G boundaries (always), the rest a sample with seed " +
                   std::to_string(seed.value_or(0))
             : "all " + std::to_string(in.params.shape.query_tokens);
  if (vm.count("json")) {
    boost::json::object params = echo_attention(in);
    params["candidate"] = candidate_path;
    params["atol"] = tol.atol;
    params["rtol"] = tol.rtol;
    params["rows"] = row_count ? boost::json::value(*row_count) : boost::json::value(nullptr);
    params["seed"] = seed.value_or(0);
    params["oracle"] = std::string(selfextend::to_string(oracle));
    boost::json::object result = to_json(v);
    if (sample) {
      result["rows_checked"] = static_cast<std::int64_t>(sample->rows.size());
      result["boundary_rows"] = sample->boundary_rows;
    }
    write_json(inv.out, json_envelope("verify", std::move(params), std::move(result), model_warnings(in)));
  } else {
    inv.out << (other_method ? std::string(selfextend::to_string(in.method.kind)) : std::string("Self-Extend"))
            << " verify: " << candidate_path << " against the " << selfextend::to_string(oracle)
            << " kernel (double precision)\n  " << describe_attention(in)
            << "\n\n";
    if (sample) inv.out << "  rows             " << rows_text << "\n";
    inv.out << "  max abs error    " << scientific(v.max_abs_error) << "\n";
    inv.out << "  max rel error    " << scientific(v.max_rel_error) << "\n";
    inv.out << "  normalised MSE   " << scientific(v.nmse) << "\n";
    inv.out << "  worst element    head " << v.worst.head << ", token " << v.worst.token << ", dim " << v.worst.dim
            << ": candidate " << scientific(v.worst_candidate) << ", reference " << scientific(v.worst_reference) << "\n";
    inv.out << "  mismatches       " << v.mismatches << " of " << v.elements << " elements outside |c - r| <= "
            << scientific(tol.atol) << " + " << scientific(tol.rtol) << "*|r|\n";
    inv.out << "  verdict          " << (v.passed ? "pass" : "MISMATCH") << "\n";
    for (const std::string& w : model_warnings(in)) inv.out << "\nwarning: " << w << "\n";
  }
  if (!v.passed) {
    inv.err << "sxplan verify: " << v.mismatches << " of " << v.elements << " elements differ from the reference\n";
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace sxplan
