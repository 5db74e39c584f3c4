// rope.hpp - how a model rotates positions: the pair layout and the frequency rule it was trained or
// scaled with. Self-Extend regroups positions; it keeps the model's frequencies (docs/concepts.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace selfextend {

/// RoPE pair layout.
enum class rope_style : std::uint8_t {
  neox,  ///< HF rotate_half: dims (c, c + R/2) form a pair (Llama, Mistral, Gemma, Qwen, Phi in HF)
  gptj,  ///< interleaved: dims (2c, 2c + 1) form a pair
};
[[nodiscard]] std::string_view to_string(rope_style s) noexcept;
[[nodiscard]] std::optional<rope_style> parse_rope_style(std::string_view text) noexcept;

/// The frequency rules of Hugging Face transformers' `ROPE_INIT_FUNCTIONS` (config `rope_type`).
enum class rope_scaling_type : std::uint8_t {
  none,      ///< "default": inv_freq[c] = theta^(-2c/R)
  linear,    ///< position interpolation: inv_freq / factor
  dynamic,   ///< NTK-aware, theta grown with the sequence length past the original window
  yarn,      ///< NTK-by-parts with a ramp between beta_slow and beta_fast, plus an attention factor
  longrope,  ///< per-dimension short/long factors (Phi-3/3.5; "su" in older configs)
  llama3,    ///< Llama-3.1/3.2: low frequencies / factor, high kept, a smooth blend between
};
[[nodiscard]] std::string_view to_string(rope_scaling_type t) noexcept;
/// Accepts the names configs use: "default"/"none", "linear", "dynamic", "yarn", "longrope", "su"
/// (LongRoPE's old name), "llama3". Exact, lowercase.
[[nodiscard]] std::optional<rope_scaling_type> parse_rope_scaling_type(std::string_view text) noexcept;

/// A model's RoPE frequency rule and its parameters, as config.json's `rope_scaling` /
/// `rope_parameters` or a GGUF header and tensor table state them. Unset optionals take the
/// rule's own default (as transformers does); which are required depends on the type.
struct rope_scaling {
  rope_scaling_type type = rope_scaling_type::none;
  double factor = 1.0;                              ///< `factor`
  std::optional<std::int64_t> original_context;     ///< `original_max_position_embeddings`
  std::optional<double> attention_factor;           ///< yarn, longrope: `attention_factor`
  std::optional<double> beta_fast;                  ///< yarn (default 32)
  std::optional<double> beta_slow;                  ///< yarn (default 1)
  std::optional<double> mscale;                     ///< yarn (DeepSeek)
  std::optional<double> mscale_all_dim;             ///< yarn (DeepSeek)
  std::optional<bool> truncate;                     ///< yarn: round the ramp bounds (default true)
  std::optional<double> low_freq_factor;            ///< llama3
  std::optional<double> high_freq_factor;           ///< llama3
  std::vector<double> short_factor;                 ///< longrope, R/2 values (GGUF rope_factors_short)
  std::vector<double> long_factor;                  ///< longrope, R/2 values (GGUF rope_factors_long)
  /// GGUF `rope_freqs` tensor (llama.cpp's converter stores Llama-3.1's llama3 rule this way):
  /// per-pair divisors, inv_freq[c] = theta^(-2c/R) / freq_factors[c]; R/2 values.
  std::vector<double> freq_factors;
  std::string source;                               ///< where it was read ("rope_scaling" in config.json, ...)
  friend bool operator==(const rope_scaling&, const rope_scaling&) = default;
};

}  // namespace selfextend
