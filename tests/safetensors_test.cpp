// safetensors_test - Unit tests for safetensors.hpp: the strict .safetensors reader.
#include <selfextend/safetensors.hpp>

#include <cstring>
#include <filesystem>
#include <sstream>

#include <selfextend/position_tables.hpp>
#include <selfextend/table_writers.hpp>

#include "test_helpers.hpp"

namespace {

std::vector<std::byte> image(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  s += header + data;
  std::vector<std::byte> out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    (void)selfextend::parse_safetensors(bytes, "input", "t.safetensors");
  } catch (const selfextend::invalid_params& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(SafetensorsTest, ReadsBackTheTableWritersOutputExactly) {
  for (const auto shift : {selfextend::shift_rule::integer, selfextend::shift_rule::fractional}) {
    const selfextend::plan p{3, 7, shift};
    const auto path = std::filesystem::temp_directory_path() / "sxplan_safetensors_roundtrip.safetensors";
    selfextend::table_request request;
    request.extension = p;
    request.tokens = 50;
    request.format = selfextend::table_format::safetensors;
    (void)selfextend::write_position_table(path, request);
    const auto file = selfextend::read_safetensors(path, "input");
    const auto tables = selfextend::build_position_tables(p, 50);
    ASSERT_EQ(4u, file.tensors.size());
    EXPECT_EQ(tables.neighbor_query_position, file.tensors.at("neighbor_query_position").to_int64());
    EXPECT_EQ(tables.group_key_position, file.tensors.at("group_key_position").to_int64());
    if (shift == selfextend::shift_rule::integer) {
      EXPECT_EQ(tables.group_query_position, file.tensors.at("group_query_position").to_int64());
    } else {
      EXPECT_EQ(tables.group_query_position_real, file.tensors.at("group_query_position").to_doubles());
    }
    EXPECT_FALSE(file.metadata.empty());
  }
}

TEST(SafetensorsTest, ParsesTensorsAndMetadata) {
  const std::string data = std::string("\x01\x00\x00\x00\x02\x00\x00\x00", 8) + std::string(8, '\0');
  const auto file = selfextend::parse_safetensors(
      image(R"({"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})",
            data),
      "input", "t.safetensors");
  EXPECT_EQ((std::vector<std::int64_t>{1, 2}), file.tensors.at("a").to_int64());
  EXPECT_EQ((std::vector<double>{0.0}), file.tensors.at("b").to_doubles());
  EXPECT_EQ("v", file.metadata.at("k"));
}

TEST(SafetensorsTest, RejectsMalformedFilesWithClearMessages) {
  const std::string eight(8, '\0');
  EXPECT_EQ("input = t.safetensors: is too short for a .safetensors file (needs an 8-byte header length)",
            error_of(std::vector<std::byte>(3)));
  auto huge = image("{}", "");
  huge[7] = std::byte{0x7f};
  EXPECT_EQ("input = t.safetensors: header length 9151314442816847874 exceeds the format's 100 MB limit", error_of(huge));
  auto truncated = image("{}", "");
  truncated[0] = std::byte{50};
  EXPECT_EQ("input = t.safetensors: is truncated: the header needs 50 bytes, 2 remain", error_of(truncated));
  EXPECT_EQ("input = t.safetensors: header is not valid JSON (syntax error)", error_of(image("{x}", "")));
  EXPECT_EQ("input = t.safetensors: header must be a JSON object", error_of(image("[]", "")));
  EXPECT_EQ("input = t.safetensors: tensor \"a\": dtype BF16 is not supported (F32, F64, I32, I64 only)",
            error_of(image(R"({"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: tensor \"a\": data_offsets span 8 bytes, the shape needs 4",
            error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: tensor \"a\": data_offsets [8, 16] lie outside the 8-byte data",
            error_of(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight)));
  EXPECT_EQ("input = t.safetensors: tensor \"a\": shape needs more bytes than the file holds",
            error_of(image(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: tensor \"a\": shape entries must be non-negative integers",
            error_of(image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: tensor \"b\" overlaps another tensor's bytes",
            error_of(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: the data has a hole before tensor \"a\"",
            error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight)));
  EXPECT_EQ("input = t.safetensors: the data has 4 bytes no tensor describes",
            error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight)));
  EXPECT_EQ("input = t.safetensors: \"__metadata__\" value \"k\" must be a string",
            error_of(image(R"({"__metadata__":{"k":1}})", "")));
  EXPECT_THROW((void)selfextend::read_safetensors(std::filesystem::temp_directory_path(), "input"), selfextend::invalid_params);
  EXPECT_THROW((void)selfextend::read_safetensors("/dev/zero", "input"), selfextend::invalid_params);
}

TEST(SafetensorsTest, WriterOutputParsesBackUnchanged) {
  selfextend::safetensors_file file;
  const std::vector<double> inv{1.0, 0.1, 0.01};
  const std::vector<float> cos{1, 2, 3, 4, 5, 6};
  const std::vector<std::int32_t> ids{7};
  const std::vector<std::int64_t> big{-1, 1LL << 40};
  file.tensors["inv_freq"] = selfextend::npy_array::from(std::span<const double>(inv), {3});
  file.tensors["cos"] = selfextend::npy_array::from(std::span<const float>(cos), {2, 3});
  file.tensors["id"] = selfextend::npy_array::from(std::span<const std::int32_t>(ids), {1});
  file.tensors["big"] = selfextend::npy_array::from(std::span<const std::int64_t>(big), {2});
  file.metadata = {{"rope_type", "yarn"}, {"attention_factor", "1.25"}};
  const std::string bytes = selfextend::safetensors_bytes(file);
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ(0u, header % 8);  // data 8-byte aligned
  const auto* first = reinterpret_cast<const std::byte*>(bytes.data());
  EXPECT_EQ(file, selfextend::parse_safetensors({first, bytes.size()}, "file", "memory"));
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "sxplan-writer-test.safetensors";
  selfextend::write_safetensors(path, file);
  EXPECT_EQ(file, selfextend::read_safetensors(path, "file"));
  std::filesystem::remove(path);
}
