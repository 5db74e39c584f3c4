// gguf_test - Unit tests for gguf.hpp: reading GGUF headers, on files the tests write themselves
// (valid, truncated, wrong magic, huge counts, wrong types).
#include <selfextend/gguf.hpp>
#include <selfextend/models.hpp>
#include <selfextend/rope.hpp>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "test_helpers.hpp"

namespace {

/// Writes GGUF files little-endian: key/value pairs (an add_* of an existing key replaces it; append
/// a duplicate with begin()), then a tensor table and, after the 32-byte alignment, the tensor data.
class gguf_builder {
 public:
  explicit gguf_builder(std::uint32_t version = 3, std::string magic = "GGUF") : version_(version), magic_(std::move(magic)) {}
  gguf_builder& add_u32(const std::string& key, std::uint32_t v) { return set(key, 4).u32(v).done(); }
  gguf_builder& add_i32(const std::string& key, std::int32_t v) { return set(key, 5).u32(static_cast<std::uint32_t>(v)).done(); }
  gguf_builder& add_i64(const std::string& key, std::int64_t v) {
    return set(key, 11).u64(static_cast<std::uint64_t>(v)).done();
  }
  gguf_builder& add_u64(const std::string& key, std::uint64_t v) { return set(key, 10).u64(v).done(); }
  gguf_builder& add_f32(const std::string& key, float v) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    return set(key, 6).u32(bits).done();
  }
  gguf_builder& add_string(const std::string& key, const std::string& v) { return set(key, 8).str(v).done(); }
  gguf_builder& add_u32_array(const std::string& key, const std::vector<std::uint32_t>& v) {
    set(key, 9).u32(4).u64(v.size());
    for (const std::uint32_t x : v) u32(x);
    return done();
  }
  gguf_builder& add_i32_array(const std::string& key, const std::vector<std::int32_t>& v) {
    set(key, 9).u32(5).u64(v.size());
    for (const std::int32_t x : v) u32(static_cast<std::uint32_t>(x));
    return done();
  }
  gguf_builder& add_string_array(const std::string& key, const std::vector<std::string>& v) {
    set(key, 9).u32(8).u64(v.size());
    for (const std::string& x : v) str(x);
    return done();
  }
  /// A 1-D f32 tensor with its data.
  gguf_builder& add_f32_tensor(const std::string& name, const std::vector<float>& values, std::uint32_t ggml_type = 0) {
    tensors_.push_back({name, values, ggml_type});
    return *this;
  }
  gguf_builder& remove(const std::string& key) {
    std::erase_if(entries_, [&](const entry& e) { return e.key == key; });
    return *this;
  }
  /// Raw access for hostile files: after begin() the bytes go into that pair, otherwise after the pairs.
  gguf_builder& u32(std::uint32_t v) { return put(v, 4); }
  gguf_builder& u64(std::uint64_t v) { return put(v, 8); }
  gguf_builder& str(const std::string& s) {
    u64(s.size());
    target().append(s);
    return *this;
  }
  gguf_builder& target_byte(char c) {
    target().push_back(c);
    return *this;
  }
  gguf_builder& set_kv_count(std::uint64_t n) { kv_count_ = n; return *this; }
  gguf_builder& set_tensor_count(std::uint64_t n) { tensor_count_ = n; return *this; }
  /// Starts a new pair (a duplicate if the key exists).
  gguf_builder& begin(const std::string& key, std::uint32_t type) {
    entries_.push_back({key, {}});
    current_ = entries_.size() - 1;
    return u32(type);
  }
  gguf_builder& done() {
    current_ = npos;
    return *this;
  }
  [[nodiscard]] std::string bytes() const {
    std::string out = magic_;
    auto put_le = [&](std::uint64_t v, int n) {
      for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    put_le(version_, 4);
    put_le(tensor_count_.value_or(tensors_.size()), 8);
    put_le(kv_count_.value_or(entries_.size()), 8);
    for (const entry& e : entries_) {
      put_le(e.key.size(), 8);
      out += e.key;
      out += e.payload;
    }
    out += raw_;
    std::uint64_t offset = 0;
    for (const tensor& t : tensors_) {
      put_le(t.name.size(), 8);
      out += t.name;
      put_le(1, 4);
      put_le(t.values.size(), 8);
      put_le(t.type, 4);
      put_le(offset, 8);
      offset += (t.values.size() * 4 + 31) / 32 * 32;
    }
    if (!tensors_.empty()) {
      out.resize((out.size() + 31) / 32 * 32, '\0');
      for (const tensor& t : tensors_) {
        for (const float v : t.values) {
          std::uint32_t bits = 0;
          std::memcpy(&bits, &v, 4);
          put_le(bits, 4);
        }
        out.resize((out.size() + 31) / 32 * 32, '\0');
      }
    }
    return out;
  }

 private:
  struct entry {
    std::string key;
    std::string payload;
  };
  struct tensor {
    std::string name;
    std::vector<float> values;
    std::uint32_t type;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  gguf_builder& set(const std::string& key, std::uint32_t type) {
    remove(key);
    return begin(key, type);
  }
  std::string& target() { return current_ == npos ? raw_ : entries_[current_].payload; }
  gguf_builder& put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) target().push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::uint32_t version_;
  std::string magic_;
  std::vector<entry> entries_;
  std::vector<tensor> tensors_;
  std::string raw_;
  std::size_t current_ = npos;
  std::optional<std::uint64_t> kv_count_, tensor_count_;
};

std::filesystem::path write_temp(const std::string& name, const std::string& bytes) {
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_gguf_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

gguf_builder llama2() {
  gguf_builder b;
  b.add_string("general.architecture", "llama")
      .add_string("general.name", "LLaMA v2")
      .add_u32("llama.context_length", 4096)
      .add_u32("llama.embedding_length", 4096)
      .add_u32("llama.block_count", 32)
      .add_u32("llama.attention.head_count", 32)
      .add_u32("llama.attention.head_count_kv", 32)
      .add_u32("llama.rope.dimension_count", 128)
      .add_f32("llama.rope.freq_base", 10000.0f)
      .add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello"});
  return b;
}

std::string message_of(const std::filesystem::path& path) {
  try {
    (void)selfextend::read_gguf(path);
  } catch (const selfextend::invalid_params& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(GgufTest, ReadsLlamaTwoHeader) {
  const auto path = write_temp("llama2.gguf", llama2().bytes());
  const selfextend::model_info m = selfextend::read_gguf(path);
  EXPECT_EQ("LLaMA v2", m.name);
  EXPECT_EQ(4096, m.context);
  EXPECT_EQ(4096, m.max_position_embeddings);
  EXPECT_DOUBLE_EQ(10000.0, m.rope_theta);
  EXPECT_EQ(32, m.heads);
  EXPECT_EQ(32, m.kv_heads);
  EXPECT_EQ(128, m.head_dim);
  EXPECT_EQ(128, m.rotary_dims);
  EXPECT_DOUBLE_EQ(1.0, m.rotary_fraction);
  EXPECT_EQ(selfextend::rope_style::gptj, m.style);  // llama.cpp's "norm" layout for llama
  EXPECT_EQ(path.string(), m.source);
  EXPECT_TRUE(m.warnings.empty());
}

TEST(GgufTest, ReadsVersionTwoPartialRotaryKeyLengthAndAnyIntegerType) {
  gguf_builder b(2);
  b.add_string("general.architecture", "phi2")
      .add_i64("phi2.context_length", 2048)
      .add_u64("phi2.embedding_length", 2560)
      .add_u32("phi2.attention.head_count", 32)
      .add_u32("phi2.rope.dimension_count", 32)
      .add_u32("phi2.attention.key_length", 80)
      .add_string("phi2.rope.scaling.type", "linear")
      .add_f32("phi2.rope.scaling.factor", 2.0f);
  const selfextend::model_info m = selfextend::read_gguf(write_temp("phi2.gguf", b.bytes()));
  EXPECT_EQ("phi2", m.name);
  EXPECT_EQ(2048, m.context);
  EXPECT_EQ(80, m.head_dim);
  EXPECT_EQ(32, m.rotary_dims);
  EXPECT_DOUBLE_EQ(0.4, m.rotary_fraction);
  EXPECT_EQ(selfextend::rope_style::neox, m.style);
  ASSERT_EQ(1u, m.notes.size());  // freq_base absent
  ASSERT_TRUE(m.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::linear, m.rope_scaling->type);
  EXPECT_DOUBLE_EQ(2.0, m.rope_scaling->factor);
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_EQ("linear RoPE scaling \xC3\x97" "2 (the file does not state the original window): planning with L = 2048; "
            "give the original window as context to plan against it",
            m.warnings[0]);
}

TEST(GgufTest, PerLayerHeadCountsGiveTheLargest) {
  gguf_builder b;
  b.add_string("general.architecture", "openelm")
      .add_u32("openelm.context_length", 2048)
      .add_u32_array("openelm.attention.head_count", {12, 16, 20})
      .add_u32_array("openelm.attention.head_count_kv", {3, 4, 5})
      .add_u32("openelm.attention.key_length", 64);
  const selfextend::model_info m = selfextend::read_gguf(write_temp("openelm.gguf", b.bytes()));
  EXPECT_EQ(20, m.heads);
  EXPECT_EQ(5, m.kv_heads);
}

TEST(GgufTest, TruncatedFilesFailAtEveryCut) {
  const std::string full = llama2().bytes();
  // Cutting anywhere before the last key/value pair ends must give a message, never a crash.
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    const auto path = write_temp("cut.gguf", full.substr(0, cut));
    const std::string message = message_of(path);
    SCOPED_TRACE("cut at " + std::to_string(cut));
    EXPECT_EQ(0u, message.find("gguf = " + path.string() + ": ")) << message;
  }
  // Header 24 bytes, general.architecture 45 bytes, then llama.context_length's 8 + 20 + 4 byte
  // key and type: its uint32 value starts at byte 101.
  gguf_builder two;
  two.add_string("general.architecture", "llama").add_u32("llama.context_length", 4096);
  const auto in_value = write_temp("cut.gguf", two.bytes().substr(0, 103));
  EXPECT_EQ("gguf = " + in_value.string() +
                ": is truncated: at byte 101 the value of key 'llama.context_length' needs 4 bytes, only 2 remain",
            message_of(in_value));
  const auto in_key = write_temp("cut.gguf", full.substr(0, 160));
  EXPECT_EQ("gguf = " + in_key.string() +
                ": declares a key name of 22 bytes at byte 145, more than the 7 bytes left in the file",
            message_of(in_key));
  // Short cuts fail on the count first: ten pairs cannot fit in what is left.
  const auto short_cut = write_temp("short.gguf", full.substr(0, 30));
  EXPECT_EQ("gguf = " + short_cut.string() + ": declares 10 key/value pairs, more than its 6 remaining bytes can hold",
            message_of(short_cut));
}

TEST(GgufTest, WrongMagicAndVersionAreRejected) {
  const auto bad_magic = write_temp("magic.gguf", gguf_builder(3, "GGML").bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(bad_magic), selfextend::invalid_params,
                   "gguf = " + bad_magic.string() + ": is not a GGUF file (magic 'GGML', expected 'GGUF')");
  const auto v1 = write_temp("v1.gguf", gguf_builder(1).bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(v1), selfextend::invalid_params,
                   "gguf = " + v1.string() + ": is GGUF version 1 (32-bit counts), which is not supported; re-convert the model");
  const auto big_endian = write_temp("be.gguf", gguf_builder(0x03000000).bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(big_endian), selfextend::invalid_params,
                   "gguf = " + big_endian.string() +
                       ": has unsupported GGUF version 50331648 (2 and 3 are read; a big-endian file?)");
  const auto missing = std::filesystem::temp_directory_path() / "sxplan_gguf_test" / "absent.gguf";
  EXPECT_THROW_MSG((void)selfextend::read_gguf(missing), selfextend::invalid_params,
                   "gguf = " + missing.string() + ": cannot be opened for reading");
}

TEST(GgufTest, HugeCountsAndLengthsAreRejectedBeforeAllocating) {
  gguf_builder kv = llama2();
  kv.set_kv_count(0xffffffffffffffffULL);
  const auto kv_path = write_temp("kv.gguf", kv.bytes());
  EXPECT_EQ(0u, message_of(kv_path).find("gguf = " + kv_path.string() + ": declares 18446744073709551615 key/value pairs"));

  gguf_builder tensors = llama2();
  tensors.set_tensor_count(1ULL << 40);
  const auto tensors_path = write_temp("tensors.gguf", tensors.bytes());
  EXPECT_NE(std::string::npos, message_of(tensors_path).find("declares 1099511627776 tensors"));

  gguf_builder key;
  key.u64(1ULL << 62);  // key name length
  key.set_kv_count(1);
  const auto key_path = write_temp("key.gguf", key.bytes() + std::string(20, 'x'));
  EXPECT_EQ("gguf = " + key_path.string() +
                ": declares a key name of 4611686018427387904 bytes at byte 24, more than the 20 bytes left in the file",
            message_of(key_path));

  gguf_builder array;
  array.add_string("general.architecture", "llama").begin("tokenizer.ggml.tokens", 9).u32(8).u64(1ULL << 60);
  array.done();
  const auto array_path = write_temp("array.gguf", array.bytes());
  EXPECT_EQ("gguf = " + array_path.string() +
                ": key 'tokenizer.ggml.tokens' declares an array of 1152921504606846976 string values, more than the 0 "
                "bytes left in the file can hold",
            message_of(array_path));

  gguf_builder value;
  value.add_string("general.architecture", "llama").begin("general.name", 8).u64(1ULL << 33);
  value.done();
  const auto value_path = write_temp("value.gguf", value.bytes());
  EXPECT_NE(std::string::npos, message_of(value_path).find("declares a string value of key 'general.name' of 8589934592 bytes"));
}

TEST(GgufTest, WrongTypesAndMissingKeysNameTheKey) {
  gguf_builder string_context;
  string_context.add_string("general.architecture", "llama").add_string("llama.context_length", "4096");
  const auto p1 = write_temp("t1.gguf", string_context.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p1), selfextend::invalid_params,
                   "gguf = " + p1.string() + ": key 'llama.context_length' must be an integer, got string");

  gguf_builder float_heads = llama2();
  float_heads.add_f32("llama.attention.head_count", 32.0f);
  const auto p2 = write_temp("t2.gguf", float_heads.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p2), selfextend::invalid_params,
                   "gguf = " + p2.string() + ": key 'llama.attention.head_count' must be an integer, got float32");

  gguf_builder no_arch;
  no_arch.add_u32("llama.context_length", 4096);
  const auto p3 = write_temp("t3.gguf", no_arch.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p3), selfextend::invalid_params,
                   "gguf = " + p3.string() + ": key 'general.architecture' is missing");

  gguf_builder no_context;
  no_context.add_string("general.architecture", "llama").add_u32("llama.attention.head_count", 32);
  const auto p4 = write_temp("t4.gguf", no_context.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p4), selfextend::invalid_params,
                   "gguf = " + p4.string() + ": key 'llama.context_length' is missing; give the context L");

  gguf_builder unknown_type;
  unknown_type.add_string("general.architecture", "llama").begin("llama.context_length", 13).u32(4096);
  unknown_type.done();
  const auto p5 = write_temp("t5.gguf", unknown_type.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p5), selfextend::invalid_params,
                   "gguf = " + p5.string() + ": key 'llama.context_length' has unknown value type 13 at byte 97");

  gguf_builder array_context = llama2();
  array_context.add_u32_array("llama.context_length", {4096});
  const auto p6 = write_temp("t6.gguf", array_context.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p6), selfextend::invalid_params,
                   "gguf = " + p6.string() + ": key 'llama.context_length' must be an integer, got an array");

  gguf_builder tiny_context = llama2();
  tiny_context.add_u32("llama.context_length", 1);
  const auto p7 = write_temp("t7.gguf", tiny_context.bytes());
  EXPECT_THROW_MSG((void)selfextend::read_gguf(p7), selfextend::invalid_params,
                   "gguf = " + p7.string() + ": key 'llama.context_length' = 1: must be at least 2");
}

namespace {

/// Llama-3.1-8B as llama.cpp's converter writes it: no rope.scaling key, a rope_freqs tensor with
/// the llama3 rule's per-pair divisors (factor 8, low 1, high 4, original 8192, theta 500000).
std::vector<float> llama31_rope_freqs() {
  std::vector<float> f;
  const double pi = 3.14159265358979323846;
  for (int c = 0; c < 64; ++c) {
    const double freq = 1.0 / std::pow(500000.0, 2.0 * c / 128.0);
    const double wavelen = 2 * pi / freq;
    const double low_wavelen = 8192.0 / 1.0, high_wavelen = 8192.0 / 4.0;
    if (wavelen < high_wavelen) {
      f.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      f.push_back(8.0f);
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
      f.push_back(static_cast<float>(1.0 / ((1 - smooth) / 8.0 + smooth)));
    }
  }
  return f;
}

gguf_builder llama31() {
  gguf_builder b;
  b.add_string("general.architecture", "llama")
      .add_string("general.name", "Meta Llama 3.1 8B")
      .add_u32("llama.context_length", 131072)
      .add_u32("llama.embedding_length", 4096)
      .add_u32("llama.block_count", 32)
      .add_u32("llama.attention.head_count", 32)
      .add_u32("llama.attention.head_count_kv", 8)
      .add_u32("llama.rope.dimension_count", 128)
      .add_f32("llama.rope.freq_base", 500000.0f)
      .add_f32_tensor("token_embd.weight", std::vector<float>(8, 0.5f))
      .add_f32_tensor("rope_freqs.weight", llama31_rope_freqs());
  return b;
}

}  // namespace

TEST(GgufTest, RopeFreqsTensorIsLlamaThreeScalingWithItsData) {
  const auto path = write_temp("llama31.gguf", llama31().bytes());
  const selfextend::model_info m = selfextend::read_gguf(path);
  EXPECT_EQ(131072, m.context);
  EXPECT_EQ(8, m.kv_heads);
  EXPECT_DOUBLE_EQ(500000.0, m.rope_theta);
  ASSERT_TRUE(m.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::llama3, m.rope_scaling->type);
  const std::vector<float> expected = llama31_rope_freqs();
  ASSERT_EQ(64u, m.rope_scaling->freq_factors.size());
  for (std::size_t c = 0; c < 64; ++c) EXPECT_EQ(static_cast<double>(expected[c]), m.rope_scaling->freq_factors[c]) << c;
  EXPECT_DOUBLE_EQ(8.0, m.rope_scaling->factor);  // the largest divisor
  EXPECT_FALSE(m.rope_scaling->original_context.has_value());
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_NE(std::string::npos, m.warnings[0].find("llama3 RoPE scaling"));
  EXPECT_LE(m.warnings[0].size(), 200u);
  EXPECT_NE(std::string::npos, m.sources.at("rope_scaling").find("rope_freqs tensor"));
}

TEST(GgufTest, RopeFreqsOfLlamaThreeOneGiveTheFrequenciesOfTheConfigRule) {
  // The GGUF's divisors rotate as config.json's llama3 rule does (float32 divisors: ~1e-7), with
  // the same pairs kept, blended and divided.
  const auto path = write_temp("llama31-rope.gguf", llama31().bytes());
  const selfextend::rope_frequencies from_gguf = selfextend::evaluate_rope(selfextend::rope_rule_of(selfextend::read_gguf(path)));
  const selfextend::rope_frequencies from_config =
      selfextend::evaluate_rope(selfextend::rope_rule_of(selfextend::find_model("llama-3.1-8b")));
  ASSERT_EQ(64u, from_gguf.inv_freq.size());
  for (std::size_t c = 0; c < 64; ++c) {
    EXPECT_NEAR(from_config.inv_freq[c], from_gguf.inv_freq[c], 1e-7 * from_config.inv_freq[c]) << c;
    EXPECT_EQ(from_config.change[c], from_gguf.change[c]) << c;
  }
}

TEST(GgufTest, LongRopeFactorTensorsAndDeepSeekYarnKeys) {
  gguf_builder phi;
  std::vector<float> longf(48), shortf(48);
  for (std::size_t i = 0; i < 48; ++i) {
    longf[i] = 1.0f + static_cast<float>(i);
    shortf[i] = 1.0f + 0.01f * static_cast<float>(i);
  }
  phi.add_string("general.architecture", "phi3")
      .add_u32("phi3.context_length", 131072)
      .add_u32("phi3.embedding_length", 3072)
      .add_u32("phi3.attention.head_count", 32)
      .add_u32("phi3.attention.head_count_kv", 32)
      .add_u32("phi3.rope.dimension_count", 96)
      .add_u32("phi3.rope.scaling.original_context_length", 4096)
      .add_f32("phi3.rope.scaling.attn_factor", 1.1902380f)
      .add_u32("phi3.attention.sliding_window", 262144)
      .add_f32_tensor("rope_factors_long.weight", longf)
      .add_f32_tensor("rope_factors_short.weight", shortf);
  const selfextend::model_info m = selfextend::read_gguf(write_temp("phi35.gguf", phi.bytes()));
  ASSERT_TRUE(m.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::longrope, m.rope_scaling->type);
  EXPECT_EQ(4096, m.rope_scaling->original_context);
  EXPECT_DOUBLE_EQ(32.0, m.rope_scaling->factor);
  EXPECT_FLOAT_EQ(1.1902380f, static_cast<float>(*m.rope_scaling->attention_factor));
  ASSERT_EQ(48u, m.rope_scaling->long_factor.size());
  EXPECT_DOUBLE_EQ(48.0, m.rope_scaling->long_factor[47]);
  EXPECT_FLOAT_EQ(1.47f, static_cast<float>(m.rope_scaling->short_factor[47]));
  EXPECT_FALSE(m.sliding_window.has_value());  // 262144 >= L
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_EQ("longrope RoPE scaling \xC3\x97" "32 from 4096: planning with L = 131072; give context 4096 to plan against the original window",
            m.warnings[0]);

  gguf_builder ds;
  ds.add_string("general.architecture", "deepseek2")
      .add_u32("deepseek2.context_length", 163840)
      .add_u32("deepseek2.embedding_length", 2048)
      .add_u32("deepseek2.block_count", 27)
      .add_u32("deepseek2.attention.head_count", 16)
      .add_u32("deepseek2.attention.head_count_kv", 1)
      .add_u32("deepseek2.attention.key_length", 576)
      .add_u32("deepseek2.attention.key_length_mla", 192)
      .add_u32("deepseek2.rope.dimension_count", 64)
      .add_f32("deepseek2.rope.freq_base", 10000.0f)
      .add_string("deepseek2.rope.scaling.type", "yarn")
      .add_f32("deepseek2.rope.scaling.factor", 40.0f)
      .add_u32("deepseek2.rope.scaling.original_context_length", 4096)
      .add_f32("deepseek2.rope.scaling.yarn_log_multiplier", 0.0707f);
  const selfextend::model_info d = selfextend::read_gguf(write_temp("dsv2.gguf", ds.bytes()));
  EXPECT_EQ(192, d.head_dim);
  EXPECT_EQ(64, d.rotary_dims);
  EXPECT_EQ(selfextend::rope_style::gptj, d.style);
  ASSERT_TRUE(d.rope_scaling.has_value());
  EXPECT_EQ(selfextend::rope_scaling_type::yarn, d.rope_scaling->type);
  EXPECT_DOUBLE_EQ(40.0, d.rope_scaling->factor);
  EXPECT_NEAR(0.707, *d.rope_scaling->mscale_all_dim, 1e-6);
}

TEST(GgufTest, RopeTensorsOfTheWrongSizeOrTypeAreRejected) {
  gguf_builder short_freqs = llama31();
  short_freqs.add_f32_tensor("rope_freqs.weight", std::vector<float>(10, 1.0f));
  // A second tensor of the same name is a duplicate.
  EXPECT_NE(std::string::npos, message_of(write_temp("dup_tensor.gguf", short_freqs.bytes())).find("has tensor 'rope_freqs.weight' twice"));
  gguf_builder wrong = llama31();
  wrong.add_f32_tensor("rope_factors_long.weight", std::vector<float>(64, 1.0f));
  EXPECT_NE(std::string::npos, message_of(write_temp("half.gguf", wrong.bytes())).find("only one of the tensors rope_factors_long"));
  gguf_builder f16;
  f16.add_string("general.architecture", "llama").add_u32("llama.context_length", 4096).add_u32("llama.embedding_length", 4096)
      .add_u32("llama.attention.head_count", 32).add_f32_tensor("rope_freqs.weight", std::vector<float>(64, 1.0f), 1);
  EXPECT_NE(std::string::npos, message_of(write_temp("f16.gguf", f16.bytes())).find("tensor 'rope_freqs' has ggml type 1; f32 (0) is required"));
}

TEST(GgufTest, DuplicateKeysAreRejected) {
  gguf_builder b = llama2();
  b.begin("llama.context_length", 4).u32(8192);
  b.done();
  const auto path = write_temp("dup.gguf", b.bytes());
  const std::string message = message_of(path);
  EXPECT_NE(std::string::npos, message.find("has key 'llama.context_length' twice"));
  EXPECT_NE(std::string::npos, message.find("duplicate keys are invalid"));
}

TEST(GgufTest, PerLayerHeadCountsOfZeroOrLessAreRejected) {
  gguf_builder zero = llama2();
  zero.add_u32_array("llama.attention.head_count_kv", {8, 0, 8});
  EXPECT_EQ("gguf = " + write_temp("zero.gguf", zero.bytes()).string() +
                ": key 'llama.attention.head_count_kv' has 0 at layer 1; every layer needs at least 1",
            message_of(write_temp("zero.gguf", zero.bytes())));
  gguf_builder negative = llama2();
  negative.add_i32_array("llama.attention.head_count", {32, -4});
  EXPECT_EQ("gguf = " + write_temp("neg.gguf", negative.bytes()).string() +
                ": key 'llama.attention.head_count' has -4 at layer 1; every layer needs at least 1",
            message_of(write_temp("neg.gguf", negative.bytes())));
  gguf_builder scalar = llama2();
  scalar.add_i32("llama.attention.head_count", 0);
  EXPECT_NE(std::string::npos, message_of(write_temp("scalar0.gguf", scalar.bytes())).find("head_count' must be at least 1"));
}

TEST(GgufTest, HugeKeyAndMillionElementArrayReadInLinearWork) {
  // The hostile file: a 65,535-byte key on a million-element array (about 1 MB). Names
  // were once built per element (65 GB of string building); now they are built only on error,
  // so this reads in the time of a 1 MB file. No timing is asserted (tests never time); a
  // regression shows as a test that takes minutes.
  gguf_builder b = llama2();
  const std::string key(65535, 'k');
  b.begin(key, 9).u32(0).u64(1000000);  // uint8 array
  for (int i = 0; i < 125000; ++i) b.u64(0);
  b.done();
  const std::string bytes = b.bytes();
  ASSERT_GT(bytes.size(), 1000000u);
  const selfextend::model_info m = selfextend::read_gguf(write_temp("hostile_key.gguf", bytes));
  EXPECT_EQ(4096, m.context);
  // The same with a wanted per-layer key (its elements are read one by one).
  gguf_builder per_layer = llama2();
  per_layer.remove("llama.attention.head_count_kv").begin("llama.attention.head_count_kv", 9).u32(0).u64(1000000);
  for (int i = 0; i < 1000000; ++i) per_layer.target_byte(static_cast<char>(i % 32 == 0 ? 32 : 1 + i % 31));
  per_layer.done();
  EXPECT_EQ(32, selfextend::read_gguf(write_temp("hostile_array.gguf", per_layer.bytes())).kv_heads);
  // A long key in an error message is cut and made printable.
  gguf_builder bad = llama2();
  bad.begin(std::string(70000, 'x') + "\n", 13).u32(1);
  bad.done();
  EXPECT_NE(std::string::npos, message_of(write_temp("long_key.gguf", bad.bytes())).find("longer than 65535 bytes"));
}

TEST(GgufTest, ControlBytesAndInvalidUtf8InNamesAreEscaped) {
  gguf_builder b = llama2();
  b.add_string("general.name", std::string("evil\x1b[2J\nname\xff\xc3\xa9"));
  const selfextend::model_info m = selfextend::read_gguf(write_temp("evil.gguf", b.bytes()));
  EXPECT_EQ("evil\\x1b[2J\\x0aname\\xff\xc3\xa9", m.name);  // escapes; the valid "é" stays
}

TEST(GgufTest, AlibiAndAbsoluteArchitecturesAreMarked) {
  gguf_builder mpt;
  mpt.add_string("general.architecture", "mpt").add_u32("mpt.context_length", 2048).add_u32("mpt.embedding_length", 4096)
      .add_u32("mpt.attention.head_count", 32);
  const selfextend::model_info m = selfextend::read_gguf(write_temp("mpt.gguf", mpt.bytes()));
  EXPECT_EQ(selfextend::position_encoding::alibi, m.encoding);
  EXPECT_THROW_MSG(selfextend::require_rope(m, "gguf", "mpt.gguf"), selfextend::invalid_params,
                   "gguf = mpt.gguf: model mpt uses alibi position encoding (general.architecture mpt (llama.cpp's handling)); "
                   "Self-Extend remaps RoPE positions only");
}

namespace {

/// A GGUF header of architecture `arch` with 8 layers, 8 heads of 128 and L = 131072.
gguf_builder layered(const std::string& arch) {
  gguf_builder b;
  b.add_string("general.architecture", arch)
      .add_u32(arch + ".context_length", 131072)
      .add_u32(arch + ".embedding_length", 1024)
      .add_u32(arch + ".block_count", 8)
      .add_u32(arch + ".attention.head_count", 8)
      .add_u32(arch + ".attention.head_count_kv", 8)
      .add_f32(arch + ".rope.freq_base", 500000.0f);
  return b;
}

}  // namespace

// llama.cpp's graphs (src/models/<arch>.cpp): the layer kinds a GGUF implies without stating them.
TEST(GgufTest, LayerMapsFollowLlamaCppsFixedRules) {
  {  // llama4: every 4th layer NoPE and full, the others chunked by 8192: nothing for Self-Extend.
    const selfextend::model_info m = selfextend::read_gguf(write_temp("llama4.gguf", layered("llama4").bytes()));
    EXPECT_EQ(selfextend::describe_layer_map(m), "0-7: (3 layers chunked 8192 \xCE\xB8 5e5, 1 layer full NoPE) \xC3\x97 2");
    EXPECT_TRUE(selfextend::self_extend_not_applicable(m));
    EXPECT_EQ(m.style, selfextend::rope_style::gptj);
    EXPECT_FALSE(m.query_temperature.empty());
  }
  {  // llama4 with sliding_window 0 (the converter's mark for all-full layers): no chunks.
    gguf_builder b = layered("llama4");
    b.add_u32("llama4.attention.sliding_window", 0);
    const selfextend::model_info m = selfextend::read_gguf(write_temp("llama4_full.gguf", b.bytes()));
    EXPECT_EQ(selfextend::self_extend_coverage(m).extended, 8);
  }
  {  // gemma3: one full layer in 6; the local layers rotate at 10000 without the model's scaling.
    gguf_builder b = layered("gemma3");
    b.add_u32("gemma3.attention.sliding_window", 1024).add_string("gemma3.rope.scaling.type", "linear").add_f32("gemma3.rope.scaling.factor", 8.0f);
    const selfextend::model_info m = selfextend::read_gguf(write_temp("gemma3.gguf", b.bytes()));
    EXPECT_EQ(selfextend::describe_layer_map(m),
              "0-4 sliding 1024 \xCE\xB8 1e4; 5 full \xCE\xB8 5e5 linear \xC3\x97" "8; 6-7 sliding 1024 \xCE\xB8 1e4");
    EXPECT_EQ(m.style, selfextend::rope_style::neox);
  }
  {  // rope.freq_base_swa names the local base; sliding_window_pattern the period.
    gguf_builder b = layered("gemma3");
    b.add_u32("gemma3.attention.sliding_window", 1024).add_f32("gemma3.rope.freq_base_swa", 20000.0f)
        .add_u32("gemma3.attention.sliding_window_pattern", 4);
    const selfextend::model_info m = selfextend::read_gguf(write_temp("gemma3_swa.gguf", b.bytes()));
    EXPECT_EQ(selfextend::describe_layer_map(m), "0-7: (3 layers sliding 1024 \xCE\xB8 2e4, 1 layer full \xCE\xB8 5e5) \xC3\x97 2");
  }
  {  // cohere2: only the sliding layers rotate, so Self-Extend has nothing to extend.
    gguf_builder b = layered("cohere2");
    b.add_u32("cohere2.attention.sliding_window", 4096);
    const selfextend::model_info m = selfextend::read_gguf(write_temp("cohere2.gguf", b.bytes()));
    EXPECT_EQ(selfextend::describe_layer_map(m), "0-7: (3 layers sliding 4096 \xCE\xB8 5e5, 1 layer full NoPE) \xC3\x97 2");
    EXPECT_TRUE(selfextend::self_extend_not_applicable(m));
  }
  {  // gpt-oss: alternating sliding and full layers, and attention sinks.
    gguf_builder b = layered("gpt-oss");
    b.add_u32("gpt-oss.attention.sliding_window", 128);
    const selfextend::model_info m = selfextend::read_gguf(write_temp("gpt_oss.gguf", b.bytes()));
    EXPECT_EQ(selfextend::self_extend_coverage(m).extended, 4);
    EXPECT_EQ(selfextend::self_extend_coverage(m).windowed, 4);
    EXPECT_TRUE(m.attention_sinks);
    EXPECT_EQ(m.style, selfextend::rope_style::neox);
  }
  {  // smollm3: every 4th layer NoPE, the rest extended.
    const selfextend::model_info m = selfextend::read_gguf(write_temp("smollm3.gguf", layered("smollm3").bytes()));
    EXPECT_EQ(selfextend::self_extend_coverage(m).no_rope, 2);
    EXPECT_EQ(selfextend::self_extend_coverage(m).extended, 6);
  }
}
