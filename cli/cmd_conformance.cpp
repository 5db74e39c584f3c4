// cmd_conformance.cpp - `sxplan conformance`: write the conformance suite a porter runs through their runtime.
#include <ostream>

#include <boost/json.hpp>

#include <selfextend/conformance_suite.hpp>

#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

int run_conformance(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()
    ("output,o", po::value<std::string>()->value_name("DIR"), "directory to write the suite to (created if missing)")
    ("model", po::value<std::string>()->value_name("M"), "take head_dim, heads per kv head, RoPE and L from a preset")
    ("seed", po::value<std::string>()->value_name("S"), "seed of the inputs (default 0)")
    ("method", po::value<std::string>()->value_name("M"),
     "selfextend (default), dca, rerope, leaky-rerope or streaming: that method's cases (docs/methods.md)")
    ("json", "print one JSON document")("help,h", "show this help");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "-o DIR [--model M] [--seed S] [--method M] [--json]",
               "Write the conformance suite: DIR/<case>/{q,k,v,expected}.npy and DIR/manifest.json, one case per\n"
               "classic porting bug. Run your runtime on each case, save OUT/<case>.npy, then\n"
               "sxplan verify --suite DIR --outputs OUT.",
               options);
    return exit_ok;
  }
  if (!vm.count("output")) throw selfextend::invalid_params("output", "(none)", "is required");
  selfextend::conformance_options choice;
  if (vm.count("model")) choice.model = selfextend::find_model(vm["model"].as<std::string>());
  if (vm.count("method")) choice.method = selfextend::method_kind_named(vm["method"].as<std::string>());
  if (const auto seed = optional_int64(vm, "seed")) {
    if (*seed < 0) throw selfextend::invalid_params("seed", std::to_string(*seed), "must be at least 0");
    choice.seed = static_cast<std::uint64_t>(*seed);
  }
  const std::string dir = vm["output"].as<std::string>();
  const selfextend::conformance_written written =
      writing_output("output", [&] { return selfextend::write_conformance_suite(dir, choice); });

  if (vm.count("json")) {
    boost::json::object params{{"output", dir},
                               {"model", choice.model ? boost::json::value(choice.model->name) : boost::json::value(nullptr)},
                               {"seed", choice.seed},
                               {"method", std::string(selfextend::to_string(choice.method))}};
    boost::json::array cases;
    for (const selfextend::conformance_case& c : written.cases) {
      const selfextend::attention_shape& s = c.params.shape;
      boost::json::object entry{{"name", c.name},
                                {"shape", boost::json::array{s.heads, s.kv_heads, s.query_tokens, s.key_tokens, s.head_dim}}};
      if (c.method.kind != selfextend::method_kind::self_extend) entry["method_parameters"] = to_json(c.method);
      entry["catches"] = c.catches;
      cases.push_back(std::move(entry));
    }
    write_json(inv.out, json_envelope("conformance", std::move(params),
                                 {{"manifest", written.manifest.string()}, {"bytes", written.bytes}, {"cases", std::move(cases)}}));
  } else {
    inv.out << (choice.method == selfextend::method_kind::self_extend ? std::string("Self-Extend")
                                                                      : std::string(selfextend::to_string(choice.method)))
            << " conformance suite: " << written.cases.size() << " cases in " << dir << " ("
            << fixed(static_cast<double>(written.bytes) / (1024.0 * 1024.0), 1) << " MiB)\n";
    for (const selfextend::conformance_case& c : written.cases) {
      const selfextend::attention_shape& s = c.params.shape;
      inv.out << "  " << c.name << "  H " << s.heads << "/" << s.kv_heads << ", Nq " << s.query_tokens << ", Nk "
              << s.key_tokens << ", D " << s.head_dim << "; "
              << (c.method.kind == selfextend::method_kind::self_extend
                      ? "G " + std::to_string(c.params.extension.group) + ", W " + std::to_string(c.params.extension.window)
                      : describe_method(c.method))
              << "\n";
    }
    inv.out << "wrote " << written.manifest.string() << "\nnext: run your runtime on each case, save OUT/<case>.npy, then\n"
            << "  sxplan verify --suite " << dir << " --outputs OUT\n";
  }
  return exit_ok;
}

}  // namespace sxplan
