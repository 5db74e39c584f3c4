// atomic_output.cpp - temp file + rename, so outputs are never half-written.
#include <selfextend/atomic_output.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <stdlib.h>  // mkstemp (POSIX)
#include <sys/stat.h>  // fchmod, umask
#include <unistd.h>    // close

namespace selfextend {

namespace {
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& reason) {
  throw std::runtime_error("cannot write " + path.string() + ": " + reason);
}
}  // namespace

atomic_output_file::atomic_output_file(std::filesystem::path destination) : destination_(std::move(destination)) {
  std::error_code ec;
  if (std::filesystem::is_directory(destination_, ec)) fail(destination_, "it is a directory");
  const std::filesystem::path dir =
      destination_.has_parent_path() ? destination_.parent_path() : std::filesystem::path(".");
  // mkstemp picks a unique name atomically, so two runs writing beside each other never collide.
  std::string pattern = (dir / ("." + destination_.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) fail(destination_, std::strerror(errno));
  // mkstemp creates mode 0600; give the result the permissions a plain open() would have.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  (void)::fchmod(fd, 0666 & ~mask);
  ::close(fd);
  temporary_ = pattern;
  stream_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!stream_) {
    std::filesystem::remove(temporary_, ec);
    fail(destination_, "cannot open a temporary file beside it");
  }
}

atomic_output_file::~atomic_output_file() {
  if (!committed_) {
    stream_.close();
    std::error_code ec;
    std::filesystem::remove(temporary_, ec);
  }
}

void atomic_output_file::commit() {
  stream_.flush();
  const bool ok = static_cast<bool>(stream_);
  stream_.close();
  if (!ok || stream_.fail()) fail(destination_, "writing failed (disk full?)");
  std::error_code ec;
  std::filesystem::rename(temporary_, destination_, ec);
  if (ec) fail(destination_, ec.message());
  committed_ = true;
}

}  // namespace selfextend
