// advice.hpp - capacity, the empirical bound, verdicts, and the (G, W) advisor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/params.hpp>

namespace selfextend {

/// Where a plan's effective reach R lands inside the pretrained window (docs/concepts.md#the-empirical-bound).
enum class verdict : std::uint8_t {
  native,               ///< N <= L and no pair grouped (G = 1, or N <= W): every position is the trained one
  within_well_trained,  ///< R < L/2
  borderline,           ///< L/2 <= R < 2L/3
  less_trained,         ///< R >= 2L/3 and the plan fits
  exceeds_window,       ///< P_max >= L: some relative position was never trained
};
[[nodiscard]] std::string_view to_string(verdict v) noexcept;

/// Which part of the window the advisor aims to keep R below.
enum class target_fraction : std::uint8_t { half, two_thirds };
[[nodiscard]] std::string_view to_string(target_fraction t) noexcept;
[[nodiscard]] std::optional<target_fraction> parse_target_fraction(std::string_view text) noexcept;

/// Exact capacity: the largest N whose P_max <= L - 1 (integer shift; the fractional shift
/// fits exactly the same N). N_exact = G * (L - W + floor(W/G)). Saturates at INT64_MAX,
/// which then means "every representable N fits". Throws invalid_params unless W < L.
[[nodiscard]] std::int64_t capacity_exact(std::int64_t context, const plan& p);

/// The paper's capacity (L - W) * G + W; overstates capacity_exact by W mod G. Saturates.
[[nodiscard]] std::int64_t capacity_paper(std::int64_t context, const plan& p);

/// Effective reach R = W + (N - W)/G for N > W, else N (real-valued, in positions).
[[nodiscard]] double effective_reach(std::int64_t tokens, const plan& p);

/// The full judgement of one plan for one model and length (the fields of `sxplan check`).
struct assessment {
  std::int64_t capacity_exact = 0;   ///< tokens
  std::int64_t capacity_paper = 0;   ///< tokens
  std::int64_t max_position = 0;     ///< P_max, integer shift
  double effective_reach = 0;        ///< R, positions
  double reach_ratio = 0;            ///< R / L
  bool fits = false;                 ///< P_max <= L - 1
  bool satisfies_half = false;       ///< L/2 > R (exact rational comparison)
  bool satisfies_two_thirds = false; ///< 2L/3 > R (exact rational comparison)
  verdict band = verdict::exceeds_window;
  double fractional_offset = 0;      ///< (W mod G)/G for the fractional shift, else 0
  std::vector<std::string> warnings; ///< e.g. the LongLM prefill/decode shift disagreement when W mod G != 0
  friend bool operator==(const assessment&, const assessment&) = default;
};

/// Judges one plan. Requires params.context. Throws invalid_params on invalid input.
/// Example: assess({4096, 15800, {5, 1024}}).max_position == 3979, .effective_reach == 3979.2.
[[nodiscard]] assessment assess(const self_extend_params& params);

/// Smallest G >= 1 with P_max <= L - 1 for this N and W. Always exists while W < L.
/// Note that fitting is not monotone in G (floor(W/G) shrinks as G grows), so a larger G
/// can fail where a smaller one fits; this is the smallest that fits. O(sqrt(W)) worst case.
[[nodiscard]] std::int64_t min_group_for_capacity(std::int64_t context, std::int64_t tokens, std::int64_t window);
/// Smallest G with 2L/3 > R; nullopt when no G can satisfy it (3W >= 2L with N > W).
[[nodiscard]] std::optional<std::int64_t> min_group_for_two_thirds(std::int64_t context, std::int64_t tokens,
                                                                   std::int64_t window);
/// Smallest G with L/2 > R; nullopt when no G can satisfy it (2W >= L with N > W).
[[nodiscard]] std::optional<std::int64_t> min_group_for_half(std::int64_t context, std::int64_t tokens,
                                                             std::int64_t window);

/// The largest G the advisor considers when the request names none: LongLM's README finds G from 2
/// to 64 reasonable for Llama-2. Passed only when no plan with G <= 64 fits (docs/advisor.md).
inline constexpr std::int64_t default_max_group = 64;

/// What to ask the advisor.
struct advice_request {
  std::int64_t context = 4096;              ///< L
  std::int64_t tokens = 1;                  ///< N
  std::optional<std::int64_t> window;       ///< fix W; otherwise W is chosen from L/8 .. L/2
  std::optional<std::int64_t> group;        ///< fix G; otherwise G is chosen up to max_group
  target_fraction target = target_fraction::two_thirds;  ///< keep R below this fraction of L
  /// Largest G considered. Given: a hard cap; advise() throws no_solution when no plan with
  /// G <= max_group fits. Absent: default_max_group, passed (up to the smallest G that fits) only
  /// when no plan within it fits.
  std::optional<std::int64_t> max_group;
  shift_rule shift = shift_rule::integer;
  std::int64_t top = 5;                     ///< how many ranked candidates to return (>= 1)
  /// Set (to self_extend_not_applicable()'s reason) when no layer of the model can benefit:
  /// advise() then validates the request and answers not_applicable without a plan.
  std::optional<std::string> not_applicable;
  friend bool operator==(const advice_request&, const advice_request&) = default;
};

/// One ranked plan with its judgement and the reasons it sits where it does.
struct ranked_plan {
  plan extension;
  assessment judgement;
  std::vector<std::string> reasons;  ///< human-readable, most important first
  friend bool operator==(const ranked_plan&, const ranked_plan&) = default;
};

/// The advisor's answer.
struct advice {
  bool applicable = true;                 ///< false: Self-Extend has no effect on this model; no plan follows
  std::string not_applicable_reason;      ///< why, when not applicable
  bool extension_needed = true;           ///< false when N <= L: G = 1 is recommended (verdict native)
  bool past_max_group = false;            ///< no plan with G <= default_max_group fits: the candidates go past it
  ranked_plan recommended;
  std::vector<ranked_plan> candidates;    ///< best first, recommended included, at most request.top
  std::vector<ranked_plan> capped;        ///< past_max_group: per window, the plan with G = 64 (none fits)
  /// The W the three min_group_* fields refer to; they are all null when no extension is needed.
  std::optional<std::int64_t> window_for_min_groups;
  std::optional<std::int64_t> min_group_for_capacity;
  std::optional<std::int64_t> min_group_for_two_thirds;
  std::optional<std::int64_t> min_group_for_half;
  friend bool operator==(const advice&, const advice&) = default;
};

/// Every rule the request breaks (context >= 2, tokens >= 1, 1 <= window < context, group >= 1,
/// max_group >= 1, top >= 1); empty when advise() accepts it. Never throws.
[[nodiscard]] std::vector<issue> validate(const advice_request& request);

/// Ranks (G, W) plans for reading `tokens` with a model trained on `context`.
/// The ranking, documented in docs/advisor.md: plans that fit come first; among them those
/// with R below the target fraction of L; then W nearest L/4 (the paper's 1024 for 4096);
/// then the smallest such G (finer grouping keeps more positional detail).
/// Throws invalid_params when validate(request) is not empty, and no_solution when an explicit
/// max_group is below every G that fits (naming the smallest that does).
[[nodiscard]] advice advise(const advice_request& request);

}  // namespace selfextend
