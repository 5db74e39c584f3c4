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
    case verdict::native: return "native";
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
  // Every pair at its true relative position, all below L: the model reads the text as trained.
  const bool ungrouped = p.group == 1 || params.tokens <= p.window;
  if (!a.fits) a.band = verdict::exceeds_window;
  else if (ungrouped && params.tokens <= context) a.band = verdict::native;
  else if (a.satisfies_half) a.band = verdict::within_well_trained;
  else if (a.satisfies_two_thirds) a.band = verdict::borderline;
  else a.band = verdict::less_trained;
  a.fractional_offset = fractional_offset(p);
  const std::int64_t remainder = p.window % p.group;
  if (remainder != 0 && params.tokens > p.window) {
    // (W mod G)/G; below 0.001 as the exact fraction, which three decimals would show as 0.000.
    const double offset = static_cast<double>(remainder) / static_cast<double>(p.group);
    const std::string disagreement = offset >= 0.001 ? fixed(offset, 3) : num(remainder) + "/" + num(p.group);
    a.warnings.push_back("W mod G = " + num(remainder) + ": LongLM's Llama.py/Gemma.py prefill shifts by W - W/G (float), "
                         "its flash decode by W - floor(W/G) (int); they disagree by " + disagreement +
                         " positions, and llama.cpp rejects the plan; choose W divisible by G");
  }
  if (!ungrouped && params.tokens <= context) {
    a.warnings.push_back("N = " + num(params.tokens) + " <= L = " + num(context) +
                         ": no extension is needed; G = 1 reads every position as trained (verdict native), G = " +
                         num(p.group) + " groups the positions past W = " + num(p.window) + " for no gain");
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

/// One plan under consideration, with the facts it was chosen by. Its reasons are built from
/// these facts alone (the plan, its judgement, and the smallest groups of the window its G was
/// chosen for), so they cannot disagree with the plan or with each other.
struct candidate {
  plan extension;
  std::int64_t bucket = 0;                    ///< the window its G was chosen for; differs from W once nudged
  std::optional<std::int64_t> divisor_after;  ///< offered as the smallest G above this target G dividing a fixed W
  bool past_cap = false;                      ///< G passed default_max_group because no plan within it fits
  assessment judgement;
  int tier = 0;  ///< 0: fits and meets the target; 1: fits only; 2: does not fit
};

/// The advisor's working state: the request, its target, its cap on G, and the smallest groups seen.
struct search {
  const advice_request& req;
  detail::target_bound target;
  smallest_groups_by_window groups;
  std::int64_t cap = default_max_group;  ///< max_group, or default_max_group when none is given
};

/// A fixed W needs at most this many steps above the target G to find a divisor; past them, none
/// is offered (a linear walk up to a W of 2^62 would never end).
constexpr std::int64_t divisor_search_steps = 4096;

/// The smallest G in (above, limit] dividing `window`, looked for within divisor_search_steps.
std::optional<std::int64_t> next_divisor(std::int64_t window, std::int64_t above, std::int64_t limit) {
  const std::int64_t last =
      std::min({limit, window, above > detail::int64_max - divisor_search_steps ? detail::int64_max : above + divisor_search_steps});
  for (std::int64_t g = above + 1; g <= last; ++g)
    if (window % g == 0) return g;
  return std::nullopt;
}

/// The windows the search tries: the fixed W, or the buckets.
std::vector<std::int64_t> search_windows(const advice_request& req) {
  return req.window ? std::vector<std::int64_t>{*req.window} : detail::candidate_windows(req.context);
}

/// The smallest groups of one window that meet the target, fit, meet 2L/3 and meet L/2, in that
/// order, each once, those in [low, high] only.
std::vector<std::int64_t> smallest_in(const smallest_groups& smallest, std::int64_t low, std::int64_t high) {
  std::vector<std::int64_t> groups;
  for (const std::optional<std::int64_t> g : {smallest.target, std::optional{smallest.capacity}, smallest.two_thirds, smallest.half})
    if (g && *g >= low && *g <= high && std::find(groups.begin(), groups.end(), *g) == groups.end()) groups.push_back(*g);
  return groups;
}

/// Step 1: the plans to judge. Per window (the buckets, or the fixed W): the smallest groups that
/// meet the target, fit, meet 2L/3 and meet L/2, within the cap (or the fixed G); with a fixed W
/// that the target G does not divide, also the smallest G above it that does. `past_cap`: the
/// same smallest groups above the cap instead (no plan within it fits).
std::vector<candidate> candidates(search& s, bool past_cap) {
  const advice_request& req = s.req;
  std::vector<candidate> out;
  for (const std::int64_t window : search_windows(req)) {
    const smallest_groups& smallest = s.groups.at(window);
    std::vector<std::int64_t> groups;
    if (req.group) {
      groups.push_back(*req.group);
    } else if (past_cap) {
      groups = smallest_in(smallest, s.cap + 1, detail::int64_max);
    } else {
      groups = smallest_in(smallest, 1, s.cap);
      // Nothing within the cap meets any bound: offer the cap itself so the user sees how far off it is.
      if (groups.empty()) groups.push_back(s.cap);
    }
    for (const std::int64_t group : groups) out.push_back({{group, window, req.shift}, window, std::nullopt, past_cap, {}, 0});
    const std::optional<std::int64_t> target = smallest.target;
    if (req.window && !req.group && target && (past_cap || *target <= s.cap) && window % *target != 0) {
      if (const auto g = next_divisor(window, *target, past_cap ? detail::int64_max : s.cap))
        out.push_back({{*g, window, req.shift}, window, target, past_cap, {}, 0});
    }
  }
  return out;
}

/// The smallest G that fits over the windows the search tries, and its window (the first such).
std::pair<std::int64_t, std::int64_t> smallest_fitting(search& s) {
  std::pair<std::int64_t, std::int64_t> best{detail::int64_max, 0};
  for (const std::int64_t window : search_windows(s.req))
    if (const std::int64_t g = s.groups.at(window).capacity; g < best.first) best = {g, window};
  return best;
}

/// Step 2: the plan's judgement and tier.
void score(const search& s, candidate& c) {
  c.judgement = assess({s.req.context, s.req.tokens, c.extension});
  c.tier = !c.judgement.fits ? 2 : (s.target.met_by(c.judgement) ? 0 : 1);
}

/// Step 3: LongLM's prefill (float shift) and decode (int shift) disagree unless G divides W, and
/// llama.cpp rejects such plans: when W is ours to choose, try the multiples of G below and above
/// it within a quarter of W (so W stays near its bucket); one replaces the plan when it keeps the
/// tier and every bound the plan kept so far meets, then the nearer multiple wins.
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
    if (nudged < 1 || nudged >= s.req.context || wide_int{std::abs(nudged - window)} * 4 > window) continue;
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

/// Step 5: the reasons for one ranked plan, most important first. Claims about G name the window
/// G was chosen for (the bucket), claims about W the plan's own W.
std::vector<std::string> explain(search& s, const candidate& c) {
  const advice_request& req = s.req;
  const std::int64_t L = req.context;
  const plan& p = c.extension;
  const assessment& a = c.judgement;
  const smallest_groups& chosen_for = s.groups.at(c.bucket);
  const std::string target_text = s.target.text();
  const std::string for_bucket = " for W = " + num(c.bucket);
  std::vector<std::string> reasons;
  if (c.past_cap) reasons.push_back(detail::past_cap_reason(p.group, req.tokens, L));
  if (a.fits) {
    reasons.push_back("fits: largest relative position " + num(a.max_position) + " <= L-1 = " + num(L - 1) +
                      " (capacity " + num(a.capacity_exact) + " tokens >= N = " + num(req.tokens) + ")");
  } else {
    reasons.push_back("does not fit: largest relative position " + num(a.max_position) + " >= L = " + num(L) +
                      " (capacity " + num(a.capacity_exact) + " tokens < N = " + num(req.tokens) + ")");
  }
  // R and the bound with as many decimals as it takes to tell them apart (up to 6), so the
  // comparison shown never reads "2730.7 < 2730.7".
  int decimals = 1;
  while (decimals < 6 && fixed(a.effective_reach, decimals) == fixed(s.target.value(), decimals)) ++decimals;
  const std::string target_value = fixed(s.target.value(), decimals);
  std::string reach_text = fixed(a.effective_reach, decimals);
  if (reach_text == target_value) reach_text += " (within 1e-6 of the bound; compared exactly)";
  if (s.target.met_by(a)) {
    reasons.push_back("effective reach R = " + reach_text + " < " + target_text + " = " + target_value +
                      ": only well-trained positions (the paper's empirical bound)");
  } else {
    reasons.push_back("effective reach R = " + reach_text + " >= " + target_text + " = " + target_value +
                      ": reaches less-trained positions of the window");
  }
  if (c.divisor_after) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group >= " + num(*c.divisor_after) +
                      " that divides W: LongLM's prefill and decode shifts agree and llama.cpp accepts it");
  } else if (p.group == chosen_for.target) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group with R < " + target_text + for_bucket +
                      "; a larger G only coarsens the far positions");
  } else if (p.group == chosen_for.capacity) {
    reasons.push_back("G = " + num(p.group) + " is the smallest group that fits" + for_bucket +
                      ": the finest grouping, but it uses positions up to " + num(a.max_position) +
                      ", which the paper finds less trained");
  } else if (chosen_for.target && p.group > *chosen_for.target) {
    reasons.push_back("G = " + num(p.group) + " is larger than needed for R < " + target_text + " (" +
                      num(*chosen_for.target) + for_bucket + "): safer reach, coarser far positions");
  } else if (!req.group && p.group == s.cap) {
    reasons.push_back("G = " + num(p.group) + " = max_group, the largest group considered: no G up to it fits" +
                      for_bucket + " (the smallest that fits is " + num(chosen_for.capacity) + ")");
  }
  if (req.group && p.group > s.cap)
    reasons.push_back("G = " + num(p.group) + " exceeds max_group = " + num(s.cap) + "; it was given, so it is planned");
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
  if (p.window != c.bucket)
    reasons.push_back("W moved from " + num(c.bucket) + " to " + num(p.window) +
                      ", a multiple of G: LongLM's prefill and decode shifts then agree and llama.cpp accepts the plan");
  return reasons;
}

/// N <= L and G free: G = 1 reads the text as trained (verdict native).
ranked_plan without_extension(const advice_request& req) {
  const plan p{1, req.window.value_or(detail::candidate_windows(req.context).front()), req.shift};
  ranked_plan r{p, assess({req.context, req.tokens, p}), {}};
  r.reasons.push_back("N = " + num(req.tokens) + " <= L = " + num(req.context) + ": the model reads all " +
                      num(req.tokens) + " tokens at the positions it was trained on; no Self-Extend needed (G = 1)");
  return r;
}

/// Scores, nudges and ranks `all`, and explains the first `top`.
std::vector<ranked_plan> ranked(search& s, std::vector<candidate> all, std::int64_t top) {
  for (candidate& c : all) {
    score(s, c);
    nudge(s, c);
  }
  rank(all, s.req.context);
  std::vector<ranked_plan> out;
  for (const candidate& c : all) {
    if (static_cast<std::int64_t>(out.size()) >= top) break;
    out.push_back({c.extension, c.judgement, explain(s, c)});
  }
  return out;
}

}  // namespace

advice advise(const advice_request& req) {
  detail::throw_if_any(validate(req));
  if (req.not_applicable) {
    advice out;
    out.applicable = false;
    out.not_applicable_reason = *req.not_applicable;
    out.extension_needed = false;
    return out;
  }
  search s{req, detail::target_bound(req.target, req.context), smallest_groups_by_window(req),
           detail::group_cap(detail::search_fields(req))};
  advice out;
  out.extension_needed = req.tokens > req.context;
  if (!out.extension_needed && !req.group) {
    out.candidates.push_back(without_extension(req));
  } else {
    // G free and no plan within the cap fits: an explicit cap is the user's to raise; the default
    // one is passed, and the plans within it stay listed as not fitting.
    const auto [smallest_group, its_window] = smallest_fitting(s);
    if (!req.group && smallest_group > s.cap) {
      if (req.max_group) throw detail::cap_too_small(*req.max_group, smallest_group, its_window, req.tokens, req.context);
      out.past_max_group = true;
      out.capped = ranked(s, candidates(s, false), detail::int64_max);
      out.candidates = ranked(s, candidates(s, true), req.top);
    } else {
      out.candidates = ranked(s, candidates(s, false), req.top);
    }
    if (!out.extension_needed)
      out.candidates.front().reasons.insert(out.candidates.front().reasons.begin(),
                                            "N = " + num(req.tokens) + " <= L = " + num(req.context) +
                                                ": no extension is needed; without grouping the model reads it as trained");
  }
  out.recommended = out.candidates.front();
  if (out.extension_needed) {
    out.window_for_min_groups = req.window.value_or(out.recommended.extension.window);
    const smallest_groups& smallest = s.groups.at(*out.window_for_min_groups);
    out.min_group_for_capacity = smallest.capacity;
    out.min_group_for_two_thirds = smallest.two_thirds;
    out.min_group_for_half = smallest.half;
  }
  return out;
}

}  // namespace selfextend
