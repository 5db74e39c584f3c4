// params.cpp - validation of plans: the one place the rules of docs/concepts.md#valid-input live.
#include <selfextend/params.hpp>

#include <charconv>
#include <string>

#include "text.hpp"

namespace selfextend {

std::string_view to_string(shift_rule rule) noexcept {
  return rule == shift_rule::integer ? "int" : "float";
}

std::optional<shift_rule> parse_shift_rule(std::string_view text) noexcept {
  if (text == "int") return shift_rule::integer;
  if (text == "float") return shift_rule::fractional;
  return std::nullopt;
}

std::int64_t parse_integer(std::string_view key, std::string_view text) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range) throw invalid_params(std::string(key), std::string(text), "does not fit in 64 bits");
  if (ec != std::errc() || ptr != last || first == last)
    throw invalid_params(std::string(key), std::string(text), "must be an integer");
  return value;
}

std::vector<issue> validate(const plan& p) {
  std::vector<issue> issues;
  if (p.group < 1) issues.push_back({"group", std::to_string(p.group), "must be at least 1"});
  if (p.window < 1) issues.push_back({"window", std::to_string(p.window), "must be at least 1"});
  return issues;
}

std::vector<issue> validate(const self_extend_params& params) {
  std::vector<issue> issues;
  if (params.tokens < 1) issues.push_back({"tokens", std::to_string(params.tokens), "must be at least 1"});
  std::vector<issue> plan_issues = validate(params.extension);
  issues.insert(issues.end(), plan_issues.begin(), plan_issues.end());
  if (params.context) {
    const std::int64_t context = *params.context;
    if (context < 2) {
      issues.push_back({"context", std::to_string(context), "must be at least 2"});
    } else if (params.extension.window >= context) {
      issues.push_back({"window", std::to_string(params.extension.window),
                        "must be smaller than context (" + std::to_string(context) + ")"});
    }
  }
  return issues;
}

void require_valid(const self_extend_params& params) {
  detail::throw_if_any(validate(params));
}

void require_valid(const plan& p) {
  detail::throw_if_any(validate(p));
}

}  // namespace selfextend
