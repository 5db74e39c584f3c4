// safetensors.hpp - a strict .safetensors reader (target selfextend::planner_io).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/npy.hpp>

namespace selfextend {

/// The tensors of a .safetensors file, by name, and its optional string metadata.
struct safetensors_file {
  std::map<std::string, npy_array> tensors;        ///< dtype F32/F64/I32/I64 as npy_dtype f4/f8/i4/i8
  std::map<std::string, std::string> metadata;     ///< the "__metadata__" object, if any
  friend bool operator==(const safetensors_file&, const safetensors_file&) = default;
};

/// Parses a whole .safetensors image: an 8-byte little-endian header length, a JSON object
/// header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then
/// the data. Enforces the format's rules: the header fits in the file (and in 100 MB), every
/// shape's byte size equals its offsets' span, offsets lie inside the data and tile it exactly
/// with no overlap or hole, metadata values are strings. dtypes other than F32, F64, I32, I64 are
/// rejected. Errors are invalid_params {key, source, rule naming the tensor or field}.
[[nodiscard]] safetensors_file parse_safetensors(std::span<const std::byte> bytes, std::string_view key,
                                                 std::string_view source);

/// The bytes of a .safetensors file holding `file`: tensors in name order, each F32/F64/I32/I64,
/// the data 8-byte aligned after the header; parse_safetensors reads it back unchanged.
[[nodiscard]] std::string safetensors_bytes(const safetensors_file& file);

/// Writes `file` to `path` atomically (temporary file + rename); std::runtime_error on failure.
void write_safetensors(const std::filesystem::path& path, const safetensors_file& file);

/// Reads and parses a file; an unreadable one is invalid_params {key, path, rule}.
[[nodiscard]] safetensors_file read_safetensors(const std::filesystem::path& path, std::string_view key);

}  // namespace selfextend
