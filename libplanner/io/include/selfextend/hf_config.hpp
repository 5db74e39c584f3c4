// hf_config.hpp - reads a Hugging Face config.json into a model_info (target selfextend::planner_io).
#pragma once

#include <filesystem>
#include <string_view>

#include <selfextend/error.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// Reads the RoPE-relevant fields of a Hugging Face config.json:
/// max_position_embeddings (required, becomes `context`), rope_theta (default 10000),
/// head_dim or hidden_size / num_attention_heads, num_key_value_heads (default: heads),
/// partial_rotary_factor (or rotary_pct), sliding_window (ignored when use_sliding_window is false),
/// rope_scaling (a warning: the model is already scaled).
/// Throws invalid_params with key "config" and a rule naming the field and the file when the file
/// is unreadable, not JSON, or a field is missing or of the wrong type.
[[nodiscard]] model_info read_hf_config(const std::filesystem::path& path);

/// The same for JSON text already in memory; `source` names it in messages (a path, usually).
[[nodiscard]] model_info parse_hf_config(std::string_view json_text, std::string_view source);

}  // namespace selfextend
