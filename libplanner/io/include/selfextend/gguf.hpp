// gguf.hpp - reads the metadata header of a GGUF model file into a model_info (target selfextend::planner_io).
#pragma once

#include <filesystem>

#include <selfextend/error.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// Reads the key/value header of a GGUF file (versions 2 and 3, little-endian) and nothing after
/// it, so multi-GB model files cost a few kB of reading. From `general.architecture` = <arch>:
/// `<arch>.context_length` (required, becomes `context`), `<arch>.rope.freq_base` (default 10000),
/// `<arch>.attention.head_count` (required; a per-layer array gives its largest entry),
/// `<arch>.attention.head_count_kv` (default: head_count), `<arch>.attention.key_length` or else
/// `<arch>.embedding_length` / head_count (head_dim), `<arch>.rope.dimension_count` (default head_dim),
/// `<arch>.rope.scaling.type` (a warning unless "none"), `general.name` (default: <arch>).
/// Integer keys accept any GGUF integer type, float keys float32/float64.
///
/// Every count and length in the file is checked against the bytes left before anything is
/// allocated, so a truncated or hostile file fails with a message, never a crash or a huge
/// allocation. Throws invalid_params with key "gguf", value the path, and a rule naming the
/// offset or key: unreadable file, wrong magic, unsupported version, truncation, a count larger
/// than the file, an unknown value type, a missing key, a key of the wrong type or an implausible value.
/// Example: read_gguf("llama-2-7b.Q4_K_M.gguf").context == 4096.
[[nodiscard]] model_info read_gguf(const std::filesystem::path& path);

}  // namespace selfextend
