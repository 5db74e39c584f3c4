// fuzz_npy - libFuzzer target for the .npy reader: any byte string must parse or be rejected with
// invalid_params; never crash, hang, or allocate more than the input's size.
#include <cstddef>
#include <cstdint>
#include <span>

#include <selfextend/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const selfextend::npy_array a =
        selfextend::parse_npy(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz", "input");
    // A parsed array is self-consistent: converting it touches every element exactly once.
    if (static_cast<std::size_t>(a.element_count()) * selfextend::item_size(a.dtype) != a.data.size()) __builtin_trap();
    (void)a.to_doubles();
  } catch (const selfextend::invalid_params&) {
  }
  return 0;
}
