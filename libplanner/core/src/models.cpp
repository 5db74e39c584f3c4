// models.cpp - built-in model presets. Every value is traceable to the model's Hugging Face
// config.json (repo id in `source`); docs/models.md lists the evidence for each row.
#include <selfextend/models.hpp>

#include <algorithm>
#include <array>
#include <string>

#include <selfextend/error.hpp>

namespace selfextend {

namespace {

model_info preset(std::string name, std::int64_t context, std::int64_t max_positions, double theta,
                  std::int64_t head_dim, std::int64_t heads, std::int64_t kv_heads, double rotary_fraction,
                  std::string source, std::vector<std::string> notes = {},
                  std::optional<std::int64_t> sliding_window = std::nullopt) {
  model_info m;
  m.name = std::move(name);
  m.context = context;
  m.max_position_embeddings = max_positions;
  m.rope_theta = theta;
  m.head_dim = head_dim;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.rotary_fraction = rotary_fraction;
  // HF's partial rotary: rotary_ndims = int(head_dim * partial_rotary_factor).
  m.rotary_dims = static_cast<std::int64_t>(static_cast<double>(head_dim) * rotary_fraction);
  // All presets run HF's rotate_half (NeoX pairing) on HF-format weights.
  m.style = rope_style::neox;
  m.sliding_window = sliding_window;
  m.source = std::move(source);
  m.notes = std::move(notes);
  return m;
}

const std::vector<model_info>& preset_table() {
  static const std::vector<model_info> table = {
      preset("llama-2-7b", 4096, 4096, 1e4, 128, 32, 32, 1.0, "meta-llama/Llama-2-7b-hf",
             {"config.json has no rope_theta key; transformers' default 10000 applies"}),
      preset("llama-2-13b", 4096, 4096, 1e4, 128, 40, 40, 1.0, "meta-llama/Llama-2-13b-hf",
             {"config.json has no rope_theta key; transformers' default 10000 applies"}),
      preset("llama-2-70b", 4096, 4096, 1e4, 128, 64, 8, 1.0, "meta-llama/Llama-2-70b-hf",
             {"config.json has no rope_theta key; transformers' default 10000 applies"}),
      preset("llama-3-8b", 8192, 8192, 5e5, 128, 32, 8, 1.0, "meta-llama/Meta-Llama-3-8B"),
      preset("llama-3-70b", 8192, 8192, 5e5, 128, 64, 8, 1.0, "meta-llama/Meta-Llama-3-70B"),
      preset("mistral-7b-v0.1", 8192, 32768, 1e4, 128, 32, 8, 1.0, "mistralai/Mistral-7B-v0.1",
             {"context 8192 is the trained length (Mistral 7B paper, arXiv 2310.06825, Table 1 context_len); "
              "config.json's max_position_embeddings 32768 is a RoPE table size, not a trained window",
              "sliding_window 4096: each layer attends at most 4096 tokens back"},
             4096),
      preset("gemma-2b", 8192, 8192, 1e4, 256, 8, 1, 1.0, "google/gemma-2b"),
      preset("gemma-7b", 8192, 8192, 1e4, 256, 16, 16, 1.0, "google/gemma-7b",
             {"head_dim 256 is explicit: heads * head_dim = 4096 differs from hidden_size 3072"}),
      preset("phi-2", 2048, 2048, 1e4, 80, 32, 32, 0.4, "microsoft/phi-2",
             {"partial_rotary_factor 0.4: RoPE rotates 32 of 80 dims per head"}),
      preset("qwen1.5-7b", 32768, 32768, 1e6, 128, 32, 32, 1.0, "Qwen/Qwen1.5-7B",
             {"sliding_window 32768 is declared but use_sliding_window is false"}),
      preset("solar-10.7b", 4096, 4096, 1e4, 128, 32, 8, 1.0, "upstage/SOLAR-10.7B-v1.0"),
      preset("tinyllama-1.1b", 2048, 2048, 1e4, 64, 32, 4, 1.0, "TinyLlama/TinyLlama-1.1B-Chat-v1.0"),
      preset("llama-7b", 2048, 2048, 1e4, 128, 32, 32, 1.0, "huggyllama/llama-7b",
             {"LLaMA 1; config.json has no rope_theta key; transformers' default 10000 applies"}),
      preset("vicuna-7b-v1.5", 4096, 4096, 1e4, 128, 32, 32, 1.0, "lmsys/vicuna-7b-v1.5"),
      preset("codellama-7b", 16384, 16384, 1e6, 128, 32, 32, 1.0, "codellama/CodeLlama-7b-hf"),
  };
  return table;
}

}  // namespace

std::span<const model_info> model_presets() { return preset_table(); }

const model_info& find_model(std::string_view name) {
  const auto& table = preset_table();
  const auto it = std::find_if(table.begin(), table.end(), [&](const model_info& m) { return m.name == name; });
  if (it == table.end()) throw invalid_params("model", std::string(name), "unknown model; `sxplan models` lists the presets");
  return *it;
}

}  // namespace selfextend
