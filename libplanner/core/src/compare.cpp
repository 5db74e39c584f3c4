// compare.cpp - every method side by side (compare.hpp); the parameter rules are docs/methods.md's.
#include <selfextend/compare.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include <selfextend/advice.hpp>

#include "checked_math.hpp"
#include "methods_internal.hpp"
#include "text.hpp"

namespace selfextend {

namespace {

std::string text(std::int64_t v) { return std::to_string(v); }

/// What a method's official code computes per pair, and what it needs of a runtime.
struct runtime_profile {
  int score_passes;
  const char* needs;
};

runtime_profile runtime_of(method_kind kind) {
  switch (kind) {
    case method_kind::self_extend:
      return {2, "each key at two positions (j for the neighbor branch, floor(j/G) for the group branch): two "
                 "rotated copies or a re-rotated cache, and one softmax over the two score sets"};
    case method_kind::dca:
      return {1, "keys rotated once at j mod (chunk_size - local_window); three query rotations (intra, "
                 "successive, inter chunk) and three attention calls merged by their log-sum-exp"};
    case method_kind::rerope:
      return {2, "two score sets per prefill (true positions, and the query at w over unrotated keys); a cache of "
                 "unrotated keys re-rotated each decode step; queries scaled by max(1, log(i+1)/log L)"};
    case method_kind::leaky_rerope:
      return {2, "as ReRoPE, with the far score set from a frequency table divided by k and the query offset by w (k - 1)"};
    case method_kind::streaming:
      return {1, "a cache of the first start_size and the last recent_size keys, kept unrotated and rotated by "
                 "cache slot every step; the query at the cache length"};
  }
  return {1, ""};
}

/// The row's figures that follow from the method alone.
method_row measured(method_params m, const comparison_request& r, std::vector<std::string> reasons) {
  method_row row;
  row.method = m;
  row.reasons = std::move(reasons);
  row.largest_position = largest_position(m, r.tokens);
  row.fits = row.largest_position <= static_cast<double>(r.context - 1);
  row.window_share = row.largest_position / static_cast<double>(r.context);
  row.capacity = method_capacity(m, r.context);
  row.dropped_pairs = dropped_pairs(m, r.tokens);
  // From the unsaturated count: at N near 2^63 the saturated one would read as almost nothing dropped.
  const double pairs = static_cast<double>(r.tokens) * (static_cast<double>(r.tokens) + 1) / 2;
  row.attended_share = 1 - static_cast<double>(detail::dropped_pairs_exact(m, r.tokens)) / pairs;
  const runtime_profile profile = runtime_of(m.kind);
  row.score_passes = profile.score_passes;
  row.attention_cost = row.attended_share * profile.score_passes;
  if (m.kind == method_kind::streaming)
    row.kv_memory = static_cast<double>(std::min<detail::wide_int>(r.tokens, detail::wide_int{m.start_size} + m.recent_size + 1)) /
                    static_cast<double>(r.tokens);
  row.runtime_needs = profile.needs;
  return row;
}

void require_request(const comparison_request& r) {
  if (r.context < 2) throw invalid_params("context", text(r.context), "must be at least 2");
  if (r.tokens < 1) throw invalid_params("tokens", text(r.tokens), "must be at least 1");
}

}  // namespace

comparison_request comparison_for(const model_info& model, std::int64_t tokens) {
  return {model.context, tokens, model.dual_chunk};
}

method_row assess_method(const method_params& m, const comparison_request& r) {
  require_request(r);
  require_valid_method(m);
  return measured(m, r, {});
}

method_row recommend_method(method_kind kind, const comparison_request& r) {
  require_request(r);
  const std::int64_t L = r.context, N = r.tokens;
  const std::int64_t w = std::max<std::int64_t>(1, L / 8);
  switch (kind) {
  case method_kind::self_extend: {  // the advisor's recommendation
    advice_request q;
    q.context = L;
    q.tokens = N;
    const advice a = advise(q);
    return measured(method_params::of(a.recommended.extension), r, a.recommended.reasons);
  }
  case method_kind::dca: {  // the model's own settings, else ChunkLlama's defaults
    method_params m;
    m.kind = method_kind::dca;
    std::vector<std::string> reasons;
    if (r.dual_chunk) {
      m.chunk_size = r.dual_chunk->chunk_size;
      m.local_window = r.dual_chunk->local_size;
      reasons.push_back("the model's dual_chunk_attention_config: chunk_size " + text(m.chunk_size) + ", local_size " +
                        text(m.local_window) + " (as vLLM runs Qwen2.5-1M)");
    } else {
      m.chunk_size = L * 3 / 4;
      m.local_window = L / 8;
      reasons.push_back("ChunkLlama's defaults: chunk_size = 3L/4 = " + text(m.chunk_size) + ", local_window = L/8 = " +
                        text(m.local_window));
    }
    reasons.push_back("chunks of " + text(m.chunk_size - m.local_window) +
                      " tokens; keys two or more chunks back are scored from position " + text(m.chunk_size) +
                      ", so positions never pass chunk_size whatever N");
    if (N - 1 >= m.chunk_size && m.chunk_size >= L)
      reasons.push_back("the inter-chunk query sits at chunk_size = " + text(m.chunk_size) + ", at or past L = " + text(L) +
                        ": its largest position was never trained (positions 0 .. L - 1 were)");
    return measured(m, r, std::move(reasons));
  }
  case method_kind::rerope: {  // rerope_patch.py's window 512 of 4096, as L/8
    return measured(method_params::rerope(w), r,
                    {"window = L/8 = " + text(w) + " (rerope_patch.py: 512 of 4096); every distance from w on is read at w"});
  }
  case method_kind::leaky_rerope: {  // k = 16 (leaky_rerope_patch.py), raised to the smallest integer that fits
    method_params m = method_params::leaky_rerope(w, 16);
    std::vector<std::string> reasons = {"window = L/8 = " + text(w) + ", k = 16 (leaky_rerope_patch.py: 512 of 4096, 16)"};
    if (N - 1 > w && L - 1 > w) {
      const detail::wide_int needed = detail::ceil_div(detail::wide_int{N} - 1 - w, detail::wide_int{L} - 1 - w);
      if (needed > 16) {
        m.leak = static_cast<double>(needed);
        reasons.push_back("k raised to " + text(detail::saturate(needed)) + ", the smallest integer with w + (N - 1 - w)/k <= L - 1");
      }
    }
    return measured(m, r, std::move(reasons));
  }
  case method_kind::streaming: {  // 4 sinks and the demo's 2000 recent keys of 4096, scaled to L
    const method_params m =
        method_params::streaming(4, std::max<std::int64_t>(1, detail::saturate(detail::wide_int{L} * 2000 / 4096)));
    std::vector<std::string> reasons = {"start_size 4, recent_size = 2000 L/4096 = " + text(m.recent_size) +
                                        " (run_streaming_llama.py: 4 and 2000 for Llama-2)"};
    if (N - 1 > m.start_size + m.recent_size)
      reasons.push_back("keys between the sinks and the last " + text(m.recent_size) + " are evicted: not read at all");
    return measured(m, r, std::move(reasons));
  }
  }
  throw invalid_params("method", std::string(to_string(kind)), "is not a method known here");
}

std::vector<method_row> compare_methods(const comparison_request& r) {
  std::vector<method_row> rows;
  for (const method_kind kind : {method_kind::self_extend, method_kind::dca, method_kind::rerope, method_kind::leaky_rerope,
                                 method_kind::streaming})
    rows.push_back(recommend_method(kind, r));
  return rows;
}

}  // namespace selfextend
