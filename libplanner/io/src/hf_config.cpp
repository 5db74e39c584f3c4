// hf_config.cpp - Hugging Face config.json reader (Boost.JSON). Which keys mean what, per
// architecture, is in docs/models.md; each fact records the key it came from.
#include <selfextend/hf_config.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <span>
#include <string>

#include <boost/json.hpp>

#include <selfextend/error.hpp>

#include "json_kind.hpp"

namespace selfextend {
namespace {

namespace json = boost::json;

bool one_of(std::string_view value, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}
bool one_of(std::string_view value, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// model_type values by position encoding (transformers' model classes; remote-code models by
// their published modeling files).
constexpr std::string_view rope_types[] = {
    "llama", "mistral", "mixtral", "qwen", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3",
    "gemma3_text", "phi", "phi3", "phi3small", "phimoe", "phi-msft", "gptj", "gpt_neox", "codegen", "stablelm",
    "falcon", "internlm", "internlm2", "internlm3", "deepseek", "deepseek_v2", "deepseek_v3", "olmo", "olmo2",
    "cohere", "cohere2", "starcoder2", "chatglm", "glm", "glm4", "yi", "persimmon", "granite", "granitemoe",
    "nemotron", "exaone", "minicpm", "minicpm3", "gpt_oss", "llama4_text", "mistral3", "ministral3", "baichuan",
    "xverse", "orion", "aquila", "skywork", "solar", "hunyuan", "openelm", "seed_oss", "ernie4_5", "arcee", "smollm3",
    "llama4", "ernie4_5_moe", "glm4_moe", "glm4v", "glm4v_moe", "qwen3_next", "qwen3_5", "qwen3_5_moe", "gemma4",
    "gemma4_text", "qwen2_5_vl", "qwen2_vl", "qwen3_vl", "qwen3_vl_moe",
    "qwen3_5_text", "qwen3_5_moe_text", "glm4v_text", "glm4v_moe_text", "qwen3_next_text", "exaone4", "olmo3"};
constexpr std::string_view alibi_types[] = {"bloom", "jais"};
constexpr std::string_view absolute_types[] = {
    "opt", "gpt2", "gpt_bigcode", "gpt_neo", "bert", "roberta", "distilbert", "xglm", "bart", "mbart", "whisper",
    "biogpt", "ctrl", "openai-gpt", "blenderbot", "marian", "pegasus", "electra", "xlm-roberta", "deberta-v2"};
// Architectures whose modeling code reads an explicit head_dim (so heads * head_dim may differ
// from hidden_size); elsewhere head_dim is hidden_size / num_attention_heads and a stated value
// that disagrees is a contradiction.
constexpr std::string_view explicit_head_dim_types[] = {
    "llama", "mistral", "mixtral", "gemma", "gemma2", "gemma3", "gemma3_text", "qwen3", "qwen3_moe", "granite",
    "granitemoe", "olmo2", "cohere2", "ministral3", "mistral3", "gpt_oss", "llama4_text", "glm", "glm4", "exaone",
    "smollm3", "seed_oss", "ernie4_5", "arcee", "hunyuan", "openelm", "deepseek_v2", "deepseek_v3", "minicpm3", "nemotron",
    "llama4", "ernie4_5_moe", "glm4_moe", "glm4v", "glm4v_moe", "qwen3_next", "qwen3_5", "qwen3_5_moe", "gemma4",
    "gemma4_text", "qwen2_5_vl", "qwen2_vl", "qwen3_vl", "qwen3_vl_moe",
    "qwen3_5_text", "qwen3_5_moe_text", "glm4v_text", "glm4v_moe_text", "qwen3_next_text"};

std::string shortest(double v) {
  std::array<char, 32> buffer{};
  const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  return std::string(buffer.data(), r.ptr);
}

class config_fields {
 public:
  config_fields(const json::object& root, std::string source, std::string prefix = {})
      : root_(root), source_(std::move(source)), prefix_(std::move(prefix)) {}

  [[nodiscard]] config_fields nested(const json::object& o, const std::string& name) const {
    return config_fields(o, source_, prefix_ + name + ".");
  }
  [[nodiscard]] const json::object& object() const { return root_; }
  [[nodiscard]] const std::string& source() const { return source_; }
  [[nodiscard]] std::string name(const char* field) const { return prefix_ + field; }

  [[noreturn]] void fail(const std::string& field, const std::string& rule) const {
    throw invalid_params("config", source_, "field \"" + prefix_ + field + "\" " + rule);
  }

  [[nodiscard]] const json::value* find(const char* field) const {
    const json::value* v = root_.if_contains(field);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }
  [[nodiscard]] bool has(const char* field) const { return find(field) != nullptr; }

  [[nodiscard]] static const char* kind(const json::value& v) { return detail::json_kind(v); }

  [[nodiscard]] std::int64_t as_integer(const char* field, const json::value& v) const {
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64()) {
      if (v.as_uint64() > static_cast<std::uint64_t>(INT64_MAX)) fail(field, "does not fit in 64 bits");
      return static_cast<std::int64_t>(v.as_uint64());
    }
    if (v.is_double()) {
      const double d = v.as_double();
      if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
      if (std::isfinite(d) && d == std::floor(d)) fail(field, "does not fit in 64 bits (" + json::serialize(v) + ")");
      fail(field, "must be an integer, got " + json::serialize(v));
    }
    fail(field, std::string("must be an integer, got ") + kind(v));
  }

  [[nodiscard]] std::optional<std::int64_t> integer(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    return as_integer(field, *v);
  }

  [[nodiscard]] std::optional<std::int64_t> positive(const char* field) const {
    const std::optional<std::int64_t> v = integer(field);
    if (v && *v < 1) fail(field, "must be a positive integer, got " + std::to_string(*v));
    return v;
  }

  /// A positive integer, or a per-layer array of them (the largest is returned, `smallest` set).
  [[nodiscard]] std::optional<std::int64_t> per_layer(const char* field, std::int64_t* smallest = nullptr) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (!v->is_array()) {
      const std::int64_t n = as_integer(field, *v);
      if (n < 1) fail(field, "must be a positive integer, got " + std::to_string(n));
      if (smallest) *smallest = n;
      return n;
    }
    const json::array& a = v->as_array();
    if (a.empty()) fail(field, "must be a positive integer or a non-empty per-layer array");
    std::int64_t hi = 0, lo = INT64_MAX;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::int64_t n = as_integer(field, a[i]);
      if (n < 1) fail(field, "has " + std::to_string(n) + " at layer " + std::to_string(i) + "; every layer needs at least 1");
      hi = std::max(hi, n);
      lo = std::min(lo, n);
    }
    if (smallest) *smallest = lo;
    return hi;
  }

  [[nodiscard]] std::optional<double> number(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) fail(field, std::string("must be a number, got ") + kind(*v));
    const double d = v->to_number<double>();
    if (!std::isfinite(d)) fail(field, "must be finite");
    return d;
  }

  [[nodiscard]] std::optional<bool> boolean(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_bool()) return v->as_bool();
    fail(field, std::string("must be a boolean, got ") + kind(*v));
  }

  [[nodiscard]] std::optional<std::string> string(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_string()) return std::string(v->as_string());
    fail(field, std::string("must be a string, got ") + kind(*v));
  }

  [[nodiscard]] const json::object* object(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) fail(field, std::string("must be an object or null, got ") + kind(*v));
    return &v->as_object();
  }

  [[nodiscard]] std::vector<double> numbers(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return {};
    if (!v->is_array()) fail(field, std::string("must be an array of numbers, got ") + kind(*v));
    std::vector<double> out;
    out.reserve(v->as_array().size());
    for (const json::value& e : v->as_array()) {
      if (!e.is_number()) fail(field, std::string("must hold numbers only, got ") + kind(e));
      const double d = e.to_number<double>();
      if (!std::isfinite(d) || d <= 0) fail(field, "must hold finite positive numbers");
      out.push_back(d);
    }
    return out;
  }

 private:
  const json::object& root_;
  std::string source_;
  std::string prefix_;
};

/// The first of `fields` that is present, with its name.
template <class Read>
auto first_of(const config_fields& f, std::initializer_list<const char*> fields, Read read)
    -> std::pair<decltype(read(f, "")), std::string> {
  for (const char* field : fields)
    if (f.has(field)) return {read(f, field), f.name(field)};
  return {decltype(read(f, "")){}, std::string()};
}

void read_encoding(const config_fields& f, model_info& m) {
  const std::string& t = m.architecture;
  auto set = [&](position_encoding e, std::string why) {
    m.encoding = e;
    m.sources["position_encoding"] = std::move(why);
  };
  if (const std::optional<std::string> p = f.string("position_embedding_type")) {
    if (*p == "rotary" || *p == "rope") return set(position_encoding::rope, "position_embedding_type");
    if (*p == "alibi") return set(position_encoding::alibi, "position_embedding_type");
    if (*p == "absolute" || *p == "learned" || *p == "sinusoidal") return set(position_encoding::absolute, "position_embedding_type");
  }
  if (f.boolean("alibi").value_or(false)) return set(position_encoding::alibi, "alibi");
  if (const json::object* attn = f.object("attn_config")) {  // MPT
    const config_fields a = f.nested(*attn, "attn_config");
    if (a.boolean("alibi").value_or(false)) return set(position_encoding::alibi, "attn_config.alibi");
    if (t == "mpt") return set(position_encoding::absolute, "attn_config.alibi = false (learned positions)");
  }
  if (t == "mpt") return set(position_encoding::alibi, "model_type mpt (ALiBi by default)");
  if (one_of(t, alibi_types)) return set(position_encoding::alibi, "model_type " + t);
  if (one_of(t, absolute_types)) return set(position_encoding::absolute, "model_type " + t);
  if (one_of(t, rope_types)) return set(position_encoding::rope, "model_type " + t);
  set(position_encoding::unknown, t.empty() ? "no model_type" : "model_type " + t + " (not known here)");
}

double architecture_theta_default(const std::string& t) {
  if (t == "gemma3" || t == "gemma3_text") return 1e6;  // Gemma3TextConfig's default
  if (t == "llama4" || t == "llama4_text") return 500000.0;  // Llama4TextConfig's default
  return 10000.0;
}

void read_rope_scaling(const config_fields& root, const config_fields& s, model_info& m, const std::string& what) {
  const std::optional<std::string> rope_type = s.string("rope_type");
  const std::optional<std::string> type = s.string("type");
  if (rope_type && type && *rope_type != *type)
    s.fail("type", "(\"" + printable(*type) + "\") contradicts " + s.name("rope_type") + " (\"" + printable(*rope_type) + "\")");
  if (!rope_type && !type) s.fail("rope_type", "is missing (the scaling rule: default, linear, dynamic, yarn, longrope, llama3)");
  const std::string name = rope_type ? *rope_type : *type;
  if (name == "proportional") {  // Gemma-4: default frequencies (see the base above), divided by an optional factor
    const double factor = s.number("factor").value_or(1.0);
    if (!(factor > 0)) s.fail("factor", "must be a positive number");
    if (factor == 1.0) return;
    rope_scaling r;
    r.type = rope_scaling_type::linear;
    r.factor = factor;
    r.source = what + " (proportional, factor)";
    m.rope_scaling = std::move(r);
    m.sources["rope_scaling"] = what;
    return;
  }
  const std::optional<rope_scaling_type> parsed = parse_rope_scaling_type(name);
  if (!parsed)
    s.fail(rope_type ? "rope_type" : "type", "= \"" + printable(name) +
                                                 "\" is not a RoPE rule known here (default, linear, dynamic, yarn, longrope/su, llama3)");
  if (*parsed == rope_scaling_type::none) return;
  rope_scaling r;
  r.type = *parsed;
  r.source = what;
  auto require = [&](const char* field) {
    if (!s.has(field)) s.fail(field, "is missing; " + std::string(to_string(r.type)) + " RoPE scaling requires it");
  };
  const bool factor_required = r.type != rope_scaling_type::longrope;
  if (factor_required) require("factor");
  if (const std::optional<double> factor = s.number("factor")) {
    if (!(*factor > 0)) s.fail("factor", "must be a positive number");
    r.factor = *factor;
  }
  if (r.type == rope_scaling_type::llama3) {
    require("original_max_position_embeddings");
    require("low_freq_factor");
    require("high_freq_factor");
  }
  r.original_context = s.positive("original_max_position_embeddings");
  if (!r.original_context) r.original_context = root.positive("original_max_position_embeddings");  // Phi-3
  r.attention_factor = s.number("attention_factor");
  r.beta_fast = s.number("beta_fast");
  r.beta_slow = s.number("beta_slow");
  r.mscale = s.number("mscale");
  r.mscale_all_dim = s.number("mscale_all_dim");
  r.truncate = s.boolean("truncate");
  r.low_freq_factor = s.number("low_freq_factor");
  r.high_freq_factor = s.number("high_freq_factor");
  if (r.low_freq_factor && r.high_freq_factor && !(*r.high_freq_factor >= *r.low_freq_factor))
    s.fail("high_freq_factor", "must be at least low_freq_factor (equal factors, as Llama-4-Scout's, make a step)");
  if (r.type == rope_scaling_type::longrope) {
    require("short_factor");
    require("long_factor");
    r.short_factor = s.numbers("short_factor");
    r.long_factor = s.numbers("long_factor");
    const auto pairs = static_cast<std::size_t>(m.rotary_dims / 2);
    if (r.short_factor.size() != pairs)
      s.fail("short_factor", "has " + std::to_string(r.short_factor.size()) + " values; rotary_dims / 2 = " + std::to_string(pairs) + " are required");
    if (r.long_factor.size() != pairs)
      s.fail("long_factor", "has " + std::to_string(r.long_factor.size()) + " values; rotary_dims / 2 = " + std::to_string(pairs) + " are required");
    if (!r.original_context) require("original_max_position_embeddings");
    if (!s.has("factor") && m.advertised_context) {
      // transformers' longrope: factor = max_position_embeddings / original_max_position_embeddings
      r.factor = static_cast<double>(*m.advertised_context) / static_cast<double>(*r.original_context);
      m.notes.push_back("longrope factor " + std::to_string(*m.advertised_context) + " / " +
                        std::to_string(*r.original_context) + " (max_position_embeddings / original_max_position_embeddings)");
    }
  }
  m.rope_scaling = std::move(r);
  m.sources["rope_scaling"] = what;
}

void read_sliding(const config_fields& f, model_info& m) {
  const std::optional<std::int64_t> window = f.positive("sliding_window");
  // A window plans as L when every layer slides, and L must be at least 2 (found by fuzz_hf_config).
  if (window && *window < 2) f.fail("sliding_window", "must be at least 2 (a window of one token sees only itself)");
  if (const json::value* types = f.find("layer_types")) {
    if (!types->is_array()) f.fail("layer_types", std::string("must be an array of strings, got ") + config_fields::kind(*types));
    std::int64_t sliding = 0, total = 0;
    for (const json::value& t : types->as_array()) {
      if (!t.is_string()) f.fail("layer_types", "must hold strings only");
      ++total;
      if (t.as_string() == "sliding_attention") ++sliding;
    }
    if (sliding > 0 && !window) f.fail("sliding_window", "is missing; layer_types names sliding_attention layers");
    if (sliding == 0 || !window) return;
    m.sliding_window = window;
    m.sliding = sliding == total ? sliding_layers::all : sliding_layers::listed;
    m.sliding_layer_count = sliding;
    m.layers = m.layers.value_or(total);
    m.sources["sliding_window"] = "sliding_window, layer_types";
    return;
  }
  if (!window) return;
  if (!f.boolean("use_sliding_window").value_or(true)) {
    m.notes.push_back("sliding_window " + std::to_string(*window) + " is declared but use_sliding_window is false");
    return;
  }
  const std::string& t = m.architecture;
  m.sliding_window = window;
  m.sources["sliding_window"] = "sliding_window";
  if (t == "gemma2") {
    m.sliding = sliding_layers::alternating;
    m.sliding_period = 2;
    m.sources["sliding_window"] = "sliding_window (gemma2: every other layer)";
  } else if (t == "gemma3" || t == "gemma3_text" || t == "cohere2") {
    m.sliding = sliding_layers::alternating;
    m.sliding_period = f.positive("sliding_window_pattern").value_or(t == "cohere2" ? 4 : 6);
    m.sources["sliding_window"] = f.has("sliding_window_pattern") ? "sliding_window, sliding_window_pattern"
                                                                  : "sliding_window (" + t + " pattern default)";
  } else if (one_of(t, {"qwen2", "qwen2_moe", "qwen3", "qwen3_moe"}) && f.has("max_window_layers")) {
    // transformers' Qwen2 rule: layers with index >= max_window_layers use the window.
    const std::int64_t first = *f.integer("max_window_layers");
    if (first < 0) f.fail("max_window_layers", "must not be negative");
    if (m.layers && first >= *m.layers) {
      m.notes.push_back("max_window_layers " + std::to_string(first) + " >= num_hidden_layers: no layer slides");
      m.sliding_window.reset();
      m.sources.erase("sliding_window");
      return;
    }
    m.sliding = first == 0 ? sliding_layers::all : sliding_layers::last;
    if (m.layers) m.sliding_layer_count = *m.layers - first;
    m.sources["sliding_window"] = "sliding_window, max_window_layers";
  } else {
    m.sliding = sliding_layers::all;
  }
  if (m.sliding == sliding_layers::alternating && m.layers)
    m.sliding_layer_count = *m.layers - *m.layers / m.sliding_period;
  if (m.sliding == sliding_layers::all && m.layers) m.sliding_layer_count = *m.layers;
}


/// The defaults of a transformers config class for the keys this reader uses, for architectures
/// whose published configs omit keys (docs/models.md, "Class defaults").
struct config_class_defaults {
  std::string_view class_name;
  std::vector<std::pair<std::string_view, json::value>> values;
};

std::optional<config_class_defaults> class_defaults_of(const std::string& model_type, bool nested) {
  // Gemma3TextConfig (transformers models/gemma3/configuration_gemma3.py): Gemma-3-4b/12b/27b-it
  // publish a text_config that states only what differs from these.
  if (model_type == "gemma3_text" || (model_type == "gemma3" && nested))
    return config_class_defaults{"Gemma3TextConfig",
                                 {{"num_hidden_layers", 26},
                                  {"hidden_size", 2304},
                                  {"num_attention_heads", 8},
                                  {"num_key_value_heads", 4},
                                  {"head_dim", 256},
                                  {"max_position_embeddings", 131072},
                                  {"rope_theta", 1000000.0},
                                  {"rope_local_base_freq", 10000.0},
                                  {"sliding_window", 4096},
                                  {"sliding_window_pattern", 6},
                                  {"query_pre_attn_scalar", 256}}};
  return std::nullopt;
}

/// Adds "(Class default)" to the source of every fact read from a defaulted key.
void mark_defaulted(model_info& m, const std::vector<std::string>& keys, const std::string& class_name) {
  if (std::find(keys.begin(), keys.end(), m.context_source) != keys.end()) m.context_source += " (" + class_name + " default)";
  for (auto& [fact, where] : m.sources) {
    if (fact == "class_defaults") continue;
    for (const std::string& key : keys) {
      const std::size_t at = where.find(key);
      const bool whole = at != std::string::npos && (at == 0 || where[at - 1] == ' ') &&
                         (at + key.size() == where.size() || where[at + key.size()] == ' ' || where[at + key.size()] == ',');
      if (whole) {
        where += " (" + class_name + " default)";
        break;
      }
    }
  }
}

/// Reads a per-layer array of `field` (its length must be the layer count) through `each`.
template <class Each>
void per_layer_array(const config_fields& f, const char* field, std::int64_t layers, Each each) {
  const json::value* v = f.find(field);
  if (!v->is_array()) f.fail(field, std::string("must be an array, got ") + config_fields::kind(*v));
  const json::array& a = v->as_array();
  if (static_cast<std::int64_t>(a.size()) != layers)
    f.fail(field, "has " + std::to_string(a.size()) + " entries; num_hidden_layers is " + std::to_string(layers));
  for (std::size_t i = 0; i < a.size(); ++i) each(static_cast<std::int64_t>(i), a[i]);
}

/// A per-layer-type entry of rope_parameters (transformers 5: {"full_attention": {...}, ...}).
std::optional<config_fields> rope_parameters_of(const config_fields& f, const char* layer_type) {
  const json::object* parameters = f.object("rope_parameters");
  if (parameters == nullptr) return std::nullopt;
  const json::value* entry = parameters->if_contains(layer_type);
  if (entry == nullptr || !entry->is_object()) return std::nullopt;
  return f.nested(entry->as_object(), std::string("rope_parameters.") + layer_type);
}

/// The layer map: each layer's attention kind and RoPE, from layer_types, no_rope_layers, the
/// architectures' intervals (Llama-4, SmolLM3, Qwen3-Next) and per-layer-type RoPE (Gemma-3).
/// Layers not described one by one are left to finish_model_facts(), which derives them from
/// the sliding facts.
void read_layer_map(const config_fields& f, model_info& m) {
  const std::string& t = m.architecture;
  const bool llama4 = t == "llama4" || t == "llama4_text";
  const bool has_types = f.has("layer_types");
  const bool has_no_rope = f.has("no_rope_layers");
  const bool has_interval = (llama4 || t == "smollm3") || (one_of(t, {"qwen3_next", "qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text"}) && !has_types);
  const bool local_rope = t == "gemma3" || t == "gemma3_text" || rope_parameters_of(f, "sliding_attention").has_value();
  if (!has_types && !has_no_rope && !has_interval && !local_rope && t != "cohere2" && t != "exaone4") return;
  if (!m.layers) {
    if (has_types || has_no_rope) f.fail("num_hidden_layers", "is missing; the per-layer lists need the layer count");
    return;
  }
  const std::int64_t n = *m.layers;
  if (n > max_mapped_layers) {
    m.notes.push_back("num_hidden_layers " + std::to_string(n) + " is more than " + std::to_string(max_mapped_layers) +
                      ": no layer map");
    return;
  }

  // Which layers rotate (1 = RoPE, as transformers' no_rope_layers).
  std::vector<bool> rope(static_cast<std::size_t>(n), true);
  if (has_no_rope) {
    per_layer_array(f, "no_rope_layers", n, [&](std::int64_t i, const json::value& v) {
      const std::int64_t flag = f.as_integer("no_rope_layers", v);
      if (flag != 0 && flag != 1) f.fail("no_rope_layers", "must hold 0 (no RoPE) or 1 (RoPE), got " + std::to_string(flag));
      rope[static_cast<std::size_t>(i)] = flag == 1;
    });
    m.sources["layer_rope"] = f.name("no_rope_layers");
  } else if (llama4 || t == "smollm3") {
    // Llama4TextConfig and SmolLM3Config both call it no_rope_layer_interval; some Llama-4 tools write nope_layer_interval.
    const char* key = llama4 && !f.has("no_rope_layer_interval") && f.has("nope_layer_interval") ? "nope_layer_interval"
                                                                                                 : "no_rope_layer_interval";
    const std::optional<std::int64_t> given = f.positive(key);
    const std::int64_t every = given.value_or(4);
    for (std::int64_t i = 0; i < n; ++i) rope[static_cast<std::size_t>(i)] = (i + 1) % every != 0;
    m.sources["layer_rope"] = given ? f.name(key) : "no_rope_layer_interval 4 (" + std::string(llama4 ? "Llama4TextConfig" : "SmolLM3Config") + " default)";
  }

  // Each layer's attention kind.
  std::vector<attention_kind> kind(static_cast<std::size_t>(n), attention_kind::full);
  if (has_types) {
    per_layer_array(f, "layer_types", n, [&](std::int64_t i, const json::value& v) {
      if (!v.is_string()) f.fail("layer_types", "must hold strings only");
      const std::string_view name = v.as_string();
      attention_kind k = attention_kind::full;
      if (name == "full_attention" || name == "attention") k = attention_kind::full;
      else if (name == "sliding_attention") k = attention_kind::sliding;
      else if (name == "chunked_attention") k = attention_kind::chunked;
      // Layers without positions: linear attention (Qwen3-Next), Mamba (Granite-4 hybrids), short convolutions (LFM2).
      else if (name == "linear_attention" || name == "mamba" || name == "conv") k = attention_kind::linear;
      else
        f.fail("layer_types", "has \"" + printable(name) + "\" at layer " + std::to_string(i) +
                                  "; known: full_attention (attention), sliding_attention, chunked_attention, linear_attention, "
                                  "mamba, conv");
      kind[static_cast<std::size_t>(i)] = k;
    });
    m.sources["layer_attention"] = f.name("layer_types");
  } else if (llama4) {
    for (std::int64_t i = 0; i < n; ++i)
      if (rope[static_cast<std::size_t>(i)]) kind[static_cast<std::size_t>(i)] = attention_kind::chunked;
    m.sources["layer_attention"] = "Llama-4: RoPE layers chunked, NoPE layers full (Llama4TextConfig layer_types default)";
  } else if (one_of(t, {"qwen3_next", "qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text"})) {
    const std::optional<std::int64_t> given = f.positive("full_attention_interval");
    const std::int64_t every = given.value_or(4);
    for (std::int64_t i = 0; i < n; ++i)
      if ((i + 1) % every != 0) kind[static_cast<std::size_t>(i)] = attention_kind::linear;
    m.sources["layer_attention"] = given ? f.name("full_attention_interval") : "full_attention_interval 4 (default)";
  } else {
    // Sliding layers by the architecture's rule (read_sliding).
    for (std::int64_t i = 0; i < n; ++i)
      if (slides_at(m, i)) kind[static_cast<std::size_t>(i)] = attention_kind::sliding;
    m.sources["layer_attention"] = m.sliding_window ? m.sources["sliding_window"] : "every layer full";
  }
  std::optional<std::int64_t> chunk;
  if (std::find(kind.begin(), kind.end(), attention_kind::chunked) != kind.end()) {
    const std::optional<std::int64_t> given = f.positive("attention_chunk_size");
    if (!given && !llama4) f.fail("attention_chunk_size", "is missing; layer_types names chunked_attention layers");
    chunk = given.value_or(8192);
    m.sources["layer_chunk"] = given ? f.name("attention_chunk_size") : "attention_chunk_size 8192 (Llama4TextConfig default)";
  }
  if (t == "cohere2" || (t == "exaone4" && m.sliding_window)) {
    // Cohere2 and EXAONE-4 (with a window) rotate queries and keys on their sliding layers only;
    // the global layers use no positions.
    for (std::int64_t i = 0; i < n; ++i)
      if (kind[static_cast<std::size_t>(i)] == attention_kind::full) rope[static_cast<std::size_t>(i)] = false;
    m.sources["layer_rope"] = t + ": RoPE on sliding layers only (its attention rotates only when it slides)";
  }

  // Per-layer-type RoPE: Gemma-3's local layers rotate with rope_local_base_freq and no scaling.
  double local_theta = m.rope_theta;
  bool local_scaled = true;
  std::int64_t local_rotary = m.rotary_dims;
  if (const std::optional<config_fields> local = rope_parameters_of(f, "sliding_attention")) {
    if (const std::optional<double> theta = local->number("rope_theta")) local_theta = *theta;
    // The sliding layers' own head size (Gemma-4: head_dim beside global_head_dim) and rotated part.
    const std::int64_t local_head = f.has("global_head_dim") ? f.positive("head_dim").value_or(m.head_dim) : m.head_dim;
    const double fraction = local->number("partial_rotary_factor").value_or(
        f.has("global_head_dim") || local_head != m.head_dim ? 1.0 : m.rotary_fraction);
    if (!(fraction > 0.0 && fraction <= 1.0)) local->fail("partial_rotary_factor", "must be in (0, 1]");
    local_rotary = fraction == 1.0 ? local_head : static_cast<std::int64_t>(static_cast<double>(local_head) * fraction);
    if (local->has("partial_rotary_factor") || f.has("global_head_dim")) local_rotary -= local_rotary % 2;
    if (local_rotary < 2) local->fail("partial_rotary_factor", "gives fewer than 2 rotary dims");
    const std::string type = local->string("rope_type").value_or("default");
    if (type != "default")
      local->fail("rope_type", "= \"" + printable(type) + "\": a scaling rule on sliding layers is not supported here");
    local_scaled = false;
    m.sources["sliding_rope"] = local->name("rope_theta");
  } else if (t == "gemma3" || t == "gemma3_text") {
    const std::optional<double> theta = f.number("rope_local_base_freq");
    local_theta = theta.value_or(10000.0);
    local_scaled = false;
    m.sources["sliding_rope"] = theta ? f.name("rope_local_base_freq") + " (unscaled)"
                                                : "rope_local_base_freq 10000 (Gemma3TextConfig default, unscaled)";
  }
  if (!(local_theta > 1.0)) f.fail("rope_local_base_freq", "must be a finite number above 1");

  const bool encoded = m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown;
  std::vector<layer_run> map;
  for (std::int64_t i = 0; i < n; ++i) {
    layer_run one;
    one.count = 1;
    one.kind = kind[static_cast<std::size_t>(i)];
    if (one.kind == attention_kind::sliding) one.span = m.sliding_window;
    if (one.kind == attention_kind::chunked) one.span = chunk;
    one.rope = encoded && rope[static_cast<std::size_t>(i)] && one.kind != attention_kind::linear;
    if (one.rope) {
      const bool local = one.kind == attention_kind::sliding;
      one.rope_theta = local ? local_theta : m.rope_theta;
      one.rotary_dims = local ? local_rotary : m.rotary_dims;
      one.scaled = local ? local_scaled : true;
    } else {
      one.scaled = false;
    }
    append_layer(map, one);
  }
  m.layer_map = std::move(map);
}

/// Attention features a port must reproduce beside the remapped positions.
void read_attention_features(const config_fields& f, model_info& m) {
  const std::string& t = m.architecture;
  if (const json::object* dca = f.object("dual_chunk_attention_config")) {
    const config_fields d = f.nested(*dca, "dual_chunk_attention_config");
    auto need = [&](const char* key) {
      const std::optional<std::int64_t> v = d.positive(key);
      if (!v) d.fail(key, "is missing (a positive integer is required)");
      return *v;
    };
    dual_chunk_attention a;
    a.chunk_size = need("chunk_size");
    a.local_size = need("local_size");
    a.original_context = need("original_max_position_embeddings");
    if (a.original_context < 2) d.fail("original_max_position_embeddings", "must be at least 2");
    m.dual_chunk = a;
    m.sources["dual_chunk"] = f.name("dual_chunk_attention_config");
  }
  if (t == "gpt_oss") {
    m.attention_sinks = true;
    m.sources["attention_sinks"] = "model_type gpt_oss (a learned sink per head)";
  }
  if (t == "llama4" || t == "llama4_text") {
    const bool tuning = f.boolean("attn_temperature_tuning").value_or(true);
    if (tuning) {
      const std::optional<double> floor_scale = f.number("floor_scale");
      const std::optional<double> attn_scale = f.number("attn_scale");
      m.query_temperature = "NoPE layers scale queries by 1 + " + shortest(attn_scale.value_or(0.1)) + " * log(floor((p + 1) / " +
                            shortest(floor_scale.value_or(8192)) + ") + 1) at position p";
      m.sources["query_temperature"] = f.has("attn_temperature_tuning") ? f.name("attn_temperature_tuning")
                                                                        : "attn_temperature_tuning (Llama4TextConfig default true)";
    }
  }
  const auto from_rope_object = [&](const config_fields& r) {
    if (const std::optional<double> beta = r.number("llama_4_scaling_beta")) {
      const std::int64_t original = r.positive("original_max_position_embeddings").value_or(m.advertised_context.value_or(m.context));
      m.query_temperature = "queries are scaled by 1 + " + shortest(*beta) + " * log(1 + floor(p / " + std::to_string(original) +
                            ")) at position p";
      m.sources["query_temperature"] = r.name("llama_4_scaling_beta");
    }
    if (const json::value* sections = r.find("mrope_section")) {
      if (!sections->is_array()) r.fail("mrope_section", "must be an array of integers");
      for (const json::value& s : sections->as_array()) {
        const std::int64_t v = r.as_integer("mrope_section", s);
        if (v < 0) r.fail("mrope_section", "must hold non-negative integers");
        m.mrope_section.push_back(v);
      }
      m.sources["mrope_section"] = r.name("mrope_section");
    }
  };
  if (const json::object* scaling = f.object("rope_scaling")) from_rope_object(f.nested(*scaling, "rope_scaling"));
  else if (const json::object* parameters = f.object("rope_parameters")) {
    if (const std::optional<config_fields> full = rope_parameters_of(f, "full_attention")) from_rope_object(*full);
    else from_rope_object(f.nested(*parameters, "rope_parameters"));
  }
}

model_info read_fields(const config_fields& top, const json::object& root, const fact_overrides& overrides) {
  model_info m;
  m.source = top.source();
  // A multimodal config keeps the language model's facts in text_config.
  const json::object* text = top.find("num_attention_heads") || top.find("n_head") || top.find("n_heads")
                                 ? nullptr
                                 : top.object("text_config");
  const config_fields given = text ? top.nested(*text, "text_config") : top;
  (void)root;
  m.architecture = given.string("model_type").value_or(top.string("model_type").value_or(""));
  // transformers fills the keys a config omits from the config class's defaults.
  json::object filled = given.object();
  std::vector<std::string> defaulted;
  if (const std::optional<config_class_defaults> defaults = class_defaults_of(m.architecture, text != nullptr)) {
    for (const auto& [key, value] : defaults->values)
      if (const json::value* v = filled.if_contains(key); v == nullptr || v->is_null()) {
        filled[key] = value;
        defaulted.push_back(given.name(std::string(key).c_str()));
        m.notes.push_back(given.name(std::string(key).c_str()) + " is absent: " + std::string(defaults->class_name) +
                          "'s default " + (value.is_double() ? shortest(value.as_double()) : json::serialize(value)) + " applies");
      }
    m.sources["class_defaults"] = defaults->class_name;
  }
  const config_fields f = text ? top.nested(filled, "text_config") : config_fields(filled, top.source());

  m.name = top.string("_name_or_path").value_or("");
  if (m.name.empty()) m.name = m.architecture.empty() ? "config" : m.architecture;
  read_encoding(f, m);

  // The length the file states.
  const auto [advertised, advertised_key] =
      first_of(f, {"max_position_embeddings", "n_positions", "seq_length", "max_sequence_length", "max_seq_len"},
               [](const config_fields& c, const char* k) { return c.positive(k); });
  if (advertised) {
    if (*advertised < 2) f.fail(advertised_key.substr(f.name("").size()), "must be at least 2");
    m.advertised_context = advertised;
    m.context = *advertised;
    m.context_source = advertised_key;
  } else if (m.architecture == "falcon") {
    m.context = 2048;
    m.context_source = "transformers' FalconConfig default 2048 (the file states no length)";
  } else if (!overrides.context && (m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown)) {
    f.fail("max_position_embeddings",
           "is missing, and so are n_positions, seq_length, max_sequence_length and max_seq_len; give the context L");
  } else {
    m.context_source = "none stated";
  }
  m.layers = [&]() -> std::optional<std::int64_t> {
    const auto [n, key] = first_of(f, {"num_hidden_layers", "n_layer", "num_layers", "n_layers"},
                                   [](const config_fields& c, const char* k) { return c.positive(k); });
    return n;
  }();

  // Heads.
  std::int64_t fewest_heads = 0;
  const auto [heads, heads_key] = first_of(f, {"num_attention_heads", "n_head", "n_heads", "num_heads", "num_query_heads"},
                                           [&](const config_fields& c, const char* k) { return c.per_layer(k, &fewest_heads); });
  if (!heads) f.fail("num_attention_heads", "is missing (a positive integer is required)");
  m.heads = *heads;
  m.sources["heads"] = heads_key;
  if (fewest_heads != m.heads)
    m.notes.push_back(heads_key + " varies per layer (" + std::to_string(fewest_heads) + ".." + std::to_string(m.heads) + "); the largest is used");

  // Head size. MLA (DeepSeek-V2/V3) rotates a separate qk_rope_head_dim part of each head.
  // n_embed: BLOOM's config.json spelling (transformers' BloomConfig takes it as hidden_size).
  const auto [hidden, hidden_key] = first_of(f, {"hidden_size", "n_embd", "n_embed", "d_model"},
                                             [](const config_fields& c, const char* k) { return c.positive(k); });
  const std::optional<std::int64_t> rope_part = f.positive("qk_rope_head_dim");
  const std::optional<std::int64_t> nope_part = f.integer("qk_nope_head_dim");
  if (rope_part && nope_part) {
    if (*nope_part < 0) f.fail("qk_nope_head_dim", "must not be negative");
    m.head_dim = *nope_part + *rope_part;
    m.sources["head_dim"] = "qk_nope_head_dim + qk_rope_head_dim (MLA)";
  } else if (const std::optional<std::int64_t> explicit_dim = f.positive("head_dim")) {
    m.head_dim = *explicit_dim;
    m.sources["head_dim"] = f.name("head_dim");
    const bool mismatch = hidden && (*hidden % m.heads != 0 || *explicit_dim != *hidden / m.heads);  // no overflowing product
    if (mismatch && !one_of(m.architecture, rope_types) && m.encoding == position_encoding::unknown)
      m.notes.push_back(f.name("head_dim") + " " + std::to_string(*explicit_dim) + " is not " + hidden_key + " / " + heads_key +
                        "; architecture '" + m.architecture + "' is not known here, so the stated head_dim is used");
    else if (mismatch && !one_of(m.architecture, explicit_head_dim_types))
      f.fail("head_dim", "(" + std::to_string(*explicit_dim) + ") times " + heads_key + " (" + std::to_string(m.heads) +
                             ") contradicts " + hidden_key + " (" + std::to_string(*hidden) + ")");
    if (const std::optional<std::int64_t> global = f.positive("global_head_dim")) {
      // Gemma-4: the full-attention layers (the ones Self-Extend acts on) have heads of this size.
      m.head_dim = *global;
      m.sources["head_dim"] = f.name("global_head_dim") + " (full-attention layers; sliding layers: " + f.name("head_dim") + " " +
                              std::to_string(*explicit_dim) + ")";
    }
  } else if (const std::optional<std::int64_t> channels = f.positive("kv_channels")) {  // ChatGLM
    m.head_dim = *channels;
    m.sources["head_dim"] = f.name("kv_channels");
  } else {
    if (!hidden) f.fail("hidden_size", "is missing (a positive integer is required)");
    if (*hidden % m.heads != 0)
      f.fail(hidden_key.substr(f.name("").size()), "(" + std::to_string(*hidden) + ") must be a multiple of " + heads_key +
                                                       " (" + std::to_string(m.heads) + ") when head_dim is absent");
    m.head_dim = *hidden / m.heads;
    m.sources["head_dim"] = hidden_key + " / " + heads_key;
  }

  // Key/value heads. Falcon's multi_query (without new_decoder_architecture) comes first: transformers then uses one
  // key/value head whatever num_kv_heads says, and a Falcon config saved by transformers states num_kv_heads = heads.
  std::int64_t fewest_kv = 0;
  if (f.boolean("multi_query").value_or(false) && !f.boolean("new_decoder_architecture").value_or(false)) {
    m.kv_heads = 1;
    m.sources["kv_heads"] = f.name("multi_query");
  } else if (const auto [kv, kv_key] = first_of(f, {"num_key_value_heads", "num_kv_heads", "n_head_kv"},
                                                [&](const config_fields& c, const char* k) { return c.per_layer(k, &fewest_kv); });
             kv) {
    m.kv_heads = *kv;
    m.sources["kv_heads"] = kv_key;
    if (fewest_kv != m.kv_heads)
      m.notes.push_back(kv_key + " varies per layer (" + std::to_string(fewest_kv) + ".." + std::to_string(m.kv_heads) + "); the largest is used");
  } else if (f.boolean("multi_query_attention").value_or(false) && f.has("multi_query_group_num")) {  // ChatGLM
    m.kv_heads = *f.positive("multi_query_group_num");
    m.sources["kv_heads"] = f.name("multi_query_group_num");
  } else {
    m.kv_heads = m.heads;
    m.sources["kv_heads"] = "= heads (no key/value head count stated)";
  }
  if (m.heads % m.kv_heads != 0)
    f.fail(m.sources["kv_heads"].substr(f.name("").size()), "(" + std::to_string(m.kv_heads) + ") must divide " + heads_key +
                                                                " (" + std::to_string(m.heads) + ")");

  // Rotary dims.
  auto [fraction, fraction_key] = first_of(f, {"partial_rotary_factor", "rotary_pct"},
                                           [](const config_fields& c, const char* k) { return c.number(k); });
  if (!fraction) {  // transformers 5 keeps it in rope_parameters (Qwen3.5), per layer type or not
    std::optional<config_fields> p = rope_parameters_of(f, "full_attention");
    if (!p)
      if (const json::object* o = f.object("rope_parameters")) p.emplace(f.nested(*o, "rope_parameters"));
    if (p && p->has("partial_rotary_factor")) {
      fraction = p->number("partial_rotary_factor");
      fraction_key = p->name("partial_rotary_factor");
    }
  }
  if (rope_part && nope_part) {
    m.rotary_dims = *rope_part;
    m.sources["rotary_dims"] = f.name("qk_rope_head_dim");
  } else if (fraction) {
    if (!(*fraction > 0.0 && *fraction <= 1.0)) f.fail(fraction_key.substr(f.name("").size()), "must be in (0, 1], got " + shortest(*fraction));
    // HF: int(head_dim * factor); a full fraction stays exact for any head_dim.
    if (*fraction == 1.0) {
      m.rotary_dims = m.head_dim;
    } else {
      const double rotary = static_cast<double>(m.head_dim) * *fraction;
      if (rotary >= 9.0e18) f.fail("head_dim", "is too large");
      m.rotary_dims = static_cast<std::int64_t>(rotary);
    }
    m.sources["rotary_dims"] = "head_dim * " + fraction_key;
  } else if (const std::optional<std::int64_t> rotary_dim = f.positive("rotary_dim")) {
    m.rotary_dims = *rotary_dim;
    m.sources["rotary_dims"] = f.name("rotary_dim");
  } else if (m.architecture == "chatglm") {
    m.rotary_dims = m.head_dim / 2;  // ChatGLM2/3/4 rotate the first half of each head
    m.sources["rotary_dims"] = "head_dim / 2 (ChatGLM rotates half of each head)";
  } else {
    m.rotary_dims = m.head_dim;
    m.sources["rotary_dims"] = "= head_dim";
  }
  if (m.rotary_dims > m.head_dim)
    f.fail(m.sources["rotary_dims"] == f.name("rotary_dim") ? "rotary_dim" : "qk_rope_head_dim",
           "(" + std::to_string(m.rotary_dims) + ") exceeds head_dim (" + std::to_string(m.head_dim) + ")");
  if (m.rotary_dims < 2 || m.rotary_dims % 2 != 0)
    f.fail(fraction ? fraction_key.substr(f.name("").size()) : "head_dim",
           "gives " + std::to_string(m.rotary_dims) + " rotary dims; an even number >= 2 is required");
  m.rotary_fraction = static_cast<double>(m.rotary_dims) / static_cast<double>(m.head_dim);

  // Pair layout: interleaved (GPT-J) for these; rotate_half (NeoX) for the rest.
  // Traced to each modeling file's rotation (docs/models.md, "Pair layout").
  const std::optional<bool> interleave = f.boolean("rope_interleave");  // DeepSeek-V2/V3: the modeling code's switch
  if (interleave && one_of(m.architecture, {"deepseek_v2", "deepseek_v3"})) {
    m.style = *interleave ? rope_style::gptj : rope_style::neox;
    m.sources["rope_style"] = f.name("rope_interleave") + (*interleave ? " (interleaved pairs)" : " = false (rotate_half)");
  } else if (one_of(m.architecture, {"gptj", "codegen", "chatglm", "glm", "glm4", "deepseek_v2", "deepseek_v3", "llama4",
                                     "llama4_text", "cohere", "cohere2", "ernie4_5", "ernie4_5_moe"})) {
    m.style = rope_style::gptj;
    m.sources["rope_style"] = "model_type " + m.architecture + " (interleaved pairs)";
  } else {
    m.style = rope_style::neox;
    m.sources["rope_style"] = m.architecture.empty() ? "default (rotate_half)" : "model_type " + m.architecture + " (rotate_half)";
  }

  // Scaling rule and base.
  const json::object* parameters = f.object("rope_parameters");
  std::optional<config_fields> rope_parameters;
  if (parameters) {
    // Per-layer-type parameters (Gemma-3 in transformers 5): the global layers are the ones extended.
    if (const json::value* full = parameters->if_contains("full_attention"); full && full->is_object())
      rope_parameters.emplace(f.nested(full->as_object(), "rope_parameters.full_attention"));
    else
      rope_parameters.emplace(f.nested(*parameters, "rope_parameters"));
  }
  if (const std::optional<double> theta = f.number("rope_theta")) {
    m.rope_theta = *theta;
    m.sources["rope_theta"] = f.name("rope_theta");
  } else if (rope_parameters && rope_parameters->has("rope_theta")) {
    m.rope_theta = *rope_parameters->number("rope_theta");
    m.sources["rope_theta"] = rope_parameters->name("rope_theta");
  } else if (const json::object* scaling = f.object("rope_scaling"); scaling && scaling->if_contains("rope_theta")) {
    // transformers 5 writes rope_scaling as an alias of rope_parameters, base included (EXAONE-4.5).
    const config_fields in_scaling = f.nested(*scaling, "rope_scaling");
    m.rope_theta = *in_scaling.number("rope_theta");
    m.sources["rope_theta"] = in_scaling.name("rope_theta");
  } else if (const std::optional<double> base = f.number("rope_embedding_base")) {  // Phi-3-small
    m.rope_theta = *base;
    m.sources["rope_theta"] = f.name("rope_embedding_base");
  } else if (const std::optional<double> neox_base = f.number("rotary_emb_base")) {  // GPT-NeoX
    m.rope_theta = *neox_base;
    m.sources["rope_theta"] = f.name("rotary_emb_base");
  } else if (const std::optional<double> ratio = f.number("rope_ratio")) {  // ChatGLM: 10000 * rope_ratio
    m.rope_theta = 10000.0 * *ratio;
    m.sources["rope_theta"] = "10000 * " + f.name("rope_ratio");
  } else {
    m.rope_theta = architecture_theta_default(m.architecture);
    const bool known = one_of(m.architecture, rope_types);
    m.sources["rope_theta"] = known ? "transformers' default for " + m.architecture : "assumed (no RoPE base stated)";
    m.notes.push_back(known ? "rope_theta is absent; transformers' " + m.architecture + " default applies"
                            : "rope_theta is absent and architecture '" + m.architecture + "' is not known here; 10000 assumed");
  }
  // Gemma-4's "proportional" rule: inv_freq[c] = theta^(-2c/D) for the first R/2 pairs, which is
  // the default rule over R dims with base theta^(R/D) (transformers' _compute_proportional_rope_parameters).
  if (rope_parameters && rope_parameters->string("rope_type").value_or("") == "proportional" && m.rotary_dims < m.head_dim) {
    const double stated = m.rope_theta;
    m.rope_theta = std::pow(stated, static_cast<double>(m.rotary_dims) / static_cast<double>(m.head_dim));
    m.sources["rope_theta"] += " " + shortest(stated) + " ^ (rotary_dims / head_dim) (proportional RoPE)";
    m.notes.push_back("proportional RoPE: pair c < " + std::to_string(m.rotary_dims / 2) + " turns at " + shortest(stated) +
                      "^(-2c/" + std::to_string(m.head_dim) + ") = " + shortest(m.rope_theta) + "^(-2c/" +
                      std::to_string(m.rotary_dims) + "), the other pairs not at all; the model pairs dims (c, c + " +
                      std::to_string(m.head_dim / 2) + "), so a port comparing with attend/verify permutes q and k alike");
  }
  if (!(m.rope_theta > 1.0)) f.fail(m.sources["rope_theta"].rfind("10000 *", 0) == 0 ? "rope_ratio" : "rope_theta", "must be a finite number above 1");

  if (const json::object* scaling = f.object("rope_scaling"))
    read_rope_scaling(f, f.nested(*scaling, "rope_scaling"), m, f.name("rope_scaling"));
  else if (rope_parameters)
    read_rope_scaling(f, *rope_parameters, m, rope_parameters->name("").substr(0, rope_parameters->name("").size() - 1));

  read_sliding(f, m);
  read_layer_map(f, m);
  read_attention_features(f, m);
  m.sources["context"] = m.context_source;
  if (m.advertised_context) m.sources["advertised_context"] = advertised_key;
  if (!defaulted.empty()) mark_defaulted(m, defaulted, m.sources["class_defaults"]);
  return m;
}

/// Boost.JSON 1.81 rounds some decimals one ulp off (1.0699999332427979 parses as ...981), and
/// the frequencies are computed from these values: re-read every double from its own text,
/// correctly rounded. Numbers are matched in document order; a config whose count differs (a
/// duplicate key dropped one) keeps Boost's values.
void round_doubles_exactly(json::value& root, std::string_view text) {
  std::vector<std::string_view> tokens;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = i;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '-' || text[i] == '+' ||
                                 text[i] == '.' || text[i] == 'e' || text[i] == 'E'))
        ++i;
      tokens.push_back(text.substr(start, i - start));
    } else {
      ++i;
    }
  }
  std::vector<json::value*> numbers;
  auto collect = [&](auto&& self, json::value& v) -> void {
    if (v.is_number()) numbers.push_back(&v);
    else if (v.is_array()) for (json::value& e : v.as_array()) self(self, e);
    else if (v.is_object()) for (auto& kv : v.as_object()) self(self, kv.value());
  };
  collect(collect, root);
  if (numbers.size() != tokens.size()) return;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (!numbers[i]->is_double()) continue;
    double exact = 0;
    const char* first = tokens[i].data();
    const char* last = first + tokens[i].size();
    if (const auto r = std::from_chars(first, last, exact); r.ec == std::errc() && r.ptr == last) *numbers[i] = exact;
  }
}

}  // namespace

model_info parse_hf_config(std::string_view json_text, std::string_view source, const fact_overrides& overrides) {
  const std::string source_text(source);
  json::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) throw invalid_params("config", source_text, "is not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) throw invalid_params("config", source_text, "must hold a JSON object");
  round_doubles_exactly(root, json_text);
  const config_fields f(root.as_object(), source_text);
  model_info m = read_fields(f, root.as_object(), overrides);
  finish_model_facts(m, overrides, "config", source_text);
  m.sources["context"] = m.context_source;
  return m;
}

model_info read_hf_config(const std::filesystem::path& given, const fact_overrides& overrides) {
  std::error_code ec;
  std::filesystem::path path = given;
  if (std::filesystem::is_directory(path, ec)) {
    path /= "config.json";
    if (!std::filesystem::exists(path, ec))
      throw invalid_params("config", given.string(), "is a directory without a config.json");
  }
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_fifo(status))
    throw invalid_params("config", path.string(), "is a pipe, not a config.json file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid_params("config", path.string(), "cannot be opened for reading");
  // config.json files are a few kB. Read at most 16 MiB + 1 bytes whatever the file claims, so
  // a device (/dev/zero) ends in a message instead of an endless read.
  constexpr std::size_t max_bytes = 16u << 20;
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) throw invalid_params("config", path.string(), "is larger than 16 MiB; not a config.json");
  }
  if (in.bad()) throw invalid_params("config", path.string(), "could not be read");
  return parse_hf_config(text, path.string(), overrides);
}

}  // namespace selfextend
