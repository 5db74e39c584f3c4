// whole_file.cpp - see whole_file.hpp.
#include "whole_file.hpp"

#include <fstream>
#include <string>

#include <selfextend/error.hpp>

namespace selfextend::detail {

std::vector<std::byte> read_whole_file(const std::filesystem::path& path, std::string_view key,
                                       std::string_view format) {
  const auto fail = [&](const std::string& rule) { throw invalid_params(std::string(key), path.string(), rule); };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("is a directory, not a " + std::string(format) + " file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot be opened for reading");
  // file_size() means nothing for devices and pipes (/dev/zero would read forever).
  if (!std::filesystem::is_regular_file(path, ec))
    fail("is not a regular file (a device or pipe cannot hold a " + std::string(format) + ")");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("cannot be sized: " + ec.message());
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) fail("could not be read completely");
  return bytes;
}

}  // namespace selfextend::detail
