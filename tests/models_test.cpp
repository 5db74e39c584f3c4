// models_test - Unit tests for models.hpp: the built-in presets.
#include <selfextend/models.hpp>

#include <set>

#include "test_helpers.hpp"

TEST(ModelsTest, RequiredPresetsArePresentWithConfigValues) {
  struct expected_row {
    const char* name;
    std::int64_t context, head_dim, heads, kv_heads, rotary_dims;
    double theta;
  };
  const expected_row rows[] = {
      {"llama-2-7b", 4096, 128, 32, 32, 128, 1e4},     {"llama-2-13b", 4096, 128, 40, 40, 128, 1e4},
      {"llama-2-70b", 4096, 128, 64, 8, 128, 1e4},     {"llama-3-8b", 8192, 128, 32, 8, 128, 5e5},
      {"llama-3-70b", 8192, 128, 64, 8, 128, 5e5},     {"mistral-7b-v0.1", 8192, 128, 32, 8, 128, 1e4},
      {"gemma-2b", 8192, 256, 8, 1, 256, 1e4},         {"gemma-7b", 8192, 256, 16, 16, 256, 1e4},
      {"phi-2", 2048, 80, 32, 32, 32, 1e4},            {"qwen1.5-7b", 32768, 128, 32, 32, 128, 1e6},
      {"solar-10.7b", 4096, 128, 32, 8, 128, 1e4},     {"tinyllama-1.1b", 2048, 64, 32, 4, 64, 1e4},
  };
  for (const expected_row& row : rows) {
    const selfextend::model_info& m = selfextend::find_model(row.name);
    EXPECT_EQ(row.context, m.context) << row.name;
    EXPECT_EQ(row.head_dim, m.head_dim) << row.name;
    EXPECT_EQ(row.heads, m.heads) << row.name;
    EXPECT_EQ(row.kv_heads, m.kv_heads) << row.name;
    EXPECT_EQ(row.rotary_dims, m.rotary_dims) << row.name;
    EXPECT_DOUBLE_EQ(row.theta, m.rope_theta) << row.name;
    EXPECT_FALSE(m.source.empty()) << row.name;
  }
}

TEST(ModelsTest, MistralPresetExplainsWhyContextDiffersFromConfig) {
  const selfextend::model_info& m = selfextend::find_model("mistral-7b-v0.1");
  EXPECT_EQ(8192, m.context);
  EXPECT_EQ(32768, m.max_position_embeddings);
  ASSERT_FALSE(m.notes.empty());
  EXPECT_NE(std::string::npos, m.notes.front().find("2310.06825"));
}

TEST(ModelsTest, NamesAreUniqueLowercaseAndHyphenated) {
  std::set<std::string> seen;
  for (const selfextend::model_info& m : selfextend::model_presets()) {
    EXPECT_TRUE(seen.insert(m.name).second) << m.name;
    for (const char c : m.name) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') << m.name;
    EXPECT_EQ(m.heads % m.kv_heads, 0) << m.name;
    EXPECT_EQ(m.rotary_dims % 2, 0) << m.name;
  }
}

TEST(ModelsTest, UnknownModelNamesTheFlagAndWhereToLook) {
  EXPECT_THROW_MSG((void)selfextend::find_model("llama-9"), selfextend::invalid_params,
                   "model = llama-9: unknown model; `sxplan models` lists the presets");
}
