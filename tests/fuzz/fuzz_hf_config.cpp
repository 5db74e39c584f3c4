// fuzz_hf_config - libFuzzer target for the Hugging Face config.json reader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <selfextend/hf_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const selfextend::model_info m =
        selfextend::parse_hf_config(std::string_view(reinterpret_cast<const char*>(data), size), "input");
    // What the reader accepts satisfies the invariants the planner relies on.
    const bool rope_like = m.encoding == selfextend::position_encoding::rope || m.encoding == selfextend::position_encoding::unknown;
    if ((rope_like && m.context < 2) || m.context < 0 || m.heads < 1 || m.kv_heads < 1 || m.heads % m.kv_heads != 0 || m.rotary_dims < 2 ||
        m.rotary_dims % 2 != 0 || m.rotary_dims > m.head_dim)
      __builtin_trap();
    // Names and warnings are printable: no control bytes reach a terminal or JSON.
    for (const char c : m.name)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) __builtin_trap();
    if (m.rope_scaling && m.rope_scaling->type == selfextend::rope_scaling_type::longrope &&
        m.rope_scaling->long_factor.size() != static_cast<std::size_t>(m.rotary_dims / 2))
      __builtin_trap();
  } catch (const selfextend::invalid_params&) {
  }
  return 0;
}
