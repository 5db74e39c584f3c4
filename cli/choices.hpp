// choices.hpp - the named choices of sxplan's options (--shift int|float, --target, --runtime, ...)
// parsed from their text with one rule each, so the CLI and the Python module accept the same
// spellings and refuse the rest with the same message: {key, text, "must be A or B"}.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <selfextend/advice.hpp>
#include <selfextend/attention.hpp>
#include <selfextend/error.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/params.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/rope.hpp>

namespace sxplan {

/// `parse(text)`, or invalid_params {key, text, "must be " + allowed}.
template <class T>
T parse_choice(const std::string& key, const std::string& text, std::optional<T> (*parse)(std::string_view) noexcept,
               const std::string& allowed) {
  if (const std::optional<T> value = parse(text)) return *value;
  throw selfextend::invalid_params(key, text, "must be " + allowed);
}

inline selfextend::shift_rule shift_choice(const std::string& text) {
  return parse_choice("shift", text, selfextend::parse_shift_rule, "int or float");
}
inline selfextend::target_fraction target_choice(const std::string& text) {
  return parse_choice("target", text, selfextend::parse_target_fraction, "two_thirds or half");
}
inline selfextend::table_phase phase_choice(const std::string& text) {
  return parse_choice("phase", text, selfextend::parse_table_phase, "prefill or decode");
}
inline selfextend::llamacpp_mode mode_choice(const std::string& text) {
  return parse_choice("mode", text, selfextend::parse_llamacpp_mode, "main or passkey");
}
inline selfextend::attention_kernel kernel_choice(const std::string& text) {
  return parse_choice("kernel", text, selfextend::parse_attention_kernel, "reference, tiled or blocked");
}
/// The double-precision kernel `verify` computes the expected output with: blocked or reference.
inline selfextend::attention_kernel oracle_choice(const std::string& text) {
  const std::optional<selfextend::attention_kernel> k = selfextend::parse_attention_kernel(text);
  if (!k || *k == selfextend::attention_kernel::tiled)
    throw selfextend::invalid_params("oracle", text, "must be blocked or reference");
  return *k;
}
inline selfextend::rope_style rope_style_choice(const std::string& text) {
  return parse_choice("rope_style", text, selfextend::parse_rope_style, "neox or gptj");
}
/// The runtime `advise` plans for: "longlm" or "llamacpp" (returned as given).
inline std::string runtime_choice(const std::string& text) {
  if (text != "longlm" && text != "llamacpp") throw selfextend::invalid_params("runtime", text, "must be longlm or llamacpp");
  return text;
}

}  // namespace sxplan
