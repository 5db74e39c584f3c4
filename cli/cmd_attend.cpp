// cmd_attend.cpp - `sxplan attend`: run a method's attention kernel on q, k, v (.npy) and write the output.
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/atomic_output.hpp>
#include <selfextend/attention.hpp>
#include <selfextend/npy.hpp>

#include "attention_inputs.hpp"
#include "choices.hpp"
#include "commands.hpp"

namespace sxplan {

int run_attend(const invocation& inv) {
  po::options_description options("Options");
  add_attention_options(options);
  options.add_options()
    ("kernel", po::value<std::string>()->value_name("reference|tiled|blocked"),
     "tiled (float32, fast; default), reference (double, O(N^2), the definition) or blocked (double, the fast oracle)")
    ("output,o", po::value<std::string>()->value_name("OUT.npy"), "output [H, Nq, D] in q's dtype")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv,
               "--q Q.npy --k K.npy --v V.npy (--group G --window W [--shift int|float] | --method M and its options)\n"
               "       [--model NAME | --config PATH | --gguf PATH | [--rope-theta T | --inv-freq FILE.npy]\n"
               "        [--rope-style neox|gptj] [--rotary-dims R] [--attention-factor A]] [--scale-base S]\n"
               "       [--kernel reference|tiled|blocked] [--threads N] [--force] -o OUT.npy [--json]",
               "Run Self-Extend (or another --method's) attention (docs/kernels.md) on q, k, v and write the output.", options);
    return exit_ok;
  }
  // Every method runs on the tiled (default) and reference kernels; the blocked oracle is Self-Extend's.
  const bool other_method = vm.count("method") && vm["method"].as<std::string>() != "selfextend";
  const std::optional<selfextend::attention_kernel> kernel =
      kernel_choice(vm.count("kernel") ? vm["kernel"].as<std::string>() : "tiled");
  if (other_method && *kernel == selfextend::attention_kernel::blocked)
    throw selfextend::invalid_params("kernel", "blocked",
                                     "implements Self-Extend only; --method " + vm["method"].as<std::string>() +
                                         " runs on tiled (the default) or reference");
  if (!vm.count("output")) throw selfextend::invalid_params("output", "(none)", "is required");
  const std::string output = vm["output"].as<std::string>();

  const bool tiled = *kernel == selfextend::attention_kernel::tiled;
  attention_inputs in = read_attention_headers(vm, *kernel);
  require_distinct_output("output", output, {{"q", in.q_path}, {"k", in.k_path}, {"v", in.v_path}});
  read_attention_data(in);
  const selfextend::attention_shape& s = in.params.shape;
  std::vector<std::int64_t> out_shape{s.heads, s.query_tokens, s.head_dim};
  selfextend::npy_array result;
  if (tiled) {
    // Self-Extend's plan is in.method too, so one call serves every method (Self-Extend keeps its kernel).
    const std::vector<float> out =
        selfextend::tiled_method_attention(in.params, in.method, in.q, in.k, in.v, terminal_progress(inv));
    result = in.q_dtype == selfextend::npy_dtype::f4 ? selfextend::npy_array::from(std::span<const float>(out), out_shape)
                                                     : selfextend::npy_array::from(std::vector<double>(out.begin(), out.end()), out_shape);
  } else {
    const std::vector<double> out =
        *kernel == selfextend::attention_kernel::blocked
            ? selfextend::blocked_attention(in.params, in.qd, in.kd, in.vd, terminal_progress(inv))
        : in.method.kind != selfextend::method_kind::self_extend
            ? selfextend::reference_method_attention(in.params, in.method, in.qd, in.kd, in.vd)
            : selfextend::reference_attention(in.params, in.qd, in.kd, in.vd, terminal_progress(inv));
    result = in.q_dtype == selfextend::npy_dtype::f8 ? selfextend::npy_array::from(std::span<const double>(out), out_shape)
                                                     : selfextend::npy_array::from(std::vector<float>(out.begin(), out.end()), out_shape);
  }
  writing_output("output", [&] { selfextend::write_npy(output, result); });

  if (vm.count("json")) {
    boost::json::object params = echo_attention(in);
    params["kernel"] = std::string(selfextend::to_string(*kernel));
    params["output"] = output;
    boost::json::object r{{"output", output},
                          {"shape", boost::json::array{s.heads, s.query_tokens, s.head_dim}},
                          {"dtype", std::string(selfextend::to_string(result.dtype))}};
    write_json(inv.out, json_envelope("attend", std::move(params), std::move(r), model_warnings(in)));
  } else {
    inv.out << (in.method.kind == selfextend::method_kind::self_extend ? "Self-Extend" : std::string(selfextend::to_string(in.method.kind)))
            << " attention, " << selfextend::to_string(*kernel) << " kernel: " << describe_attention(in)
            << "\nwrote " << output << ": [" << s.heads << ", " << s.query_tokens << ", " << s.head_dim << "] "
            << selfextend::to_string(result.dtype) << "\n";
    for (const std::string& w : model_warnings(in)) inv.out << "\nwarning: " << w << "\n";
  }
  return exit_ok;
}

}  // namespace sxplan
