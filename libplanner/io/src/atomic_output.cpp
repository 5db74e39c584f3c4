// atomic_output.cpp - temp file + rename, so outputs are never half-written.
#include <selfextend/atomic_output.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <stdlib.h>  // mkstemp (POSIX)
#include <sys/stat.h>  // fchmod, umask
#include <unistd.h>    // close

namespace selfextend {

namespace {

// Temporary paths of the files being written, for the signal handler. A handler may only call
// async-signal-safe functions, so paths live in fixed buffers and slots are claimed atomically.
constexpr std::size_t max_pending = 16;
constexpr std::size_t max_path = 4096;
struct pending_slot {
  std::atomic<bool> used{false};
  char path[max_path] = {};
};
std::array<pending_slot, max_pending> pending;

int register_pending(const std::string& path) {
  if (path.size() >= max_path) return -1;
  for (std::size_t i = 0; i < max_pending; ++i) {
    bool expected = false;
    if (pending[i].used.load() || !pending[i].used.compare_exchange_strong(expected, true)) continue;
    std::memcpy(pending[i].path, path.c_str(), path.size() + 1);
    return static_cast<int>(i);
  }
  return -1;  // more than 16 files at once: they are still removed on normal failure paths
}

void unregister_pending(int slot) {
  if (slot >= 0) pending[static_cast<std::size_t>(slot)].used.store(false);
}

extern "C" void remove_pending_and_reraise(int signal_number) {
  for (pending_slot& slot : pending)
    if (slot.used.load()) ::unlink(slot.path);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

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
  signal_slot_ = register_pending(pattern);
  stream_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!stream_) {
    unregister_pending(signal_slot_);
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
  unregister_pending(signal_slot_);
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
  unregister_pending(signal_slot_);
  signal_slot_ = -1;
}

void remove_temporary_outputs_on_signal() {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal_number, remove_pending_and_reraise);
}

}  // namespace selfextend
