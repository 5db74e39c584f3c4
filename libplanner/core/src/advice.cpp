// advice.cpp - capacity, the empirical bound, verdict bands and the advisor (DESIGN.md §2).
#include <selfextend/advice.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <tuple>

#include <selfextend/position_map.hpp>

#include "checked_math.hpp"

namespace selfextend {
namespace {

using detail::ceil_div;
using detail::wide_int;

void require_plan_for_context(std::int64_t context, std::int64_t tokens, const plan& p) {
  require_valid(self_extend_params{context, tokens, p});
}

/// Exact comparison R < (num/den) * L without rounding: R = (G*W + N - W)/G for N > W, else N.
bool reach_below(std::int64_t context, std::int64_t tokens, const plan& p, int num, int den) {
  if (tokens <= p.window) return wide_int{tokens} * den < wide_int{context} * num;
  // R = W + q + r/G with N - W = qG + r, 0 <= r < G. Multiplying everything by G could pass
  // 2^127 for inputs near 2^63, so compare the whole part first and the fraction only when the
  // whole parts leave less than den of room: R*den < L*num  <=>  r*den < (L*num - (W+q)*den) * G.
  const std::int64_t excess = tokens - p.window;
  const wide_int whole = (wide_int{p.window} + excess / p.group) * den;
  const wide_int bound = wide_int{context} * num;
  if (whole >= bound) return false;
  const wide_int room = bound - whole;  // >= 1
  if (room >= den) return true;         // r*den < den*G <= room*G
  return wide_int{excess % p.group} * den < room * p.group;
}

std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::fixed, decimals);
  return std::string(buffer.data(), result.ptr);
}

std::string num(std::int64_t v) { return std::to_string(v); }

/// Smallest G (>= 1) with factor * (N - W) < G * (scale * L - factor * W), i.e. R < (scale/factor) L.
std::optional<std::int64_t> min_group_for_fraction(std::int64_t context, std::int64_t tokens, std::int64_t window,
                                                   int scale, int factor) {
  require_plan_for_context(context, tokens, {1, window, shift_rule::integer});
  if (tokens <= window) {
    // No pair is grouped: R = N whatever G is.
    if (wide_int{tokens} * factor < wide_int{context} * scale) return 1;
    return std::nullopt;
  }
  const wide_int slack = wide_int{context} * scale - wide_int{window} * factor;
  if (slack <= 0) return std::nullopt;
  const wide_int group = wide_int{tokens - window} * factor / slack + 1;
  if (group > wide_int{detail::int64_max}) return std::nullopt;
  return static_cast<std::int64_t>(group);
}

std::vector<std::int64_t> candidate_windows(std::int64_t context) {
  // L/8 .. L/2 (the paper's feasible range for Llama-2 is 512..1536 of 4096, its choice 1024 = L/4).
  std::vector<std::int64_t> windows;
  for (const auto& [num_, den] : {std::pair{1, 4}, std::pair{1, 8}, std::pair{3, 8}, std::pair{1, 2}}) {
    const std::int64_t w = context / den * num_;
    if (w >= 1 && w < context && std::find(windows.begin(), windows.end(), w) == windows.end()) windows.push_back(w);
  }
  if (windows.empty()) windows.push_back(1);  // L = 2 or 3: W = 1 is the only useful choice
  return windows;
}

double window_distance(std::int64_t window, std::int64_t context) {
  // Distance from the paper's L/4 on a log scale: L/8 and L/2 are equally far from L/4.
  return std::abs(std::log2(static_cast<double>(window) * 4.0 / static_cast<double>(context)));
}

std::string window_label(std::int64_t window, std::int64_t context) {
  for (const auto& [n, d] : {std::pair{1, 8}, std::pair{1, 4}, std::pair{3, 8}, std::pair{1, 2}}) {
    if (context % d == 0 && context / d * n == window) return "L" + std::string(n == 1 ? "" : "*" + num(n)) + "/" + num(d);
  }
  return fixed(static_cast<double>(window) / static_cast<double>(context), 3) + "*L";
}

}  // namespace

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::within_well_trained: return "within_well_trained";
    case verdict::borderline: return "borderline";
    case verdict::less_trained: return "less_trained";
    case verdict::exceeds_window: return "exceeds_window";
  }
  return "exceeds_window";
}

std::string_view to_string(target_fraction t) noexcept { return t == target_fraction::half ? "half" : "two_thirds"; }

std::optional<target_fraction> parse_target_fraction(std::string_view text) noexcept {
  if (text == "half" || text == "1/2") return target_fraction::half;
  if (text == "two_thirds" || text == "2/3") return target_fraction::two_thirds;
  return std::nullopt;
}

std::int64_t capacity_exact(std::int64_t context, const plan& p) {
  require_plan_for_context(context, 1, p);
  // P_max(N) <= L-1  <=>  floor((N-1)/G) <= L-1-W+floor(W/G)  <=>  N <= G (L - W + floor(W/G)).
  return detail::saturate(wide_int{p.group} * (context - p.window + p.window / p.group));
}

std::int64_t capacity_paper(std::int64_t context, const plan& p) {
  require_plan_for_context(context, 1, p);
  return detail::saturate(wide_int{context - p.window} * p.group + p.window);
}

double effective_reach(std::int64_t tokens, const plan& p) {
  require_valid(self_extend_params{std::nullopt, tokens, p});
  if (tokens <= p.window) return static_cast<double>(tokens);
  // Split so that N up to 2^63 keeps its precision: W + q + r/G with N - W = q G + r.
  const std::int64_t excess = tokens - p.window;
  return static_cast<double>(p.window) + static_cast<double>(excess / p.group) +
         static_cast<double>(excess % p.group) / static_cast<double>(p.group);
}

assessment assess(const self_extend_params& params) {
  if (!params.context) throw invalid_params("context", "(none)", "is required: give --context, --model or --config");
  require_valid(params);
  const std::int64_t context = *params.context;
  const plan& p = params.extension;
  assessment a;
  a.capacity_exact = capacity_exact(context, p);
  a.capacity_paper = capacity_paper(context, p);
  a.max_position = max_position(params.tokens, p);
  a.effective_reach = effective_reach(params.tokens, p);
  a.reach_ratio = a.effective_reach / static_cast<double>(context);
  a.fits = a.max_position <= context - 1;
  a.satisfies_half = reach_below(context, params.tokens, p, 1, 2);
  a.satisfies_two_thirds = reach_below(context, params.tokens, p, 2, 3);
  if (!a.fits) a.band = verdict::exceeds_window;
  else if (a.satisfies_half) a.band = verdict::within_well_trained;
  else if (a.satisfies_two_thirds) a.band = verdict::borderline;
  else a.band = verdict::less_trained;
  a.fractional_offset = fractional_offset(p);
  const std::int64_t remainder = p.window % p.group;
  if (remainder != 0 && params.tokens > p.window) {
    a.warnings.push_back("W mod G = " + num(remainder) + ": LongLM's Llama.py/Gemma.py prefill shifts by W - W/G (float), "
                         "its flash decode by W - floor(W/G) (int); they disagree by " +
                         fixed(static_cast<double>(remainder) / static_cast<double>(p.group), 3) +
                         " positions, and llama.cpp rejects the plan; choose W divisible by G");
  }
  return a;
}

std::int64_t min_group_for_capacity(std::int64_t context, std::int64_t tokens, std::int64_t window) {
  require_plan_for_context(context, tokens, {1, window, shift_rule::integer});
  if (tokens <= context) return 1;  // G = 1: P_max = N - 1 <= L - 1
  const wide_int span = context - window;  // >= 1
  // capacity(G) = G*span + G*floor(W/G) <= G*span + W, so no G below this can fit.
  wide_int group = std::max<wide_int>(2, ceil_div(wide_int{tokens} - window, span));
  for (;;) {
    if (group > window) {
      // floor(W/G) = 0 from here on: capacity = G*span grows with G.
      return detail::saturate(std::max(group, ceil_div(tokens, span)));
    }
    // Within a block where floor(W/G) = q is constant, capacity = G (span + q) grows with G.
    const wide_int q = window / group;
    const wide_int block_end = window / q;
    const wide_int needed = std::max(group, ceil_div(tokens, span + q));
    if (needed <= block_end) return detail::saturate(needed);
    group = block_end + 1;
  }
}

std::optional<std::int64_t> min_group_for_two_thirds(std::int64_t context, std::int64_t tokens, std::int64_t window) {
  return min_group_for_fraction(context, tokens, window, 2, 3);
}

std::optional<std::int64_t> min_group_for_half(std::int64_t context, std::int64_t tokens, std::int64_t window) {
  return min_group_for_fraction(context, tokens, window, 1, 2);
}

namespace {

struct scored_plan {
  ranked_plan ranked;
  int tier = 0;             // 0: fits and meets the target; 1: fits only; 2: does not fit
  double window_distance = 0;
};

std::vector<std::string> reasons_for(const advice_request& req, const plan& p, const assessment& a,
                                     std::int64_t bucket) {
  const std::int64_t L = req.context;
  const bool half = req.target == target_fraction::half;
  const std::int64_t group_for_capacity = min_group_for_capacity(L, req.tokens, p.window);
  const std::optional<std::int64_t> group_for_target =
      half ? min_group_for_half(L, req.tokens, p.window) : min_group_for_two_thirds(L, req.tokens, p.window);
  const double target_value = half ? static_cast<double>(L) / 2.0 : 2.0 * static_cast<double>(L) / 3.0;
  const std::string target_text = half ? "L/2" : "2L/3";
  const bool meets = half ? a.satisfies_half : a.satisfies_two_thirds;
  std::vector<std::string> reasons;
  if (a.fits) {
    reasons.push_back("fits: largest relative position " + num(a.max_position) + " <= L-1 = " + num(L - 1) +
                      " (capacity " + num(a.capacity_exact) + " tokens >= N = " + num(req.tokens) + ")");
  } else {
    reasons.push_back("does not fit: largest relative position " + num(a.max_position) + " >= L = " + num(L) +
                      " (capacity " + num(a.capacity_exact) + " tokens < N = " + num(req.tokens) + ")");
  }
  if (meets) {
    reasons.push_back("effective reach R = " + fixed(a.effective_reach, 1) + " < " + target_text + " = " +
                      fixed(target_value, 1) + ": only well-trained positions (the paper's empirical bound)");
  } else {
    reasons.push_back("effective reach R = " + fixed(a.effective_reach, 1) + " >= " + target_text + " = " +
                      fixed(target_value, 1) + ": reaches less-trained positions of the window");
  }
  if (p.group == group_for_target) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group with R < " + target_text + " for W = " +
                      num(p.window) + "; a larger G only coarsens the far positions");
  } else if (p.group == group_for_capacity) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group that fits for W = " + num(p.window) +
                      ": the finest grouping, but it uses positions up to " + num(a.max_position) +
                      ", which the paper finds less trained");
  } else if (group_for_target && p.group > *group_for_target) {
    reasons.push_back("G = " + num(p.group) + " is larger than needed for R < " + target_text + " (" +
                      num(*group_for_target) + "): safer reach, coarser far positions");
  }
  if (!req.window) {
    // A nudged W is reported against the bucket it came from: "W = 1026, near L/4 = 1024".
    const std::string head = "W = " + num(p.window) + (bucket == p.window ? " = " : ", near ");
    const std::string bucket_text = window_label(bucket, L) + (bucket == p.window ? "" : " = " + num(bucket));
    if (bucket * 4 == L) {
      reasons.push_back(head + bucket_text + ", the paper's choice for Llama-2 (1024 of 4096)");
    } else if (bucket * 4 < L) {
      reasons.push_back(head + bucket_text + ": fewer exact neighbours than L/4, so a smaller G reaches the same bound");
    } else {
      reasons.push_back(head + bucket_text + ": more exact neighbours than L/4, at the price of a larger G");
    }
  }
  if (p.group > req.max_group)
    reasons.push_back("G = " + num(p.group) + " exceeds max_group = " + num(req.max_group));
  return reasons;
}

void require_valid_request(const advice_request& req) {
  std::vector<issue> issues;
  if (req.context < 2) issues.push_back({"context", num(req.context), "must be at least 2"});
  if (req.tokens < 1) issues.push_back({"tokens", num(req.tokens), "must be at least 1"});
  if (req.window) {
    if (*req.window < 1) issues.push_back({"window", num(*req.window), "must be at least 1"});
    else if (req.context >= 2 && *req.window >= req.context)
      issues.push_back({"window", num(*req.window), "must be smaller than context (" + num(req.context) + ")"});
  }
  if (req.group && *req.group < 1) issues.push_back({"group", num(*req.group), "must be at least 1"});
  if (req.max_group < 1) issues.push_back({"max_group", num(req.max_group), "must be at least 1"});
  if (req.top < 1) issues.push_back({"top", num(req.top), "must be at least 1"});
  if (!issues.empty()) throw invalid_params(std::move(issues));
}

}  // namespace

advice advise(const advice_request& req) {
  require_valid_request(req);
  const std::int64_t L = req.context;
  const bool half = req.target == target_fraction::half;
  advice out;
  out.extension_needed = req.tokens > L;

  if (!out.extension_needed && !req.group) {
    const std::int64_t window = req.window.value_or(candidate_windows(L).front());
    const plan p{1, window, req.shift};
    ranked_plan r{p, assess({L, req.tokens, p}), {}};
    r.reasons.push_back("N = " + num(req.tokens) + " <= L = " + num(L) +
                        ": the model reads it without extension; no Self-Extend needed (G = 1)");
    r.reasons.push_back("largest relative position " + num(r.judgement.max_position) +
                        " <= L-1 = " + num(L - 1));
    out.recommended = r;
    out.candidates.push_back(r);
  } else {
    std::vector<std::int64_t> windows = req.window ? std::vector<std::int64_t>{*req.window} : candidate_windows(L);
    std::vector<scored_plan> scored;
    for (const std::int64_t window : windows) {
      const std::int64_t g_capacity = min_group_for_capacity(L, req.tokens, window);
      const std::optional<std::int64_t> g_two_thirds = min_group_for_two_thirds(L, req.tokens, window);
      const std::optional<std::int64_t> g_half = min_group_for_half(L, req.tokens, window);
      const std::optional<std::int64_t> g_target = half ? g_half : g_two_thirds;
      std::vector<std::int64_t> groups;
      if (req.group) {
        groups.push_back(*req.group);
      } else {
        for (const std::optional<std::int64_t> g : {g_target, std::optional{g_capacity}, g_two_thirds, g_half}) {
          if (g && *g <= req.max_group && std::find(groups.begin(), groups.end(), *g) == groups.end())
            groups.push_back(*g);
        }
        // Nothing within max_group fits: offer max_group itself so the user sees how far off it is.
        if (groups.empty()) groups.push_back(req.max_group);
      }
      const auto score = [&](const plan& p) {
        scored_plan s;
        s.ranked.extension = p;
        s.ranked.judgement = assess({L, req.tokens, p});
        s.ranked.reasons = reasons_for(req, p, s.ranked.judgement, window);
        const bool meets = half ? s.ranked.judgement.satisfies_half : s.ranked.judgement.satisfies_two_thirds;
        s.tier = !s.ranked.judgement.fits ? 2 : (meets ? 0 : 1);
        // Rank by the window bucket the plan came from, so a nudged W keeps its bucket's place.
        s.window_distance = window_distance(window, L);
        return s;
      };
      for (const std::int64_t group : groups) {
        scored_plan s = score({group, window, req.shift});
        if (!req.window && window % group != 0) {
          // LongLM's prefill (float shift) and decode (int shift) disagree unless G divides W, and
          // llama.cpp rejects such plans: when W is ours to choose, move it to a multiple of G nearby.
          const std::int64_t below = window / group * group;
          for (const std::int64_t nudged : {below, below + group}) {
            if (nudged < 1 || nudged >= L) continue;
            scored_plan alt = score({group, nudged, req.shift});
            // Keep the tier and every bound the original met; then the nearest multiple wins.
            const auto key = [&](const scored_plan& c) {
              const int lost = int{s.ranked.judgement.satisfies_half && !c.ranked.judgement.satisfies_half} +
                               int{s.ranked.judgement.satisfies_two_thirds && !c.ranked.judgement.satisfies_two_thirds};
              return std::tuple(c.tier, lost,
                                c.ranked.extension.window % group == 0 ? std::abs(c.ranked.extension.window - window)
                                                                       : detail::int64_max);
            };
            if (key(alt) < key(s)) s = std::move(alt);
          }
          if (s.ranked.extension.window != window)
            s.ranked.reasons.push_back("W moved from " + num(window) + " to " + num(s.ranked.extension.window) +
                                       ", a multiple of G: LongLM's prefill and decode shifts then agree and llama.cpp accepts the plan");
        }
        scored.push_back(std::move(s));
      }
      if (req.window && !req.group && g_target && *g_target <= req.max_group && window % *g_target != 0) {
        // W is fixed and the target G does not divide it: also offer the smallest G >= target that does.
        for (std::int64_t g = *g_target + 1; g <= std::min(req.max_group, window); ++g) {
          if (window % g == 0) {
            scored_plan s = score({g, window, req.shift});
            s.ranked.reasons.push_back("G = " + num(g) + " is the smallest group >= " + num(*g_target) +
                                       " that divides W: LongLM's prefill and decode shifts agree and llama.cpp accepts it");
            scored.push_back(std::move(s));
            break;
          }
        }
      }
    }
    std::stable_sort(scored.begin(), scored.end(), [](const scored_plan& a, const scored_plan& b) {
      return std::tuple(a.tier, a.window_distance, a.ranked.extension.group, a.ranked.extension.window) <
             std::tuple(b.tier, b.window_distance, b.ranked.extension.group, b.ranked.extension.window);
    });
    if (!out.extension_needed)
      scored.front().ranked.reasons.insert(scored.front().ranked.reasons.begin(),
                                           "N = " + num(req.tokens) + " <= L = " + num(L) +
                                               ": no extension is needed; G = 1 would read it as trained");
    for (const scored_plan& s : scored) {
      if (static_cast<std::int64_t>(out.candidates.size()) >= req.top) break;
      out.candidates.push_back(s.ranked);
    }
    out.recommended = out.candidates.front();
  }
  out.window_for_min_groups = req.window.value_or(out.recommended.extension.window);
  out.min_group_for_capacity = min_group_for_capacity(L, req.tokens, out.window_for_min_groups);
  out.min_group_for_two_thirds = min_group_for_two_thirds(L, req.tokens, out.window_for_min_groups);
  out.min_group_for_half = min_group_for_half(L, req.tokens, out.window_for_min_groups);
  return out;
}

}  // namespace selfextend
