// error.cpp - invalid_params and no_solution.
#include <selfextend/error.hpp>

#include <utility>

namespace selfextend {
namespace {
std::string join_messages(const std::vector<issue>& issues) {
  std::string text;
  for (const issue& i : issues) {
    if (!text.empty()) text += "; ";
    text += i.message();
  }
  return text;
}
}  // namespace

invalid_params::invalid_params(std::vector<issue> issues)
    : std::invalid_argument(join_messages(issues)), issues_(std::move(issues)) {}

invalid_params::invalid_params(std::string key, std::string value, std::string rule)
    : invalid_params(std::vector<issue>{{std::move(key), std::move(value), std::move(rule)}}) {}

no_solution::no_solution(issue reason, std::int64_t least_satisfying)
    : std::runtime_error(reason.message()), reason_(std::move(reason)), least_satisfying_(least_satisfying) {}

}  // namespace selfextend
