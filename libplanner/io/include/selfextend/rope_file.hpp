// rope_file.hpp - a RoPE rule's inverse frequencies as a file for another runtime: inv_freq alone
// (.npy), or inv_freq with the cos/sin table of a plan's positions (.safetensors), written
// atomically (target selfextend::planner_io). `sxplan rope -o` and Python write_rope call it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include <selfextend/params.hpp>
#include <selfextend/rope.hpp>
#include <selfextend/table_writers.hpp>

namespace selfextend {

/// What a RoPE file holds besides the frequencies.
struct rope_file_request {
  rope_rule rule;                            ///< θ, rotary dims (metadata)
  rope_style style = rope_style::neox;       ///< pair layout (metadata)
  std::int64_t tokens = 0;                   ///< the sequence length the rule was evaluated for (0: none)
  std::optional<plan> positions_plan;        ///< .safetensors only: also cos/sin at the positions this plan rotates at
  std::int64_t positions_tokens = 0;         ///< ... over this many tokens
  std::int64_t limit_bytes = std::int64_t{1} << 30;  ///< the cos/sin table's ceiling
  bool force = false;                        ///< build the table above limit_bytes anyway
};

/// Writes `f` to `path`: .npy = inv_freq [R/2] float64; .safetensors = inv_freq plus, with a
/// positions plan, positions [P], cos and sin [P, R/2], and metadata (rope_type,
/// attention_factor, rope_theta, rotary_dims, rope_style, tokens, planner_version; positions_for
/// and shift with a plan). Returns the arrays written. Everything is checked before the file is
/// created. Throws invalid_params {"output", path, rule} for another extension or a plan with .npy,
/// as plan_rope_angles for the table; std::runtime_error when the file cannot be written.
std::vector<table_array_info> write_rope_file(const std::filesystem::path& path, const rope_frequencies& f,
                                              const rope_file_request& request);

}  // namespace selfextend
