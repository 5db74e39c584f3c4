// methods.hpp - the position-remap methods on one seam: Self-Extend and the training-free
// siblings users weigh against it (Dual Chunk Attention, ReRoPE, Leaky ReRoPE, StreamingLLM).
// Each method says, for a query at absolute position i and a key at j <= i, the relative position
// RoPE sees (or that the key is not attended), and the largest such position in closed form.
// The rules, traced to each method's official code, are in docs/methods.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/params.hpp>

namespace selfextend {

/// Which remapping a method applies.
enum class method_kind : std::uint8_t {
  self_extend,   ///< LongLM's grouped far positions (plan: G, W, shift)
  dca,           ///< Dual Chunk Attention (ChunkLlama; Qwen2.5-1M in vLLM): intra, successive and inter-chunk positions
  rerope,        ///< ReRoPE: min(i - j, w)
  leaky_rerope,  ///< Leaky ReRoPE: i - j below w, then w + (i - j - w) / k
  streaming,     ///< StreamingLLM: attention sinks plus a recent window, positions inside the cache
};

/// "selfextend", "dca", "rerope", "leaky-rerope", "streaming": the CLI/JSON spelling.
[[nodiscard]] std::string_view to_string(method_kind m) noexcept;
[[nodiscard]] std::optional<method_kind> parse_method_kind(std::string_view text) noexcept;
/// parse_method_kind, or invalid_params {"method", text, "must be selfextend, dca, ..."}.
[[nodiscard]] method_kind method_kind_named(std::string_view text);

/// A method and its parameters; only those of `kind` are read.
struct method_params {
  method_kind kind = method_kind::self_extend;
  plan self_extend;                ///< self_extend: G, W, shift
  std::int64_t chunk_size = 0;     ///< dca: c, the chunk a query's positions come from (ChunkLlama: 3L/4)
  std::int64_t local_window = 0;   ///< dca: w, ChunkLlama's local_window / vLLM's local_size; chunks are c - w long
  std::int64_t window = 0;         ///< rerope, leaky_rerope: w, distances below it keep their value
  double leak = 16;                ///< leaky_rerope: k > 1, the far positions advance 1/k per token
  std::int64_t start_size = 4;     ///< streaming: the attention sinks kept at the start of the cache
  std::int64_t recent_size = 2000; ///< streaming: the most recent keys kept

  /// Each method with its own parameters (the others at their defaults, unread).
  [[nodiscard]] static method_params of(const plan& p) {
    method_params m;
    m.self_extend = p;
    return m;
  }
  [[nodiscard]] static method_params dca(std::int64_t chunk_size, std::int64_t local_window) {
    method_params m;
    m.kind = method_kind::dca;
    m.chunk_size = chunk_size;
    m.local_window = local_window;
    return m;
  }
  [[nodiscard]] static method_params rerope(std::int64_t window) {
    method_params m;
    m.kind = method_kind::rerope;
    m.window = window;
    return m;
  }
  [[nodiscard]] static method_params leaky_rerope(std::int64_t window, double leak) {
    method_params m;
    m.kind = method_kind::leaky_rerope;
    m.window = window;
    m.leak = leak;
    return m;
  }
  [[nodiscard]] static method_params streaming(std::int64_t start_size, std::int64_t recent_size) {
    method_params m;
    m.kind = method_kind::streaming;
    m.start_size = start_size;
    m.recent_size = recent_size;
    return m;
  }
  friend bool operator==(const method_params&, const method_params&) = default;
};

/// Every method's parameter keys, as JSON and Python spell them (the CLI's flags with '-' for '_').
inline constexpr std::array<std::string_view, 8> method_parameter_keys = {
    "group", "shift", "window", "chunk_size", "local_window", "leak", "start_size", "recent_size"};

/// True when `key` (one of method_parameter_keys) is a parameter of `kind`: group and shift are
/// Self-Extend's, window Self-Extend's, ReRoPE's and Leaky ReRoPE's, and so on. Front ends refuse a
/// parameter given for another method ("does not apply to --method M") rather than ignore it.
[[nodiscard]] bool method_takes(method_kind kind, std::string_view key) noexcept;

/// Every rule `m` breaks (each naming its key); empty when valid. Never throws.
/// self_extend: the plan's rules; dca: chunk_size > local_window >= 0 and chunk_size - local_window
/// > local_window (ChunkLlama's inter-chunk query then sits at chunk_size); rerope: window >= 1;
/// leaky_rerope: window >= 1 and leak > 1, finite; streaming: start_size >= 0, recent_size >= 1.
[[nodiscard]] std::vector<issue> validate(const method_params& m);

/// Throws invalid_params carrying every issue of validate(m), if any.
void require_valid_method(const method_params& m);

/// The relative position of one pair, or that the key is not attended.
struct remapped_position {
  bool attended = true;
  double position = 0;  ///< in token units; an integer for every method but leaky_rerope
  friend bool operator==(const remapped_position&, const remapped_position&) = default;
};

/// The method's relative position for query i and key j (0 <= j <= i). Self-Extend equals
/// map_pair_real(). StreamingLLM is its streaming evaluation (one token per step, the cache evicted
/// after each step), which is what its code runs. Throws invalid_params on a bad method or pair.
[[nodiscard]] remapped_position remap(const method_params& m, std::int64_t query, std::int64_t key);

/// The score sets ("branches") a method computes, each a pair of per-token rotations: the pair (i, j)
/// is scored as rope(q_i, query_position(b, i)) · rope(k_j, key_position(b, j)) in the branch b that
/// select_branch picks, so its relative position is query_position(b, i) - key_position(b, j) and
/// equals remap(). Element t of each position is a function of token t alone (a runtime rotates each
/// key once per branch); this is what the per-token tables, the tiled kernel and a port use.
///   selfextend:   neighbor (t, t), group (gq(t), gk(t))               (the position tables' arrays)
///   dca:          intra (t mod s, t mod s), successive (min(t mod s + s, c), t mod s),
///                 inter (inter-chunk query, t mod s)                  (ChunkLlama's q_t, qc_t, k_t)
///   rerope:       near (t, t), far (w, 0)                             (the query at w over unrotated keys)
///   leaky_rerope: near (t, t), far (t/k + w - w/k, t/k)               (the 1/k table, the query offset by w(k-1)/k)
///   streaming:    recent (t, t), sink (S + R, t)                      (cache slots shifted by a per-query constant)
/// Names are the CLI/JSON spelling; branch indices count from 0 in the order above.
[[nodiscard]] std::vector<std::string_view> branch_names(method_kind kind);

/// The branch scoring the pair (query i, key j), 0 <= j <= i, or nullopt when the key is not
/// attended (StreamingLLM's evicted keys). Throws invalid_params on a bad method or pair.
[[nodiscard]] std::optional<int> select_branch(const method_params& m, std::int64_t query, std::int64_t key);

/// The rotation of token t's query (key) in branch b. Throws invalid_params on a bad method,
/// t < 0 or b outside the method's branches.
[[nodiscard]] double branch_query_position(const method_params& m, int branch, std::int64_t token);
[[nodiscard]] double branch_key_position(const method_params& m, int branch, std::int64_t token);

/// True when the method's tables are integers (int64): all but Leaky ReRoPE and Self-Extend under
/// the fractional shift. Throws invalid_params on a bad method.
[[nodiscard]] bool integer_positions(const method_params& m);

/// The largest relative position any attended causal pair of N tokens uses, in closed form.
/// Throws invalid_params when tokens < 1 or the method is invalid.
[[nodiscard]] double largest_position(const method_params& m, std::int64_t tokens);

/// The largest N whose largest position is at most L - 1, or nullopt when every N fits (the
/// method's positions stay below L whatever the length). Self-Extend's is capacity_exact().
/// Throws invalid_params unless L >= 2 and the method is valid (Self-Extend: W < L).
[[nodiscard]] std::optional<std::int64_t> method_capacity(const method_params& m, std::int64_t context);

/// Causal pairs of N tokens that a method does not attend (StreamingLLM's evicted keys), exact.
/// 0 for the methods that attend every key. Saturates at INT64_MAX.
[[nodiscard]] std::int64_t dropped_pairs(const method_params& m, std::int64_t tokens);

}  // namespace selfextend
