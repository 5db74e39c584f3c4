// position_tables.hpp - per-token Self-Extend position tables and the dense relative-position
// matrix, produced in chunks/rows so that any size can stream to a file (target selfextend::planner).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <selfextend/methods.hpp>
#include <selfextend/params.hpp>
#include <selfextend/position_map.hpp>

namespace selfextend {

/// Which attention step a table describes.
enum class table_phase : std::uint8_t {
  prefill,  ///< N queries over N keys (a square causal matrix)
  decode,   ///< one query at position N - 1 over a cache of N keys (the last row)
};
/// "prefill" / "decode".
[[nodiscard]] std::string_view to_string(table_phase phase) noexcept;
/// Parses "prefill" / "decode"; nullopt for anything else.
[[nodiscard]] std::optional<table_phase> parse_table_phase(std::string_view text) noexcept;

/// The four per-token arrays a runtime needs to reproduce Self-Extend. Element t of each is a
/// function of token position t alone, identical in prefill and decode: a decode step for the
/// query at position p reads element p of the query arrays and elements 0..p of the key arrays.
enum class token_array : std::uint8_t {
  neighbor_query_position,  ///< t: the query's rotation in the neighbor branch
  neighbor_key_position,    ///< t: the key's rotation in the neighbor branch
  group_query_position,     ///< gq(t) = floor(t/G) + W - floor(W/G) (int) or ... - W/G (float)
  group_key_position,       ///< gk(t) = floor(t/G)
};
/// The four arrays in file order (rows of the [4, N] .npy, CSV columns, safetensors tensors).
inline constexpr std::array<token_array, 4> all_token_arrays = {
    token_array::neighbor_query_position, token_array::neighbor_key_position, token_array::group_query_position,
    token_array::group_key_position};
/// The array's name as used in every file format: "neighbor_query_position", ...
[[nodiscard]] std::string_view to_string(token_array which) noexcept;

/// The selection rule: the pair (query i, key j), j <= i, is scored in the neighbor branch
/// (query rotated at neighbor_query_position[i], key at neighbor_key_position[j]) iff
/// i - j < W, else in the group branch (group_query_position[i], group_key_position[j]).
/// The relative position is the difference of the two rotations.
[[nodiscard]] constexpr bool uses_neighbor_branch(std::int64_t query, std::int64_t key, std::int64_t window) noexcept {
  return query - key < window;
}

/// Per-token tables held in memory, for a runtime or a kernel that wants arrays.
/// Memory: 32 bytes per token (40 with the float shift).
struct position_tables {
  plan extension;                   ///< G, W and the shift the arrays were built with
  std::int64_t tokens = 0;          ///< N: every array has N elements, index = token position
  double fractional_offset = 0;     ///< f = (W mod G)/G for the float shift, else 0
  std::vector<std::int64_t> neighbor_query_position;  ///< t
  std::vector<std::int64_t> neighbor_key_position;    ///< t
  /// gq(t) under the integer shift; with the float shift the real rotation is this minus
  /// fractional_offset (see group_query_position_real).
  std::vector<std::int64_t> group_query_position;
  /// gq(t) - f: filled only for the float shift (empty for the int shift).
  std::vector<double> group_query_position_real;
  std::vector<std::int64_t> group_key_position;       ///< floor(t/G)

  /// The array `which` (group_query_position is the integer-shift one).
  [[nodiscard]] const std::vector<std::int64_t>& operator[](token_array which) const noexcept;
  /// Relative position of the pair (i, j) through the selection rule, integer shift
  /// (subtract fractional_offset for a group pair under the float shift). Precondition: 0 <= j <= i < tokens.
  [[nodiscard]] mapped_position relative_position(std::int64_t query, std::int64_t key) const noexcept;
  friend bool operator==(const position_tables&, const position_tables&) = default;
};

/// Builds the four per-token arrays for N tokens (the float shift also fills
/// group_query_position_real). O(N) time and memory.
/// Throws invalid_params for an invalid plan or tokens < 1, or when a position does not fit in 64 bits.
/// Example: build_position_tables({2, 4}, 6).group_query_position == {2, 2, 3, 3, 4, 4}.
[[nodiscard]] position_tables build_position_tables(const plan& p, std::int64_t tokens);

/// Fills out[k] with array `which` at token position first_token + k, integer shift:
/// the streaming form of build_position_tables. O(out.size()), no division per element.
/// Throws invalid_params for an invalid plan, first_token < 0 or a position past INT64_MAX.
void fill_token_positions(const plan& p, token_array which, std::int64_t first_token, std::span<std::int64_t> out);
/// The same as real numbers under p.shift (only group_query_position differs: minus f).
void fill_token_positions(const plan& p, token_array which, std::int64_t first_token, std::span<double> out);

/// Fills out[k] with the relative position of the pair (query, first_key + k), integer shift:
/// i - j in the neighbor branch, gq(i) - gk(j) in the group branch, and -1 above the diagonal
/// (j > i). One call per row streams the dense [N, N] matrix; a slice of keys gives a
/// downsampled or partial row. O(out.size()).
/// Example (G=2, W=4): query 9, first_key 0, 10 slots -> {6, 6, 5, 5, 4, 4, 3, 2, 1, 0}.
/// Throws invalid_params for an invalid plan, query < 0 or first_key < 0.
void fill_dense_row(const plan& p, std::int64_t query, std::int64_t first_key, std::span<std::int64_t> out);
/// The same row as real numbers under p.shift (group entries minus f; -1 above the diagonal).
void fill_dense_row(const plan& p, std::int64_t query, std::int64_t first_key, std::span<double> out);

/// The entries of a dense table that are not relative positions.
inline constexpr std::int64_t masked_position = -1;        ///< j > i: above the causal diagonal
inline constexpr std::int64_t not_attended_position = -2;  ///< a key the method drops (StreamingLLM's evicted keys)

/// Any method's dense row (methods.hpp): out[k] is remap()'s relative position of the pair
/// (query, first_key + k), masked_position above the diagonal and not_attended_position for a key
/// the method drops. For Self-Extend it is fill_dense_row(plan, ...). The int64 form requires
/// integer_positions(m). O(out.size()). Throws invalid_params on a bad method, query < 0,
/// first_key < 0, or (int64) a method with real positions.
void fill_method_dense_row(const method_params& m, std::int64_t query, std::int64_t first_key, std::span<double> out);
void fill_method_dense_row(const method_params& m, std::int64_t query, std::int64_t first_key,
                           std::span<std::int64_t> out);

/// Which rotation of a branch a per-token array holds.
enum class rotation_side : std::uint8_t { query, key };

/// "<branch>_query_position" / "<branch>_key_position": the per-token arrays of any method, two per
/// branch in branch order (Self-Extend's four are the names of all_token_arrays).
[[nodiscard]] std::vector<std::string> method_token_array_names(method_kind kind);

/// Fills out[k] with branch `branch`'s query or key rotation of token first_token + k
/// (branch_query_position / branch_key_position): the per-token tables of any method. For
/// Self-Extend these are fill_token_positions' arrays. The int64 form requires
/// integer_positions(m). O(out.size()). Throws invalid_params on a bad method or branch,
/// first_token < 0, or (int64) a method with real positions.
void fill_branch_positions(const method_params& m, int branch, rotation_side side, std::int64_t first_token,
                           std::span<double> out);
void fill_branch_positions(const method_params& m, int branch, rotation_side side, std::int64_t first_token,
                           std::span<std::int64_t> out);

/// Shape of the dense layout: {N, N} for prefill, {N} for decode (the row of query N - 1).
[[nodiscard]] std::vector<std::int64_t> dense_shape(std::int64_t tokens, table_phase phase);

/// Default ceiling on the dense layout's data: 1 GiB (an [11585, 11585] int64 matrix).
inline constexpr std::int64_t default_dense_limit_bytes = std::int64_t{1} << 30;

/// Bytes of data of the dense layout with 8-byte elements: 8·N² (prefill) or 8·N (decode),
/// saturating at INT64_MAX. Throws invalid_params when tokens < 1.
[[nodiscard]] std::int64_t dense_table_bytes(std::int64_t tokens, table_phase phase);

/// Bytes of data of the tokens layout (four int64 or float64 arrays of N): 32·N, saturating at
/// INT64_MAX. Throws invalid_params when tokens < 1.
[[nodiscard]] std::int64_t token_table_bytes(std::int64_t tokens);

/// Throws invalid_params {"tokens", N, "the dense [N, N] table would need B bytes (…), above the
/// limit of L bytes (…)", naming `force`} when dense_table_bytes exceeds limit_bytes and force
/// is false.
void require_dense_size(std::int64_t tokens, table_phase phase, std::int64_t limit_bytes, bool force);

}  // namespace selfextend
