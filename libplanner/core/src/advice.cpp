// advice.cpp - capacity, the empirical bound, verdict bands and the advisor (docs/concepts.md, docs/advisor.md).
#include <selfextend/advice.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include <selfextend/position_map.hpp>

#include "advisor_core.hpp"
#include "checked_math.hpp"
#include "text.hpp"

namespace selfextend {
namespace {

using detail::ceil_div;
using detail::fixed;
using detail::num;
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
  if (!params.context) throw invalid_params("context", "(none)", "is required (the pretrained context L)");
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

std::vector<issue> validate(const advice_request& req) {
  std::vector<issue> issues = detail::validate_search(detail::search_fields(req));
  if (req.top < 1) issues.push_back({"top", num(req.top), "must be at least 1"});
  return issues;
}

namespace {

/// The smallest groups for one window.
struct smallest_groups {
  std::int64_t capacity = 1;
  std::optional<std::int64_t> two_thirds;
  std::optional<std::int64_t> half;
  std::optional<std::int64_t> target;  ///< two_thirds or half, as the request asks
};

/// Computes the smallest groups once per window the advisor touches (its buckets, their nudged
/// neighbours, the window the answer reports them for).
class smallest_groups_by_window {
 public:
  explicit smallest_groups_by_window(const advice_request& req) : req_(req) {}
  const smallest_groups& at(std::int64_t window) {
    auto [it, inserted] = cache_.try_emplace(window);
    if (inserted) {
      smallest_groups& g = it->second;
      g.capacity = min_group_for_capacity(req_.context, req_.tokens, window);
      g.two_thirds = min_group_for_two_thirds(req_.context, req_.tokens, window);
      g.half = min_group_for_half(req_.context, req_.tokens, window);
      g.target = req_.target == target_fraction::half ? g.half : g.two_thirds;
    }
    return it->second;
  }

 private:
  const advice_request& req_;
  std::map<std::int64_t, smallest_groups> cache_;
};

/// One plan under consideration.
struct candidate {
  plan extension;
  std::int64_t bucket = 0;                    ///< the window it came from; differs from W once nudged
  std::optional<std::int64_t> divisor_after;  ///< offered as the smallest G above this target G dividing a fixed W
  assessment judgement;
  int tier = 0;  ///< 0: fits and meets the target; 1: fits only; 2: does not fit
};

/// The advisor's working state: the request, its target, and the smallest groups seen.
struct search {
  const advice_request& req;
  detail::target_bound target;
  smallest_groups_by_window groups;
};

/// Step 1: the plans to judge. Per window (the buckets, or the fixed W): the smallest groups that
/// meet the target, fit, meet 2L/3 and meet L/2, within max_group (or the fixed G); with a fixed W
/// that the target G does not divide, also the smallest G above it that does.
std::vector<candidate> candidates(search& s) {
  const advice_request& req = s.req;
  std::vector<candidate> out;
  const std::vector<std::int64_t> windows =
      req.window ? std::vector<std::int64_t>{*req.window} : detail::candidate_windows(req.context);
  for (const std::int64_t window : windows) {
    const smallest_groups& smallest = s.groups.at(window);
    std::vector<std::int64_t> groups;
    if (req.group) {
      groups.push_back(*req.group);
    } else {
      for (const std::optional<std::int64_t> g : {smallest.target, std::optional{smallest.capacity}, smallest.two_thirds, smallest.half})
        if (g && *g <= req.max_group && std::find(groups.begin(), groups.end(), *g) == groups.end()) groups.push_back(*g);
      // Nothing within max_group fits: offer max_group itself so the user sees how far off it is.
      if (groups.empty()) groups.push_back(req.max_group);
    }
    for (const std::int64_t group : groups) out.push_back({{group, window, req.shift}, window, std::nullopt, {}, 0});
    const std::optional<std::int64_t> target = smallest.target;
    if (req.window && !req.group && target && *target <= req.max_group && window % *target != 0) {
      for (std::int64_t g = *target + 1; g <= std::min(req.max_group, window); ++g) {
        if (window % g == 0) {
          out.push_back({{g, window, req.shift}, window, target, {}, 0});
          break;
        }
      }
    }
  }
  return out;
}

/// Step 2: the plan's judgement and tier.
void score(const search& s, candidate& c) {
  c.judgement = assess({s.req.context, s.req.tokens, c.extension});
  c.tier = !c.judgement.fits ? 2 : (s.target.met_by(c.judgement) ? 0 : 1);
}

/// Step 3: LongLM's prefill (float shift) and decode (int shift) disagree unless G divides W, and
/// llama.cpp rejects such plans: when W is ours to choose, try the multiples of G below and above
/// it; one replaces the plan when it keeps the tier and every bound the plan kept so far meets,
/// then the nearer multiple wins.
void nudge(const search& s, candidate& c) {
  const std::int64_t group = c.extension.group;
  const std::int64_t window = c.extension.window;
  if (s.req.window || window % group == 0) return;
  const auto key = [&](const candidate& x) {
    const int lost = int{c.judgement.satisfies_half && !x.judgement.satisfies_half} +
                     int{c.judgement.satisfies_two_thirds && !x.judgement.satisfies_two_thirds};
    const std::int64_t distance =
        x.extension.window % group == 0 ? std::abs(x.extension.window - window) : detail::int64_max;
    return std::tuple(x.tier, lost, distance);
  };
  const std::int64_t below = window / group * group;
  for (const std::int64_t nudged : {below, below + group}) {
    if (nudged < 1 || nudged >= s.req.context) continue;
    candidate alt = c;
    alt.extension.window = nudged;
    score(s, alt);
    if (key(alt) < key(c)) c = std::move(alt);
  }
}

/// Step 4: fitting plans first, then those meeting the target; then W's bucket nearest L/4 (a
/// nudged W keeps its bucket's place), the smaller G, the smaller W.
void rank(std::vector<candidate>& all, std::int64_t context) {
  const auto key = [context](const candidate& c) {
    return std::tuple(c.tier, detail::distance_from_quarter(c.bucket, context), c.extension.group, c.extension.window);
  };
  std::stable_sort(all.begin(), all.end(), [&](const candidate& a, const candidate& b) { return key(a) < key(b); });
}

/// Step 5: the reasons for one ranked plan, most important first.
std::vector<std::string> explain(search& s, const candidate& c) {
  const advice_request& req = s.req;
  const std::int64_t L = req.context;
  const plan& p = c.extension;
  const assessment& a = c.judgement;
  const smallest_groups& smallest = s.groups.at(p.window);
  const std::string target_text = s.target.text();
  const std::string target_value = fixed(s.target.value(), 1);
  std::vector<std::string> reasons;
  if (a.fits) {
    reasons.push_back("fits: largest relative position " + num(a.max_position) + " <= L-1 = " + num(L - 1) +
                      " (capacity " + num(a.capacity_exact) + " tokens >= N = " + num(req.tokens) + ")");
  } else {
    reasons.push_back("does not fit: largest relative position " + num(a.max_position) + " >= L = " + num(L) +
                      " (capacity " + num(a.capacity_exact) + " tokens < N = " + num(req.tokens) + ")");
  }
  if (s.target.met_by(a)) {
    reasons.push_back("effective reach R = " + fixed(a.effective_reach, 1) + " < " + target_text + " = " + target_value +
                      ": only well-trained positions (the paper's empirical bound)");
  } else {
    reasons.push_back("effective reach R = " + fixed(a.effective_reach, 1) + " >= " + target_text + " = " + target_value +
                      ": reaches less-trained positions of the window");
  }
  if (p.group == smallest.target) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group with R < " + target_text + " for W = " +
                      num(p.window) + "; a larger G only coarsens the far positions");
  } else if (p.group == smallest.capacity) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group that fits for W = " + num(p.window) +
                      ": the finest grouping, but it uses positions up to " + num(a.max_position) +
                      ", which the paper finds less trained");
  } else if (smallest.target && p.group > *smallest.target) {
    reasons.push_back("G = " + num(p.group) + " is larger than needed for R < " + target_text + " (" +
                      num(*smallest.target) + "): safer reach, coarser far positions");
  }
  if (!req.window) {
    // A nudged W is reported against the bucket it came from: "W = 1026, near L/4 = 1024".
    const std::string head = "W = " + num(p.window) + (c.bucket == p.window ? " = " : ", near ");
    const std::string bucket_text = detail::window_label(c.bucket, L) + (c.bucket == p.window ? "" : " = " + num(c.bucket));
    if (c.bucket * 4 == L) {
      reasons.push_back(head + bucket_text + ", the paper's choice for Llama-2 (1024 of 4096)");
    } else if (c.bucket * 4 < L) {
      reasons.push_back(head + bucket_text + ": fewer exact neighbours than L/4, so a smaller G reaches the same bound");
    } else {
      reasons.push_back(head + bucket_text + ": more exact neighbours than L/4, at the price of a larger G");
    }
  }
  if (p.group > req.max_group) reasons.push_back("G = " + num(p.group) + " exceeds max_group = " + num(req.max_group));
  if (p.window != c.bucket)
    reasons.push_back("W moved from " + num(c.bucket) + " to " + num(p.window) +
                      ", a multiple of G: LongLM's prefill and decode shifts then agree and llama.cpp accepts the plan");
  if (c.divisor_after)
    reasons.push_back("G = " + num(p.group) + " is the smallest group >= " + num(*c.divisor_after) +
                      " that divides W: LongLM's prefill and decode shifts agree and llama.cpp accepts it");
  return reasons;
}

/// N <= L and G free: G = 1 reads the text as trained.
ranked_plan without_extension(const advice_request& req) {
  const plan p{1, req.window.value_or(detail::candidate_windows(req.context).front()), req.shift};
  ranked_plan r{p, assess({req.context, req.tokens, p}), {}};
  r.reasons.push_back("N = " + num(req.tokens) + " <= L = " + num(req.context) +
                      ": the model reads it without extension; no Self-Extend needed (G = 1)");
  r.reasons.push_back("largest relative position " + num(r.judgement.max_position) + " <= L-1 = " + num(req.context - 1));
  return r;
}

}  // namespace

advice advise(const advice_request& req) {
  detail::throw_if_any(validate(req));
  search s{req, detail::target_bound(req.target, req.context), smallest_groups_by_window(req)};
  advice out;
  out.extension_needed = req.tokens > req.context;
  if (!out.extension_needed && !req.group) {
    out.candidates.push_back(without_extension(req));
  } else {
    std::vector<candidate> all = candidates(s);
    for (candidate& c : all) {
      score(s, c);
      nudge(s, c);
    }
    rank(all, req.context);
    for (const candidate& c : all) {
      if (static_cast<std::int64_t>(out.candidates.size()) >= req.top) break;
      out.candidates.push_back({c.extension, c.judgement, explain(s, c)});
    }
    if (!out.extension_needed)
      out.candidates.front().reasons.insert(out.candidates.front().reasons.begin(),
                                            "N = " + num(req.tokens) + " <= L = " + num(req.context) +
                                                ": no extension is needed; G = 1 would read it as trained");
  }
  out.recommended = out.candidates.front();
  out.window_for_min_groups = req.window.value_or(out.recommended.extension.window);
  const smallest_groups& smallest = s.groups.at(out.window_for_min_groups);
  out.min_group_for_capacity = smallest.capacity;
  out.min_group_for_two_thirds = smallest.two_thirds;
  out.min_group_for_half = smallest.half;
  return out;
}

}  // namespace selfextend
