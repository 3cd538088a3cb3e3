// Huge pages for very large outputs. malloc maps every allocation above its mmap threshold (at
// most 32 MiB) afresh, and the OS then faults it in one 4 KiB page at a time on first write;
// advised to use transparent huge pages before it is first written, the same memory faults in
// 2 MiB at a time (figures: docs/decisions.md). Which outputs are advised is lib/alloc.ts's
// choice (32 MiB and up: smaller ones come from malloc's heap, which reuses freed memory).
#pragma once

#include <cstddef>

namespace convkit {

// Asks the OS to back the whole 2 MiB pages inside [data, data + bytes) with huge pages when they
// are first touched. Advice only: it changes no contents, and does nothing where the OS has no
// transparent huge pages.
void advise_large_pages(void* data, size_t bytes);

}  // namespace convkit
