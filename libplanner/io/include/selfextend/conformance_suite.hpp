// conformance_suite.hpp - the conformance suite on disk (target selfextend::planner_io): writing
// DIR/<case>/{q,k,v,expected}.npy and DIR/manifest.json, reading the manifest strictly, and checking
// a runtime's outputs OUT/<case>.npy against the expected ones.
//
// manifest.json (schema_version 1):
//   {"schema_version": 1, "cases": [{"name", "q", "k", "v", "expected", "group", "window", "shift",
//     "rope": {"theta", "style", "rotary_dims"}, "scale_base", "inv_freq", "attention_factor",
//     "atol", "rtol", "catches"}]}
// Paths are relative to DIR; "inv_freq" is a path to an [R/2] <f8 array or null (theta rule);
// "scale_base" is null when log scaling is off.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <selfextend/attention.hpp>
#include <selfextend/conformance.hpp>
#include <selfextend/methods.hpp>

namespace selfextend {

/// What write_conformance_suite wrote.
struct conformance_written {
  std::vector<conformance_case> cases;
  std::filesystem::path manifest;  ///< DIR/manifest.json
  std::int64_t bytes = 0;          ///< total size of the .npy files
};

/// Writes every case of conformance_cases(options) under `dir` (created if missing): the four
/// arrays (q, k, v <f4; expected <f8) and inv_freq.npy where the case has explicit frequencies,
/// then manifest.json last, so an interrupted run leaves no manifest. Each file is written
/// atomically. Throws invalid_params {"output", dir, rule} when `dir` is not a directory.
conformance_written write_conformance_suite(const std::filesystem::path& dir, const conformance_options& options);

/// One case as a manifest states it, paths resolved against the suite directory.
struct manifest_case {
  std::string name;
  std::filesystem::path q, k, v, expected;
  std::filesystem::path inv_freq;  ///< empty when null
  plan extension;                  ///< Self-Extend's case
  method_params method;            ///< another method's case (its kind not self_extend): "method", "method_parameters"
  rope_params rope;                ///< inv_freq filled from the file
  tolerance tol;
  std::string catches;
};

/// Reads DIR/manifest.json strictly: schema_version 1, every key present with its type and no
/// other key, names unique and directory-safe, every referenced file a regular file. Throws
/// invalid_params {"suite", "<file>", "case <name>: <rule>"} naming the case and the file.
[[nodiscard]] std::vector<manifest_case> read_conformance_manifest(const std::filesystem::path& dir);

/// The verdict on one case.
struct conformance_result {
  std::string name;
  std::string catches;
  bool present = false;            ///< false: OUT/<name>.npy missing and skipped (only_present)
  tolerance tol;
  verification comparison;         ///< meaningful when present
};

struct conformance_report {
  std::vector<conformance_result> cases;
  std::int64_t failed = 0;   ///< present cases that failed
  std::int64_t skipped = 0;  ///< missing outputs skipped
  bool passed = false;       ///< no failure and at least one case checked
};

/// Compares OUT/<case>.npy (<f4 or <f8, the expected shape; [Nq, D] accepted when H = 1) with
/// DIR/<case>/expected.npy at the case's tolerance, for every case of the manifest. A missing output
/// is skipped when only_present, else invalid_params {"outputs", path, "case <name>: ..."}; so is an
/// output of the wrong shape or dtype. A NaN in an output is a failure, not bad input.
[[nodiscard]] conformance_report check_conformance_suite(const std::filesystem::path& suite,
                                                         const std::filesystem::path& outputs, bool only_present);

}  // namespace selfextend
