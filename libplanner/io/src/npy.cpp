// npy.cpp - a small, strict .npy reader and writer (NumPy format 1.0/2.0, little-endian, C order).
#include <selfextend/npy.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <optional>
#include <stdexcept>

#include <selfextend/atomic_output.hpp>
#include <selfextend/attention.hpp>

#include "checked_math.hpp"
#include "whole_file.hpp"

namespace selfextend {

static_assert(std::endian::native == std::endian::little, "the npy code copies little-endian data verbatim");

std::string_view to_string(npy_dtype dtype) noexcept {
  switch (dtype) {
    case npy_dtype::f4: return "<f4";
    case npy_dtype::f8: return "<f8";
    case npy_dtype::i4: return "<i4";
    case npy_dtype::i8: return "<i8";
  }
  return "<f8";
}

std::size_t item_size(npy_dtype dtype) noexcept {
  return (dtype == npy_dtype::f4 || dtype == npy_dtype::i4) ? 4 : 8;
}

std::int64_t npy_array::element_count() const noexcept {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

namespace {

template <class T>
std::vector<T> convert(const npy_array& a) {
  const std::size_t n = static_cast<std::size_t>(a.element_count());
  std::vector<T> out(n);
  const std::byte* p = a.data.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case npy_dtype::f4: { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<T>(v); break; }
      case npy_dtype::f8: { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<T>(v); break; }
      case npy_dtype::i4: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<T>(v); break; }
      case npy_dtype::i8: { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<T>(v); break; }
    }
  }
  return out;
}

template <class T>
npy_array make(std::span<const T> values, std::vector<std::int64_t> shape, npy_dtype dtype) {
  npy_array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  if (a.element_count() != static_cast<std::int64_t>(values.size()))
    throw std::invalid_argument("npy_array::from: shape does not match the number of values");
  a.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

/// Cursor over the header dict text; every error names the file and the rule.
class header_parser {
 public:
  header_parser(std::string_view text, std::string_view key, std::string_view source)
      : text_(text), key_(key), source_(source) {}

  [[noreturn]] void fail(const std::string& rule) const {
    throw invalid_params(std::string(key_), std::string(source_), rule);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("malformed .npy header: expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("malformed .npy header: expected a string");
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("malformed .npy header: unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("malformed .npy header: fortran_order must be True or False");
  }
  std::int64_t integer() {
    skip_space();
    std::int64_t v = 0;
    bool any = false;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      any = true;
      const int digit = text_[pos_++] - '0';
      if (v > (detail::int64_max - digit) / 10) fail("shape dimension does not fit in 64 bits");
      v = v * 10 + digit;
    }
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long suffix
    if (!any) fail("malformed .npy header: shape must be a tuple of non-negative integers");
    return v;
  }
  std::vector<std::int64_t> shape() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (!consume(')')) {
      if (dims.size() >= 32) fail("shape has more than 32 dimensions");
      dims.push_back(integer());
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }

 private:
  std::string_view text_;
  std::string_view key_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace

std::vector<double> npy_array::to_doubles() const { return convert<double>(*this); }
std::vector<float> npy_array::to_floats() const { return convert<float>(*this); }
std::vector<std::int64_t> npy_array::to_int64() const {
  if (dtype == npy_dtype::f4 || dtype == npy_dtype::f8)
    throw invalid_params("npy", std::string(to_string(dtype)), "an integer dtype (<i4 or <i8) is required");
  return convert<std::int64_t>(*this);
}

npy_array npy_array::from(std::span<const float> v, std::vector<std::int64_t> s) { return make(v, std::move(s), npy_dtype::f4); }
npy_array npy_array::from(std::span<const double> v, std::vector<std::int64_t> s) { return make(v, std::move(s), npy_dtype::f8); }
npy_array npy_array::from(std::span<const std::int32_t> v, std::vector<std::int64_t> s) { return make(v, std::move(s), npy_dtype::i4); }
npy_array npy_array::from(std::span<const std::int64_t> v, std::vector<std::int64_t> s) { return make(v, std::move(s), npy_dtype::i8); }

namespace {

/// The header of a .npy whose first bytes are `bytes` (all of the file, or at least its header)
/// and whose size is `file_size`: checks everything but reads no data.
npy_file_header parse_header(std::span<const std::byte> bytes, std::uint64_t file_size, std::string_view key,
                             std::string_view source) {
  const auto fail = [&](const std::string& rule) -> void {
    throw invalid_params(std::string(key), std::string(source), rule);
  };
  constexpr unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0) fail("is not a .npy file (bad magic)");
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned>(bytes[i]); };
  const unsigned major = byte_at(6), minor = byte_at(7);
  if ((major != 1 && major != 2) || minor != 0)
    fail(".npy format " + std::to_string(major) + "." + std::to_string(minor) + " is not supported (1.0 or 2.0 only)");
  std::size_t header_length = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_length = byte_at(8) | (byte_at(9) << 8);
    prefix = 10;
  } else {
    if (bytes.size() < 12) fail("is truncated inside the .npy header");
    header_length = byte_at(8) | (byte_at(9) << 8) | (byte_at(10) << 16) | (static_cast<std::size_t>(byte_at(11)) << 24);
    prefix = 12;
  }
  if (header_length > bytes.size() - prefix) fail("is truncated inside the .npy header");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix), header_length);

  header_parser p(header, key, source);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<std::int64_t>> shape;
  p.expect('{');
  while (!p.consume('}')) {
    const std::string name = p.quoted();
    p.expect(':');
    if (name == "descr") descr = p.quoted();
    else if (name == "fortran_order") fortran = p.boolean();
    else if (name == "shape") shape = p.shape();
    else p.fail("malformed .npy header: unknown key '" + name + "'");
    if (!p.consume(',')) {
      p.expect('}');
      break;
    }
  }
  if (!p.at_end()) p.fail("malformed .npy header: text after the dictionary");
  if (!descr || !fortran || !shape) p.fail("malformed .npy header: descr, fortran_order and shape are all required");

  npy_file_header h;
  if (*descr == "<f4") h.dtype = npy_dtype::f4;
  else if (*descr == "<f8") h.dtype = npy_dtype::f8;
  else if (*descr == "<i4") h.dtype = npy_dtype::i4;
  else if (*descr == "<i8") h.dtype = npy_dtype::i8;
  else fail("dtype " + *descr + " is not supported (little-endian <f4, <f8, <i4, <i8 only)");
  if (*fortran) fail("Fortran order is not supported (save a C-contiguous array)");
  h.shape = *shape;
  h.data_offset = prefix + header_length;

  // Size check in 128 bits before any allocation: the data must be exactly what the shape says.
  detail::wide_int needed = static_cast<detail::wide_int>(item_size(h.dtype));
  for (const std::int64_t d : h.shape) {
    needed *= d;
    if (needed > detail::wide_int{detail::int64_max}) fail("shape " + shape_text(h.shape) + " is too large");
  }
  const std::uint64_t available = file_size - h.data_offset;
  if (needed != static_cast<detail::wide_int>(available)) {
    fail(std::string(needed > static_cast<detail::wide_int>(available) ? "is truncated" : "has trailing bytes") +
         ": shape " + shape_text(h.shape) + " of " + std::string(to_string(h.dtype)) + " needs " +
         std::to_string(static_cast<std::int64_t>(needed)) + " data bytes, the file has " + std::to_string(available));
  }
  return h;
}

/// Reads the data of a checked header straight into T, converting 1 MiB at a time: the file
/// image is never held whole, so memory is one copy of the converted values.
template <class T>
std::vector<T> read_values(const std::filesystem::path& path, std::string_view key, const npy_file_header& h) {
  const detail::input_file file(path, key, ".npy");
  const auto n = static_cast<std::size_t>(h.element_count());
  const std::size_t item = item_size(h.dtype);
  if (file.size() != h.data_offset + n * item) file.fail("changed while it was read");
  std::vector<T> out(n);
  std::vector<std::byte> chunk(std::min<std::size_t>(n * item, std::size_t{1} << 20));
  const std::size_t per_chunk = chunk.empty() ? 1 : chunk.size() / item;
  for (std::size_t first = 0; first < n; first += per_chunk) {
    const std::size_t count = std::min(per_chunk, n - first);
    file.read_at(h.data_offset + first * item, std::span(chunk.data(), count * item));
    npy_array view;
    view.dtype = h.dtype;
    view.shape = {static_cast<std::int64_t>(count)};
    view.data.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(count * item));
    // float64 read as float32: converted by the kernel's rule, which refuses what float32 cannot hold.
    std::vector<T> converted;
    if constexpr (std::is_same_v<T, float>) {
      converted = h.dtype == npy_dtype::f8 ? to_float32(key, convert<double>(view), first) : convert<T>(view);
    } else {
      converted = convert<T>(view);
    }
    std::copy(converted.begin(), converted.end(), out.begin() + static_cast<std::ptrdiff_t>(first));
  }
  return out;
}

}  // namespace

std::int64_t npy_file_header::element_count() const noexcept {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

npy_array parse_npy(std::span<const std::byte> bytes, std::string_view key, std::string_view source) {
  const npy_file_header h = parse_header(bytes, bytes.size(), key, source);
  npy_array a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset), bytes.end());
  return a;
}

npy_array read_npy(const std::filesystem::path& path, std::string_view key) {
  return parse_npy(detail::read_whole_file(path, key, ".npy"), key, path.string());
}

npy_file_header read_npy_header(const std::filesystem::path& path, std::string_view key) {
  const detail::input_file file(path, key, ".npy");
  std::vector<std::byte> start(static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), 12)));
  file.read_at(0, start);
  std::uint64_t header_end = start.size();
  if (start.size() >= 10) {  // magic, version and length: read exactly the header, never the data
    const auto byte_at = [&](std::size_t i) { return static_cast<std::uint64_t>(start[i]); };
    header_end = static_cast<unsigned>(start[6]) == 2 && start.size() >= 12
                     ? 12 + (byte_at(8) | (byte_at(9) << 8) | (byte_at(10) << 16) | (byte_at(11) << 24))
                     : 10 + (byte_at(8) | (byte_at(9) << 8));
    header_end = std::min(header_end, file.size());
  }
  std::vector<std::byte> header(static_cast<std::size_t>(header_end));
  file.read_at(0, header);
  return parse_header(header, file.size(), key, path.string());
}

std::vector<double> read_npy_doubles(const std::filesystem::path& path, std::string_view key,
                                     const npy_file_header& header) {
  return read_values<double>(path, key, header);
}

std::vector<float> read_npy_floats(const std::filesystem::path& path, std::string_view key,
                                   const npy_file_header& header) {
  return read_values<float>(path, key, header);
}

std::string npy_header(npy_dtype dtype, std::span<const std::int64_t> shape) {
  std::string dict = "{'descr': '" + std::string(to_string(dtype)) + "', 'fortran_order': False, 'shape': " +
                     shape_text(std::vector<std::int64_t>(shape.begin(), shape.end())) + ", }";
  // Pad with spaces and end with '\n' so magic + length + dict is a multiple of 64 bytes.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back('\0');
  const std::size_t n = dict.size();
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  if (v2) {
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 24) & 0xff));
  }
  return out + dict;
}

void write_npy(const std::filesystem::path& path, const npy_array& array) {
  atomic_output_file out(path);
  out.stream() << npy_header(array.dtype, array.shape);
  out.stream().write(reinterpret_cast<const char*>(array.data.data()), static_cast<std::streamsize>(array.data.size()));
  out.commit();
}

}  // namespace selfextend
