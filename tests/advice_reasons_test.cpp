// advice_reasons_test.cpp - every reason the advisor gives agrees with the plan it is attached to.
//
// Over thousands of random requests, each number a reason states is recomputed from the library's
// own functions (max_position, capacity, reach, the smallest groups) for that plan, and each claim
// ("fits", "the smallest group that fits for W = 1024", "near L/4 = 1024", ...) is checked against
// it. A reason built from the facts of another plan or window fails here.
#include <gtest/gtest.h>

#include <selfextend/advice.hpp>
#include <selfextend/error.hpp>
#include <selfextend/position_map.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using selfextend::advice_request;
using selfextend::ranked_plan;

/// Every integer that follows `label` in `text` ("G = 9 ... G = 12" -> {9, 12} for "G = ").
std::vector<std::int64_t> numbers_after(std::string_view text, std::string_view label) {
  std::vector<std::int64_t> out;
  for (std::size_t at = text.find(label); at != std::string_view::npos; at = text.find(label, at + 1)) {
    // A name counts only where it starts a word: "L = " is not inside "0.125*L = " or "2L/3 = ".
    const bool name = std::isalpha(static_cast<unsigned char>(label.front())) != 0;
    if (name && at > 0 && text[at - 1] != ' ' && text[at - 1] != '(') continue;
    std::int64_t value = 0;
    const char* begin = text.data() + at + label.size();
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec == std::errc() && end != begin) out.push_back(value);
  }
  return out;
}

/// The integer right after `label` (the first occurrence), or nullopt.
std::optional<std::int64_t> number_after(std::string_view text, std::string_view label) {
  const std::vector<std::int64_t> all = numbers_after(text, label);
  return all.empty() ? std::nullopt : std::optional{all.front()};
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::optional<std::int64_t> smallest_for_target(const advice_request& req, std::int64_t window) {
  return req.target == selfextend::target_fraction::half
             ? selfextend::min_group_for_half(req.context, req.tokens, window)
             : selfextend::min_group_for_two_thirds(req.context, req.tokens, window);
}

/// Checks every reason of `r`, one of the plans `a` answers `req` with.
void check_reasons(const advice_request& req, const selfextend::advice& a, const ranked_plan& r, bool capped) {
  const std::int64_t L = req.context, N = req.tokens;
  const std::int64_t G = r.extension.group, W = r.extension.window;
  const selfextend::assessment fresh = selfextend::assess({L, N, r.extension});
  ASSERT_EQ(fresh, r.judgement);
  const std::string where = "L=" + std::to_string(L) + " N=" + std::to_string(N) + " G=" + std::to_string(G) +
                            " W=" + std::to_string(W);
  ASSERT_FALSE(r.reasons.empty()) << where;
  // The window G was chosen for: the plan's W, or the bucket a nudged W came from.
  std::optional<std::int64_t> bucket;
  for (const std::string& reason : r.reasons) {
    SCOPED_TRACE(where + ": " + reason);
    // The names every reason uses mean this plan and this request, wherever they appear.
    for (const std::int64_t g : numbers_after(reason, "G = ")) { EXPECT_EQ(G, g); }
    for (const std::int64_t n : numbers_after(reason, "N = ")) { EXPECT_EQ(N, n); }
    for (const std::int64_t l : numbers_after(reason, "L = ")) { EXPECT_EQ(L, l); }
    for (const std::int64_t l : numbers_after(reason, "L-1 = ")) { EXPECT_EQ(L - 1, l); }
    for (const std::int64_t p : numbers_after(reason, "largest relative position ")) { EXPECT_EQ(fresh.max_position, p); }
    for (const std::int64_t c : numbers_after(reason, "capacity ")) { EXPECT_EQ(fresh.capacity_exact, c); }
    if (contains(reason, "effective reach R = ")) {
      // R as shown, rounded to the decimals shown, and never equal to the bound it is compared with.
      const std::size_t at = reason.find("R = ") + 4;
      const std::string shown = reason.substr(at, reason.find(' ', at) - at);
      const std::size_t point = shown.find('.');
      const int decimals = point == std::string::npos ? 0 : static_cast<int>(shown.size() - point - 1);
      EXPECT_LE(std::abs(std::stod(shown) - fresh.effective_reach), 0.5 * std::pow(10.0, -decimals) + 1e-9 * fresh.effective_reach);
      const std::size_t bound_at = reason.find(" = ", reason.find(shown) + shown.size()) + 3;
      const std::string bound = reason.substr(bound_at, reason.find(':', bound_at) - bound_at);
      if (decimals < 6) {
        EXPECT_NE(shown, bound);
      }
    }
    for (const std::int64_t w : numbers_after(reason, "W = ")) {
      if (contains(reason, "for W = " + std::to_string(w))) {
        bucket = w;  // a claim about G names the window it was chosen for
      } else {
        EXPECT_EQ(W, w);
      }
    }
    if (const auto from = number_after(reason, "W moved from ")) {
      bucket = *from;
      EXPECT_EQ(W, number_after(reason, " to ").value_or(-1));
      EXPECT_EQ(0, W % G);
      EXPECT_FALSE(req.window);
    }
    // Claims.
    if (reason.rfind("fits:", 0) == 0) { EXPECT_TRUE(fresh.fits); }
    if (reason.rfind("does not fit:", 0) == 0) { EXPECT_FALSE(fresh.fits); }
    const bool met = req.target == selfextend::target_fraction::half ? fresh.satisfies_half : fresh.satisfies_two_thirds;
    if (contains(reason, ": only well-trained positions")) { EXPECT_TRUE(met); }
    if (contains(reason, ": reaches less-trained positions")) { EXPECT_FALSE(met); }
    if (contains(reason, "is past the default max_group")) {
      EXPECT_FALSE(req.max_group);
      EXPECT_TRUE(a.past_max_group);
      EXPECT_GT(G, selfextend::default_max_group);
      EXPECT_FALSE(capped);
    }
    if (contains(reason, "= max_group, the largest group considered")) {
      EXPECT_EQ(req.max_group.value_or(selfextend::default_max_group), G);
    }
    if (contains(reason, "exceeds max_group = ")) { EXPECT_TRUE(req.group); }
    if (contains(reason, "no Self-Extend needed")) {
      EXPECT_LE(N, L);
      EXPECT_EQ(1, G);
      EXPECT_EQ(selfextend::verdict::native, fresh.band);
    }
    if (const auto b = number_after(reason, "near L/4 = ")) { EXPECT_LE(std::abs(*b - W) * 4, *b); }
    if (contains(reason, "W = " + std::to_string(W) + " = L/4")) { EXPECT_EQ(L, 4 * W); }
  }
  // The claims about G, checked for the window they name.
  for (const std::string& reason : r.reasons) {
    SCOPED_TRACE(where + ": " + reason);
    if (!bucket) continue;
    if (contains(reason, "is the smallest group with R < ")) { EXPECT_EQ(smallest_for_target(req, *bucket), G); }
    if (contains(reason, "is the smallest group that fits for W = ")) {
      EXPECT_EQ(selfextend::min_group_for_capacity(L, N, *bucket), G);
    }
    if (contains(reason, "is larger than needed for R < ")) {
      const auto needed = smallest_for_target(req, *bucket);
      ASSERT_TRUE(needed);
      EXPECT_EQ(*needed, number_after(reason, " (").value_or(-1));
      EXPECT_GT(G, *needed);
    }
  }
}

/// A random valid request: contexts from 2 to 2^20 (a few near 2^40), lengths from 1 to 10^4 L.
advice_request random_request(std::mt19937_64& rng) {
  const auto uniform = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
  advice_request req;
  req.context = uniform(0, 9) == 0 ? uniform(2, 16) : (std::int64_t{1} << uniform(4, uniform(0, 19) == 0 ? 40 : 20));
  if (uniform(0, 3) == 0) req.context += uniform(0, req.context / 2);
  const std::int64_t scale = std::int64_t{1} << uniform(0, 13);
  req.tokens = uniform(1, std::min<std::int64_t>(req.context * scale, std::int64_t{1} << 55));
  if (uniform(0, 3) == 0) req.window = uniform(1, req.context - 1);
  if (uniform(0, 5) == 0) req.group = uniform(1, 300);
  if (uniform(0, 3) == 0) req.max_group = uniform(1, 2000);
  req.target = uniform(0, 1) ? selfextend::target_fraction::half : selfextend::target_fraction::two_thirds;
  req.shift = uniform(0, 1) ? selfextend::shift_rule::integer : selfextend::shift_rule::fractional;
  req.top = uniform(1, 8);
  return req;
}

TEST(AdviceReasonsTest, EveryReasonAgreesWithItsPlanOverRandomRequests) {
  std::mt19937_64 rng(20261201);
  int answered = 0, refused = 0, past = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const advice_request req = random_request(rng);
    SCOPED_TRACE("trial " + std::to_string(trial));
    ASSERT_TRUE(selfextend::validate(req).empty());
    try {
      const selfextend::advice a = selfextend::advise(req);
      ++answered;
      past += a.past_max_group;
      ASSERT_FALSE(a.candidates.empty());
      ASSERT_LE(static_cast<std::int64_t>(a.candidates.size()), req.top);
      EXPECT_EQ(a.recommended, a.candidates.front());
      // With G free, a plan always fits (the smallest G that fits exists for every W < L).
      if (!req.group) { EXPECT_TRUE(a.recommended.judgement.fits); }
      EXPECT_EQ(a.past_max_group, !a.capped.empty());
      if (a.past_max_group) { EXPECT_FALSE(req.max_group); }
      EXPECT_EQ(a.extension_needed, req.tokens > req.context);
      EXPECT_EQ(!a.extension_needed, !a.min_group_for_capacity.has_value());
      for (const ranked_plan& r : a.candidates) check_reasons(req, a, r, false);
      for (const ranked_plan& r : a.capped) {
        EXPECT_FALSE(r.judgement.fits);
        check_reasons(req, a, r, true);
      }
    } catch (const selfextend::no_solution& e) {
      // Only an explicit cap below every G that fits, naming the smallest that does.
      ++refused;
      ASSERT_TRUE(req.max_group);
      ASSERT_FALSE(req.group);
      EXPECT_GT(e.least_satisfying(), *req.max_group);
      std::int64_t smallest = INT64_MAX;
      const std::vector<std::int64_t> windows =
          req.window ? std::vector<std::int64_t>{*req.window}
                     : std::vector<std::int64_t>{req.context / 4, req.context / 8, req.context / 8 * 3, req.context / 2};
      for (const std::int64_t w : windows)
        if (w >= 1 && w < req.context) smallest = std::min(smallest, selfextend::min_group_for_capacity(req.context, req.tokens, w));
      EXPECT_EQ(smallest, e.least_satisfying());
    }
  }
  // The sample reaches every path: answers, refusals and plans past the default cap.
  EXPECT_GT(answered, 3000);
  EXPECT_GT(refused, 50);
  EXPECT_GT(past, 100);
}

}  // namespace
