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
    if (m.context < 2 || m.heads < 1 || m.kv_heads < 1 || m.heads % m.kv_heads != 0 || m.rotary_dims < 2 ||
        m.rotary_dims % 2 != 0 || m.rotary_dims > m.head_dim)
      __builtin_trap();
  } catch (const selfextend::invalid_params&) {
  }
  return 0;
}
