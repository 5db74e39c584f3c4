// rope_options.hpp - where a command's RoPE comes from: a model (--model/--config/--gguf), a rule
// given as options (--rope-theta, --rotary-dims, --rope-scaling TYPE and its keys, for `sxplan
// rope`), or explicit frequencies (--inv-freq FILE.npy [--attention-factor A], for attend/verify).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <selfextend/rope.hpp>

#include "cli_common.hpp"

namespace sxplan {

/// Adds --model, --config, --gguf (the model whose RoPE to use) and --layer-type (which of its layers).
void add_rope_model_options(po::options_description& options);

/// Adds --rope-scaling TYPE and the rule's keys (--factor, --original-max-position-embeddings,
/// --max-position-embeddings, --attention-factor, --beta-fast, --beta-slow, --mscale,
/// --mscale-all-dim, --truncate, --low-freq-factor, --high-freq-factor, --short-factor,
/// --long-factor, --rope-freqs).
void add_rope_rule_options(po::options_description& options);

/// The rule a command rotates with, and where it came from.
struct rope_choice {
  selfextend::rope_rule rule;
  selfextend::rope_style style = selfextend::rope_style::neox;
  std::optional<model_choice> model;  ///< set when --model/--config/--gguf named it
  std::optional<std::int64_t> head_dim;  ///< the model's D, when a model named it
};

/// A rule given key by key without a model (`sxplan rope`'s options, the Python module's
/// keywords), each value already parsed. Keys are config.json's (snake_case).
struct rope_rule_options {
  std::optional<double> theta;
  std::optional<std::int64_t> rotary_dims;
  std::optional<selfextend::rope_style> style;
  std::optional<std::int64_t> max_position_embeddings;
  std::optional<std::string> scaling;  ///< the rule's name as given ("yarn", "su", ...)
  std::optional<double> factor;
  std::optional<std::int64_t> original_max_position_embeddings;
  std::optional<double> attention_factor, beta_fast, beta_slow, mscale, mscale_all_dim;
  std::optional<bool> truncate;
  std::optional<double> low_freq_factor, high_freq_factor;
  std::optional<std::vector<double>> short_factor, long_factor, rope_freqs;
  /// How each given key's value reads in an error (the text as typed, or Python's str()).
  std::map<std::string, std::string> shown;
  /// How the front end names an option in an error: "--rope-scaling" or "rope_scaling".
  std::string (*option_name)(const std::string& key) = nullptr;
};

/// The rule those options state: refuses rotary_dims missing, an unknown rule, a rule key without
/// a rule or of another rule, and a missing factor, each naming the key and the rule (what
/// `sxplan rope` and the Python module's rope() both call).
rope_choice rope_rule_from(const rope_rule_options& options);

/// Refuses --layer-type without --model, --config or --gguf.
void require_model_for_layer_type(const po::variables_map& vm);

/// True when --model, --config or --gguf is given.
bool names_model(const po::variables_map& vm);

/// `sxplan rope`'s rule: the model's, or --rope-theta/--rotary-dims/--rope-style with
/// --rope-scaling TYPE and its keys. Options the model already states, keys without
/// --rope-scaling, and keys the chosen rule does not read are refused (exit 2, naming the flag).
rope_choice resolve_rope_rule(const po::variables_map& vm);

/// A model's rule, layout and head_dim (no model_choice: the caller knows where it came from);
/// with `layer_type` (full, sliding or chunked) the rule of that kind of its layers, refused under
/// `key` when the model has none of them.
rope_choice rope_of_model(const selfextend::model_info& m, const std::optional<std::string>& layer_type = std::nullopt,
                          const std::string& key = "layer_type");

/// The model's RoPE for attend/verify; refuses --rope-theta, --rope-style, --rotary-dims,
/// --inv-freq and --attention-factor next to it. Precondition: names_model(vm).
rope_choice resolve_model_rope(const po::variables_map& vm);

/// --inv-freq FILE.npy: a 1-D <f4 or <f8 array (read whole; each value checked by the kernel's validation).
std::vector<double> read_inv_freq(const po::variables_map& vm);

/// The model's warnings (none without a model).
std::vector<std::string> rope_model_warnings(const std::optional<model_choice>& model);

/// JSON of the rule's parameters, the model facts' rope_scaling object ({type, factor,
/// original_context, ...}, json_output.hpp's to_json); null without a rule.
boost::json::value echo_rope_scaling(const std::optional<selfextend::rope_scaling>& scaling);

/// The rule for people, as `sxplan model`, `rope` and `attend` print it:
/// "llama3 ×8 from 8,192 (low_freq_factor 1, high_freq_factor 4)"; "default" without a rule.
std::string describe_rope_scaling(const std::optional<selfextend::rope_scaling>& scaling);

}  // namespace sxplan
