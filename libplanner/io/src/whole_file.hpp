// whole_file.hpp - opening and reading the regular files the array and model readers take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace selfextend::detail {

/// A regular file open for reading (closed on destruction). Errors are invalid_params
/// {key, path, rule}: a directory ("is a directory, not a <format> file"), a device, FIFO or
/// socket ("is not a regular file (a device or pipe cannot hold a <format>)") — checked before
/// open(), and opened with O_NONBLOCK, so a FIFO without a writer can never block — or an
/// unopenable path.
class input_file {
 public:
  input_file(const std::filesystem::path& path, std::string_view key, std::string_view format);
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  ~input_file();
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// Reads exactly out.size() bytes at `offset`; fails ("could not be read completely") otherwise.
  void read_at(std::uint64_t offset, std::span<std::byte> out) const;
  [[noreturn]] void fail(const std::string& rule) const;

 private:
  std::string key_, path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

/// The bytes of `path`, which must be a readable regular file (errors as input_file, plus a short read).
[[nodiscard]] std::vector<std::byte> read_whole_file(const std::filesystem::path& path, std::string_view key,
                                                     std::string_view format);

}  // namespace selfextend::detail
