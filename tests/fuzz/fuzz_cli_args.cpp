// fuzz_cli_args - libFuzzer target for sxplan's argument handling: number and flag parsing, model
// selection and every subcommand, run in-process. The input is split into arguments at newlines.
// Arguments that would touch the file system (paths, outputs) are refused, so the fuzzer reads and
// writes nothing; file readers have their own fuzzers.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "sxplan_main.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 512) return 0;
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  if (args.size() > 24) return 0;
  for (const std::string& a : args) {
    if (a.find('/') != std::string::npos || a.rfind("-o", 0) == 0 || a.rfind("--o", 0) == 0 ||
        a.rfind("--svg", 0) == 0 || a.rfind("--config", 0) == 0 || a.rfind("--gguf", 0) == 0)
      return 0;
    // Work proportional to N is the point of some commands: keep each run small by refusing runs
    // of 6 to 16 significant digits (up to ~10^16 tokens would be slow to count, not wrong).
    // 17 to 19 digits stay in, so INT64_MAX-like values reach the overflow paths (reuse's
    // N(N+1)/2, llamacpp's chunk count): they are refused or O(1). 20 or more exercise the 64-bit
    // parse limit.
    std::size_t digits = 0;  // significant digits of the current run (leading zeros do not count)
    for (std::size_t k = 0; k <= a.size(); ++k) {
      if (k < a.size() && a[k] >= '0' && a[k] <= '9') {
        if (digits > 0 || a[k] != '0') ++digits;
        continue;
      }
      if (digits >= 6 && digits < 17) return 0;
      digits = 0;
    }
    if (a.find("force") != std::string::npos || a.find("dense") != std::string::npos) return 0;
  }
  std::ostringstream out, err;
  const int code = sxplan::run_sxplan(args, out, err);
  if (code != 0 && code != 1 && code != 2) __builtin_trap();
  if (code == 2 && err.str().empty()) __builtin_trap();  // every rejection explains itself
  return 0;
}
