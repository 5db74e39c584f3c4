// models.cpp - built-in model presets. Every value is the model's own Hugging Face config.json
// (repo id in `source`); tests/data/configs/ keeps those configs and models_test reads each one
// back through the config reader and compares every fact. docs/models.md lists them.
#include <selfextend/models.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include <selfextend/error.hpp>

namespace selfextend {

namespace {

/// A preset as its config.json states it, before finish_model_facts() applies the shared rules.
class preset {
 public:
  preset(std::string name, std::string hf_id, std::string architecture, std::int64_t context) {
    m_.name = std::move(name);
    m_.source = std::move(hf_id);
    m_.architecture = std::move(architecture);
    m_.advertised_context = context;
    m_.context = context;
    m_.context_source = "max_position_embeddings (" + m_.source + " config.json)";
    m_.sources["position_encoding"] = "model_type " + m_.architecture;
    m_.sources["advertised_context"] = "max_position_embeddings";
    m_.sources["rope_style"] = "model_type " + m_.architecture + " (rotate_half)";
  }
  /// hidden_size / num_attention_heads, or an explicit head_dim (0: derived).
  preset& heads(std::int64_t hidden, std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim = 0) {
    m_.heads = heads;
    m_.kv_heads = kv_heads;
    m_.head_dim = head_dim != 0 ? head_dim : hidden / heads;
    m_.rotary_dims = m_.head_dim;
    m_.sources["heads"] = "num_attention_heads";
    m_.sources["kv_heads"] = kv_heads == heads && !kv_stated_ ? "= heads (no key/value head count stated)" : "num_key_value_heads";
    m_.sources["head_dim"] = head_dim != 0 ? "head_dim" : "hidden_size / num_attention_heads";
    m_.sources["rotary_dims"] = "= head_dim";
    return *this;
  }
  preset& kv_stated() { kv_stated_ = true; m_.sources["kv_heads"] = "num_key_value_heads"; return *this; }
  preset& layers(std::int64_t n) { m_.layers = n; return *this; }
  preset& theta(double t) {
    m_.rope_theta = t;
    m_.sources["rope_theta"] = "rope_theta";
    return *this;
  }
  preset& theta_default() {
    m_.rope_theta = 10000.0;
    m_.sources["rope_theta"] = "transformers' default for " + m_.architecture;
    m_.notes.push_back("config.json has no rope_theta key; transformers' default 10000 applies");
    return *this;
  }
  preset& partial_rotary(double fraction) {
    m_.rotary_dims = static_cast<std::int64_t>(static_cast<double>(m_.head_dim) * fraction);
    m_.sources["rotary_dims"] = "head_dim * partial_rotary_factor";
    return *this;
  }
  preset& mla(std::int64_t nope, std::int64_t rope) {
    m_.head_dim = nope + rope;
    m_.rotary_dims = rope;
    m_.style = rope_style::gptj;
    m_.sources["head_dim"] = "qk_nope_head_dim + qk_rope_head_dim (MLA)";
    m_.sources["rotary_dims"] = "qk_rope_head_dim";
    m_.sources["rope_style"] = "model_type " + m_.architecture + " (interleaved pairs)";
    return *this;
  }
  preset& sliding_all(std::int64_t window) {
    m_.sliding_window = window;
    m_.sliding = sliding_layers::all;
    m_.sources["sliding_window"] = "sliding_window";
    return *this;
  }
  preset& sliding_alternating(std::int64_t window, std::int64_t period) {
    m_.sliding_window = window;
    m_.sliding = sliding_layers::alternating;
    m_.sliding_period = period;
    m_.sources["sliding_window"] = "sliding_window (" + m_.architecture + ": every other layer)";
    return *this;
  }
  preset& sliding_off(std::int64_t declared) {
    m_.notes.push_back("sliding_window " + std::to_string(declared) + " is declared but use_sliding_window is false");
    return *this;
  }
  preset& scaling(rope_scaling s, const char* key = "rope_scaling") {
    s.source = key;
    m_.rope_scaling = std::move(s);
    m_.sources["rope_scaling"] = key;
    return *this;
  }
  preset& note(std::string text) {
    m_.notes.push_back(std::move(text));
    return *this;
  }
  model_info finish() {
    m_.rotary_fraction = static_cast<double>(m_.rotary_dims) / static_cast<double>(m_.head_dim);
    if (m_.sliding == sliding_layers::all && m_.layers) m_.sliding_layer_count = *m_.layers;
    if (m_.sliding == sliding_layers::alternating && m_.layers) m_.sliding_layer_count = *m_.layers - *m_.layers / m_.sliding_period;
    return m_;
  }

 private:
  model_info m_;
  bool kv_stated_ = false;
};

rope_scaling llama3(double factor, std::int64_t original) {
  rope_scaling s;
  s.type = rope_scaling_type::llama3;
  s.factor = factor;
  s.original_context = original;
  s.low_freq_factor = 1.0;
  s.high_freq_factor = 4.0;
  return s;
}

// microsoft/Phi-3.5-mini-instruct config.json, rope_scaling (48 values each = rotary dims / 2).
rope_scaling phi35_longrope() {
  rope_scaling s;
  s.type = rope_scaling_type::longrope;
  s.original_context = 4096;
  s.factor = 32.0;  // max_position_embeddings / original_max_position_embeddings (the file states no factor)
  s.long_factor = {1.0800000429153442, 1.1100000143051147, 1.1399999856948853, 1.340000033378601, 1.5899999141693115,
                   1.600000023841858, 1.6200000047683716, 2.620000123977661, 3.2300000190734863, 3.2300000190734863,
                   4.789999961853027, 7.400000095367432, 7.700000286102295, 9.09000015258789, 12.199999809265137,
                   17.670000076293945, 24.46000099182129, 28.57000160217285, 30.420001983642578, 30.840002059936523,
                   32.590003967285156, 32.93000411987305, 42.320003509521484, 44.96000289916992, 50.340003967285156,
                   50.45000457763672, 57.55000305175781, 57.93000411987305, 58.21000289916992, 60.1400032043457,
                   62.61000442504883, 62.62000274658203, 62.71000289916992, 63.1400032043457, 63.1400032043457,
                   63.77000427246094, 63.93000411987305, 63.96000289916992, 63.970001220703125, 64.02999877929688,
                   64.06999969482422, 64.08000183105469, 64.12000274658203, 64.41000366210938, 64.4800033569336,
                   64.51000213623047, 64.52999877929688, 64.83999633789062};
  s.short_factor = {1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705, 1.0499999523162842,
                    1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0699999332427979,
                    1.0999999046325684, 1.1099998950958252, 1.1599998474121094, 1.1599998474121094, 1.1699998378753662,
                    1.2899998426437378, 1.339999794960022, 1.679999828338623, 1.7899998426437378, 1.8199998140335083,
                    1.8499997854232788, 1.8799997568130493, 1.9099997282028198, 1.9399996995925903, 1.9899996519088745,
                    2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346,
                    2.0199997425079346, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
                    2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
                    2.0799996852874756, 2.0899996757507324, 2.189999580383301, 2.2199995517730713, 2.5899994373321533,
                    2.729999542236328, 2.749999523162842, 2.8399994373321533};
  return s;
}

rope_scaling deepseek_yarn() {
  rope_scaling s;
  s.type = rope_scaling_type::yarn;
  s.factor = 40;
  s.original_context = 4096;
  s.beta_fast = 32;
  s.beta_slow = 1;
  s.mscale = 0.707;
  s.mscale_all_dim = 0.707;
  return s;
}

rope_scaling dynamic(double factor) {
  rope_scaling s;
  s.type = rope_scaling_type::dynamic;
  s.factor = factor;
  return s;
}

std::vector<model_info> raw_presets() {
  const char* no_theta = nullptr;
  (void)no_theta;
  return {
      preset("llama-7b", "huggyllama/llama-7b", "llama", 2048).heads(4096, 32, 32).layers(32).theta_default()
          .note("LLaMA 1").finish(),
      preset("llama-2-7b", "meta-llama/Llama-2-7b-hf", "llama", 4096).kv_stated().heads(4096, 32, 32).layers(32).theta_default().finish(),
      preset("llama-2-13b", "meta-llama/Llama-2-13b-hf", "llama", 4096).kv_stated().heads(5120, 40, 40).layers(40).theta_default().finish(),
      preset("llama-2-70b", "meta-llama/Llama-2-70b-hf", "llama", 4096).kv_stated().heads(8192, 64, 8).layers(80).theta_default().finish(),
      preset("vicuna-7b-v1.5", "lmsys/vicuna-7b-v1.5", "llama", 4096).kv_stated().heads(4096, 32, 32).layers(32).theta_default().finish(),
      preset("codellama-7b", "codellama/CodeLlama-7b-hf", "llama", 16384).kv_stated().heads(4096, 32, 32).layers(32).theta(1e6).finish(),
      preset("codellama-13b", "codellama/CodeLlama-13b-hf", "llama", 16384).kv_stated().heads(5120, 40, 40).layers(40).theta(1e6).finish(),
      preset("codellama-34b", "codellama/CodeLlama-34b-hf", "llama", 16384).kv_stated().heads(8192, 64, 8).layers(48).theta(1e6).finish(),
      preset("llama-3-8b", "meta-llama/Meta-Llama-3-8B", "llama", 8192).kv_stated().heads(4096, 32, 8).layers(32).theta(5e5).finish(),
      preset("llama-3-70b", "meta-llama/Meta-Llama-3-70B", "llama", 8192).kv_stated().heads(8192, 64, 8).layers(80).theta(5e5).finish(),
      preset("llama-3.1-8b", "meta-llama/Llama-3.1-8B", "llama", 131072).kv_stated().heads(4096, 32, 8).layers(32).theta(5e5)
          .scaling(llama3(8, 8192)).finish(),
      preset("llama-3.1-70b", "meta-llama/Llama-3.1-70B", "llama", 131072).kv_stated().heads(8192, 64, 8).layers(80).theta(5e5)
          .scaling(llama3(8, 8192)).finish(),
      preset("llama-3.2-1b", "meta-llama/Llama-3.2-1B", "llama", 131072).kv_stated().heads(2048, 32, 8, 64).layers(16).theta(5e5)
          .scaling(llama3(32, 8192)).finish(),
      preset("llama-3.2-3b", "meta-llama/Llama-3.2-3B", "llama", 131072).kv_stated().heads(3072, 24, 8, 128).layers(28).theta(5e5)
          .scaling(llama3(32, 8192)).finish(),
      preset("tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", 2048).kv_stated().heads(2048, 32, 4).layers(22).theta(1e4).finish(),
      preset("solar-10.7b", "upstage/SOLAR-10.7B-v1.0", "llama", 4096).kv_stated().heads(4096, 32, 8).layers(48).theta(1e4).finish(),
      preset("deepseek-llm-7b", "deepseek-ai/deepseek-llm-7b-base", "llama", 4096).kv_stated().heads(4096, 32, 32).layers(30).theta(1e4).finish(),
      preset("mistral-7b-v0.1", "mistralai/Mistral-7B-v0.1", "mistral", 32768).kv_stated().heads(4096, 32, 8).layers(32).theta(1e4)
          .sliding_all(4096)
          .note("the Mistral 7B paper (arXiv 2310.06825, Table 1) gives context_len 8192 and window_size 4096")
          .finish(),
      preset("mistral-7b-v0.3", "mistralai/Mistral-7B-v0.3", "mistral", 32768).kv_stated().heads(4096, 32, 8).layers(32).theta(1e6).finish(),
      preset("mistral-nemo-12b", "mistralai/Mistral-Nemo-Base-2407", "mistral", 128000).kv_stated().heads(5120, 32, 8, 128).layers(40)
          .theta(1e6).note("head_dim 128 is explicit: heads * head_dim = 4096 differs from hidden_size 5120").finish(),
      preset("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1", "mixtral", 32768).kv_stated().heads(4096, 32, 8).layers(32).theta(1e6).finish(),
      preset("qwen1.5-7b", "Qwen/Qwen1.5-7B", "qwen2", 32768).kv_stated().heads(4096, 32, 32).layers(32).theta(1e6).sliding_off(32768).finish(),
      preset("qwen2-7b", "Qwen/Qwen2-7B", "qwen2", 131072).kv_stated().heads(3584, 28, 4).layers(28).theta(1e6).sliding_off(131072).finish(),
      preset("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B", "qwen2", 32768).kv_stated().heads(896, 14, 2).layers(24).theta(1e6).sliding_off(32768).finish(),
      preset("qwen2.5-7b", "Qwen/Qwen2.5-7B", "qwen2", 131072).kv_stated().heads(3584, 28, 4).layers(28).theta(1e6).sliding_off(131072).finish(),
      preset("qwen3-0.6b", "Qwen/Qwen3-0.6B", "qwen3", 40960).kv_stated().heads(1024, 16, 8, 128).layers(28).theta(1e6).finish(),
      preset("qwen3-8b", "Qwen/Qwen3-8B", "qwen3", 40960).kv_stated().heads(4096, 32, 8, 128).layers(36).theta(1e6).finish(),
      preset("gemma-2b", "google/gemma-2b", "gemma", 8192).kv_stated().heads(2048, 8, 1, 256).layers(18).theta(1e4).finish(),
      preset("gemma-7b", "google/gemma-7b", "gemma", 8192).kv_stated().heads(3072, 16, 16, 256).layers(28).theta(1e4)
          .note("head_dim 256 is explicit: heads * head_dim = 4096 differs from hidden_size 3072").finish(),
      preset("gemma-2-2b", "google/gemma-2-2b", "gemma2", 8192).kv_stated().heads(2304, 8, 4, 256).layers(26).theta(1e4)
          .sliding_alternating(4096, 2).finish(),
      preset("gemma-2-9b", "google/gemma-2-9b", "gemma2", 8192).kv_stated().heads(3584, 16, 8, 256).layers(42).theta(1e4)
          .sliding_alternating(4096, 2).finish(),
      preset("gemma-2-27b", "google/gemma-2-27b", "gemma2", 8192).kv_stated().heads(4608, 32, 16, 128).layers(46).theta(1e4)
          .sliding_alternating(4096, 2).finish(),
      preset("phi-2", "microsoft/phi-2", "phi", 2048).kv_stated().heads(2560, 32, 32).layers(32).theta(1e4).partial_rotary(0.4)
          .note("partial_rotary_factor 0.4: RoPE rotates 32 of 80 dims per head").finish(),
      preset("phi-3-mini-4k", "microsoft/Phi-3-mini-4k-instruct", "phi3", 4096).kv_stated().heads(3072, 32, 32).layers(32).theta(1e4)
          .sliding_all(2047).finish(),
      preset("phi-3-medium-4k", "microsoft/Phi-3-medium-4k-instruct", "phi3", 4096).kv_stated().heads(5120, 40, 10).layers(40).theta(1e4)
          .sliding_all(2047).finish(),
      preset("phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct", "phi3", 131072).kv_stated().heads(3072, 32, 32).layers(32).theta(1e4)
          .scaling(phi35_longrope()).note("sliding_window 262144 >= L: no window ever applies").finish(),
      preset("yi-6b", "01-ai/Yi-6B", "llama", 4096).kv_stated().heads(4096, 32, 4).layers(32).theta(5e6).finish(),
      preset("yi-34b", "01-ai/Yi-34B", "llama", 4096).kv_stated().heads(7168, 56, 8).layers(60).theta(5e6).finish(),
      preset("internlm2.5-7b", "internlm/internlm2_5-7b", "internlm2", 32768).kv_stated().heads(4096, 32, 8).layers(32).theta(1e6)
          .scaling(dynamic(2.0)).finish(),
      preset("deepseek-v2-lite", "deepseek-ai/DeepSeek-V2-Lite", "deepseek_v2", 163840).kv_stated().heads(2048, 16, 16)
          .mla(128, 64).layers(27).theta(1e4).scaling(deepseek_yarn()).finish(),
      preset("olmo-2-7b", "allenai/OLMo-2-1124-7B", "olmo2", 4096).kv_stated().heads(4096, 32, 32).layers(32).theta(5e5).finish(),
  };
}

struct preset_tables {
  std::vector<model_info> raw;
  std::vector<model_info> finished;
};

const preset_tables& tables() {
  static const preset_tables t = [] {
    preset_tables out;
    out.raw = raw_presets();
    out.finished = out.raw;
    for (model_info& m : out.finished) finish_model_facts(m, {}, "model", m.name);
    return out;
  }();
  return t;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::ptrdiff_t index_of(std::string_view name) {
  const std::string wanted = lowercase(name);
  const auto& raw = tables().raw;
  for (std::size_t i = 0; i < raw.size(); ++i)
    if (lowercase(raw[i].name) == wanted || lowercase(raw[i].source) == wanted) return static_cast<std::ptrdiff_t>(i);
  return -1;
}

[[noreturn]] void unknown_model(std::string_view name) {
  const std::vector<std::string> close = similar_model_names(name);
  std::string rule = "unknown model;";
  if (!close.empty()) {
    rule += " did you mean ";
    for (std::size_t i = 0; i < close.size(); ++i) rule += (i ? (i + 1 == close.size() ? " or " : ", ") : "") + close[i];
    rule += "?";
  }
  throw invalid_params("model", printable(name), rule + " `sxplan models` lists the presets");
}

}  // namespace

std::span<const model_info> model_presets() { return tables().finished; }

std::vector<std::string> similar_model_names(std::string_view name, std::size_t count) {
  // Names are short; a long input cannot be close to any of them (and would cost time).
  if (name.size() > 200) return {};
  const std::string wanted = lowercase(name);
  // Ties are broken by the distance without separators, so "llama2-7b" is llama-2-7b first.
  auto bare = [](std::string s) {
    std::erase_if(s, [](char c) { return c == '-' || c == '.' || c == '_' || c == '/'; });
    return s;
  };
  const std::string wanted_bare = bare(wanted);
  struct scored_name {
    std::size_t distance, bare_distance;
    std::string name;
  };
  std::vector<scored_name> scored;
  for (const model_info& m : tables().raw) {
    const std::string n = lowercase(m.name), id = lowercase(m.source);
    const std::size_t d = std::min(edit_distance(wanted, n), edit_distance(wanted, id));
    // Close means at most a third of the name differs.
    if (d * 3 <= std::max<std::size_t>(wanted.size(), 3))
      scored.push_back({d, std::min(edit_distance(wanted_bare, bare(n)), edit_distance(wanted_bare, bare(id))), m.name});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const scored_name& a, const scored_name& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.bare_distance < b.bare_distance;
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].name);
  return out;
}

const model_info& find_model(std::string_view name) {
  const std::ptrdiff_t i = index_of(name);
  if (i < 0) unknown_model(name);
  return tables().finished[static_cast<std::size_t>(i)];
}

model_info find_model(std::string_view name, const fact_overrides& overrides) {
  const std::ptrdiff_t i = index_of(name);
  if (i < 0) unknown_model(name);
  model_info m = tables().raw[static_cast<std::size_t>(i)];
  finish_model_facts(m, overrides, "model", m.name);
  return m;
}

}  // namespace selfextend
