// cmd_verify.cpp - `sxplan verify`: compare a runtime's attention output with the reference kernel.
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/attention.hpp>
#include <selfextend/npy.hpp>

#include "attention_inputs.hpp"
#include "commands.hpp"
#include "json_attention.hpp"

namespace sxplan {

int run_verify(const invocation& inv) {
  po::options_description options("Options");
  add_attention_options(options);
  options.add_options()
    ("candidate", po::value<std::string>()->value_name("THEIRS.npy"), "the output to check, q's shape, <f4 or <f8")
    ("atol", po::value<std::string>()->value_name("A"), "absolute tolerance (default 1e-5)")
    ("rtol", po::value<std::string>()->value_name("R"), "relative tolerance (default 1e-3; bf16 runtimes need looser)")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv,
               "--q Q.npy --k K.npy --v V.npy --group G --window W [attend's RoPE options]\n"
               "       --candidate THEIRS.npy [--atol A] [--rtol R] [--threads N] [--force] [--json]",
               "Check a runtime's Self-Extend attention output against the double-precision reference:\n"
               "passes iff every element has |theirs - ref| <= atol + rtol*|ref|. Exit 0 pass, 1 mismatch.",
               options);
    return exit_ok;
  }
  selfextend::tolerance tol;
  if (vm.count("atol")) tol.atol = parse_double("atol", vm["atol"].as<std::string>());
  if (vm.count("rtol")) tol.rtol = parse_double("rtol", vm["rtol"].as<std::string>());
  (void)selfextend::compare_outputs({}, {}, 1, 1, tol);  // reject a bad tolerance before reading files
  const attention_inputs in = load_attention_inputs(vm, false);
  const selfextend::npy_array candidate_file = read_float_npy(vm, "candidate");
  const std::string candidate_path = vm["candidate"].as<std::string>();
  selfextend::require_output_shape("candidate", candidate_file.shape, in.params.shape);

  const selfextend::verification v = selfextend::verify_attention(in.params, in.qd, in.kd, in.vd,
                                                                   candidate_file.to_doubles(), tol, terminal_progress(inv));
  if (vm.count("json")) {
    boost::json::object params = echo_attention(in);
    params["candidate"] = candidate_path;
    params["atol"] = tol.atol;
    params["rtol"] = tol.rtol;
    write_json(inv.out, json_envelope("verify", std::move(params), to_json(v)));
  } else {
    inv.out << "Self-Extend verify: " << candidate_path << " against the reference kernel\n  " << describe_attention(in)
            << "\n\n";
    inv.out << "  max abs error    " << scientific(v.max_abs_error) << "\n";
    inv.out << "  max rel error    " << scientific(v.max_rel_error) << "\n";
    inv.out << "  normalised MSE   " << scientific(v.nmse) << "\n";
    inv.out << "  worst element    head " << v.worst.head << ", token " << v.worst.token << ", dim " << v.worst.dim
            << ": candidate " << scientific(v.worst_candidate) << ", reference " << scientific(v.worst_reference) << "\n";
    inv.out << "  mismatches       " << v.mismatches << " of " << v.elements << " elements outside |c - r| <= "
            << scientific(tol.atol) << " + " << scientific(tol.rtol) << "*|r|\n";
    inv.out << "  verdict          " << (v.passed ? "pass" : "MISMATCH") << "\n";
  }
  if (!v.passed) {
    inv.err << "sxplan verify: " << v.mismatches << " of " << v.elements << " elements differ from the reference\n";
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace sxplan
