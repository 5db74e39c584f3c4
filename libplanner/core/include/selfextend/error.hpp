// error.hpp - structured validation issues and the exception that carries them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace selfextend {

/// One broken rule about one input. `key` is the JSON/CLI spelling of the input
/// (`window`, `tokens`, `config`, ...), `value` its offending value as text.
struct issue {
  std::string key;    ///< input name, identical to the CLI flag without `--`
  std::string value;  ///< the offending value, as the user wrote it or as text
  std::string rule;   ///< the rule it breaks, e.g. "must be smaller than context (4096)"

  /// `<key> = <value>: <rule>`, e.g. `window = 5000: must be smaller than context (4096)`.
  [[nodiscard]] std::string message() const { return key + " = " + value + ": " + rule; }
  friend bool operator==(const issue&, const issue&) = default;
};

/// Thrown by every computing function whose input breaks a rule, and by the readers
/// when a file is unreadable or malformed. `what()` joins all messages with "; ".
class invalid_params : public std::invalid_argument {
 public:
  explicit invalid_params(std::vector<issue> issues);
  /// Convenience for a single issue.
  invalid_params(std::string key, std::string value, std::string rule);
  [[nodiscard]] const std::vector<issue>& issues() const noexcept { return issues_; }

 private:
  std::vector<issue> issues_;
};

/// Thrown when valid input asks for what no answer satisfies: an explicit max_group below every G
/// that fits. `reason()` names the key, its value and what would satisfy it. Front ends report it as
/// a failure (exit 1), not as invalid input: nothing about the input is malformed.
class no_solution : public std::runtime_error {
 public:
  /// `least_satisfying`: the smallest value of reason.key that would be satisfied (the smallest G
  /// that fits, for max_group), so a front end can offer it.
  no_solution(issue reason, std::int64_t least_satisfying);
  [[nodiscard]] const issue& reason() const noexcept { return reason_; }
  [[nodiscard]] std::int64_t least_satisfying() const noexcept { return least_satisfying_; }

 private:
  issue reason_;
  std::int64_t least_satisfying_;
};

}  // namespace selfextend
