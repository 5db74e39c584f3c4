// rope.hpp - how a model rotates positions: the pair layout and the frequency rule it was trained or
// scaled with. Self-Extend regroups positions; it keeps the model's frequencies (docs/concepts.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/params.hpp>

namespace selfextend {

struct model_info;  // models.hpp
struct layer_run;   // models.hpp

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

/// The most rotary dims a rule is evaluated for (its frequencies are R/2 doubles).
inline constexpr std::int64_t max_rotary_dims = std::int64_t{1} << 20;

/// A frequency rule with everything it is evaluated from except the sequence length.
struct rope_rule {
  double theta = 10000.0;                     ///< rope_theta; finite, > 0
  std::int64_t rotary_dims = 0;               ///< R: even, >= 2
  /// config.json's max_position_embeddings: dynamic's reference length, and the window yarn,
  /// llama3 and longrope fall back to when original_context is unset (as transformers does).
  std::int64_t max_position_embeddings = 0;
  std::optional<rope_scaling> scaling;        ///< nullopt: the default rule theta^(-2c/R)
  friend bool operator==(const rope_rule&, const rope_rule&) = default;
};

/// The rule of a model: its theta, rotary dims, max_position_embeddings and rope_scaling.
[[nodiscard]] rope_rule rope_rule_of(const model_info& model);

/// The rule of one run of a model's layers: the run's base and rotary dims, with the model's
/// rope_scaling only when the run is scaled (Gemma-3's local layers are not).
[[nodiscard]] rope_rule rope_rule_of(const model_info& model, const layer_run& run);

/// What a rule did to one frequency pair, comparing inv_freq[c] with theta^(-2c/R).
enum class rope_pair_change : std::uint8_t {
  kept,      ///< unchanged (llama3 high frequencies, the yarn ramp at 0, a factor of 1)
  divided,   ///< divided by the rule's factor (linear; llama3 low frequencies; the yarn ramp at 1)
  blended,   ///< between kept and divided (llama3's smooth band, inside the yarn ramp)
  rescaled,  ///< divided by a per-pair or length-dependent amount (longrope, dynamic, GGUF rope_freqs)
};
[[nodiscard]] std::string_view to_string(rope_pair_change c) noexcept;

/// A rule evaluated for one sequence length: what the kernels rotate with.
struct rope_frequencies {
  rope_scaling_type type = rope_scaling_type::none;
  std::int64_t sequence_length = 0;       ///< the length it was evaluated for (0: none given)
  std::vector<double> inv_freq;           ///< R/2 values: pair c rotates by position·inv_freq[c]
  std::vector<double> theta_inv_freq;     ///< theta^(-2c/R), the unscaled frequencies
  std::vector<double> wavelength;         ///< 2π / inv_freq[c], in tokens
  std::vector<rope_pair_change> change;   ///< per pair
  double attention_factor = 1.0;          ///< multiplies cos and sin (transformers' attention_scaling)
  double factor = 1.0;                    ///< the factor the rule used (after its fallbacks)
  std::int64_t original_context = 0;      ///< the window the rule used (0 when it uses none)
  double dynamic_theta = 0;               ///< dynamic: the grown base (theta when not grown); else 0
  bool long_factors = false;              ///< longrope: the long list was chosen
  double ramp_low = 0, ramp_high = 0;     ///< yarn: the ramp bounds in pairs, after clamping
  std::vector<std::string> notes;         ///< how a length-dependent choice was made, fallbacks taken
  friend bool operator==(const rope_frequencies&, const rope_frequencies&) = default;
};

/// Every rule `rule` breaks; empty when valid. Keys are config.json's: rope_theta, rotary_dims
/// (even, 2..max_rotary_dims),
/// max_position_embeddings, factor, original_max_position_embeddings, attention_factor,
/// beta_fast, beta_slow, mscale, mscale_all_dim, low_freq_factor, high_freq_factor,
/// short_factor, long_factor (R/2 values, finite, > 0), rope_freqs (GGUF, the same).
[[nodiscard]] std::vector<issue> validate(const rope_rule& rule);

/// The rule's inverse frequencies and attention factor for a sequence of `sequence_length` tokens
/// (the number of keys; 0 = none given, what transformers uses at initialisation), computed as
/// transformers' `ROPE_INIT_FUNCTIONS` do (docs/concepts.md, "Frequency rules"), in double:
///   default   theta^(-2c/R)
///   linear    theta^(-2c/R) / factor
///   dynamic   theta' = theta·(factor·n/M − (factor − 1))^(R/(R−2)), n = max(length, M), M = max_position_embeddings
///   yarn      a ramp in c between the pairs where beta_fast and beta_slow rotations fit the original window
///   longrope  1 / (ext[c]·theta^(2c/R)), ext = long_factor when length > original, else short_factor
///   llama3    wavelength > original/low_freq_factor: / factor; < original/high_freq_factor: kept; else blended
/// GGUF rope_freqs (freq_factors), when present, divide the result per pair as llama.cpp does.
/// Throws invalid_params with every issue of validate(rule), and key "tokens" when sequence_length < 0.
/// Example: Llama-3.1-8B (theta 500000, R 128, llama3 8/1/4/8192): inv_freq[0] == 1, inv_freq[63] ==
///          500000^(-126/128) / 8.
[[nodiscard]] rope_frequencies evaluate_rope(const rope_rule& rule, std::int64_t sequence_length = 0);

/// theta^(-2c/R) for c in [0, R/2): the default rule.
[[nodiscard]] std::vector<double> theta_inverse_frequencies(double theta, std::int64_t rotary_dims);

/// Rows of cos and sin, attention factor included (as transformers' cos/sin are), for given positions.
struct rope_angle_table {
  std::vector<double> positions;  ///< P positions
  std::vector<double> cos;        ///< [P, R/2] row-major: attention_factor·cos(position·inv_freq[c])
  std::vector<double> sin;        ///< [P, R/2]
  std::int64_t pairs = 0;         ///< R/2
  friend bool operator==(const rope_angle_table&, const rope_angle_table&) = default;
};

/// Bytes rope_angle_table needs for `positions` positions and `pairs` pairs (saturating at INT64_MAX).
[[nodiscard]] std::int64_t rope_angle_table_bytes(std::int64_t positions, std::int64_t pairs) noexcept;

/// The positions a plan rotates at over `tokens` tokens, sorted, each once: 0..N−1 (neighbor
/// positions; group keys floor(j/G) are among them) and the group query positions gq(i) of
/// i >= W under the plan's shift (fractional under the float shift). Throws invalid_params for an
/// invalid plan or tokens < 1.
[[nodiscard]] std::vector<double> plan_rotation_positions(const plan& extension, std::int64_t tokens);

/// An upper bound on plan_rotation_positions(extension, tokens).size(): N + max(0, N − W),
/// saturating; 0 for tokens < 1. Never allocates.
[[nodiscard]] std::int64_t plan_rotation_positions_bound(const plan& extension, std::int64_t tokens) noexcept;

/// rope_angles over plan_rotation_positions(extension, tokens), refused (invalid_params
/// {"positions_for", ...}) before anything is allocated when the bound's table exceeds `memory_limit`
/// unless `force`.
[[nodiscard]] rope_angle_table plan_rope_angles(const rope_frequencies& frequencies, const plan& extension,
                                                std::int64_t tokens, std::int64_t memory_limit = std::int64_t{1} << 30,
                                                bool force = false);

/// The table for `positions` (each finite), under `frequencies`. Throws invalid_params
/// {"positions", ...} on a non-finite position, and when the table needs more than
/// `memory_limit` bytes (rope_angle_table_bytes) unless `force`, saying the size.
[[nodiscard]] rope_angle_table rope_angles(const rope_frequencies& frequencies, std::span<const double> positions,
                                           std::int64_t memory_limit = std::int64_t{1} << 30, bool force = false);

}  // namespace selfextend
