// memory_hint.hpp - the core's one platform call: a performance hint, never a behaviour change.
#pragma once

#include <cstddef>

namespace selfextend::detail {

/// Asks the kernel to back [data, data + bytes) with transparent huge pages before first touch
/// (Linux madvise(MADV_HUGEPAGE) on the 2 MiB-aligned interior; a no-op elsewhere or when the
/// range is small). Large freshly reserved tables otherwise pay one page fault per 4 KiB, which
/// costs more than computing them (docs/performance.md). Failure is ignored: it is only a hint.
void hint_huge_pages(void* data, std::size_t bytes) noexcept;

}  // namespace selfextend::detail
