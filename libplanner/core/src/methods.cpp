// methods.cpp - the position-remap methods (methods.hpp); each rule's source is in docs/methods.md.
#include <selfextend/methods.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <selfextend/advice.hpp>
#include <selfextend/position_map.hpp>

#include "checked_math.hpp"
#include "methods_internal.hpp"
#include "text.hpp"

namespace selfextend {

namespace {

constexpr std::array<std::pair<method_kind, std::string_view>, 5> method_names = {{
    {method_kind::self_extend, "selfextend"},
    {method_kind::dca, "dca"},
    {method_kind::rerope, "rerope"},
    {method_kind::leaky_rerope, "leaky-rerope"},
    {method_kind::streaming, "streaming"},
}};

/// DCA's chunk length s = c - w and the position of a query at offset x in its chunk when it
/// scores the previous chunk: min(x + s, c) (ChunkLlama's qc_t, vLLM's cos_sin_qc_cache).
struct dca_geometry {
  std::int64_t chunk_length;
  std::int64_t chunk_size;
  [[nodiscard]] std::int64_t successive_query(std::int64_t offset) const {
    return std::min(offset + chunk_length, chunk_size);
  }
  /// Keys two or more chunks back: the query sits where the successive one of offset s - 1 does.
  [[nodiscard]] std::int64_t inter_query() const { return successive_query(chunk_length - 1); }
};

dca_geometry geometry_of(const method_params& m) { return {m.chunk_size - m.local_window, m.chunk_size}; }

void require_method(const method_params& m) { detail::throw_if_any(validate(m)); }

}  // namespace

void require_valid_method(const method_params& m) { require_method(m); }

std::string_view to_string(method_kind m) noexcept {
  for (const auto& [kind, name] : method_names)
    if (kind == m) return name;
  return "selfextend";
}

std::optional<method_kind> parse_method_kind(std::string_view text) noexcept {
  for (const auto& [kind, name] : method_names)
    if (name == text) return kind;
  return std::nullopt;
}

method_kind method_kind_named(std::string_view text) {
  if (const std::optional<method_kind> kind = parse_method_kind(text)) return *kind;
  throw invalid_params("method", std::string(text), "must be selfextend, dca, rerope, leaky-rerope or streaming");
}

bool method_takes(method_kind kind, std::string_view key) noexcept {
  switch (kind) {
    case method_kind::self_extend: return key == "group" || key == "shift" || key == "window";
    case method_kind::dca: return key == "chunk_size" || key == "local_window";
    case method_kind::rerope: return key == "window";
    case method_kind::leaky_rerope: return key == "window" || key == "leak";
    case method_kind::streaming: return key == "start_size" || key == "recent_size";
  }
  return false;
}

std::vector<issue> validate(const method_params& m) {
  std::vector<issue> issues;
  const auto add = [&](const char* key, std::int64_t value, std::string rule) {
    issues.push_back({key, std::to_string(value), std::move(rule)});
  };
  switch (m.kind) {
    case method_kind::self_extend: return validate(m.self_extend);
    case method_kind::dca:
      if (m.local_window < 0) add("local_window", m.local_window, "must be at least 0");
      if (m.chunk_size <= m.local_window)
        add("chunk_size", m.chunk_size, "must be larger than local_window (" + std::to_string(m.local_window) + ")");
      else if (m.chunk_size - m.local_window <= m.local_window)
        add("local_window", m.local_window,
            "must be smaller than chunk_size - local_window (chunks are chunk_size - local_window long; ChunkLlama uses "
            "chunk_size 3L/4 and local_window L/8)");
      break;
    case method_kind::rerope:
      if (m.window < 1) add("window", m.window, "must be at least 1");
      break;
    case method_kind::leaky_rerope:
      if (m.window < 1) add("window", m.window, "must be at least 1");
      if (!(std::isfinite(m.leak) && m.leak > 1))
        issues.push_back({"leak", detail::real_text(m.leak), "must be a finite number greater than 1 (1 is no extension)"});
      break;
    case method_kind::streaming:
      if (m.start_size < 0) add("start_size", m.start_size, "must be at least 0");
      if (m.recent_size < 1) add("recent_size", m.recent_size, "must be at least 1");
      break;
  }
  return issues;
}

remapped_position remap(const method_params& m, std::int64_t query, std::int64_t key) {
  require_method(m);
  if (key < 0 || key > query)
    throw invalid_params("key", std::to_string(key), "must be in [0, query = " + std::to_string(query) + "]");
  return detail::remap_valid(m, query, key);
}

remapped_position detail::remap_valid(const method_params& m, std::int64_t query, std::int64_t key) {
  const std::int64_t distance = query - key;
  switch (m.kind) {
    case method_kind::self_extend: return {true, map_pair_real(query, key, m.self_extend)};
    case method_kind::dca: {
      // Keys rotate at j mod s; the query's position depends on how far back the key's chunk is.
      const dca_geometry g = geometry_of(m);
      const std::int64_t s = g.chunk_length;
      const std::int64_t back = query / s - key / s;
      const std::int64_t key_position = key % s;
      if (back == 0) return {true, static_cast<double>(distance)};
      if (back == 1) return {true, static_cast<double>(g.successive_query(query % s) - key_position)};
      return {true, static_cast<double>(g.inter_query() - key_position)};
    }
    case method_kind::rerope: return {true, static_cast<double>(std::min(distance, m.window))};
    case method_kind::leaky_rerope:
      if (distance < m.window) return {true, static_cast<double>(distance)};
      return {true, static_cast<double>(m.window) + static_cast<double>(distance - m.window) / m.leak};
    case method_kind::streaming: {
      // One token per step; after each step the cache keeps the first S and the last R keys. Query i
      // then sees S + R cached keys plus itself, and sits at slot S + R: a recent key keeps its
      // distance, a sink j is at S + R - j, the keys in between were evicted.
      const std::int64_t S = m.start_size, R = m.recent_size;
      if (query <= S + R || distance <= R) return {true, static_cast<double>(distance)};
      if (key < S) return {true, static_cast<double>(S + R - key)};
      return {false, 0};
    }
  }
  return {true, static_cast<double>(distance)};
}

std::vector<std::string_view> branch_names(method_kind kind) {
  switch (kind) {
    case method_kind::self_extend: return {"neighbor", "group"};
    case method_kind::dca: return {"intra", "successive", "inter"};
    case method_kind::rerope:
    case method_kind::leaky_rerope: return {"near", "far"};
    case method_kind::streaming: return {"recent", "sink"};
  }
  return {};
}

std::optional<int> select_branch(const method_params& m, std::int64_t query, std::int64_t key) {
  require_method(m);
  if (key < 0 || key > query)
    throw invalid_params("key", std::to_string(key), "must be in [0, query = " + std::to_string(query) + "]");
  return detail::select_branch_valid(m, query, key);
}

std::optional<int> detail::select_branch_valid(const method_params& m, std::int64_t query, std::int64_t key) {
  const std::int64_t distance = query - key;
  switch (m.kind) {
    case method_kind::self_extend: return distance < m.self_extend.window ? 0 : 1;
    case method_kind::dca: {
      const std::int64_t s = geometry_of(m).chunk_length;
      return static_cast<int>(std::min<std::int64_t>(query / s - key / s, 2));
    }
    case method_kind::rerope:
    case method_kind::leaky_rerope: return distance < m.window ? 0 : 1;
    case method_kind::streaming: {
      const std::int64_t S = m.start_size, R = m.recent_size;
      if (query <= S + R || distance <= R) return 0;
      if (key < S) return 1;
      return std::nullopt;
    }
  }
  return 0;
}

namespace {

void require_branch(const method_params& m, int branch, std::int64_t token) {
  require_method(m);
  const auto count = static_cast<int>(branch_names(m.kind).size());
  if (branch < 0 || branch >= count)
    throw invalid_params("branch", std::to_string(branch), "must be in 0.." + std::to_string(count - 1) + " for " +
                                                              std::string(to_string(m.kind)));
  if (token < 0) throw invalid_params("token", std::to_string(token), "must be at least 0");
}

}  // namespace

double branch_query_position(const method_params& m, int branch, std::int64_t token) {
  require_branch(m, branch, token);
  return detail::branch_query_valid(m, branch, token);
}

double branch_key_position(const method_params& m, int branch, std::int64_t token) {
  require_branch(m, branch, token);
  return detail::branch_key_valid(m, branch, token);
}

double detail::branch_query_valid(const method_params& m, int branch, std::int64_t token) {
  const auto t = static_cast<double>(token);
  switch (m.kind) {
    case method_kind::self_extend: return branch == 0 ? t : group_query_position_real(token, m.self_extend);
    case method_kind::dca: {
      const dca_geometry g = geometry_of(m);
      const std::int64_t offset = token % g.chunk_length;
      if (branch == 0) return static_cast<double>(offset);
      return static_cast<double>(branch == 1 ? g.successive_query(offset) : g.inter_query());
    }
    case method_kind::rerope: return branch == 0 ? t : static_cast<double>(m.window);
    case method_kind::leaky_rerope: {
      // The far rotation of the pair is w + (d - w)/k = (i/k + w - w/k) - j/k.
      const auto w = static_cast<double>(m.window);
      return branch == 0 ? t : t / m.leak + (w - w / m.leak);
    }
    case method_kind::streaming:
      return branch == 0 ? t : static_cast<double>(m.start_size + m.recent_size);
  }
  return t;
}

double detail::branch_key_valid(const method_params& m, int branch, std::int64_t token) {
  const auto t = static_cast<double>(token);
  switch (m.kind) {
    case method_kind::self_extend:
      return branch == 0 ? t : static_cast<double>(token / m.self_extend.group);
    case method_kind::dca: return static_cast<double>(token % geometry_of(m).chunk_length);
    case method_kind::rerope: return branch == 0 ? t : 0.0;
    case method_kind::leaky_rerope: return branch == 0 ? t : t / m.leak;
    case method_kind::streaming: return t;
  }
  return t;
}

bool integer_positions(const method_params& m) {
  require_method(m);
  // Self-Extend's tables are real under the fractional shift even when W mod G = 0, as `table` writes them.
  if (m.kind == method_kind::leaky_rerope) return false;
  return !(m.kind == method_kind::self_extend && m.self_extend.shift == shift_rule::fractional);
}

double largest_position(const method_params& m, std::int64_t tokens) {
  require_method(m);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  const std::int64_t last = tokens - 1;  // the largest distance of N tokens
  switch (m.kind) {
    case method_kind::self_extend: {
      const std::int64_t integer = max_position(tokens, m.self_extend);
      // The fractional shift lowers every group position by (W mod G) / G.
      return tokens > m.self_extend.window ? static_cast<double>(integer) - fractional_offset(m.self_extend)
                                           : static_cast<double>(integer);
    }
    case method_kind::dca: {
      const dca_geometry g = geometry_of(m);
      const std::int64_t s = g.chunk_length;
      std::int64_t best = std::min(last, s - 1);  // within a chunk
      if (last >= s) {
        // The previous chunk: the key at its start, the query at the largest offset any chunk n >= 1 reaches.
        const std::int64_t offset = last >= 2 * s - 1 ? s - 1 : last - s;
        best = std::max(best, g.successive_query(offset));
      }
      if (last >= 2 * s) best = std::max(best, g.inter_query());  // two chunks back, key at offset 0
      return static_cast<double>(best);
    }
    case method_kind::rerope: return static_cast<double>(std::min(last, m.window));
    case method_kind::leaky_rerope:
      if (last < m.window) return static_cast<double>(last);
      return static_cast<double>(m.window) + static_cast<double>(last - m.window) / m.leak;
    case method_kind::streaming: return static_cast<double>(std::min(last, m.start_size + m.recent_size));
  }
  return static_cast<double>(last);
}

std::optional<std::int64_t> method_capacity(const method_params& m, std::int64_t context) {
  require_method(m);
  if (context < 2) throw invalid_params("context", std::to_string(context), "must be at least 2");
  const double top = static_cast<double>(context - 1);
  switch (m.kind) {
    case method_kind::self_extend: {
      const std::int64_t n = capacity_exact(context, m.self_extend);
      if (n == detail::int64_max) return std::nullopt;
      return n;
    }
    case method_kind::dca: {
      const dca_geometry g = geometry_of(m);
      if (std::max(g.chunk_length - 1, g.inter_query()) <= context - 1) return std::nullopt;
      // Positions grow with N until the inter-chunk query is reached: search the first N past L - 1.
      std::int64_t lo = 1, hi = detail::saturate(detail::wide_int{2} * g.chunk_length + 1);  // largest_position(lo) fits
      while (hi - lo > 1) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        (largest_position(m, mid) <= top ? lo : hi) = mid;
      }
      return lo;
    }
    case method_kind::rerope:
      if (m.window <= context - 1) return std::nullopt;
      return context;
    case method_kind::leaky_rerope: {
      if (m.window > context - 1) return context;
      // w + (N - 1 - w) / k <= L - 1  <=>  N <= 1 + w + k (L - 1 - w); checked in doubles, as the positions are.
      const double bound = 1.0 + static_cast<double>(m.window) + m.leak * static_cast<double>(context - 1 - m.window);
      if (!(bound < 9.2e18)) return detail::int64_max;
      std::int64_t n = static_cast<std::int64_t>(std::floor(bound));
      while (n > 1 && largest_position(m, n) > top) --n;
      while (n < detail::int64_max && largest_position(m, n + 1) <= top) ++n;
      return n;
    }
    case method_kind::streaming:
      if (m.start_size + m.recent_size <= context - 1) return std::nullopt;
      return context;
  }
  return std::nullopt;
}

std::int64_t dropped_pairs(const method_params& m, std::int64_t tokens) {
  require_method(m);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  return detail::saturate(detail::dropped_pairs_exact(m, tokens));
}

detail::wide_int detail::dropped_pairs_exact(const method_params& m, std::int64_t tokens) {
  if (m.kind != method_kind::streaming) return 0;
  // Query i > S + R misses keys S .. i - R - 1: i - R - S of them, so T (T + 1) / 2 for T = N - 1 - S - R.
  const wide_int t = wide_int{tokens} - 1 - m.start_size - m.recent_size;
  if (t <= 0) return 0;
  return t * (t + 1) / 2;
}

}  // namespace selfextend
