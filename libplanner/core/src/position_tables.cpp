// position_tables.cpp - per-token tables and dense rows (docs/concepts.md#the-map, docs/formats.md#arrays).
#include <selfextend/position_tables.hpp>

#include <algorithm>
#include <string>
#include <type_traits>

#include "checked_math.hpp"
#include "methods_internal.hpp"
#include "size_limit.hpp"
#include "text.hpp"
#include "memory_hint.hpp"

namespace selfextend {

std::string_view to_string(table_phase phase) noexcept { return phase == table_phase::prefill ? "prefill" : "decode"; }

std::optional<table_phase> parse_table_phase(std::string_view text) noexcept {
  if (text == "prefill") return table_phase::prefill;
  if (text == "decode") return table_phase::decode;
  return std::nullopt;
}

std::string_view to_string(token_array which) noexcept {
  switch (which) {
    case token_array::neighbor_query_position: return "neighbor_query_position";
    case token_array::neighbor_key_position: return "neighbor_key_position";
    case token_array::group_query_position: return "group_query_position";
    case token_array::group_key_position: return "group_key_position";
  }
  return "neighbor_query_position";
}

const std::vector<std::int64_t>& position_tables::operator[](token_array which) const noexcept {
  switch (which) {
    case token_array::neighbor_query_position: return neighbor_query_position;
    case token_array::neighbor_key_position: return neighbor_key_position;
    case token_array::group_query_position: return group_query_position;
    case token_array::group_key_position: return group_key_position;
  }
  return neighbor_query_position;
}

mapped_position position_tables::relative_position(std::int64_t query, std::int64_t key) const noexcept {
  const auto i = static_cast<std::size_t>(query);
  const auto j = static_cast<std::size_t>(key);
  if (uses_neighbor_branch(query, key, extension.window))
    return {neighbor_query_position[i] - neighbor_key_position[j], branch::neighbor};
  return {group_query_position[i] - group_key_position[j], branch::group};
}

namespace {

/// value - real_offset as T; integers never pass through double (exact beyond 2^53).
template <class T>
T shifted(std::int64_t value, double real_offset) {
  if constexpr (std::is_floating_point_v<T>) return static_cast<T>(static_cast<double>(value) - real_offset);
  else return static_cast<T>(value);
}

/// Checks the range [first, first + count) and that gq of its last token fits in 64 bits.
void require_range(const plan& p, std::int64_t first, std::size_t count, const char* key) {
  require_valid(p);
  if (first < 0) throw invalid_params(key, std::to_string(first), "must be at least 0");
  if (count == 0) return;
  if (static_cast<std::uint64_t>(count - 1) > static_cast<std::uint64_t>(detail::int64_max - first))
    throw invalid_params(key, std::to_string(first), "the range of positions does not fit in 64 bits");
  (void)group_query_position(first + static_cast<std::int64_t>(count) - 1, p);  // throws on overflow
}

/// out[k] = floor((first + k) / G) + offset, counting through blocks of G instead of dividing
/// each element (64-bit division costs tens of cycles; this keeps the loop at memory speed).
template <class T>
void fill_floor_div(std::span<T> out, std::int64_t first, std::int64_t group, std::int64_t offset, double real_offset) {
  std::int64_t quotient = first / group;
  std::int64_t remainder = first % group;
  std::size_t k = 0;
  const std::size_t n = out.size();
  const auto runs = [&](std::size_t stop) {
    while (k < stop) {
      const std::size_t run = std::min<std::size_t>(stop - k, static_cast<std::size_t>(group - remainder));
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(k), run, shifted<T>(quotient + offset, real_offset));
      k += run;
      remainder += static_cast<std::int64_t>(run);
      if (remainder == group) {
        remainder = 0;
        ++quotient;
      }
    }
  };
  constexpr std::size_t pattern_size = 1024;
  const auto g = static_cast<std::size_t>(group);
  if (!std::is_integral_v<T> || g > 64 || n < 2 * pattern_size) {
    runs(n);
    return;
  }
  // Small G, integers: short runs defeat fill_n, so add a base to a precomputed block of whole
  // groups (t / G for t < P), a loop the compiler vectorises.
  if (remainder != 0) runs(std::min<std::size_t>(n, g - static_cast<std::size_t>(remainder)));
  const std::size_t reps = pattern_size / g, period = reps * g;
  std::array<T, pattern_size> pattern{};
  for (std::size_t t = 0; t < period; ++t) pattern[t] = static_cast<T>(t / g);
  while (n - k >= period) {
    const T base = static_cast<T>(quotient + offset);
    T* dst = out.data() + k;
    for (std::size_t t = 0; t < period; ++t) dst[t] = base + pattern[t];
    k += period;
    quotient += static_cast<std::int64_t>(reps);
  }
  runs(n);
}

template <class T>
void fill_tokens(const plan& p, token_array which, std::int64_t first, std::span<T> out, double real_offset) {
  require_range(p, first, out.size(), "first_token");
  switch (which) {
    case token_array::neighbor_query_position:
    case token_array::neighbor_key_position:
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<T>(first + static_cast<std::int64_t>(k));
      return;
    case token_array::group_query_position:
      fill_floor_div(out, first, p.group, p.window - p.window / p.group, real_offset);
      return;
    case token_array::group_key_position:
      fill_floor_div(out, first, p.group, 0, 0.0);
      return;
  }
}

template <class T>
void fill_row(const plan& p, std::int64_t query, std::int64_t first_key, std::span<T> out, double real_offset) {
  require_range(p, first_key, out.size(), "first_key");
  if (query < 0) throw invalid_params("query", std::to_string(query), "must be at least 0");
  const std::int64_t gq = group_query_position(query, p);
  const std::int64_t n = static_cast<std::int64_t>(out.size());
  const std::int64_t last = first_key + n;  // exclusive; fits: checked by require_range (+1 at most)
  // Keys [first_key, last) split into three runs: group (j <= i - W), neighbor (i - W < j <= i), masked (j > i).
  const std::int64_t group_end = std::clamp(query - p.window + 1, first_key, last);
  const std::int64_t neighbor_end = std::clamp(query + 1, group_end, last);
  const std::int64_t group_count = group_end - first_key;
  if (group_count > 0) {
    // gq(i) - floor(j/G), by blocks of G: fill floor(j/G) and negate in place.
    std::span<T> head = out.first(static_cast<std::size_t>(group_count));
    fill_floor_div(head, first_key, p.group, 0, 0.0);
    // (gq - gk) is an exact integer; subtracting f last rounds once, as brute force does.
    const T base = static_cast<T>(gq);
    const T offset = static_cast<T>(real_offset);
    for (T& v : head) v = (base - v) - offset;
  }
  for (std::int64_t j = group_end; j < neighbor_end; ++j) out[static_cast<std::size_t>(j - first_key)] = static_cast<T>(query - j);
  std::fill(out.begin() + (neighbor_end - first_key), out.end(), static_cast<T>(-1));
}

}  // namespace

namespace {

/// Appends the whole array chunk by chunk through a cache-resident buffer: resize() would zero
/// the memory first, an extra pass over N * 8 bytes that costs as much as the fill itself.
template <class T>
std::vector<T> generate(const plan& p, token_array which, std::int64_t tokens) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(tokens));
  detail::hint_huge_pages(out.data(), static_cast<std::size_t>(tokens) * sizeof(T));
  std::array<T, 4096> chunk{};
  for (std::int64_t first = 0; first < tokens; first += static_cast<std::int64_t>(chunk.size())) {
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(chunk.size()), tokens - first));
    fill_token_positions(p, which, first, std::span<T>(chunk.data(), n));
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

}  // namespace

position_tables build_position_tables(const plan& p, std::int64_t tokens) {
  require_valid(p);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  (void)group_query_position(tokens - 1, p);  // overflow check once, before allocating
  position_tables t;
  t.extension = p;
  t.tokens = tokens;
  t.fractional_offset = fractional_offset(p);
  t.neighbor_query_position = generate<std::int64_t>(p, token_array::neighbor_query_position, tokens);
  t.neighbor_key_position = generate<std::int64_t>(p, token_array::neighbor_key_position, tokens);
  t.group_query_position = generate<std::int64_t>(p, token_array::group_query_position, tokens);
  t.group_key_position = generate<std::int64_t>(p, token_array::group_key_position, tokens);
  if (p.shift == shift_rule::fractional)
    t.group_query_position_real = generate<double>(p, token_array::group_query_position, tokens);
  return t;
}

void fill_token_positions(const plan& p, token_array which, std::int64_t first_token, std::span<std::int64_t> out) {
  fill_tokens(p, which, first_token, out, 0.0);
}

void fill_token_positions(const plan& p, token_array which, std::int64_t first_token, std::span<double> out) {
  fill_tokens(p, which, first_token, out, fractional_offset(p));
}

void fill_dense_row(const plan& p, std::int64_t query, std::int64_t first_key, std::span<std::int64_t> out) {
  fill_row(p, query, first_key, out, 0.0);
}

void fill_dense_row(const plan& p, std::int64_t query, std::int64_t first_key, std::span<double> out) {
  fill_row(p, query, first_key, out, fractional_offset(p));
}

namespace {

/// Checks the method (integer_positions validates it) and that its positions are integers.
void require_integer_method(const method_params& m) {
  if (!integer_positions(m))
    throw invalid_params("method", std::string(to_string(m.kind)),
                         "has real positions (Leaky ReRoPE, the fractional shift): use the float64 form");
}

template <class T>
void fill_method_row(const method_params& m, std::int64_t query, std::int64_t first_key, std::span<T> out) {
  require_valid_method(m);
  if (m.kind == method_kind::self_extend) {
    fill_dense_row(m.self_extend, query, first_key, out);
    return;
  }
  if (query < 0) throw invalid_params("query", std::to_string(query), "must be at least 0");
  if (first_key < 0) throw invalid_params("first_key", std::to_string(first_key), "must be at least 0");
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::int64_t key = first_key + static_cast<std::int64_t>(k);
    if (key > query) {
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), static_cast<T>(masked_position));
      return;
    }
    const remapped_position r = detail::remap_valid(m, query, key);
    out[k] = r.attended ? static_cast<T>(r.position) : static_cast<T>(not_attended_position);
  }
}

template <class T>
void fill_branch(const method_params& m, int branch, rotation_side side, std::int64_t first, std::span<T> out) {
  (void)branch_query_position(m, branch, first);  // checks the method, the branch and first >= 0
  if (m.kind == method_kind::self_extend) {
    constexpr token_array arrays[2][2] = {
        {token_array::neighbor_query_position, token_array::neighbor_key_position},
        {token_array::group_query_position, token_array::group_key_position}};
    fill_token_positions(m.self_extend, arrays[branch][side == rotation_side::key], first, out);
    return;
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::int64_t t = first + static_cast<std::int64_t>(k);
    out[k] = static_cast<T>(side == rotation_side::query ? detail::branch_query_valid(m, branch, t)
                                                         : detail::branch_key_valid(m, branch, t));
  }
}

}  // namespace

void fill_method_dense_row(const method_params& m, std::int64_t query, std::int64_t first_key, std::span<double> out) {
  fill_method_row(m, query, first_key, out);
}

void fill_method_dense_row(const method_params& m, std::int64_t query, std::int64_t first_key,
                           std::span<std::int64_t> out) {
  require_integer_method(m);
  fill_method_row(m, query, first_key, out);
}

std::vector<std::string> method_token_array_names(method_kind kind) {
  std::vector<std::string> names;
  for (const std::string_view b : branch_names(kind)) {
    names.push_back(std::string(b) + "_query_position");
    names.push_back(std::string(b) + "_key_position");
  }
  return names;
}

void fill_branch_positions(const method_params& m, int branch, rotation_side side, std::int64_t first_token,
                           std::span<double> out) {
  fill_branch(m, branch, side, first_token, out);
}

void fill_branch_positions(const method_params& m, int branch, rotation_side side, std::int64_t first_token,
                           std::span<std::int64_t> out) {
  require_integer_method(m);
  fill_branch(m, branch, side, first_token, out);
}

std::vector<std::int64_t> dense_shape(std::int64_t tokens, table_phase phase) {
  if (phase == table_phase::decode) return {tokens};
  return {tokens, tokens};
}

std::int64_t dense_table_bytes(std::int64_t tokens, table_phase phase) {
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  const detail::wide_int n = tokens;
  if (phase == table_phase::decode) return detail::saturate(8 * n);
  // 8·N² overflows even 128 bits for N near 2^63; anything past 2^32 saturates anyway.
  return n > (detail::wide_int{1} << 32) ? detail::int64_max : detail::saturate(8 * n * n);
}

std::int64_t token_table_bytes(std::int64_t tokens) {
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  return detail::saturate(detail::wide_int{tokens} * 4 * 8);
}

void require_dense_size(std::int64_t tokens, table_phase phase, std::int64_t limit_bytes, bool force) {
  const std::string shape = phase == table_phase::decode ? "[N]" : "[N, N]";
  detail::require_within_limit("tokens", std::to_string(tokens), "the dense " + shape + " table",
                               dense_table_bytes(tokens, phase), limit_bytes, force, "write it anyway");
}

}  // namespace selfextend
