// safetensors.cpp - strict .safetensors reader: every size is checked before anything is copied.
#include <selfextend/safetensors.hpp>

#include <algorithm>
#include <cstring>
#include <tuple>

#include <boost/json.hpp>

#include <selfextend/atomic_output.hpp>

#include "checked_math.hpp"
#include "whole_file.hpp"

namespace selfextend {

namespace {

namespace json = boost::json;

struct span_entry {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::string name;
};

std::uint64_t to_offset(const json::value& v, bool& ok) {
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<std::uint64_t>(v.as_int64());
  ok = false;
  return 0;
}

}  // namespace

safetensors_file parse_safetensors(std::span<const std::byte> bytes, std::string_view key, std::string_view source) {
  const auto fail = [&](const std::string& rule) { throw invalid_params(std::string(key), std::string(source), rule); };
  if (bytes.size() < 8) fail("is too short for a .safetensors file (needs an 8-byte header length)");
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(i)]);
  constexpr std::uint64_t max_header = 100'000'000;  // the format's own limit
  if (header_length > max_header) fail("header length " + std::to_string(header_length) + " exceeds the format's 100 MB limit");
  if (header_length > bytes.size() - 8)
    fail("is truncated: the header needs " + std::to_string(header_length) + " bytes, " +
         std::to_string(bytes.size() - 8) + " remain");
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<std::size_t>(header_length));
  json::error_code ec;
  const json::value header = json::parse(header_text, ec);
  if (ec) fail("header is not valid JSON (" + ec.message() + ")");
  if (!header.is_object()) fail("header must be a JSON object");

  const std::span<const std::byte> data = bytes.subspan(8 + static_cast<std::size_t>(header_length));
  safetensors_file out;
  std::vector<span_entry> spans;
  for (const auto& [name_view, entry] : header.as_object()) {
    const std::string name(name_view);
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("\"__metadata__\" must be an object of strings");
      for (const auto& [k, v] : entry.as_object()) {
        if (!v.is_string()) fail("\"__metadata__\" value \"" + std::string(k) + "\" must be a string");
        out.metadata[std::string(k)] = std::string(v.as_string());
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\"";
    if (!entry.is_object()) fail(where + " must be an object");
    const json::object& t = entry.as_object();
    const json::value* dtype = t.if_contains("dtype");
    const json::value* shape = t.if_contains("shape");
    const json::value* offsets = t.if_contains("data_offsets");
    if (!dtype || !dtype->is_string()) fail(where + ": \"dtype\" must be a string");
    if (!shape || !shape->is_array()) fail(where + ": \"shape\" must be an array of integers");
    if (!offsets || !offsets->is_array() || offsets->as_array().size() != 2)
      fail(where + ": \"data_offsets\" must be [begin, end]");
    npy_array a;
    const json::string& d = dtype->as_string();
    if (d == "F32") a.dtype = npy_dtype::f4;
    else if (d == "F64") a.dtype = npy_dtype::f8;
    else if (d == "I32") a.dtype = npy_dtype::i4;
    else if (d == "I64") a.dtype = npy_dtype::i8;
    else fail(where + ": dtype " + std::string(d) + " is not supported (F32, F64, I32, I64 only)");
    detail::wide_int needed = static_cast<detail::wide_int>(item_size(a.dtype));
    if (shape->as_array().size() > 32) fail(where + ": shape has more than 32 dimensions");
    for (const json::value& dim : shape->as_array()) {
      if (!dim.is_int64() || dim.as_int64() < 0) {
        if (!(dim.is_uint64())) fail(where + ": shape entries must be non-negative integers");
        fail(where + ": a shape entry does not fit in 64 bits");
      }
      a.shape.push_back(dim.as_int64());
      needed *= dim.as_int64();
      if (needed > static_cast<detail::wide_int>(data.size())) fail(where + ": shape needs more bytes than the file holds");
    }
    bool ok = true;
    const std::uint64_t begin = to_offset(offsets->as_array()[0], ok);
    const std::uint64_t end = to_offset(offsets->as_array()[1], ok);
    if (!ok) fail(where + ": data_offsets must be non-negative integers");
    if (begin > end || end > data.size())
      fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the " +
           std::to_string(data.size()) + "-byte data");
    if (static_cast<detail::wide_int>(end - begin) != needed)
      fail(where + ": data_offsets span " + std::to_string(end - begin) + " bytes, the shape needs " +
           std::to_string(static_cast<std::uint64_t>(needed)));
    a.data.assign(data.begin() + static_cast<std::ptrdiff_t>(begin), data.begin() + static_cast<std::ptrdiff_t>(end));
    spans.push_back({begin, end, name});
    out.tensors.emplace(name, std::move(a));
  }
  // The data must be exactly the tensors' bytes, each once: sorted spans tile [0, size).
  std::sort(spans.begin(), spans.end(), [](const span_entry& x, const span_entry& y) {
    return std::tie(x.begin, x.end) < std::tie(y.begin, y.end);
  });
  std::uint64_t cursor = 0;
  for (const span_entry& s : spans) {
    if (s.begin != cursor)
      fail(s.begin < cursor ? "tensor \"" + s.name + "\" overlaps another tensor's bytes"
                            : "the data has a hole before tensor \"" + s.name + "\"");
    cursor = s.end;
  }
  if (cursor != data.size()) fail("the data has " + std::to_string(data.size() - cursor) + " bytes no tensor describes");
  return out;
}

safetensors_file read_safetensors(const std::filesystem::path& path, std::string_view key) {
  return parse_safetensors(detail::read_whole_file(path, key, ".safetensors"), key, path.string());
}

std::string safetensors_bytes(const safetensors_file& file) {
  json::object header;
  if (!file.metadata.empty()) {
    json::object metadata;
    for (const auto& [k, v] : file.metadata) metadata[k] = v;
    header["__metadata__"] = std::move(metadata);
  }
  std::uint64_t offset = 0;
  for (const auto& [name, array] : file.tensors) {
    const char* dtype = array.dtype == npy_dtype::f4 ? "F32" : array.dtype == npy_dtype::f8 ? "F64"
                        : array.dtype == npy_dtype::i4 ? "I32" : "I64";
    header[name] = json::object{{"dtype", dtype},
                                {"shape", json::array(array.shape.begin(), array.shape.end())},
                                {"data_offsets", json::array{offset, offset + array.data.size()}}};
    offset += array.data.size();
  }
  std::string text = json::serialize(header);
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::string bytes(8, '\0');
  for (std::size_t k = 0; k < 8; ++k) bytes[k] = static_cast<char>((text.size() >> (8 * k)) & 0xff);
  bytes += text;
  for (const auto& entry : file.tensors)
    bytes.append(reinterpret_cast<const char*>(entry.second.data.data()), entry.second.data.size());
  return bytes;
}

void write_safetensors(const std::filesystem::path& path, const safetensors_file& file) {
  const std::string bytes = safetensors_bytes(file);
  atomic_output_file out(path);
  out.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.commit();
}

}  // namespace selfextend
