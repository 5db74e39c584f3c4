// whole_file.cpp - see whole_file.hpp.
#include "whole_file.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>     // open, O_NONBLOCK
#include <sys/stat.h>  // stat, fstat
#include <unistd.h>    // pread, close

#include <selfextend/error.hpp>

namespace selfextend::detail {

input_file::input_file(const std::filesystem::path& path, std::string_view key, std::string_view format)
    : key_(key), path_(path.string()) {
  struct stat st {};
  // The type first: open() on a FIFO nobody writes would block forever, and file sizes mean
  // nothing for devices and pipes (/dev/zero would read forever).
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail("is a directory, not a " + std::string(format) + " file");
    if (!S_ISREG(st.st_mode)) fail("is not a regular file (a device or pipe cannot hold a " + std::string(format) + ")");
  }
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) fail("cannot be opened for reading");
  // Checked again on what was opened, in case the path changed in between.
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
    fail("is not a regular file (a device or pipe cannot hold a " + std::string(format) + ")");
  (void)::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  size_ = static_cast<std::uint64_t>(st.st_size);
}

input_file::~input_file() {
  if (fd_ >= 0) ::close(fd_);
}

void input_file::fail(const std::string& rule) const { throw invalid_params(key_, path_, rule); }

void input_file::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("could not be read completely");
    done += static_cast<std::size_t>(n);
  }
}

std::vector<std::byte> read_whole_file(const std::filesystem::path& path, std::string_view key,
                                       std::string_view format) {
  const input_file file(path, key, format);
  std::vector<std::byte> bytes(static_cast<std::size_t>(file.size()));
  file.read_at(0, bytes);
  return bytes;
}

}  // namespace selfextend::detail
