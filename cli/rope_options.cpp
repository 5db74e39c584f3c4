// rope_options.cpp - resolving a command's RoPE from a model, a rule given as options, or frequencies.
#include "rope_options.hpp"
#include "json_output.hpp"

#include <array>
#include <charconv>

#include <boost/json.hpp>

#include <selfextend/error.hpp>
#include <selfextend/npy.hpp>

namespace sxplan {

namespace json = boost::json;
using selfextend::invalid_params;
using selfextend::rope_scaling_type;

namespace {

/// Each rule key: its flag (also the config.json key, hyphenated), the rules that read it, and
/// whether rope_rule_options holds a value for it.
struct rule_key {
  const char* flag;
  std::initializer_list<rope_scaling_type> rules;
  bool (*given)(const rope_rule_options&);
};

const rule_key rule_keys[] = {
    {"factor",
     {rope_scaling_type::linear, rope_scaling_type::dynamic, rope_scaling_type::yarn, rope_scaling_type::longrope,
      rope_scaling_type::llama3},
     [](const rope_rule_options& o) { return o.factor.has_value(); }},
    {"original-max-position-embeddings", {rope_scaling_type::yarn, rope_scaling_type::longrope, rope_scaling_type::llama3},
     [](const rope_rule_options& o) { return o.original_max_position_embeddings.has_value(); }},
    {"attention-factor", {rope_scaling_type::yarn, rope_scaling_type::longrope},
     [](const rope_rule_options& o) { return o.attention_factor.has_value(); }},
    {"beta-fast", {rope_scaling_type::yarn}, [](const rope_rule_options& o) { return o.beta_fast.has_value(); }},
    {"beta-slow", {rope_scaling_type::yarn}, [](const rope_rule_options& o) { return o.beta_slow.has_value(); }},
    {"mscale", {rope_scaling_type::yarn}, [](const rope_rule_options& o) { return o.mscale.has_value(); }},
    {"mscale-all-dim", {rope_scaling_type::yarn}, [](const rope_rule_options& o) { return o.mscale_all_dim.has_value(); }},
    {"truncate", {rope_scaling_type::yarn}, [](const rope_rule_options& o) { return o.truncate.has_value(); }},
    {"low-freq-factor", {rope_scaling_type::llama3},
     [](const rope_rule_options& o) { return o.low_freq_factor.has_value(); }},
    {"high-freq-factor", {rope_scaling_type::llama3},
     [](const rope_rule_options& o) { return o.high_freq_factor.has_value(); }},
    {"short-factor", {rope_scaling_type::longrope}, [](const rope_rule_options& o) { return o.short_factor.has_value(); }},
    {"long-factor", {rope_scaling_type::longrope}, [](const rope_rule_options& o) { return o.long_factor.has_value(); }},
};

std::string key_of(const std::string& flag) {
  std::string key = flag;
  for (char& c : key)
    if (c == '-') c = '_';
  return key;
}

std::optional<double> optional_double(const po::variables_map& vm, const std::string& flag) {
  if (!vm.count(flag)) return std::nullopt;
  return parse_double(key_of(flag), vm[flag].as<std::string>());
}

/// A 1-D float .npy of numbers for `flag`.
std::vector<double> read_vector_npy(const po::variables_map& vm, const std::string& flag) {
  const std::string path = vm[flag].as<std::string>();
  const selfextend::npy_array a = selfextend::read_npy(path, key_of(flag));
  if (a.dtype != selfextend::npy_dtype::f4 && a.dtype != selfextend::npy_dtype::f8)
    throw invalid_params(key_of(flag), path, "must be a <f4 or <f8 array (got " + std::string(selfextend::to_string(a.dtype)) + ")");
  if (a.shape.size() != 1) throw invalid_params(key_of(flag), path, "must be a 1-D array");
  return a.to_doubles();
}

/// A list given as FILE.npy or as comma-separated numbers.
std::vector<double> number_list(const po::variables_map& vm, const std::string& flag) {
  const std::string text = vm[flag].as<std::string>();
  if (text.size() > 4 && text.compare(text.size() - 4, 4, ".npy") == 0) return read_vector_npy(vm, flag);
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    values.push_back(parse_double(key_of(flag), text.substr(start, comma - start)));
    start = comma + 1;
  }
  return values;
}

void refuse_with_model(const po::variables_map& vm, std::initializer_list<const char*> flags, const std::string& by) {
  for (const char* flag : flags)
    if (vm.count(flag))
      throw invalid_params(key_of(flag), vm[flag].as<std::string>(),
                           "conflicts with --" + by + ": the model states its RoPE");
}

std::string model_flag(const po::variables_map& vm) {
  for (const char* flag : {"model", "config", "gguf"})
    if (vm.count(flag)) return flag;
  return "model";
}

}  // namespace

void add_rope_model_options(po::options_description& options) {
  options.add_options()
    ("model", po::value<std::string>()->value_name("NAME"), "use this preset's RoPE (see `sxplan models`)")
    ("config", po::value<std::string>()->value_name("PATH"), "use the RoPE a Hugging Face config.json states")
    ("gguf", po::value<std::string>()->value_name("PATH"), "use the RoPE a GGUF file states (header and tensors)")
    ("layer-type", po::value<std::string>()->value_name("full|sliding|chunked"),
     "with a model: the RoPE of its layers of this kind (default: the layers Self-Extend acts on)");
}

void require_model_for_layer_type(const po::variables_map& vm) {
  if (vm.count("layer-type") && !names_model(vm))
    throw invalid_params("layer-type", vm["layer-type"].as<std::string>(),
                         "needs --model, --config or --gguf: it picks the RoPE of one kind of the model's layers");
}

void add_rope_rule_options(po::options_description& options) {
  options.add_options()
    ("rope-scaling", po::value<std::string>()->value_name("TYPE"),
     "frequency rule: default, linear, dynamic, yarn, longrope (su), llama3")
    ("factor", po::value<std::string>()->value_name("F"), "the rule's factor (all rules but default)")
    ("original-max-position-embeddings", po::value<std::string>()->value_name("L0"),
     "yarn, longrope, llama3: the original window (default: --max-position-embeddings)")
    ("max-position-embeddings", po::value<std::string>()->value_name("M"),
     "config's max_position_embeddings: dynamic's reference length, the fallback original window")
    ("attention-factor", po::value<std::string>()->value_name("A"), "yarn, longrope: the attention factor (default: the rule's)")
    ("beta-fast", po::value<std::string>()->value_name("B"), "yarn: rotations at the ramp's start (default 32)")
    ("beta-slow", po::value<std::string>()->value_name("B"), "yarn: rotations at the ramp's end (default 1)")
    ("mscale", po::value<std::string>()->value_name("M"), "yarn (DeepSeek): mscale")
    ("mscale-all-dim", po::value<std::string>()->value_name("M"), "yarn (DeepSeek): mscale_all_dim")
    ("truncate", po::value<std::string>()->value_name("true|false"), "yarn: round the ramp bounds (default true)")
    ("low-freq-factor", po::value<std::string>()->value_name("X"), "llama3: low_freq_factor")
    ("high-freq-factor", po::value<std::string>()->value_name("X"), "llama3: high_freq_factor")
    ("short-factor", po::value<std::string>()->value_name("LIST|FILE.npy"), "longrope: R/2 short factors")
    ("long-factor", po::value<std::string>()->value_name("LIST|FILE.npy"), "longrope: R/2 long factors")
    ("rope-freqs", po::value<std::string>()->value_name("LIST|FILE.npy"),
     "GGUF rope_freqs: R/2 per-pair divisors applied after the rule");
}

bool names_model(const po::variables_map& vm) { return vm.count("model") || vm.count("config") || vm.count("gguf"); }

rope_choice resolve_model_rope(const po::variables_map& vm) {
  const std::string by = model_flag(vm);
  refuse_with_model(vm, {"rope-theta", "rope-style", "rotary-dims", "inv-freq", "attention-factor"}, by);
  const model_choice model = resolve_model(vm);
  rope_choice choice = rope_of_model(
      model.model, vm.count("layer-type") ? std::optional(vm["layer-type"].as<std::string>()) : std::nullopt, "layer-type");
  choice.model = model;
  return choice;
}

rope_choice rope_of_model(const selfextend::model_info& m, const std::optional<std::string>& layer_type,
                          const std::string& key) {
  rope_choice choice;
  choice.rule = selfextend::rope_rule_of(m);
  if (layer_type) {
    if (*layer_type != "full" && *layer_type != "sliding" && *layer_type != "chunked")
      throw invalid_params(key, *layer_type, "must be full, sliding or chunked");
    choice.rule = selfextend::rope_rule_of(m, selfextend::layer_run_of_kind(m, *layer_type, key));
  }
  choice.style = m.style;
  choice.head_dim = m.head_dim;
  return choice;
}

rope_choice rope_rule_from(const rope_rule_options& o) {
  const auto name = [&](const std::string& key) { return o.option_name ? o.option_name(key) : key; };
  const auto shown = [&](const std::string& key) {
    const auto it = o.shown.find(key);
    return it != o.shown.end() ? it->second : std::string("(given)");
  };
  rope_choice choice;
  choice.rule.theta = o.theta.value_or(10000.0);
  if (!o.rotary_dims)
    throw invalid_params("rotary_dims", "(none)",
                         "is required without " + name("model") + ", " + name("config") + " or " + name("gguf"));
  choice.rule.rotary_dims = *o.rotary_dims;
  choice.style = o.style.value_or(selfextend::rope_style::neox);
  if (o.max_position_embeddings) choice.rule.max_position_embeddings = *o.max_position_embeddings;

  rope_scaling_type type = rope_scaling_type::none;
  if (o.scaling) {
    const auto parsed = selfextend::parse_rope_scaling_type(*o.scaling);
    if (!parsed)
      throw invalid_params("rope_scaling", *o.scaling,
                           "is not a rule known here (default, linear, dynamic, yarn, longrope or su, llama3)");
    type = *parsed;
  }
  for (const rule_key& k : rule_keys) {
    if (!k.given(o)) continue;
    const std::string key = key_of(k.flag);
    if (!o.scaling)
      throw invalid_params(key, shown(key), "needs " + name("rope_scaling") + " (the rule it belongs to)");
    if (std::find(k.rules.begin(), k.rules.end(), type) == k.rules.end())
      throw invalid_params(key, shown(key), "is not a key of the " + std::string(selfextend::to_string(type)) + " rule");
  }
  if (!o.scaling && !o.rope_freqs) return choice;

  selfextend::rope_scaling s;
  s.type = type;
  s.source = "options";
  if (o.factor) {
    s.factor = *o.factor;
  } else if (type == rope_scaling_type::longrope && o.original_max_position_embeddings &&
             choice.rule.max_position_embeddings > 0) {
    // transformers' longrope without a factor: max_position_embeddings / original_max_position_embeddings.
    s.factor = static_cast<double>(choice.rule.max_position_embeddings) /
               static_cast<double>(*o.original_max_position_embeddings);
  } else if (type != rope_scaling_type::none) {
    throw invalid_params("factor", "(none)", "is required by the " + std::string(selfextend::to_string(type)) + " rule");
  }
  s.original_context = o.original_max_position_embeddings;
  s.attention_factor = o.attention_factor;
  s.beta_fast = o.beta_fast;
  s.beta_slow = o.beta_slow;
  s.mscale = o.mscale;
  s.mscale_all_dim = o.mscale_all_dim;
  s.truncate = o.truncate;
  s.low_freq_factor = o.low_freq_factor;
  s.high_freq_factor = o.high_freq_factor;
  if (o.short_factor) s.short_factor = *o.short_factor;
  if (o.long_factor) s.long_factor = *o.long_factor;
  if (o.rope_freqs) s.freq_factors = *o.rope_freqs;
  choice.rule.scaling = std::move(s);
  return choice;
}

rope_choice resolve_rope_rule(const po::variables_map& vm) {
  require_model_for_layer_type(vm);
  if (names_model(vm)) {
    const std::string by = model_flag(vm);
    refuse_with_model(vm, {"rope-scaling", "max-position-embeddings", "rope-freqs"}, by);
    for (const rule_key& k : rule_keys) refuse_with_model(vm, {k.flag}, by);
    return resolve_model_rope(vm);
  }
  rope_rule_options o;
  o.option_name = [](const std::string& key) {
    std::string flag = "--" + key;
    for (char& c : flag)
      if (c == '_') c = '-';
    return key == "rope_scaling" ? flag + " TYPE" : flag;
  };
  for (const char* flag : {"rope-theta", "rotary-dims", "rope-style", "max-position-embeddings", "rope-scaling",
                           "rope-freqs"})
    if (vm.count(flag)) o.shown[key_of(flag)] = vm[flag].as<std::string>();
  for (const rule_key& k : rule_keys)
    if (vm.count(k.flag)) o.shown[key_of(k.flag)] = vm[k.flag].as<std::string>();
  if (vm.count("rope-theta")) o.theta = parse_double("rope_theta", vm["rope-theta"].as<std::string>());
  o.rotary_dims = optional_int64(vm, "rotary-dims");
  if (vm.count("rope-style")) {
    const std::string text = vm["rope-style"].as<std::string>();
    const auto style = selfextend::parse_rope_style(text);
    if (!style) throw invalid_params("rope_style", text, "must be neox or gptj");
    o.style = *style;
  }
  o.max_position_embeddings = optional_int64(vm, "max-position-embeddings");
  if (vm.count("rope-scaling")) o.scaling = vm["rope-scaling"].as<std::string>();
  o.factor = optional_double(vm, "factor");
  o.original_max_position_embeddings = optional_int64(vm, "original-max-position-embeddings");
  o.attention_factor = optional_double(vm, "attention-factor");
  o.beta_fast = optional_double(vm, "beta-fast");
  o.beta_slow = optional_double(vm, "beta-slow");
  o.mscale = optional_double(vm, "mscale");
  o.mscale_all_dim = optional_double(vm, "mscale-all-dim");
  if (vm.count("truncate")) {
    const std::string text = vm["truncate"].as<std::string>();
    if (text != "true" && text != "false") throw invalid_params("truncate", text, "must be true or false");
    o.truncate = text == "true";
  }
  o.low_freq_factor = optional_double(vm, "low-freq-factor");
  o.high_freq_factor = optional_double(vm, "high-freq-factor");
  if (vm.count("short-factor")) o.short_factor = number_list(vm, "short-factor");
  if (vm.count("long-factor")) o.long_factor = number_list(vm, "long-factor");
  if (vm.count("rope-freqs")) o.rope_freqs = number_list(vm, "rope-freqs");
  return rope_rule_from(o);
}

std::vector<double> read_inv_freq(const po::variables_map& vm) { return read_vector_npy(vm, "inv-freq"); }

std::vector<std::string> rope_model_warnings(const std::optional<model_choice>& model) {
  return model ? model->model.warnings : std::vector<std::string>{};
}

json::value echo_rope_scaling(const std::optional<selfextend::rope_scaling>& scaling) {
  // One schema for the rule wherever it is printed: the model facts' (docs/json.md#model-result).
  return scaling ? json::value(to_json(*scaling)) : json::value(nullptr);
}

std::string describe_rope_scaling(const std::optional<selfextend::rope_scaling>& scaling) {
  if (!scaling) return "default";
  const selfextend::rope_scaling& s = *scaling;
  std::string text(selfextend::to_string(s.type));
  if (s.type != rope_scaling_type::none) text += " \xC3\x97" + significant(s.factor);
  if (s.original_context) text += " from " + grouped(*s.original_context);
  std::vector<std::string> parts;
  const auto add = [&](const char* name, const std::optional<double>& x) {
    if (x) parts.push_back(std::string(name) + " " + significant(*x));
  };
  add("low_freq_factor", s.low_freq_factor);
  add("high_freq_factor", s.high_freq_factor);
  add("beta_fast", s.beta_fast);
  add("beta_slow", s.beta_slow);
  add("mscale", s.mscale);
  add("mscale_all_dim", s.mscale_all_dim);
  add("attention_factor", s.attention_factor);
  if (s.truncate) parts.push_back(std::string("truncate ") + (*s.truncate ? "true" : "false"));
  if (!s.short_factor.empty()) parts.push_back(std::to_string(s.short_factor.size()) + " short/long factors");
  if (!s.freq_factors.empty()) parts.push_back(std::to_string(s.freq_factors.size()) + " GGUF rope_freqs divisors");
  if (!parts.empty()) {
    text += " (";
    for (std::size_t n = 0; n < parts.size(); ++n) text += (n ? ", " : "") + parts[n];
    text += ")";
  }
  return text;
}

}  // namespace sxplan
