// hf_config_test - Unit tests for hf_config.hpp: reading Hugging Face config.json files.
#include <selfextend/hf_config.hpp>

#include <algorithm>
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
          "num_key_value_heads": 16, "model_type": "gemma"})", "gemma.json");
  EXPECT_EQ(256, gemma.head_dim);
}

TEST(HfConfigTest, SlidingWindowIgnoredWhenDisabledAndRopeScalingWarns) {
  const auto qwen = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 32768, "hidden_size": 4096, "num_attention_heads": 32, "rope_theta": 1000000.0,
          "sliding_window": 32768, "use_sliding_window": false})", "qwen.json");
  EXPECT_FALSE(qwen.sliding_window.has_value());
  const auto scaled = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 8192, "hidden_size": 4096, "num_attention_heads": 32,
          "rope_scaling": {"type": "linear", "factor": 2.0}, "model_type": "llama"})", "scaled.json");
  ASSERT_EQ(1u, scaled.warnings.size());
  EXPECT_EQ("linear RoPE scaling \xC3\x97" "2 (the file does not state the original window): planning with L = 8192; give the "
            "original window as context to plan against it", scaled.warnings[0]);
}

TEST(HfConfigTest, MistralConfigNotesTrainedLength) {
  const auto m = selfextend::parse_hf_config(
      R"({"max_position_embeddings": 32768, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
          "sliding_window": 4096, "model_type": "mistral", "rope_theta": 10000.0})", "mistral.json");
  EXPECT_EQ(4096, m.sliding_window);
  EXPECT_EQ(4096, m.context);
  ASSERT_EQ(2u, m.warnings.size());
  EXPECT_NE(std::string::npos, m.warnings[1].find("8192"));
}

TEST(HfConfigTest, MissingAndWrongTypedFieldsNameFieldAndFile) {
  const std::string text0 = R"({"hidden_size": 4096, "num_attention_heads": 32, "model_type": "llama"})";
  const std::string text1 = R"({"max_position_embeddings": "4096", "hidden_size": 4096, "num_attention_heads": 32})";
  const std::string text2 = R"({"max_position_embeddings": 4096, "hidden_size": 4096, "num_attention_heads": 32, "rope_theta": "x"})";
  const std::string text3 = R"({"max_position_embeddings": 4096, "hidden_size": 4001, "num_attention_heads": 32})";
  const std::string text4 = R"({"max_position_embeddings": 4096, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 5})";
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(text0, "c.json"),
                   selfextend::invalid_params,
                   "config = c.json: field \"max_position_embeddings\" is missing, and so are n_positions, seq_length, "
                   "max_sequence_length and max_seq_len; give the context L");
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
                   "config = " + dir.string() + ": is a directory without a config.json");
  EXPECT_THROW((void)selfextend::read_hf_config(write_temp("empty.json", "")), selfextend::invalid_params);
}

namespace {
const std::filesystem::path data = std::filesystem::path(PLANNER_TESTS_SOURCE_DIR) / "data" / "configs";
selfextend::model_info read_other(const char* name) { return selfextend::read_hf_config(data / "other" / (std::string(name) + ".json")); }
std::string message_of(const std::string& text) {
  try {
    (void)selfextend::parse_hf_config(text, "c.json");
  } catch (const selfextend::invalid_params& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(HfConfigTest, ModelFolderReadsItsConfigJson) {
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_model_folder";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << llama2;
  EXPECT_EQ(4096, selfextend::read_hf_config(dir).context);
  EXPECT_EQ((dir / "config.json").string(), selfextend::read_hf_config(dir).source);
}

TEST(HfConfigTest, OptIsAbsoluteMptAndBloomAreAlibi) {
  const auto opt = read_other("opt-125m");
  EXPECT_EQ(selfextend::position_encoding::absolute, opt.encoding);
  EXPECT_EQ("model_type opt", opt.sources.at("position_encoding"));
  EXPECT_EQ(2048, opt.context);
  const auto mpt = read_other("mpt-7b");
  EXPECT_EQ(selfextend::position_encoding::alibi, mpt.encoding);
  EXPECT_EQ("attn_config.alibi", mpt.sources.at("position_encoding"));
  EXPECT_EQ(2048, mpt.context);
  EXPECT_EQ("max_seq_len", mpt.context_source);
  EXPECT_EQ(128, mpt.head_dim);
  const auto bloom = read_other("bloom-560m");  // no length at all: fine for a model that is refused anyway
  EXPECT_EQ(selfextend::position_encoding::alibi, bloom.encoding);
  EXPECT_EQ(0, bloom.context);
  for (const auto* m : {&opt, &mpt, &bloom}) {
    ASSERT_FALSE(m->warnings.empty());
    EXPECT_NE(std::string::npos, m->warnings[0].find("Self-Extend remaps RoPE positions only"));
    EXPECT_THROW(selfextend::require_rope(*m, "config", m->source), selfextend::invalid_params);
  }
}

// BLOOM-560m as PaddleNLP keeps its config (n_embed, num_attention_heads: BLOOM's own spelling, which transformers'
// BloomConfig accepts), next to the same model as transformers prints it (hidden_size, n_head).
TEST(HfConfigTest, BloomNEmbedSpellingReadsLikeHiddenSize) {
  const auto paddle = read_other("bloom-560m-paddlenlp");
  const auto hf = read_other("bloom-560m");
  for (const auto* m : {&paddle, &hf}) {
    EXPECT_EQ("bigscience/bloom-560m", m->name);
    EXPECT_EQ(selfextend::position_encoding::alibi, m->encoding);
    EXPECT_EQ(64, m->head_dim);
    EXPECT_EQ(16, m->heads);
    EXPECT_EQ(16, m->kv_heads);
    EXPECT_EQ(24, m->layers);
  }
  EXPECT_EQ("n_embed / num_attention_heads", paddle.sources.at("head_dim"));
  EXPECT_EQ("hidden_size / n_head", hf.sources.at("head_dim"));
}

TEST(HfConfigTest, GptjChatglmAndFalconLengthsAndLayouts) {
  const auto gptj = read_other("gpt-j-6b");
  EXPECT_EQ(2048, gptj.context);
  EXPECT_EQ("n_positions", gptj.context_source);
  EXPECT_EQ(256, gptj.head_dim);
  EXPECT_EQ(64, gptj.rotary_dims);
  EXPECT_EQ(selfextend::rope_style::gptj, gptj.style);
  EXPECT_EQ(16, gptj.kv_heads);
  const auto glm = read_other("chatglm3-6b");
  EXPECT_EQ(8192, glm.context);
  EXPECT_EQ("seq_length", glm.context_source);
  EXPECT_EQ(128, glm.head_dim);
  EXPECT_EQ(64, glm.rotary_dims);
  EXPECT_EQ(2, glm.kv_heads);
  EXPECT_EQ(selfextend::rope_style::gptj, glm.style);
  EXPECT_EQ(28, glm.layers);
  const auto falcon = read_other("falcon-7b");
  EXPECT_EQ(2048, falcon.context);
  EXPECT_FALSE(falcon.advertised_context.has_value());
  EXPECT_EQ("transformers' FalconConfig default 2048 (the file states no length)", falcon.context_source);
  EXPECT_EQ(64, falcon.head_dim);
  EXPECT_EQ(1, falcon.kv_heads);  // multi_query
  EXPECT_EQ(selfextend::position_encoding::rope, falcon.encoding);
}

// Falcon-7B-instruct's config as transformers saves it (tt-metal keeps a copy): it states num_kv_heads 71 next to
// multi_query true, and transformers then uses one key/value head; the reader must too.
TEST(HfConfigTest, FalconMultiQueryWinsOverTheNumKvHeadsTransformersWrites) {
  const auto falcon = read_other("falcon-7b-instruct");
  EXPECT_EQ("tiiuae/falcon-7b-instruct", falcon.name);
  EXPECT_EQ(71, falcon.heads);
  EXPECT_EQ(1, falcon.kv_heads);
  EXPECT_EQ("multi_query", falcon.sources.at("kv_heads"));
  EXPECT_EQ(64, falcon.head_dim);
  EXPECT_EQ(2048, falcon.context);
  EXPECT_EQ(32, falcon.layers);
}

TEST(HfConfigTest, PhiThreeSmallBaseNeoxRotaryPctAndGemmaThreePattern) {
  const auto small = read_other("phi-3-small-8k");
  EXPECT_EQ(1000000.0, small.rope_theta);
  EXPECT_EQ("rope_embedding_base", small.sources.at("rope_theta"));
  EXPECT_EQ(8, small.kv_heads);
  const auto pythia = read_other("pythia-1.4b");
  EXPECT_EQ(128, pythia.head_dim);
  EXPECT_EQ(32, pythia.rotary_dims);
  EXPECT_EQ("rotary_emb_base", pythia.sources.at("rope_theta"));
  const auto gemma3 = read_other("gemma-3-1b");
  EXPECT_EQ(32768, gemma3.context);
  EXPECT_EQ(1000000.0, gemma3.rope_theta);
  EXPECT_EQ(512, gemma3.sliding_window);
  EXPECT_EQ(selfextend::sliding_layers::alternating, gemma3.sliding);
  EXPECT_EQ(6, gemma3.sliding_period);
  EXPECT_EQ(22, gemma3.sliding_layer_count);  // 26 layers, every 6th global
}

// Llama-3.3-70B-Instruct's config.json (the copy aiconfigurator ships): Llama-3.1's llama3 rule on the 70B shape.
TEST(HfConfigTest, LlamaThreeThreeSeventyBInstruct) {
  const auto m = read_other("llama-3.3-70b-instruct");
  EXPECT_EQ("meta-llama/Llama-3.3-70B-Instruct", m.name);
  EXPECT_EQ(selfextend::position_encoding::rope, m.encoding);
  EXPECT_EQ(131072, m.context);
  EXPECT_EQ("max_position_embeddings", m.context_source);
  EXPECT_EQ(500000.0, m.rope_theta);
  EXPECT_EQ(128, m.head_dim);
  EXPECT_EQ(128, m.rotary_dims);
  EXPECT_EQ(64, m.heads);
  EXPECT_EQ(8, m.kv_heads);
  EXPECT_EQ(80, m.layers);
  EXPECT_EQ(selfextend::rope_style::neox, m.style);
  EXPECT_FALSE(m.sliding_window.has_value());
  ASSERT_TRUE(m.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::llama3, m.rope_scaling->type);
  EXPECT_EQ(8.0, m.rope_scaling->factor);
  EXPECT_EQ(8192, m.rope_scaling->original_context);
  EXPECT_EQ(1.0, m.rope_scaling->low_freq_factor);
  EXPECT_EQ(4.0, m.rope_scaling->high_freq_factor);
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_NE(std::string::npos, m.warnings[0].find("llama3 RoPE scaling"));
}

TEST(HfConfigTest, RopeParametersFormReadsThetaAndScaling) {
  const auto llama = read_other("llama-3.1-8b-rope-parameters");
  EXPECT_EQ(500000.0, llama.rope_theta);
  EXPECT_EQ("rope_parameters.rope_theta", llama.sources.at("rope_theta"));
  ASSERT_TRUE(llama.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::llama3, llama.rope_scaling->type);
  EXPECT_EQ(8.0, llama.rope_scaling->factor);
  EXPECT_EQ(8192, llama.rope_scaling->original_context);
  EXPECT_EQ(1.0, llama.rope_scaling->low_freq_factor);
  EXPECT_EQ(4.0, llama.rope_scaling->high_freq_factor);
  EXPECT_EQ("rope_parameters", llama.rope_scaling->source);
  ASSERT_EQ(1u, llama.warnings.size());
  const auto ds = read_other("deepseek-v2-lite-rope-parameters");
  EXPECT_EQ(192, ds.head_dim);  // MLA: not the stated head_dim 64
  EXPECT_EQ(64, ds.rotary_dims);
  ASSERT_TRUE(ds.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::yarn, ds.rope_scaling->type);
  EXPECT_EQ(40.0, ds.rope_scaling->factor);
  EXPECT_EQ(0.707, ds.rope_scaling->mscale_all_dim);
  EXPECT_EQ(32.0, ds.rope_scaling->beta_fast);
}

TEST(HfConfigTest, PhiThreeFiveLongropeKeepsBothFactorLists) {
  const auto m = selfextend::read_hf_config(data / "phi-3.5-mini.json");
  ASSERT_TRUE(m.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::longrope, m.rope_scaling->type);
  EXPECT_EQ(4096, m.rope_scaling->original_context);  // top-level original_max_position_embeddings
  EXPECT_EQ(32.0, m.rope_scaling->factor);
  ASSERT_EQ(48u, m.rope_scaling->long_factor.size());
  EXPECT_EQ(64.83999633789062, m.rope_scaling->long_factor.back());
  EXPECT_EQ(2.8399994373321533, m.rope_scaling->short_factor.back());
  EXPECT_FALSE(m.sliding_window.has_value());  // 262144 >= L
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_EQ("longrope RoPE scaling \xC3\x97" "32 from 4096: planning with L = 131072; give context 4096 to plan against the "
            "original window", m.warnings[0]);
}

TEST(HfConfigTest, QwenMaxWindowLayersAndLayerTypes) {
  const auto q = selfextend::parse_hf_config(
      R"({"model_type": "qwen2", "max_position_embeddings": 32768, "hidden_size": 896, "num_attention_heads": 14,
          "num_key_value_heads": 2, "num_hidden_layers": 24, "sliding_window": 4096, "use_sliding_window": true,
          "max_window_layers": 21, "rope_theta": 1000000.0})", "q.json");
  EXPECT_EQ(selfextend::sliding_layers::last, q.sliding);
  EXPECT_EQ(3, q.sliding_layer_count);
  EXPECT_EQ(32768, q.context);
  const auto t = selfextend::parse_hf_config(
      R"({"model_type": "qwen3", "max_position_embeddings": 40960, "hidden_size": 1024, "num_attention_heads": 16,
          "head_dim": 128, "num_hidden_layers": 4, "sliding_window": 4096, "rope_theta": 1000000.0,
          "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]})", "t.json");
  EXPECT_EQ(selfextend::sliding_layers::listed, t.sliding);
  EXPECT_EQ(2, t.sliding_layer_count);
}

TEST(HfConfigTest, ContradictoryOrMalformedFactsNameTheFieldAndFile) {
  // head_dim * heads != hidden where the architecture derives head_dim from hidden_size.
  EXPECT_EQ("config = c.json: field \"head_dim\" (96) times num_attention_heads (32) contradicts hidden_size (4096)",
            message_of(R"({"model_type": "phi3", "max_position_embeddings": 4096, "hidden_size": 4096,
                           "num_attention_heads": 32, "head_dim": 96})"));
  EXPECT_EQ("config = c.json: field \"partial_rotary_factor\" must be in (0, 1], got 1.5",
            message_of(R"({"model_type": "phi", "max_position_embeddings": 2048, "hidden_size": 2560,
                           "num_attention_heads": 32, "partial_rotary_factor": 1.5})"));
  EXPECT_EQ("config = c.json: field \"partial_rotary_factor\" must be in (0, 1], got 0",
            message_of(R"({"model_type": "phi", "max_position_embeddings": 2048, "hidden_size": 2560,
                           "num_attention_heads": 32, "partial_rotary_factor": 0})"));
  const std::string base = R"({"model_type": "llama", "max_position_embeddings": 131072, "hidden_size": 4096,
                                "num_attention_heads": 32, "rope_theta": 500000.0, "rope_scaling": )";
  EXPECT_EQ("config = c.json: field \"rope_scaling.low_freq_factor\" is missing; llama3 RoPE scaling requires it",
            message_of(base + R"({"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192,
                                  "high_freq_factor": 4.0}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.original_max_position_embeddings\" is missing; llama3 RoPE scaling requires it",
            message_of(base + R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.factor\" is missing; linear RoPE scaling requires it",
            message_of(base + R"({"type": "linear"}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.factor\" is missing; yarn RoPE scaling requires it",
            message_of(base + R"({"rope_type": "yarn", "original_max_position_embeddings": 4096}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.long_factor\" is missing; longrope RoPE scaling requires it",
            message_of(base + R"({"type": "su", "short_factor": [1.0]}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.short_factor\" has 2 values; rotary_dims / 2 = 64 are required",
            message_of(base + R"({"type": "longrope", "short_factor": [1.0, 1.0], "long_factor": [1.0, 1.0],
                                  "original_max_position_embeddings": 4096}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.rope_type\" is missing (the scaling rule: default, linear, dynamic, yarn, "
            "longrope, llama3)",
            message_of(base + R"({"factor": 2.0}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.type\" = \"ntk\\x0a\" is not a RoPE rule known here (default, linear, "
            "dynamic, yarn, longrope/su, llama3)",
            message_of(base + R"({"type": "ntk\n", "factor": 2.0}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.type\" (\"linear\") contradicts rope_scaling.rope_type (\"yarn\")",
            message_of(base + R"({"type": "linear", "rope_type": "yarn", "factor": 2.0}})"));
  EXPECT_EQ("config = c.json: field \"rope_scaling.factor\" must be a positive number",
            message_of(base + R"({"type": "linear", "factor": -2.0}})"));
  EXPECT_EQ("config = c.json: field \"num_key_value_heads\" has 0 at layer 1; every layer needs at least 1",
            message_of(R"({"model_type": "openelm", "max_position_embeddings": 2048, "hidden_size": 1280, "head_dim": 64,
                           "num_attention_heads": [12, 12], "num_key_value_heads": [3, 0]})"));
}

TEST(HfConfigTest, NameOrPathIsMadePrintable) {
  const auto m = selfextend::parse_hf_config(
      R"({"_name_or_path": "evil\u001b[31m\nname", "model_type": "llama", "max_position_embeddings": 4096,
          "hidden_size": 4096, "num_attention_heads": 32})", "c.json");
  EXPECT_EQ("evil\\x1b[31m\\x0aname", m.name);
}

TEST(HfConfigTest, GivenContextWinsAndMakesAMissingLengthFine) {
  const auto m = selfextend::parse_hf_config(R"({"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32})",
                                             "c.json", {2048});
  EXPECT_EQ(2048, m.context);
  EXPECT_EQ("given", m.context_source);
  EXPECT_FALSE(m.advertised_context.has_value());
}

// Found by fuzz_hf_config: a one-token window on every layer planned with L = 1.
TEST(HfConfigTest, SlidingWindowBelowTwoIsRefused) {
  const std::string text = R"({"max_position_embeddings": 32768, "hidden_size": 216, "num_attention_heads": 4,
                               "model_type": "mistral", "sliding_window": 1})";
  EXPECT_THROW_MSG((void)selfextend::parse_hf_config(text, "c.json"), selfextend::invalid_params,
                   "config = c.json: field \"sliding_window\" must be at least 2 (a window of one token sees only itself)");
}

namespace {

/// A small config of `model_type` with `extra` keys spliced in.
std::string config_of(const std::string& model_type, const std::string& extra) {
  return R"({"model_type": ")" + model_type +
         R"(", "hidden_size": 1024, "num_attention_heads": 8, "num_key_value_heads": 8, "num_hidden_layers": 4,
  "max_position_embeddings": 32768, "rope_theta": 1000000.0)" + (extra.empty() ? "" : ", " + extra) + "}";
}

selfextend::model_info read_text(const std::string& name, const std::string& text) {
  return selfextend::read_hf_config(write_temp(name, text));
}

/// The refusal of a config, without the "config = PATH: " in front.
std::string refusal(const std::string& name, const std::string& text) {
  const auto path = write_temp(name, text);
  try {
    (void)selfextend::read_hf_config(path);
  } catch (const selfextend::invalid_params& e) {
    const std::string prefix = "config = " + path.string() + ": ";
    const std::string what = e.what();
    return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
  }
  return "(accepted)";
}

}  // namespace

// Qwen2.5-7B-Instruct-1M's settings (its config states these values): DCA already remaps
// positions past 262144, so that is the window to plan against, not 1010000.
TEST(HfConfigTest, DualChunkAttentionPlansAgainstTheWindowItWasTrainedOn) {
  const auto m = read_text("qwen_1m.json", R"({"model_type": "qwen2", "hidden_size": 3584, "num_attention_heads": 28,
    "num_key_value_heads": 4, "num_hidden_layers": 28, "max_position_embeddings": 1010000, "rope_theta": 10000000.0,
    "sliding_window": 32768, "use_sliding_window": false,
    "dual_chunk_attention_config": {"chunk_size": 262144, "local_size": 8192, "original_max_position_embeddings": 262144}})");
  EXPECT_EQ(m.context, 262144);
  EXPECT_EQ(m.advertised_context, 1010000);
  ASSERT_TRUE(m.dual_chunk);
  EXPECT_EQ(m.dual_chunk->chunk_size, 262144);
  EXPECT_EQ(m.dual_chunk->local_size, 8192);
  EXPECT_NE(std::find_if(m.warnings.begin(), m.warnings.end(),
                         [](const std::string& w) { return w.find("Dual Chunk Attention") != std::string::npos; }),
            m.warnings.end());
  EXPECT_EQ(refusal("dca_bad.json", config_of("qwen2", R"("dual_chunk_attention_config": {"chunk_size": 262144})")),
            "field \"dual_chunk_attention_config.local_size\" is missing (a positive integer is required)");
}

TEST(HfConfigTest, PairLayoutFollowsEachModelingFile) {
  for (const char* interleaved : {"cohere", "cohere2", "glm4", "llama4_text", "ernie4_5", "ernie4_5_moe", "deepseek_v3"}) {
    SCOPED_TRACE(interleaved);
    EXPECT_EQ(read_text("layout.json", config_of(interleaved, "")).style, selfextend::rope_style::gptj);
  }
  for (const char* halves : {"llama", "qwen3", "gemma3_text", "gpt_oss", "glm4_moe", "smollm3", "phi3"}) {
    SCOPED_TRACE(halves);
    EXPECT_EQ(read_text("layout.json", config_of(halves, "")).style, selfextend::rope_style::neox);
  }
  // DeepSeek-V3's modeling code rotates halves when rope_interleave is false.
  EXPECT_EQ(read_text("ds.json", config_of("deepseek_v3", R"("rope_interleave": false)")).style, selfextend::rope_style::neox);
}

TEST(HfConfigTest, LayerListsAreCheckedAgainstTheLayerCount) {
  EXPECT_EQ(refusal("lt.json", config_of("qwen3", R"("layer_types": ["full_attention", "global"])")),
            "field \"layer_types\" has 2 entries; num_hidden_layers is 4");
  EXPECT_EQ(refusal("lt.json", config_of("qwen3", R"("layer_types": ["full_attention", "global", "full_attention", "full_attention"])")),
            "field \"layer_types\" has \"global\" at layer 1; known: full_attention (attention), sliding_attention, chunked_attention, "
            "linear_attention, mamba, conv");
  EXPECT_EQ(refusal("nr.json", config_of("smollm3", R"("no_rope_layers": [1, 1, 2, 0])")),
            "field \"no_rope_layers\" must hold 0 (no RoPE) or 1 (RoPE), got 2");
  EXPECT_EQ(refusal("ch.json", config_of("qwen3", R"("layer_types": ["chunked_attention", "full_attention", "full_attention", "full_attention"])")),
            "field \"attention_chunk_size\" is missing; layer_types names chunked_attention layers");
  EXPECT_EQ(refusal("sl.json", config_of("gemma3_text", R"("sliding_window": 512, "rope_parameters": {
      "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
      "sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}})")),
            "field \"rope_parameters.sliding_attention.rope_type\" = \"linear\": a scaling rule on sliding layers is not supported here");
}

TEST(HfConfigTest, NoRopeIntervalAndChunkSizeDefaultsAreTheConfigClasses) {
  // Llama4TextConfig: every 4th layer NoPE, the RoPE layers chunked by 8192 unless stated.
  const auto l4 = read_text("l4.json", config_of("llama4_text", R"("attention_chunk_size": 16384)"));
  EXPECT_EQ(selfextend::describe_layer_map(l4), "0-2 chunked 16384 \xCE\xB8 1e6; 3 full NoPE");
  EXPECT_EQ(l4.sources.at("layer_rope"), "no_rope_layer_interval 4 (Llama4TextConfig default)");
  const auto every_other = read_text("l4b.json", config_of("llama4_text", R"("no_rope_layer_interval": 2)"));
  EXPECT_EQ(selfextend::describe_layer_map(every_other), "0-3: (1 layer chunked 8192 \xCE\xB8 1e6, 1 layer full NoPE) \xC3\x97 2");
  // Qwen3-Next without layer_types: full_attention_interval (default 4).
  const auto next = read_text("qn.json", config_of("qwen3_next", R"("full_attention_interval": 2)"));
  EXPECT_EQ(selfextend::self_extend_coverage(next).linear, 2);
}

// transformers 5 writes rope_scaling as an alias of rope_parameters, with the base inside (EXAONE-4.5).
TEST(HfConfigTest, RopeThetaInsideRopeScalingIsTheBase) {
  const auto m = read_text("theta_in_scaling.json", R"({"model_type": "llama", "hidden_size": 1024, "num_attention_heads": 8,
    "num_hidden_layers": 2, "max_position_embeddings": 131072, "rope_scaling": {"rope_type": "llama3", "rope_theta": 1000000.0,
    "factor": 16.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})");
  EXPECT_EQ(m.rope_theta, 1e6);
  EXPECT_EQ(m.sources.at("rope_theta"), "rope_scaling.rope_theta");
  // Mamba and convolution layers carry no positions, as linear attention.
  const auto hybrid = read_text("hybrid.json", config_of("granitemoehybrid", R"("layer_types": ["mamba", "attention", "conv", "mamba"])"));
  EXPECT_EQ(selfextend::self_extend_coverage(hybrid).linear, 3);
  EXPECT_EQ(selfextend::self_extend_coverage(hybrid).extended, 1);
}
