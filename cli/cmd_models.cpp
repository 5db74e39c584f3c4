// cmd_models.cpp - `sxplan models`: the built-in presets.
#include <iomanip>
#include <ostream>

#include <boost/json.hpp>

#include "commands.hpp"
#include "json_output.hpp"

namespace sxplan {

int run_models(const invocation& inv) {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("json", "print one JSON document");
  const po::variables_map vm = parse(inv, options);
  if (vm.count("help")) {
    print_help(inv, "[--json]", "List the built-in model presets usable with --model.", options);
    return exit_ok;
  }
  const auto presets = selfextend::model_presets();
  if (vm.count("json")) {
    boost::json::array models;
    for (const selfextend::model_info& m : presets) models.emplace_back(to_json(m));
    boost::json::object result;
    result["models"] = std::move(models);
    write_json(inv.out, json_envelope("models", {}, std::move(result)));
    return exit_ok;
  }
  inv.out << std::left << std::setw(17) << "name" << std::right << std::setw(8) << "context" << std::setw(11)
          << "rope_theta" << std::setw(6) << "D" << std::setw(7) << "heads" << std::setw(5) << "kv" << std::setw(8)
          << "rotary" << std::setw(6) << "pairs" << std::setw(8) << "window" << "  " << std::left << std::setw(10) << "scaling"
          << "source\n";
  for (const selfextend::model_info& m : presets) {
    inv.out << std::left << std::setw(17) << m.name << std::right << std::setw(8) << m.context << std::setw(11)
            << fixed(m.rope_theta, 0) << std::setw(6) << m.head_dim << std::setw(7) << m.heads << std::setw(5)
            << m.kv_heads << std::setw(8) << m.rotary_dims << std::setw(6) << selfextend::to_string(m.style) << std::setw(8)
            << (m.sliding_window ? std::to_string(*m.sliding_window) : "-") << "  " << std::left << std::setw(10)
            << (m.rope_scaling ? std::string(selfextend::to_string(m.rope_scaling->type)) : "-") << m.source << "\n";
  }
  inv.out << "\nNames are case-insensitive; the Hugging Face id works too. `sxplan model --model NAME` shows every fact "
             "and its source. Notes:\n";
  for (const selfextend::model_info& m : presets)
    for (const std::string& note : m.notes) inv.out << "  " << m.name << ": " << note << "\n";
  return exit_ok;
}

}  // namespace sxplan
