// hf_config.hpp - reads a Hugging Face config.json into a model_info (target selfextend::planner_io).
#pragma once

#include <filesystem>
#include <string_view>

#include <selfextend/error.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// Reads every fact the planner uses from a Hugging Face config.json (docs/models.md lists the keys
/// and their order of preference): position encoding (model_type, architectures, alibi,
/// attn_config.alibi, position_embedding_type), the stated length (max_position_embeddings,
/// n_positions, seq_length, max_sequence_length, max_seq_len; Falcon's transformers default 2048),
/// rope_theta (rope_theta, rope_parameters.rope_theta, rope_embedding_base, rotary_emb_base,
/// rope_ratio), heads, kv heads, head_dim (explicit, MLA nope + rope, kv_channels, or hidden /
/// heads), rotary dims, pair layout, sliding windows and which layers slide, and the RoPE scaling
/// rule (rope_scaling or rope_parameters, every parameter stated, required keys checked per type).
/// A multimodal config's text_config is read when the top level has no attention heads.
/// `path` may be a model folder: its config.json is read. Facts pass through finish_model_facts().
/// Throws invalid_params with key "config" and a rule naming the field and the file when the file
/// is unreadable, not JSON, or a field is missing, of the wrong type, or contradicts another.
[[nodiscard]] model_info read_hf_config(const std::filesystem::path& path, const fact_overrides& overrides = {});

/// The same for JSON text already in memory; `source` names it in messages (a path, usually).
[[nodiscard]] model_info parse_hf_config(std::string_view json_text, std::string_view source,
                                         const fact_overrides& overrides = {});

}  // namespace selfextend
