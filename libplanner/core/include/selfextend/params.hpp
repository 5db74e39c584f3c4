// params.hpp - the inputs of a Self-Extend plan and their validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>

namespace selfextend {

/// How the group branch shifts the query so that grouped positions meet the neighbor ones.
enum class shift_rule : std::uint8_t {
  integer,     ///< gq(i) = floor(i/G) + W - floor(W/G): LongLM's fixed variant, contiguous positions (default)
  fractional,  ///< gq(i) = floor(i/G) + W - W/G: LongLM Llama.py / Gemma.py prefill and flash prefill
};

/// "int" or "float", the CLI/JSON spelling.
[[nodiscard]] std::string_view to_string(shift_rule rule) noexcept;
/// Parses "int" / "float"; nullopt for anything else.
[[nodiscard]] std::optional<shift_rule> parse_shift_rule(std::string_view text) noexcept;

/// Reads a decimal integer the way every front end does: an optional sign, then digits only,
/// in 64 bits. Throws invalid_params {key, text, "must be an integer"} or
/// {key, text, "does not fit in 64 bits"}; the value's own rules are validate()'s.
/// Example: parse_integer("tokens", "-5") == -5; parse_integer("group", "1e3") throws.
[[nodiscard]] std::int64_t parse_integer(std::string_view key, std::string_view text);

/// A Self-Extend configuration: the two numbers every runtime asks for, plus the shift variant.
struct plan {
  std::int64_t group = 1;                    ///< G >= 1; 1 disables grouping
  std::int64_t window = 512;                 ///< W >= 1; keys nearer than W tokens keep their exact relative position
  shift_rule shift = shift_rule::integer;    ///< group query shift variant
  friend bool operator==(const plan&, const plan&) = default;
};

/// A plan applied to a model and a target length.
struct self_extend_params {
  std::optional<std::int64_t> context;  ///< L, the pretrained context in tokens; nullopt where no model is involved
  std::int64_t tokens = 1;              ///< N, tokens to read (prompt + generation)
  plan extension;                       ///< G, W, shift
  friend bool operator==(const self_extend_params&, const self_extend_params&) = default;
};

/// Every rule of docs/concepts.md#valid-input that `params` breaks; empty when valid. Never throws,
/// so interactive front ends can call it on every edit:
/// G >= 1, W >= 1, N >= 1, L >= 2 and, when L is known, W < L.
/// Example: validate({.context = 4096, .tokens = 100, .extension = {.group = 4, .window = 5000}})
///          -> {{"window", "5000", "must be smaller than context (4096)"}}
[[nodiscard]] std::vector<issue> validate(const self_extend_params& params);

/// The same rules for a plan on its own (no L, no N).
[[nodiscard]] std::vector<issue> validate(const plan& p);

/// Throws invalid_params carrying every issue of validate(params), if any.
void require_valid(const self_extend_params& params);
void require_valid(const plan& p);

}  // namespace selfextend
