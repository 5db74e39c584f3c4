// hf_config_test - Unit tests for hf_config.hpp: reading Hugging Face config.json files.
#include <selfextend/hf_config.hpp>

#include <filesystem>
#include <fstream>

#include "test_helpers.hpp"

namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_hf_config_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const char* llama2 = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "max_position_embeddings": 4096,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
  "rope_scaling": null, "torch_dtype": "float16"})";

}  // namespace

TEST(HfConfigTest, ReadsLlamaTwoAndAppliesRopeThetaDefault) {
  const auto m = selfextend::read_hf_config(write_temp("llama2.json", llama2));
  EXPECT_EQ(4096, m.context);
  EXPECT_EQ(128, m.head_dim);
  EXPECT_EQ(32, m.kv_heads);
  EXPECT_DOUBLE_EQ(10000.0, m.rope_theta);
  EXPECT_EQ(128, m.rotary_dims);
  EXPECT_EQ(selfextend::rope_style::neox, m.style);
  EXPECT_TRUE(m.warnings.empty());
  ASSERT_EQ(1u, m.notes.size());
}

TEST(HfConfigTest, ReadsPartialRotaryAndExplicitHeadDim) {
  const auto phi = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 2048, "hidden_size": 2560, "num_attention_heads": 32,
          "partial_rotary_factor": 0.4, "rope_theta": 10000.0, "model_type": "phi"})", "phi.json");
  EXPECT_EQ(80, phi.head_dim);
  EXPECT_EQ(32, phi.rotary_dims);
  const auto gemma = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 8192, "hidden_size": 3072, "num_attention_heads": 16, "head_dim": 256,
          "num_key_value_heads": 16})", "gemma.json");
  EXPECT_EQ(256, gemma.head_dim);
}

TEST(HfConfigTest, SlidingWindowIgnoredWhenDisabledAndRopeScalingWarns) {
  const auto qwen = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 32768, "hidden_size": 4096, "num_attention_heads": 32, "rope_theta": 1000000.0,
          "sliding_window": 32768, "use_sliding_window": false})", "qwen.json");
  EXPECT_FALSE(qwen.sliding_window.has_value());
  const auto scaled = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 8192, "hidden_size": 4096, "num_attention_heads": 32,
          "rope_scaling": {"type": "linear", "factor": 2.0}})", "scaled.json");
  ASSERT_EQ(1u, scaled.warnings.size());
  EXPECT_NE(std::string::npos, scaled.warnings[0].find("already context-scaled"));
}

TEST(HfConfigTest, MistralConfigNotesTrainedLength) {
  const auto m = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 32768, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
          "sliding_window": 4096, "model_type": "mistral", "rope_theta": 10000.0})", "mistral.json");
  EXPECT_EQ(4096, m.sliding_window);
  ASSERT_FALSE(m.notes.empty());
  EXPECT_NE(std::string::npos, m.notes.back().find("8192"));
}

TEST(HfConfigTest, MissingAndWrongTypedFieldsNameFieldAndFile) {
  const std::string text0 = R"({"hidden_size": 4096, "num_attention_heads": 32})";
  const std::string text1 = R"({"max_position_embeddings": "4096", "hidden_size": 4096, "num_attention_heads": 32})";
  const std::string text2 = R"({"max_position_embeddings": 4096, "hidden_size": 4096, "num_attention_heads": 32, "rope_theta": "x"})";
  const std::string text3 = R"({"max_position_embeddings": 4096, "hidden_size": 4001, "num_attention_heads": 32})";
  const std::string text4 = R"({"max_position_embeddings": 4096, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 5})";
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(text0, "c.json"),
                   selfextend::invalid_params,
                   "config = c.json: field \"max_position_embeddings\" is missing (a positive integer is required)");
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(
                       text1, "c.json"),
                   selfextend::invalid_params,
                   "config = c.json: field \"max_position_embeddings\" must be an integer, got a string");
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(
                       text2,
                       "c.json"),
                   selfextend::invalid_params, "config = c.json: field \"rope_theta\" must be a number, got a string");
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(
                       text3, "c.json"),
                   selfextend::invalid_params,
                   "config = c.json: field \"hidden_size\" (4001) must be a multiple of num_attention_heads (32) when head_dim is absent");
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(
                       text4,
                       "c.json"),
                   selfextend::invalid_params,
                   "config = c.json: field \"num_key_value_heads\" (5) must divide num_attention_heads (32)");
}

TEST(HfConfigTest, HugeHeadDimWithPartialRotaryIsRejectedNotOverflowed) {
  // head_dim * factor rounds up past INT64_MAX in double; converting it back would be UB.
  const std::string text = R"({"max_position_embeddings": 4096, "num_attention_heads": 1,
                                "head_dim": 9223372036854775807, "partial_rotary_factor": 0.99999999999999989})";
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(text, "c.json"), selfextend::invalid_params,
                   "config = c.json: field \"head_dim\" is too large");
  const std::string endless = "/dev/zero";
  EXPECT_THROW_MSG((void)selfextend::read_hf_config(endless), selfextend::invalid_params,
                   "config = /dev/zero: is larger than 16 MiB; not a config.json");
}

TEST(HfConfigTest, UnreadableOrMalformedFilesAreInvalidInput) {
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config("{\"a\": ", "bad.json"), selfextend::invalid_params,
                   "config = bad.json: is not valid JSON (incomplete JSON)");
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config("[1, 2]", "arr.json"), selfextend::invalid_params,
                   "config = arr.json: must hold a JSON object");
  const auto missing = std::filesystem::temp_directory_path() / "sxplan_no_such_dir" / "config.json";
  EXPECT_THROW_MSG((void)selfextend::read_hf_config(missing), selfextend::invalid_params,
                   "config = " + missing.string() + ": cannot be opened for reading");
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_THROW_MSG((void)selfextend::read_hf_config(dir), selfextend::invalid_params,
                   "config = " + dir.string() + ": is a directory, not a config.json file");
  EXPECT_THROW((void)selfextend::read_hf_config(write_temp("empty.json", "")), selfextend::invalid_params);
}
