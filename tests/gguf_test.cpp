// gguf_test - Unit tests for gguf.hpp: reading GGUF headers, on files the tests write themselves
// (valid, truncated, wrong magic, huge counts, wrong types).
#include <selfextend/gguf.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_helpers.hpp"

namespace {

/// Writes GGUF bytes little-endian, one key/value pair at a time.
class gguf_builder {
 public:
  explicit gguf_builder(std::uint32_t version = 3, std::string magic = "GGUF") {
    bytes_.insert(bytes_.end(), magic.begin(), magic.end());
    u32(version);
    u64(0);  // tensor count
    count_at_ = bytes_.size();
    u64(0);  // key/value count, patched by each add
  }
  gguf_builder& add_u32(const std::string& key, std::uint32_t v) { return begin(key, 4).u32(v).done(); }
  gguf_builder& add_i64(const std::string& key, std::int64_t v) {
    return begin(key, 11).u64(static_cast<std::uint64_t>(v)).done();
  }
  gguf_builder& add_u64(const std::string& key, std::uint64_t v) { return begin(key, 10).u64(v).done(); }
  gguf_builder& add_f32(const std::string& key, float v) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    return begin(key, 6).u32(bits).done();
  }
  gguf_builder& add_string(const std::string& key, const std::string& v) { return begin(key, 8).str(v).done(); }
  gguf_builder& add_u32_array(const std::string& key, const std::vector<std::uint32_t>& v) {
    begin(key, 9).u32(4).u64(v.size());
    for (const std::uint32_t x : v) u32(x);
    return done();
  }
  gguf_builder& add_string_array(const std::string& key, const std::vector<std::string>& v) {
    begin(key, 9).u32(8).u64(v.size());
    for (const std::string& x : v) str(x);
    return done();
  }
  /// Raw access for hostile files.
  gguf_builder& u32(std::uint32_t v) { return put(v, 4); }
  gguf_builder& u64(std::uint64_t v) { return put(v, 8); }
  gguf_builder& str(const std::string& s) {
    u64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  gguf_builder& set_kv_count(std::uint64_t n) {
    for (int i = 0; i < 8; ++i) bytes_[count_at_ + static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return *this;
  }
  gguf_builder& set_tensor_count(std::uint64_t n) {
    for (int i = 0; i < 8; ++i) bytes_[8 + static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return *this;
  }
  gguf_builder& begin(const std::string& key, std::uint32_t type) {
    str(key);
    return u32(type);
  }
  gguf_builder& done() {
    ++kv_;
    return set_kv_count(kv_);
  }
  [[nodiscard]] const std::string& bytes() const { return bytes_; }

 private:
  gguf_builder& put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
  std::size_t count_at_ = 0;
  std::uint64_t kv_ = 0;
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
      .add_string("phi2.rope.scaling.type", "linear");
  const selfextend::model_info m = selfextend::read_gguf(write_temp("phi2.gguf", b.bytes()));
  EXPECT_EQ("phi2", m.name);
  EXPECT_EQ(2048, m.context);
  EXPECT_EQ(80, m.head_dim);
  EXPECT_EQ(32, m.rotary_dims);
  EXPECT_DOUBLE_EQ(0.4, m.rotary_fraction);
  EXPECT_EQ(selfextend::rope_style::neox, m.style);
  ASSERT_EQ(1u, m.notes.size());  // freq_base absent
  ASSERT_EQ(1u, m.warnings.size());
  EXPECT_NE(std::string::npos, m.warnings[0].find("already context-scaled"));
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
  float_heads.add_f32("llama.attention.head_count", 32.0f);  // a later duplicate replaces the first
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
                   "gguf = " + p4.string() + ": key 'llama.context_length' is missing");

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
