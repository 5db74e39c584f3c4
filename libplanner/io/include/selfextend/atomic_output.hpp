// atomic_output.hpp - output files that appear whole or not at all (target selfextend::planner_io).
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>

namespace selfextend {

/// Writes to a temporary file beside `destination` and renames it over the destination on
/// commit(). If commit() is never reached (an exception, an early return), the destructor
/// removes the temporary file, so a failed run leaves nothing at the destination; a killed
/// process leaves at most a hidden `.<name>.tmp-XXXXXX` beside it, never a partial destination.
///
/// Throws std::runtime_error ("cannot write <path>: <reason>") when the temporary file cannot be
/// created or the data cannot be flushed and renamed: a run-time failure, not bad input.
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

  /// The stream to write to (binary mode).
  [[nodiscard]] std::ostream& stream() noexcept { return stream_; }
  /// Flushes, closes and renames the temporary file to the destination.
  void commit();
  [[nodiscard]] const std::filesystem::path& destination() const noexcept { return destination_; }

 private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  std::ofstream stream_;
  bool committed_ = false;
  int signal_slot_ = -1;  ///< slot in the signal handler's list of temporaries, -1 if none
};

/// Installs SIGINT, SIGTERM and SIGHUP handlers that delete the temporary files of every
/// atomic_output_file still open, then re-raise the signal with its default action, so Ctrl-C or
/// a `kill` mid-write leaves neither the destination nor a temporary file. SIGKILL cannot be
/// caught: it leaves at most the hidden temporary, never the destination. For programs (the CLI
/// calls it once at start-up); a library embedding planner_io may keep its own handlers instead.
void remove_temporary_outputs_on_signal();

}  // namespace selfextend
