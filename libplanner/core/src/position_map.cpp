// position_map.cpp - the exact Self-Extend map (docs/concepts.md#the-map).
#include <selfextend/position_map.hpp>

#include <string>

#include "checked_math.hpp"

namespace selfextend {

std::int64_t group_key_position(std::int64_t key, const plan& p) {
  require_valid(p);
  if (key < 0) throw invalid_params("key", std::to_string(key), "must be at least 0");
  return key / p.group;
}

std::int64_t group_query_position(std::int64_t query, const plan& p) {
  require_valid(p);
  if (query < 0) throw invalid_params("query", std::to_string(query), "must be at least 0");
  // floor(i/G) + (W - floor(W/G)); the bracket is in [0, W], so the sum only wraps past
  // INT64_MAX, which a 128-bit intermediate detects.
  const detail::wide_int value =
      detail::wide_int{query / p.group} + (p.window - p.window / p.group);
  if (value > detail::wide_int{detail::int64_max})
    throw invalid_params("query", std::to_string(query), "group query position does not fit in 64 bits");
  return static_cast<std::int64_t>(value);
}

double fractional_offset(const plan& p) {
  if (p.shift == shift_rule::integer) return 0.0;
  return static_cast<double>(p.window % p.group) / static_cast<double>(p.group);
}

double group_query_position_real(std::int64_t query, const plan& p) {
  return static_cast<double>(group_query_position(query, p)) - fractional_offset(p);
}

mapped_position map_pair(std::int64_t query, std::int64_t key, const plan& p) {
  require_valid(p);
  if (key < 0) throw invalid_params("key", std::to_string(key), "must be at least 0");
  if (key > query)
    throw invalid_params("key", std::to_string(key), "must not exceed the query (" + std::to_string(query) + ")");
  const std::int64_t distance = query - key;
  if (distance < p.window) return {distance, branch::neighbor};
  return {group_query_position(query, p) - group_key_position(key, p), branch::group};
}

double map_pair_real(std::int64_t query, std::int64_t key, const plan& p) {
  const mapped_position m = map_pair(query, key, p);
  return m.from == branch::neighbor ? static_cast<double>(m.position)
                                    : static_cast<double>(m.position) - fractional_offset(p);
}

std::int64_t max_position(std::int64_t tokens, const plan& p) {
  require_valid(p);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  if (tokens <= p.window) return tokens - 1;
  // The pair (N-1, 0) is the farthest; it is in the group branch because N - 1 >= W.
  return group_query_position(tokens - 1, p);
}

}  // namespace selfextend
