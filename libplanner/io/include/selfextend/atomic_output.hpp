// atomic_output.hpp - output files that appear whole or not at all (target selfextend::planner_io).
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>

namespace selfextend {

/// Writes an output so that a regular file at `destination` appears whole or not at all.
///
/// - A missing or regular destination: the data goes to an unnamed temporary file in the
///   destination's directory (Linux O_TMPFILE; elsewhere, or where the file system lacks it, a
///   hidden `.<name>.tmp-XXXXXX`), written through the descriptor it was created with, and
///   commit() links it in and renames it over the destination. A replaced file keeps its
///   permission bits; a new one gets 0666 & ~umask. Until commit nothing is visible, and with
///   O_TMPFILE even `kill -9` leaves nothing behind.
/// - A symbolic link: followed (up to 40 links); the file it points to is replaced as above, and
///   the link stays a link.
/// - A character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe with a reader): written
///   directly, never replaced. A FIFO without a reader is refused instead of blocking.
/// - A directory, block device or socket: refused.
///
/// Throws std::runtime_error ("cannot write <path>: <reason>") when the output cannot be created
/// or the data cannot be written and committed: a run-time failure, not bad input.
/// Example:
///   atomic_output_file out("table.csv");
///   out.stream() << "a,b\n";
///   out.commit();
class atomic_output_file {
 public:
  explicit atomic_output_file(std::filesystem::path destination);
  atomic_output_file(const atomic_output_file&) = delete;
  atomic_output_file& operator=(const atomic_output_file&) = delete;
  ~atomic_output_file();

  /// The stream to write to (binary).
  [[nodiscard]] std::ostream& stream() noexcept;
  /// Flushes and makes the output visible at the destination (for a device or FIFO: flushes).
  void commit();
  [[nodiscard]] const std::filesystem::path& destination() const noexcept { return destination_; }

  struct state;  ///< implementation (descriptor, buffer, temporary name)

 private:
  std::filesystem::path destination_;
  std::unique_ptr<state> state_;
};

/// Installs handlers for the signals that end a process by default while it writes (INT, TERM,
/// HUP, QUIT, ALRM, PIPE, USR1, USR2, XCPU, XFSZ, VTALRM, PROF) that delete the named temporary
/// files of every atomic_output_file still open, then re-raise the signal with its default action.
/// A signal the process inherited as ignored (`nohup` ignores HUP) stays ignored. SIGKILL cannot
/// be caught: with O_TMPFILE it leaves nothing, otherwise at most the hidden temporary, never a
/// partial destination. For programs (the CLI calls it once at start-up); a library embedding
/// planner_io may keep its own handlers instead.
void remove_temporary_outputs_on_signal();

}  // namespace selfextend
