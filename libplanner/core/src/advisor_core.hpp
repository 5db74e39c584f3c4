// advisor_core.hpp - what the two advisors share: advise() for LongLM (advice.cpp) and
// advise_llamacpp() for llama.cpp's flags (llamacpp.cpp). The request rules, the windows tried
// when W is free with their distance from L/4 and their names, and the target bound R < L/2 or
// R < 2L/3 with its text (docs/advisor.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <selfextend/advice.hpp>
#include <selfextend/error.hpp>

namespace selfextend::detail {

/// The inputs both advisors' requests carry.
struct search_request {
  std::int64_t context = 0;            ///< L
  std::int64_t tokens = 0;             ///< N
  std::optional<std::int64_t> window;  ///< fixed W
  std::optional<std::int64_t> group;   ///< fixed G
  std::optional<std::int64_t> max_group;  ///< explicit cap; absent: default_max_group, a soft one
};

template <class Request>
[[nodiscard]] search_request search_fields(const Request& r) {
  return {r.context, r.tokens, r.window, r.group, r.max_group};
}

/// The rules a runtime adds to the shared ones.
struct runtime_rules {
  std::optional<std::int64_t> max_tokens;  ///< largest N the runtime can count
  std::string max_tokens_why;              ///< said after the limit, e.g. "(llama.cpp counts cells in int32)"
  bool window_multiple_of_group = false;   ///< a fixed W must be a multiple of a fixed G (and of some G <= max_group)
};

/// Every rule of `r` broken: context >= 2, 1 <= tokens (<= max_tokens), 1 <= window < context,
/// group >= 1, max_group >= 1, and the runtime's divisibility rule (a fixed W needs a divisor
/// G in 2..max_group when max_group is given). Never throws.
[[nodiscard]] std::vector<issue> validate_search(const search_request& r, const runtime_rules& rules = {});

/// The windows tried when W is free, best first: L/4 (the paper's 1024 of 4096), L/8, 3L/8, L/2;
/// W = 1 when L is too small for any of them.
[[nodiscard]] std::vector<std::int64_t> candidate_windows(std::int64_t context);

/// Distance of `window` from L/4 on a log scale: L/8 and L/2 are equally far from it.
[[nodiscard]] double distance_from_quarter(std::int64_t window, std::int64_t context);

/// "L/4", "3L/8", ... when `window` is that fraction of L exactly; otherwise its ratio to L ("0.250*L").
[[nodiscard]] std::string window_label(std::int64_t window, std::int64_t context);

/// The largest G the search considers before it may pass the cap: max_group, or default_max_group.
[[nodiscard]] inline std::int64_t group_cap(const search_request& r) { return r.max_group.value_or(default_max_group); }

/// The first reason of a plan whose G passed the default cap because no plan within it fits.
[[nodiscard]] std::string past_cap_reason(std::int64_t group, std::int64_t tokens, std::int64_t context);

/// The no_solution an explicit max_group meets when the smallest G that fits is `smallest` (at `window`).
[[nodiscard]] no_solution cap_too_small(std::int64_t max_group, std::int64_t smallest, std::int64_t window,
                                        std::int64_t tokens, std::int64_t context);

/// The bound the advisor keeps the reach (LongLM) or the largest position (llama.cpp) below.
class target_bound {
 public:
  target_bound(target_fraction fraction, std::int64_t context) : half_(fraction == target_fraction::half), context_(context) {}
  /// "L/2" or "2L/3".
  [[nodiscard]] std::string text() const { return half_ ? "L/2" : "2L/3"; }
  /// L/2 or 2L/3 as a real, for "R = ... < 2L/3 = 2730.7".
  [[nodiscard]] double value() const;
  /// position < L/2 (or < 2L/3), compared exactly.
  [[nodiscard]] bool keeps_below(std::int64_t position) const;
  /// The plan's reach meets the bound (assessment's exact comparison).
  [[nodiscard]] bool met_by(const assessment& a) const { return half_ ? a.satisfies_half : a.satisfies_two_thirds; }
  /// Smallest G with the reach below the bound for this N and W; nullopt when none.
  [[nodiscard]] std::optional<std::int64_t> smallest_group(std::int64_t tokens, std::int64_t window) const;

 private:
  bool half_;
  std::int64_t context_;
};

}  // namespace selfextend::detail
