// sxplan_main.hpp - the whole CLI as a function: arguments in, exit code out.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sxplan {

/// Runs `sxplan args...` writing results to `out` and diagnostics to `err`; returns the exit code
/// (exit_ok, exit_failure, exit_usage). Never throws for bad input: every error becomes a message.
int run_sxplan(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sxplan
