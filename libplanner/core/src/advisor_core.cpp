// advisor_core.cpp - the request rules, windows and target bound both advisors share (docs/advisor.md).
#include "advisor_core.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "checked_math.hpp"
#include "text.hpp"

namespace selfextend::detail {

namespace {

/// The fractions of L tried as windows, best first (n/d of L).
constexpr std::pair<int, int> window_fractions[] = {{1, 4}, {1, 8}, {3, 8}, {1, 2}};

/// Some G in 2..max(2, max_group) divides W (the groups llama.cpp's advisor tries). A divisor of
/// W is at most W, so the walk stops there whatever max_group is.
bool has_divisor_group(std::int64_t window, std::int64_t max_group) {
  for (std::int64_t g = 2; g <= std::min(window, std::max<std::int64_t>(2, max_group)); ++g)
    if (window % g == 0) return true;
  return false;
}

}  // namespace

std::vector<issue> validate_search(const search_request& r, const runtime_rules& rules) {
  std::vector<issue> issues;
  if (r.context < 2) issues.push_back({"context", num(r.context), "must be at least 2"});
  if (r.tokens < 1) issues.push_back({"tokens", num(r.tokens), "must be at least 1"});
  else if (rules.max_tokens && r.tokens > *rules.max_tokens)
    issues.push_back({"tokens", num(r.tokens), "must be at most " + num(*rules.max_tokens) + " " + rules.max_tokens_why});
  if (r.window) {
    if (*r.window < 1) issues.push_back({"window", num(*r.window), "must be at least 1"});
    else if (r.context >= 2 && *r.window >= r.context)
      issues.push_back({"window", num(*r.window), "must be smaller than context (" + num(r.context) + ")"});
  }
  if (r.group && *r.group < 1) issues.push_back({"group", num(*r.group), "must be at least 1"});
  if (rules.window_multiple_of_group && r.group && r.window && *r.group > 1 && *r.window >= 1 && *r.window % *r.group != 0)
    issues.push_back({"window", num(*r.window),
                      "must be a multiple of group (" + num(*r.group) + ") for llama.cpp (it asserts ga_w % ga_n == 0)"});
  if (r.max_group && *r.max_group < 1) issues.push_back({"max_group", num(*r.max_group), "must be at least 1"});
  // With N > L and G free, the advisor needs a window that some G >= 2 divides: the fixed W, or
  // one of the candidate windows (W = 2 with G = 2 at the least, so L >= 4).
  if (issues.empty() && rules.window_multiple_of_group && !r.group && r.tokens > r.context) {
    // The default cap too: a fixed W with no divisor up to 64 (a prime) is refused rather than
    // planned with G = W, one shared position per W keys.
    if (r.window && !has_divisor_group(*r.window, group_cap(r)))
      issues.push_back({"window", num(*r.window),
                        "has no divisor G in 2.." + num(group_cap(r)) + "; llama.cpp requires ga_w to be a multiple of ga_n"});
    if (!r.window && r.context < 4)
      issues.push_back({"context", num(r.context),
                        "must be at least 4 to choose a window for llama.cpp: ga_w must be a multiple of ga_n >= 2 "
                        "and smaller than context"});
  }
  return issues;
}

std::vector<std::int64_t> candidate_windows(std::int64_t context) {
  // The paper's feasible range for Llama-2 is 512..1536 of 4096, its choice 1024 = L/4.
  std::vector<std::int64_t> windows;
  for (const auto& [n, d] : window_fractions) {
    const std::int64_t w = context / d * n;
    if (w >= 1 && w < context && std::find(windows.begin(), windows.end(), w) == windows.end()) windows.push_back(w);
  }
  if (windows.empty()) windows.push_back(1);  // L = 2 or 3: W = 1 is the only useful choice
  return windows;
}

double distance_from_quarter(std::int64_t window, std::int64_t context) {
  return std::abs(std::log2(static_cast<double>(window) * 4.0 / static_cast<double>(context)));
}

std::string window_label(std::int64_t window, std::int64_t context) {
  for (const auto& [n, d] : window_fractions)
    if (context % d == 0 && context / d * n == window) return (n == 1 ? "L/" : num(n) + "L/") + num(d);
  return fixed(static_cast<double>(window) / static_cast<double>(context), 3) + "*L";
}

std::string past_cap_reason(std::int64_t group, std::int64_t tokens, std::int64_t context) {
  return "G = " + num(group) + " is past the default max_group " + num(default_max_group) +
         " (LongLM's README finds G from 2 to " + num(default_max_group) + " reasonable for Llama-2): no plan with G <= " +
         num(default_max_group) + " fits N = " + num(tokens) + " with L = " + num(context);
}

no_solution cap_too_small(std::int64_t max_group, std::int64_t smallest, std::int64_t window, std::int64_t tokens,
                          std::int64_t context) {
  return no_solution({"max_group", num(max_group),
                      "no plan with G <= " + num(max_group) + " fits N = " + num(tokens) + " tokens with L = " +
                          num(context) + ": the smallest G that fits is " + num(smallest) + " (W = " + num(window) +
                          "); raise `max_group` to at least " + num(smallest) + " or leave it out"},
                     smallest);
}

double target_bound::value() const {
  return half_ ? static_cast<double>(context_) / 2.0 : 2.0 * static_cast<double>(context_) / 3.0;
}

bool target_bound::keeps_below(std::int64_t position) const {
  return half_ ? wide_int{position} * 2 < context_ : wide_int{position} * 3 < wide_int{context_} * 2;
}

std::optional<std::int64_t> target_bound::smallest_group(std::int64_t tokens, std::int64_t window) const {
  return half_ ? min_group_for_half(context_, tokens, window) : min_group_for_two_thirds(context_, tokens, window);
}

}  // namespace selfextend::detail
