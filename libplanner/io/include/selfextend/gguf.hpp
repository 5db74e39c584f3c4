// gguf.hpp - reads a GGUF model file's header and tensor table into a model_info (target selfextend::planner_io).
#pragma once

#include <filesystem>

#include <selfextend/error.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// Reads the key/value header and the tensor table of a GGUF file (versions 2 and 3,
/// little-endian), and the data of the RoPE tensors only (`rope_freqs`, `rope_factors_long`,
/// `rope_factors_short`, f32), so multi-GB model files cost a few kB of reading. From
/// `general.architecture` = <arch>: `<arch>.context_length` (the stated length), `.rope.freq_base`
/// (llama.cpp's default 10000), `.attention.head_count` / `.head_count_kv` (per-layer arrays give
/// their largest entry; every entry must be at least 1), `.attention.key_length_mla`,
/// `.attention.key_length` or `.embedding_length` / head_count (head_dim), `.rope.dimension_count`,
/// `.block_count`, `.attention.sliding_window`, `.rope.scaling.type/factor/original_context_length/
/// attn_factor/yarn_log_multiplier`, `general.name`. The position encoding and the pair layout
/// follow llama.cpp's handling of the architecture; a `rope_freqs` tensor is Llama-3.1's llama3
/// rule as llama.cpp's converter stores it, `rope_factors_*` tensors are LongRoPE's factors.
///
/// Work is linear in the header size: every count and length is checked against the bytes left
/// before anything is allocated, and messages are built only when one is thrown. Duplicate keys
/// are rejected, as llama.cpp does. Throws invalid_params with key "gguf", value the path, and a
/// rule naming the offset or key. Facts pass through finish_model_facts().
[[nodiscard]] model_info read_gguf(const std::filesystem::path& path, const fact_overrides& overrides = {});

}  // namespace selfextend
