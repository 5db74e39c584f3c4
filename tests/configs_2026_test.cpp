// configs_2026_test - The facts of real config.json files of 2025-26 models (tests/data/configs/2026/,
// provenance in tests/data/configs/2026/SOURCES.md): context, RoPE, heads, and the layer map with what
// Self-Extend does to each kind of layer. Each expectation was read off the file by hand, not from the reader.
#include <selfextend/hf_config.hpp>
#include <selfextend/models.hpp>

#include <algorithm>
#include <filesystem>

#include "test_helpers.hpp"

namespace {

using selfextend::rope_style;

const std::filesystem::path configs = std::filesystem::path(PLANNER_TESTS_SOURCE_DIR) / "data" / "configs" / "2026";

struct expected_facts {
  const char* file;
  std::int64_t context;
  double rope_theta;
  rope_style style;
  std::int64_t head_dim, rotary_dims, layers;
  std::int64_t extended, windowed, no_rope, linear;  // layer_coverage
  bool sinks, query_temperature;
};

// clang-format off
const expected_facts models_2026[] = {
  // file                                 L         theta        style            D    R  layers ext win nope lin sinks qt
  {"deepseek-r1",                         163840,   1e4,         rope_style::gptj, 192, 64,  61,  61,  0,  0,  0, false, false},
  {"deepseek-v3.1-nvfp4",                 163840,   1e4,         rope_style::gptj, 192, 64,  61,  61,  0,  0,  0, false, false},
  {"devstral-small-2-24b-instruct",       393216,   1e8,         rope_style::neox, 128, 128, 40,  40,  0,  0,  0, false, true},
  {"exaone-4.0-32b",                      131072,   1e6,         rope_style::neox, 128, 128, 64,   0, 48, 16,  0, false, false},
  {"gemma-3-270m-it",                     32768,    1e6,         rope_style::neox, 256, 256, 18,   3, 15,  0,  0, false, false},
  {"gemma-3-27b-it",                      131072,   1e6,         rope_style::neox, 128, 128, 62,  10, 52,  0,  0, false, false},
  {"gemma-3-4b-it",                       131072,   1e6,         rope_style::neox, 256, 256, 34,   5, 29,  0,  0, false, false},
  {"gemma-4-26b-a4b",                     262144,   31.622776601683793, rope_style::neox, 512, 128, 30, 5, 25, 0, 0, false, false},
  {"gemma-4-31b-it-nvfp4",                262144,   31.622776601683793, rope_style::neox, 512, 128, 60, 10, 50, 0, 0, false, false},
  {"glm-4.5-air",                         131072,   1e6,         rope_style::neox, 128, 64,  46,  46,  0,  0,  0, false, false},
  {"gpt-oss-120b",                        131072,   150000,      rope_style::neox, 64,  64,  36,  18, 18,  0,  0, true,  false},
  {"gpt-oss-20b",                         131072,   150000,      rope_style::neox, 64,  64,  24,  12, 12,  0,  0, true,  false},
  {"laguna-xs.2-fp8",                     262144,   500000,      rope_style::neox, 128, 64,  40,  10, 30,  0,  0, false, false},
  {"llama-4-maverick-17b-128e-instruct",  1048576,  500000,      rope_style::gptj, 128, 128, 48,   0, 36, 12,  0, false, true},
  {"llama-4-scout-17b-16e-instruct",      10485760, 500000,      rope_style::gptj, 128, 128, 48,   0, 36, 12,  0, false, true},
  {"mixtral-8x22b-v0.1",                  65536,    1e6,         rope_style::neox, 128, 128, 56,  56,  0,  0,  0, false, false},
  {"olmo-3.1-32b-instruct",               65536,    500000,      rope_style::neox, 128, 128, 64,  16, 48,  0,  0, false, false},
  {"phi-4",                               16384,    250000,      rope_style::neox, 128, 128, 40,  40,  0,  0,  0, false, false},
  {"qwen3-30b-a3b-fp8",                   40960,    1e6,         rope_style::neox, 128, 128, 48,  48,  0,  0,  0, false, false},
  {"qwen3-32b",                           40960,    1e6,         rope_style::neox, 128, 128, 64,  64,  0,  0,  0, false, false},
  {"qwen3.5-9b",                          262144,   1e7,         rope_style::neox, 256, 64,  32,   8,  0,  0, 24, false, false},
  {"qwen3-next-80b-a3b-thinking",         262144,   1e7,         rope_style::neox, 256, 64,  48,  12,  0,  0, 36, false, false},
  {"smollm3-3b",                          65536,    5e6,         rope_style::neox, 128, 128, 36,  27,  0,  9,  0, false, false},
};
// clang-format on

bool has_warning(const selfextend::model_info& m, const std::string& part) {
  return std::any_of(m.warnings.begin(), m.warnings.end(), [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

}  // namespace

TEST(Configs2026Test, EveryFileIsReadWithItsFactsAndLayerMap) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) files += entry.path().extension() == ".json";
  EXPECT_EQ(files, std::size(models_2026)) << "every file in tests/data/configs/2026 has a row here";
  for (const expected_facts& e : models_2026) {
    SCOPED_TRACE(e.file);
    const selfextend::model_info m = selfextend::read_hf_config(configs / (std::string(e.file) + ".json"));
    EXPECT_EQ(m.context, e.context);
    EXPECT_NEAR(m.rope_theta, e.rope_theta, 1e-12 * e.rope_theta);
    EXPECT_EQ(m.style, e.style);
    EXPECT_EQ(m.head_dim, e.head_dim);
    EXPECT_EQ(m.rotary_dims, e.rotary_dims);
    EXPECT_EQ(m.layers, e.layers);
    const selfextend::layer_coverage c = selfextend::self_extend_coverage(m);
    EXPECT_EQ(c.layers, e.layers);
    EXPECT_EQ(c.extended, e.extended);
    EXPECT_EQ(c.windowed, e.windowed);
    EXPECT_EQ(c.no_rope, e.no_rope);
    EXPECT_EQ(c.linear, e.linear);
    EXPECT_EQ(m.attention_sinks, e.sinks);
    EXPECT_EQ(!m.query_temperature.empty(), e.query_temperature);
    EXPECT_EQ(selfextend::self_extend_not_applicable(m).has_value(), e.extended == 0);
    // The runs tile the layers in order.
    std::int64_t next = 0;
    for (const selfextend::layer_run& r : m.layer_map) {
      EXPECT_EQ(r.first, next);
      EXPECT_GT(r.count, 0);
      next += r.count;
    }
    EXPECT_EQ(next, e.layers);
  }
}

TEST(Configs2026Test, LayerMapsReadAsTransformersBuildsThem) {
  auto map_of = [](const char* file) {
    return selfextend::describe_layer_map(selfextend::read_hf_config(configs / (std::string(file) + ".json")));
  };
  // Gemma3TextConfig: layer i slides unless (i + 1) % 6 == 0; local layers rotate with
  // rope_local_base_freq (class default 10000) and no scaling, global ones with rope_theta and linear x8.
  EXPECT_EQ(map_of("gemma-3-4b-it"),
            "0-29: (5 layers sliding 1024 \xCE\xB8 1e4, 1 layer full \xCE\xB8 1e6 linear \xC3\x97" "8) \xC3\x97 5; 30-33 sliding 1024 \xCE\xB8 1e4");
  // Llama-4: no_rope_layers defaults to every 4th layer NoPE; the RoPE layers are chunked by attention_chunk_size.
  EXPECT_EQ(map_of("llama-4-maverick-17b-128e-instruct"),
            "0-47: (3 layers chunked 8192 \xCE\xB8 5e5, 1 layer full NoPE) \xC3\x97 12");
  // SmolLM3 lists no_rope_layers [1, 1, 1, 0] x 9.
  EXPECT_EQ(map_of("smollm3-3b"), "0-35: (3 layers full \xCE\xB8 5e6, 1 layer full NoPE) \xC3\x97 9");
  // Qwen3-Next: three Gated DeltaNet layers, then one full-attention layer (full_attention_interval 4).
  EXPECT_EQ(map_of("qwen3-next-80b-a3b-thinking"), "0-47: (3 layers linear, 1 layer full \xCE\xB8 1e7) \xC3\x97 12");
  // gpt-oss: layer_types alternate sliding (128) and full; both rotate with yarn x32.
  EXPECT_EQ(map_of("gpt-oss-20b"),
            "0-23: (1 layer sliding 128 \xCE\xB8 1.5e5 yarn \xC3\x97" "32, 1 layer full \xCE\xB8 1.5e5 yarn \xC3\x97" "32) \xC3\x97 12");
  // Gemma-4: sliding layers rotate all 256 dims of their heads at 1e4; full layers 128 of 512 (proportional).
  EXPECT_EQ(map_of("gemma-4-26b-a4b"), "0-29: (5 layers sliding 1024 \xCE\xB8 1e4 R 256, 1 layer full \xCE\xB8 31.6) \xC3\x97 5");
}

TEST(Configs2026Test, Qwen35ReadsPartialRotaryFromRopeParametersAndWarnsOfMrope) {
  const selfextend::model_info m = selfextend::read_hf_config(configs / "qwen3.5-9b.json");
  EXPECT_EQ(m.sources.at("rotary_dims"), "head_dim * text_config.rope_parameters.partial_rotary_factor");
  EXPECT_EQ(m.mrope_section, (std::vector<std::int64_t>{11, 11, 10}));
  EXPECT_TRUE(has_warning(m, "multimodal RoPE (mrope_section [11, 11, 10])"));
}

TEST(Configs2026Test, SparseGemma3ConfigIsFilledFromClassDefaultsAndSaysSo) {
  const selfextend::model_info m = selfextend::read_hf_config(configs / "gemma-3-4b-it.json");
  EXPECT_EQ(m.heads, 8);
  EXPECT_EQ(m.kv_heads, 4);
  EXPECT_EQ(m.sources.at("heads"), "text_config.num_attention_heads (Gemma3TextConfig default)");
  EXPECT_EQ(m.context_source, "text_config.max_position_embeddings (Gemma3TextConfig default)");
  EXPECT_NE(std::find(m.notes.begin(), m.notes.end(),
                      "text_config.num_attention_heads is absent: Gemma3TextConfig's default 8 applies"),
            m.notes.end());
  EXPECT_TRUE(has_warning(m, "local layers keep their window"));
}

TEST(Configs2026Test, Llama4HasNoLayerSelfExtendCanChange) {
  const selfextend::model_info m = selfextend::read_hf_config(configs / "llama-4-maverick-17b-128e-instruct.json");
  const std::optional<std::string> reason = selfextend::self_extend_not_applicable(m);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "Self-Extend has no effect on this model: its RoPE layers attend within chunks of 8192 tokens "
                     "(<= L = 1048576), so they never see a distance of L or more; its 12 other attention layers use no RoPE (NoPE)");
  EXPECT_TRUE(has_warning(m, "query temperature"));
  // With a context below the chunk, the chunked layers do see distances >= L and are extended.
  const selfextend::model_info short_window =
      selfextend::read_hf_config(configs / "llama-4-maverick-17b-128e-instruct.json", {.context = 4096});
  EXPECT_EQ(selfextend::self_extend_coverage(short_window).extended, 36);
  EXPECT_FALSE(selfextend::self_extend_not_applicable(short_window));
}

TEST(Configs2026Test, LayerTypeRopeIsTheRunsOwn) {
  const selfextend::model_info m = selfextend::read_hf_config(configs / "gemma-3-4b-it.json");
  const selfextend::rope_rule local = selfextend::rope_rule_of(m, selfextend::layer_run_of_kind(m, "sliding", "layer-type"));
  EXPECT_EQ(local.theta, 10000.0);
  EXPECT_FALSE(local.scaling);
  const selfextend::rope_rule global = selfextend::rope_rule_of(m, selfextend::layer_run_of_kind(m, "full", "layer-type"));
  EXPECT_EQ(global.theta, 1e6);
  ASSERT_TRUE(global.scaling);
  EXPECT_EQ(global.scaling->factor, 8.0);
  EXPECT_THROW_MSG((void)selfextend::layer_run_of_kind(m, "chunked", "layer-type"), selfextend::invalid_params,
                   "layer-type = chunked: model gemma3_text has no chunked RoPE layers; it has sliding or full");
}
