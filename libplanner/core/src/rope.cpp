// rope.cpp - names of the RoPE pair layouts and frequency rules.
#include <selfextend/rope.hpp>

namespace selfextend {

std::string_view to_string(rope_style s) noexcept { return s == rope_style::neox ? "neox" : "gptj"; }

std::optional<rope_style> parse_rope_style(std::string_view text) noexcept {
  if (text == "neox") return rope_style::neox;
  if (text == "gptj") return rope_style::gptj;
  return std::nullopt;
}

std::string_view to_string(rope_scaling_type t) noexcept {
  switch (t) {
    case rope_scaling_type::none: return "default";
    case rope_scaling_type::linear: return "linear";
    case rope_scaling_type::dynamic: return "dynamic";
    case rope_scaling_type::yarn: return "yarn";
    case rope_scaling_type::longrope: return "longrope";
    case rope_scaling_type::llama3: return "llama3";
  }
  return "default";
}

std::optional<rope_scaling_type> parse_rope_scaling_type(std::string_view text) noexcept {
  if (text == "default" || text == "none") return rope_scaling_type::none;
  if (text == "linear") return rope_scaling_type::linear;
  if (text == "dynamic") return rope_scaling_type::dynamic;
  if (text == "yarn") return rope_scaling_type::yarn;
  if (text == "longrope" || text == "su") return rope_scaling_type::longrope;
  if (text == "llama3") return rope_scaling_type::llama3;
  return std::nullopt;
}

}  // namespace selfextend
