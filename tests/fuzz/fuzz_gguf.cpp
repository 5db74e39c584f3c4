// fuzz_gguf - libFuzzer target for the GGUF header reader. read_gguf() takes a path, so each input
// goes into an in-memory file (memfd) read back through /proc/self/fd.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <selfextend/gguf.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int fd = ::memfd_create("fuzz_gguf", 0);
  if (fd < 0) __builtin_trap();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const selfextend::model_info m = selfextend::read_gguf(path);
    const bool rope_like = m.encoding == selfextend::position_encoding::rope || m.encoding == selfextend::position_encoding::unknown;
    if ((rope_like && m.context < 2) || m.context < 0 || m.heads < 1 || m.kv_heads < 1) __builtin_trap();
    for (const char c : m.name)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) __builtin_trap();
    if (m.rope_scaling && !m.rope_scaling->freq_factors.empty() &&
        m.rope_scaling->freq_factors.size() != static_cast<std::size_t>(m.rotary_dims / 2))
      __builtin_trap();
  } catch (const selfextend::invalid_params&) {
  }
  return 0;
}
