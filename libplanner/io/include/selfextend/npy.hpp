// npy.hpp - NumPy .npy reader and writer (format 1.0 and 2.0; target selfextend::planner_io).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>

namespace selfextend {

/// The element types we read and write: little-endian, C order only.
enum class npy_dtype : std::uint8_t { f4, f8, i4, i8 };

/// "<f4", "<f8", "<i4", "<i8".
[[nodiscard]] std::string_view to_string(npy_dtype dtype) noexcept;
/// Bytes per element: 4 or 8.
[[nodiscard]] std::size_t item_size(npy_dtype dtype) noexcept;

/// An n-dimensional array as stored in a .npy file.
struct npy_array {
  npy_dtype dtype = npy_dtype::f8;
  std::vector<std::int64_t> shape;  ///< C order; empty for a scalar
  std::vector<std::byte> data;      ///< element_count() * item_size(dtype) bytes, little-endian

  /// Product of the shape (1 for a scalar).
  [[nodiscard]] std::int64_t element_count() const noexcept;
  /// Every element converted to double (exact for f4, f8 and integers below 2^53).
  [[nodiscard]] std::vector<double> to_doubles() const;
  /// Every element converted to float.
  [[nodiscard]] std::vector<float> to_floats() const;
  /// Every element as int64; throws invalid_params (key "npy") for a float dtype.
  [[nodiscard]] std::vector<std::int64_t> to_int64() const;

  /// Arrays built from values (copies them); `shape`'s product must equal values.size().
  [[nodiscard]] static npy_array from(std::span<const float> values, std::vector<std::int64_t> shape);
  [[nodiscard]] static npy_array from(std::span<const double> values, std::vector<std::int64_t> shape);
  [[nodiscard]] static npy_array from(std::span<const std::int32_t> values, std::vector<std::int64_t> shape);
  [[nodiscard]] static npy_array from(std::span<const std::int64_t> values, std::vector<std::int64_t> shape);

  friend bool operator==(const npy_array&, const npy_array&) = default;
};

/// Parses a whole .npy file image. `key` is the CLI flag that named the file (`q`, `candidate`...)
/// and `source` its path; errors are invalid_params {key, source, rule}, e.g.
/// `q = q.npy: dtype >f4 is not supported (little-endian <f4, <f8, <i4, <i8 only)`.
/// Rejects: wrong magic, versions other than 1.0/2.0, unknown dtypes, Fortran order, malformed
/// headers, shapes whose byte size overflows or differs from the data present (truncated or
/// trailing bytes). Never allocates more than the input's size.
[[nodiscard]] npy_array parse_npy(std::span<const std::byte> bytes, std::string_view key, std::string_view source);

/// Reads and parses a .npy file; an unreadable file is invalid_params {key, path, rule}.
[[nodiscard]] npy_array read_npy(const std::filesystem::path& path, std::string_view key);

/// What a .npy file's header says, checked against the file's size (no data read).
struct npy_file_header {
  npy_dtype dtype = npy_dtype::f8;
  std::vector<std::int64_t> shape;  ///< C order; empty for a scalar
  std::uint64_t data_offset = 0;    ///< where the data starts
  [[nodiscard]] std::int64_t element_count() const noexcept;
  friend bool operator==(const npy_file_header&, const npy_file_header&) = default;
};

/// Reads only the header of a .npy file and checks it as parse_npy does (the data size included,
/// from the file size): a caller can check shapes and memory before reading any data. Errors
/// are invalid_params {key, path, rule}, as read_npy's.
[[nodiscard]] npy_file_header read_npy_header(const std::filesystem::path& path, std::string_view key);

/// The data of a .npy whose header read_npy_header returned, converted element by element while
/// it is read: memory is the result only (never the file image besides).
[[nodiscard]] std::vector<double> read_npy_doubles(const std::filesystem::path& path, std::string_view key,
                                                   const npy_file_header& header);
[[nodiscard]] std::vector<float> read_npy_floats(const std::filesystem::path& path, std::string_view key,
                                                 const npy_file_header& header);

/// The header (magic, version, length, dict, padding) for an array of this dtype and shape:
/// write it, then element_count * item_size bytes of little-endian data, to stream a large array.
/// Uses format 1.0 unless the dict needs 2.0; the total header is a multiple of 64 bytes.
[[nodiscard]] std::string npy_header(npy_dtype dtype, std::span<const std::int64_t> shape);

/// Writes `array` to `path` atomically (temporary file + rename); std::runtime_error on failure.
void write_npy(const std::filesystem::path& path, const npy_array& array);

}  // namespace selfextend
