// atomic_output.cpp - outputs that appear whole or not at all (see atomic_output.hpp).
#include <selfextend/atomic_output.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include <fcntl.h>     // open, O_TMPFILE, linkat
#include <stdlib.h>    // mkstemp (POSIX)
#include <sys/stat.h>  // fstat, fchmod, umask
#include <unistd.h>    // write, close, readlink, unlink

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

void unregister_pending(int& slot) {
  if (slot >= 0) pending[static_cast<std::size_t>(slot)].used.store(false);
  slot = -1;
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

/// An output buffer over a descriptor it does not own; records the first write error.
class descriptor_buffer : public std::streambuf {
 public:
  explicit descriptor_buffer(int fd) : fd_(fd), buffer_(std::size_t{1} << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  [[nodiscard]] int error() const noexcept { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    if (n < static_cast<std::streamsize>(buffer_.size()) / 2) return std::streambuf::xsputn(data, n);
    if (!drain() || !write_all(data, static_cast<std::size_t>(n))) return 0;  // large blocks skip the copy
    return n;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const auto n = static_cast<std::size_t>(pptr() - pbase());
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return write_all(buffer_.data(), n);
  }
  bool write_all(const char* data, std::size_t n) {
    if (error_ != 0) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error_ = w < 0 ? errno : EIO;
        return false;
      }
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

/// The file a chain of symbolic links ends at (the path itself when it is not a link).
std::filesystem::path follow_links(std::filesystem::path path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(path, ec);
    if (ec) fail(path, "cannot read the symbolic link: " + ec.message());
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  fail(path, "too many levels of symbolic links");
}

}  // namespace

struct atomic_output_file::state {
  int fd = -1;
  bool direct = false;              ///< a device or FIFO, written in place
  bool unnamed = false;             ///< an O_TMPFILE file, linked in on commit
  std::filesystem::path target;     ///< the file finally replaced (destination with links followed)
  std::filesystem::path temporary;  ///< the named temporary, when there is one
  int signal_slot = -1;
  bool committed = false;
  std::unique_ptr<descriptor_buffer> buffer;
  std::ostream stream{nullptr};

  void attach() {
    buffer = std::make_unique<descriptor_buffer>(fd);
    stream.rdbuf(buffer.get());
  }
  void name_temporary(std::string name) {
    temporary = std::move(name);
    signal_slot = register_pending(temporary.string());
  }
  ~state() {
    if (fd >= 0) ::close(fd);
    if (!committed && !temporary.empty()) ::unlink(temporary.c_str());
    unregister_pending(signal_slot);
  }
};

atomic_output_file::atomic_output_file(std::filesystem::path destination)
    : destination_(std::move(destination)), state_(std::make_unique<state>()) {
  state& s = *state_;
  s.target = follow_links(destination_);
  struct stat st {};
  const bool exists = ::stat(s.target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) fail(destination_, "it is a directory");
  if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    // Replacing /dev/null or a pipe with a regular file would break it (as root, delete a device).
    // O_NONBLOCK: a FIFO nobody reads fails with ENXIO instead of blocking in open() forever.
    s.fd = ::open(s.target.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (s.fd < 0)
      fail(destination_, errno == ENXIO ? std::string("it is a FIFO with no reader") : std::strerror(errno));
    (void)::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) & ~O_NONBLOCK);
    s.direct = true;
    s.attach();
    return;
  }
  if (exists && !S_ISREG(st.st_mode)) fail(destination_, "it is neither a regular file, a character device nor a FIFO");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  // A replaced file keeps its permission bits; a new one gets what a plain open() would give.
  const mode_t mode = exists ? (st.st_mode & 07777) : (0666 & ~mask);
  const std::filesystem::path dir = s.target.has_parent_path() ? s.target.parent_path() : std::filesystem::path(".");
#if defined(O_TMPFILE)
  s.fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  s.unnamed = s.fd >= 0;
#endif
  if (s.fd < 0) {
    // mkstemp picks a unique name atomically, so two runs writing beside each other never collide.
    std::string pattern = (dir / ("." + s.target.filename().string() + ".tmp-XXXXXX")).string();
    s.fd = ::mkstemp(pattern.data());
    if (s.fd < 0) fail(destination_, std::strerror(errno));
    s.name_temporary(pattern);
  }
  (void)::fchmod(s.fd, mode);
  s.attach();
}

atomic_output_file::~atomic_output_file() = default;

std::ostream& atomic_output_file::stream() noexcept { return state_->stream; }

void atomic_output_file::commit() {
  state& s = *state_;
  s.stream.flush();
  if (!s.stream || s.buffer->error() != 0)
    fail(destination_, "writing failed: " + std::string(std::strerror(s.buffer->error() != 0 ? s.buffer->error() : EIO)));
  if (s.direct) {
    s.committed = true;
    return;
  }
  if (s.unnamed) {
    // linkat cannot replace an existing name: link under a fresh hidden name, then rename over.
    const std::string proc = "/proc/self/fd/" + std::to_string(s.fd);
    const std::filesystem::path dir = s.target.has_parent_path() ? s.target.parent_path() : std::filesystem::path(".");
    for (int attempt = 0; s.temporary.empty(); ++attempt) {
      const std::string name = (dir / ("." + s.target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(attempt)))
                                   .string();
      s.name_temporary(name);  // registered first: a signal between link and rename still removes it
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
      const int error = errno;
      unregister_pending(s.signal_slot);
      s.temporary.clear();
      if (error != EEXIST || attempt > 100) fail(destination_, std::strerror(error));
    }
  }
  if (::rename(s.temporary.c_str(), s.target.c_str()) != 0) fail(destination_, std::strerror(errno));
  s.committed = true;
  unregister_pending(s.signal_slot);
}

void remove_temporary_outputs_on_signal() {
  for (const int signal_number :
       {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGPIPE, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF}) {
    struct sigaction current {};
    if (::sigaction(signal_number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;  // nohup
    std::signal(signal_number, remove_pending_and_reraise);
  }
}

}  // namespace selfextend
