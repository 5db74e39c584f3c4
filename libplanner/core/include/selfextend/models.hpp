// models.hpp - what the planner needs to know about a model, and built-in presets.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/rope.hpp>

namespace selfextend {

/// A model as the planner sees it, whether from a preset, a config.json or a GGUF header.
struct model_info {
  std::string name;                  ///< preset name, or the file's model type / architecture
  std::int64_t context = 0;          ///< L, the pretrained window used for planning (tokens)
  std::int64_t max_position_embeddings = 0;  ///< as in config.json (may differ from context)
  double rope_theta = 10000.0;       ///< RoPE base
  std::int64_t head_dim = 0;         ///< D
  std::int64_t heads = 0;            ///< query heads H
  std::int64_t kv_heads = 0;         ///< key/value heads Hkv (H for multi-head attention)
  std::int64_t rotary_dims = 0;      ///< R, rotated dims per head (D unless partial rotary)
  double rotary_fraction = 1.0;      ///< R / D
  rope_style style = rope_style::neox;
  std::optional<std::int64_t> sliding_window;  ///< tokens, when the model declares one
  std::optional<selfextend::rope_scaling> rope_scaling;  ///< the frequency rule, when not the default
  std::string source;                ///< where the values come from (repo id, file path)
  std::vector<std::string> notes;    ///< e.g. why context differs from max_position_embeddings
  std::vector<std::string> warnings; ///< e.g. rope_scaling already present
  friend bool operator==(const model_info&, const model_info&) = default;
};

/// The built-in presets, in a fixed order (the order `sxplan models` prints).
[[nodiscard]] std::span<const model_info> model_presets();

/// The preset called `name` (lowercase, hyphenated, e.g. "llama-2-7b"). Throws
/// invalid_params {"model", name, "unknown model; see `sxplan models`"} when there is none.
[[nodiscard]] const model_info& find_model(std::string_view name);

}  // namespace selfextend
