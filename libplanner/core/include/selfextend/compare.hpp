// compare.hpp - every position-remap method side by side for one model and length: each method's
// recommended parameters with the reasons, its largest position, whether it fits, the keys it
// drops, its cost relative to full attention and what it needs of a runtime (docs/methods.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <selfextend/methods.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// What to compare.
struct comparison_request {
  std::int64_t context = 4096;  ///< L
  std::int64_t tokens = 1;      ///< N
  /// The model's own Dual Chunk Attention settings (Qwen2.5-1M), used for the DCA row instead of
  /// ChunkLlama's defaults.
  std::optional<dual_chunk_attention> dual_chunk;
  friend bool operator==(const comparison_request&, const comparison_request&) = default;
};

/// The request for a model's facts: its L, and its own DCA settings when it states them.
[[nodiscard]] comparison_request comparison_for(const model_info& model, std::int64_t tokens);

/// One method's row.
struct method_row {
  method_params method;
  std::vector<std::string> reasons;   ///< why these parameters, most important first
  double largest_position = 0;        ///< over the attended causal pairs of N tokens
  bool fits = false;                  ///< largest_position <= L - 1
  double window_share = 0;            ///< largest_position / L
  std::optional<std::int64_t> capacity;  ///< method_capacity(); nullopt: every length fits
  std::int64_t dropped_pairs = 0;     ///< causal pairs not attended
  double attended_share = 1;          ///< attended pairs / all N (N + 1) / 2 causal pairs (exact count, never saturated)
  int score_passes = 1;               ///< score sets the method's official code computes per pair
  double attention_cost = 1;          ///< attended_share x score_passes: attention FLOPs relative to full attention
  double kv_memory = 1;               ///< KV cache relative to full attention's N keys
  std::string runtime_needs;          ///< what a runtime must do beyond plain attention
  friend bool operator==(const method_row&, const method_row&) = default;
};

/// One method's recommended parameters for the request, with the reasons and the row's figures
/// (the rules of docs/methods.md, "What compare recommends"). Throws invalid_params unless L >= 2
/// and N >= 1, and as advise() does for Self-Extend.
[[nodiscard]] method_row recommend_method(method_kind kind, const comparison_request& request);

/// The row's figures for given parameters (reasons empty): `check --method`. Throws invalid_params
/// unless L >= 2, N >= 1 and the method is valid.
[[nodiscard]] method_row assess_method(const method_params& m, const comparison_request& request);

/// Every method's row, in the order selfextend, dca, rerope, leaky-rerope, streaming.
/// Throws invalid_params unless L >= 2 and N >= 1.
[[nodiscard]] std::vector<method_row> compare_methods(const comparison_request& request);

}  // namespace selfextend
