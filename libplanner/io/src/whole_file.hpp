// whole_file.hpp - reads a whole regular file for the array readers (.npy, .safetensors).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

namespace selfextend::detail {

/// The bytes of `path`, which must be a readable regular file. Errors are invalid_params
/// {key, path, rule}: a directory ("is a directory, not a <format> file"), an unopenable path, a
/// device or pipe (which cannot hold a <format> and may never end), a short read.
[[nodiscard]] std::vector<std::byte> read_whole_file(const std::filesystem::path& path, std::string_view key,
                                                     std::string_view format);

}  // namespace selfextend::detail
