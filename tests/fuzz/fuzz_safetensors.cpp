// fuzz_safetensors - libFuzzer target for the .safetensors reader.
#include <cstddef>
#include <cstdint>
#include <span>

#include <selfextend/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const selfextend::safetensors_file f =
        selfextend::parse_safetensors(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz", "input");
    // Accepted tensors are self-consistent and never claim more bytes than the input has.
    std::size_t total = 0;
    for (const auto& [name, a] : f.tensors) {
      if (static_cast<std::size_t>(a.element_count()) * selfextend::item_size(a.dtype) != a.data.size()) __builtin_trap();
      total += a.data.size();
    }
    if (total > size) __builtin_trap();
  } catch (const selfextend::invalid_params&) {
  }
  return 0;
}
