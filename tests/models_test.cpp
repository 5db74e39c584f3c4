// models_test - Unit tests for models.hpp: the built-in presets (each one read back from the
// model's own config.json in tests/data/configs/), names, suggestions, and the shared rules.
#include <selfextend/hf_config.hpp>
#include <selfextend/models.hpp>

#include <filesystem>
#include <set>

#include "test_helpers.hpp"

namespace {
const std::filesystem::path configs = std::filesystem::path(PLANNER_TESTS_SOURCE_DIR) / "data" / "configs";
}  // namespace

TEST(ModelsTest, AtLeastThirtyFivePresetsEachWithItsConfig) {
  EXPECT_GE(selfextend::model_presets().size(), 35u);
  for (const selfextend::model_info& m : selfextend::model_presets())
    EXPECT_TRUE(std::filesystem::exists(configs / (m.name + ".json"))) << m.name;
}

TEST(ModelsTest, EveryPresetEqualsWhatTheConfigReaderReadsFromItsConfig) {
  for (const selfextend::model_info& preset : selfextend::model_presets()) {
    SCOPED_TRACE(preset.name);
    const selfextend::model_info read = selfextend::read_hf_config(configs / (preset.name + ".json"));
    EXPECT_EQ(preset.source, read.name);  // _name_or_path is the Hugging Face id
    EXPECT_EQ(preset.architecture, read.architecture);
    EXPECT_EQ(preset.encoding, read.encoding);
    EXPECT_EQ(preset.context, read.context);
    EXPECT_EQ(preset.advertised_context, read.advertised_context);
    EXPECT_EQ(preset.max_position_embeddings, read.max_position_embeddings);
    EXPECT_EQ(preset.rope_theta, read.rope_theta);
    EXPECT_EQ(preset.head_dim, read.head_dim);
    EXPECT_EQ(preset.heads, read.heads);
    EXPECT_EQ(preset.kv_heads, read.kv_heads);
    EXPECT_EQ(preset.rotary_dims, read.rotary_dims);
    EXPECT_EQ(preset.rotary_fraction, read.rotary_fraction);
    EXPECT_EQ(preset.style, read.style);
    EXPECT_EQ(preset.layers, read.layers);
    EXPECT_EQ(preset.sliding_window, read.sliding_window);
    EXPECT_EQ(preset.sliding, read.sliding);
    EXPECT_EQ(preset.sliding_period, read.sliding_period);
    EXPECT_EQ(preset.sliding_layer_count, read.sliding_layer_count);
    ASSERT_EQ(preset.rope_scaling.has_value(), read.rope_scaling.has_value());
    if (preset.rope_scaling) {
      selfextend::rope_scaling a = *preset.rope_scaling, b = *read.rope_scaling;
      a.source = b.source = "";
      EXPECT_EQ(a, b);
    }
    EXPECT_EQ(preset.warnings, read.warnings);
    for (const char* fact : {"heads", "kv_heads", "head_dim", "rotary_dims", "rope_theta"})
      EXPECT_EQ(preset.sources.at(fact), read.sources.at(fact)) << fact;
  }
}

TEST(ModelsTest, SpotValuesFromTheConfigs) {
  struct row {
    const char* name;
    std::int64_t context, head_dim, heads, kv_heads, rotary_dims;
    double theta;
  };
  const row rows[] = {
      {"llama-2-7b", 4096, 128, 32, 32, 128, 1e4},       {"llama-2-70b", 4096, 128, 64, 8, 128, 1e4},
      {"llama-3-8b", 8192, 128, 32, 8, 128, 5e5},        {"llama-3.1-8b", 131072, 128, 32, 8, 128, 5e5},
      {"llama-3.2-1b", 131072, 64, 32, 8, 64, 5e5},      {"mistral-7b-v0.1", 4096, 128, 32, 8, 128, 1e4},
      {"mistral-nemo-12b", 128000, 128, 32, 8, 128, 1e6}, {"gemma-7b", 8192, 256, 16, 16, 256, 1e4},
      {"gemma-2-27b", 8192, 128, 32, 16, 128, 1e4},      {"phi-2", 2048, 80, 32, 32, 32, 1e4},
      {"phi-3-mini-4k", 2047, 96, 32, 32, 96, 1e4},      {"qwen2.5-7b", 131072, 128, 28, 4, 128, 1e6},
      {"deepseek-v2-lite", 163840, 192, 16, 16, 64, 1e4}, {"yi-6b", 4096, 128, 32, 4, 128, 5e6},
  };
  for (const row& r : rows) {
    const selfextend::model_info& m = selfextend::find_model(r.name);
    EXPECT_EQ(r.context, m.context) << r.name;
    EXPECT_EQ(r.head_dim, m.head_dim) << r.name;
    EXPECT_EQ(r.heads, m.heads) << r.name;
    EXPECT_EQ(r.kv_heads, m.kv_heads) << r.name;
    EXPECT_EQ(r.rotary_dims, m.rotary_dims) << r.name;
    EXPECT_DOUBLE_EQ(r.theta, m.rope_theta) << r.name;
  }
}

TEST(ModelsTest, MistralEverySlidingLayerPlansAgainstTheWindow) {
  const selfextend::model_info& m = selfextend::find_model("mistral-7b-v0.1");
  EXPECT_EQ(4096, m.context);
  EXPECT_EQ("sliding_window (every layer slides)", m.context_source);
  EXPECT_EQ(32768, m.max_position_embeddings);
  ASSERT_EQ(2u, m.warnings.size());
  EXPECT_EQ("every layer slides (window 4096): relative positions past 4095 were never trained, so L = 4096; the runtime "
            "must turn the window off (LongLM's README) or no plan reaches past 4096 tokens",
            m.warnings[0]);
  EXPECT_NE(std::string::npos, m.warnings[1].find("is not Mistral-7B-v0.1's trained window"));
  // A given context wins, and the window is still named.
  const selfextend::model_info given = selfextend::find_model("mistral-7b-v0.1", {8192});
  EXPECT_EQ(8192, given.context);
  EXPECT_EQ("given", given.context_source);
  EXPECT_NE(std::string::npos, given.warnings[0].find("window 4096 < L = 8192"));
}

TEST(ModelsTest, PreScaledRopeWarnsOncePerModelInAtMostTwoHundredCharacters) {
  EXPECT_EQ(std::vector<std::string>{"llama3 RoPE scaling \xC3\x97" "8 from 8192: planning with L = 131072; give context 8192 "
                                     "to plan against the original window"},
            selfextend::find_model("llama-3.1-8b").warnings);
  for (const selfextend::model_info& m : selfextend::model_presets())
    for (const std::string& w : m.warnings) {
      EXPECT_LE(w.size(), 220u) << m.name << ": " << w;
      EXPECT_EQ(std::string::npos, w.find('{')) << m.name << ": " << w;  // never a JSON dump
    }
  EXPECT_EQ(std::vector<std::string>{"llama3 RoPE scaling \xC3\x97" "8 from 8192: planning with the given L = 8192"},
            selfextend::find_model("llama-3.1-8b", {8192}).warnings);
}

TEST(ModelsTest, GemmaTwoAlternatesAndOnlyGlobalLayersAreExtended) {
  const selfextend::model_info& m = selfextend::find_model("gemma-2-9b");
  EXPECT_EQ(8192, m.context);
  EXPECT_EQ(4096, m.sliding_window);
  EXPECT_EQ(selfextend::sliding_layers::alternating, m.sliding);
  EXPECT_EQ(2, m.sliding_period);
  EXPECT_EQ(21, m.sliding_layer_count);
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_NE(std::string::npos, m.warnings[0].find("Self-Extend extends the global layers"));
}

TEST(ModelsTest, NamesAreCaseInsensitiveAndHuggingFaceIdsAreAliases) {
  EXPECT_EQ(&selfextend::find_model("llama-2-7b"), &selfextend::find_model("LLAMA-2-7B"));
  EXPECT_EQ(&selfextend::find_model("llama-2-7b"), &selfextend::find_model("meta-llama/Llama-2-7b-hf"));
  EXPECT_EQ(&selfextend::find_model("llama-2-7b"), &selfextend::find_model("META-LLAMA/llama-2-7b-HF"));
}

TEST(ModelsTest, UnknownNamesSuggestUpToThreeCloseOnes) {
  EXPECT_THROW_MSG((void)selfextend::find_model("llama2-7b"), selfextend::invalid_params,
                   "model = llama2-7b: unknown model; did you mean llama-2-7b, llama-7b or llama-2-70b? `sxplan models` lists the presets");
  EXPECT_THROW_MSG((void)selfextend::find_model("gpt-5"), selfextend::invalid_params,
                   "model = gpt-5: unknown model; `sxplan models` lists the presets");
  EXPECT_LE(selfextend::similar_model_names("qwen2-7").size(), 3u);
  EXPECT_TRUE(selfextend::similar_model_names(std::string(100000, 'x')).empty());
  // The name is printable in the message.
  EXPECT_THROW_MSG((void)selfextend::find_model("a\nb"), selfextend::invalid_params,
                   "model = a\\x0ab: unknown model; `sxplan models` lists the presets");
}

TEST(ModelsTest, NamesAreUniqueLowercaseAndHyphenated) {
  std::set<std::string> seen;
  for (const selfextend::model_info& m : selfextend::model_presets()) {
    EXPECT_TRUE(seen.insert(m.name).second) << m.name;
    EXPECT_TRUE(seen.insert(m.source).second) << m.source;
    for (const char c : m.name) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') << m.name;
    EXPECT_EQ(m.heads % m.kv_heads, 0) << m.name;
    EXPECT_EQ(m.rotary_dims % 2, 0) << m.name;
  }
}

TEST(ModelsTest, PrintableEscapesControlBytesAndInvalidUtf8Only) {
  EXPECT_EQ("plain", selfextend::printable("plain"));
  EXPECT_EQ("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80", selfextend::printable("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"));
  EXPECT_EQ("a\\x0ab\\x1b[0m\\x7f", selfextend::printable("a\nb\x1b[0m\x7f"));
  EXPECT_EQ("\\xff\\xc3(\\xe2\\x82", selfextend::printable("\xFF\xC3(\xE2\x82"));  // bad lead, bad continuation, truncated
  EXPECT_EQ("\\xc0\\xaf\\xed\\xa0\\x80\\xc2\\x85", selfextend::printable("\xC0\xAF\xED\xA0\x80\xC2\x85"));  // overlong, surrogate, C1
  EXPECT_EQ(std::string("nul\\x00"), selfextend::printable(std::string_view("nul\0", 4)));
}

TEST(ModelsTest, NonRopeModelsAreRefusedAndUnknownOnesPass) {
  selfextend::model_info m = selfextend::find_model("llama-2-7b");
  EXPECT_NO_THROW(selfextend::require_rope(m, "model", m.name));
  m.encoding = selfextend::position_encoding::unknown;
  EXPECT_NO_THROW(selfextend::require_rope(m, "model", m.name));
  m.encoding = selfextend::position_encoding::absolute;
  m.sources["position_encoding"] = "model_type opt";
  EXPECT_THROW_MSG(selfextend::require_rope(m, "config", "c.json"), selfextend::invalid_params,
                   "config = c.json: model llama-2-7b uses absolute position encoding (model_type opt); Self-Extend remaps "
                   "RoPE positions only");
}
